"""Read the maps back with the MTAs' own tools."""

import time
import uuid

import pytest


def _on(host, name):
    if host.backend.get_hostname() != name:
        pytest.skip("runs on %s" % name)


def test_postmap_answers_virtual(host):
    _on(host, "mh-modules-postfix")
    assert host.check_output("postmap -q info@example.com hash:/etc/postfix/virtual") == "mhuser"
    assert host.check_output("postmap -q sales@example.com hash:/etc/postfix/virtual") == "mhuser, root"
    assert host.check_output("postmap -q example.org hash:/etc/postfix/transport") == "smtp:[relay.example.com]:587"


def test_postalias_answers(host):
    _on(host, "mh-modules-postfix")
    assert host.check_output("postalias -q mh-team hash:/etc/aliases") == "mhuser"
    extra = host.check_output("postalias -q helpdesk hash:/etc/postfix/extra_aliases")
    assert extra == "mhuser, :include:/etc/postfix/helpdesk.list"
    assert host.file("/etc/postfix/extra_aliases").mode == 0o644


def test_mail_to_alias_reaches_mailbox(host):
    _on(host, "mh-modules-postfix")
    token = uuid.uuid4().hex
    host.run_expect([0], "printf 'Subject: %s\\n\\nbody\\n' | /usr/sbin/sendmail mh-team" % token)
    for _attempt in range(30):
        if token in host.run("cat /var/mail/mhuser").stdout:
            return
        time.sleep(1)
    pytest.fail("the message to mh-team never reached /var/mail/mhuser")


def test_makemap_dumps_virtusertable(host):
    _on(host, "mh-modules-sendmail")
    dump = host.check_output("makemap -u hash /etc/mail/virtusertable")
    lines = {tuple(line.split("\t", 1)) for line in dump.splitlines()}
    assert ("@example.com", "bob@other-example.com") in lines
    assert ("alice@example.com", "root") in lines


def test_makemap_dumps_access_and_mailertable(host):
    _on(host, "mh-modules-sendmail")
    assert "connect:10.11.12\tRELAY" in host.check_output("makemap -u hash /etc/mail/access")
    assert "example.org\tesmtp:[relay.example.com]" in host.check_output("makemap -u hash /etc/mail/mailertable")


def test_sendmail_routes_virtusertable(host):
    _on(host, "mh-modules-sendmail")
    out = host.run("sendmail -bv anyone@example.com").stdout
    assert "bob@other-example.com" in out, out
    out = host.run("sendmail -bv alice@example.com").stdout
    assert "mailer local" in out and "user root" in out, out


def test_sendmail_resolves_alias(host):
    _on(host, "mh-modules-sendmail")
    out = host.run("sendmail -bv mh-team").stdout
    assert "user root" in out, out
