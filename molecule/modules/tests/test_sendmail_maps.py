"""Sendmail host: read the maps back with makemap -u and sendmail -bv."""

testinfra_hosts = ["ansible://mh-modules-sendmail"]


def test_makemap_dumps_virtusertable(host):
    dump = host.check_output("makemap -u hash /etc/mail/virtusertable")
    lines = {tuple(line.split("\t", 1)) for line in dump.splitlines()}
    assert ("@example.com", "bob@other-example.com") in lines
    assert ("alice@example.com", "root") in lines


def test_makemap_dumps_access_and_mailertable(host):
    assert "connect:10.11.12\tRELAY" in host.check_output("makemap -u hash /etc/mail/access")
    assert "example.org\tesmtp:[relay.example.com]" in host.check_output("makemap -u hash /etc/mail/mailertable")


def test_sendmail_routes_virtusertable(host):
    out = host.run("sendmail -bv anyone@example.com").stdout
    assert "bob@other-example.com" in out, out
    out = host.run("sendmail -bv alice@example.com").stdout
    assert "mailer local" in out and "user root" in out, out


def test_sendmail_resolves_alias(host):
    out = host.run("sendmail -bv mh-team").stdout
    assert "user root" in out, out
