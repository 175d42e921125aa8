"""Sendmail as the role leaves it, checked with real SMTP clients.

mh-sendmail-mail runs the full configuration; mh-sendmail-client runs the
role's defaults and is the outside SMTP client; the access map rejects
mh-sendmail-blocked, which has no Sendmail (the check mode run uses it as a
new host).
"""

import os
import re
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

testinfra_hosts = ["mh-sendmail-mail"]

SMTP_SCRIPT = """python3 - <<'EOF'
import smtplib
body = {body!r}  # None: stop after RCPT
try:
    s = smtplib.SMTP({server!r}, 25, local_hostname={helo!r}, timeout=30)
    s.ehlo_or_helo_if_needed()
    code, msg = s.mail({sender!r})
    print("MAIL", code, msg.decode())
    if code == 250:
        code, msg = s.rcpt({rcpt!r})
        print("RCPT", code, msg.decode())
        if code in (250, 251) and body is not None:
            code, msg = s.data(body)
            print("DATA", code, msg.decode())
        else:
            s.rset()
    s.quit()
except smtplib.SMTPException as exc:
    print("ERROR", exc)
EOF"""


def _other(host, name):
    return host.get_host(name, connection="ansible", ansible_inventory=host.backend.ansible_inventory)


@pytest.fixture(scope="module")
def client(host):
    return _other(host, "mh-sendmail-client")


@pytest.fixture(scope="module")
def blocked(host):
    return _other(host, "mh-sendmail-blocked")


def _smtp(sender_host, server, sender, rcpt, body, helo="client.example.net"):
    script = SMTP_SCRIPT.format(server=server, helo=helo, sender=sender, rcpt=rcpt, body=body)
    return sender_host.check_output(script)


def _wait_for_mail(host, mailbox, token):
    for _attempt in range(30):
        content = host.run("cat %s" % mailbox).stdout
        if token in content:
            return content
        time.sleep(1)
    pytest.fail("no message with %s reached %s" % (token, mailbox))


def _message(content, token):
    """The mbox message that carries token."""
    return next(m for m in content.split("\nFrom ") if token in m)


def test_sendmail_is_enabled_and_running(host):
    service = host.service("sendmail")
    assert service.is_running
    assert service.is_enabled
    assert "Ansible managed" in host.file("/etc/mail/sendmail.mc").content_string


def test_mail_host_listens_on_all_interfaces(host):
    listening = host.check_output("ss -Hltn")
    assert "0.0.0.0:25 " in listening
    assert "127.0.0.1:587 " in listening


def test_default_listens_on_localhost_only(client):
    listening = client.check_output("ss -Hltn")
    assert "127.0.0.1:25 " in listening
    assert "127.0.0.1:587 " in listening
    assert "0.0.0.0:25 " not in listening and "*:25 " not in listening


def test_defaults_deliver_to_a_local_user_without_a_domain(client):
    """Issue 20: with the role's defaults, sendmail carol stays on the host and reaches carol's mailbox."""
    token = uuid.uuid4().hex
    client.check_output("printf 'Subject: %s\\n\\nhi\\n' | /usr/sbin/sendmail -i carol" % token)
    _wait_for_mail(client, "/var/mail/carol", token)


def test_defaults_never_drop_mail_for_an_unknown_local_user(client):
    """A local user that does not exist: the submitter hears it at once (EX_NOUSER), or root gets the bounce."""
    token = uuid.uuid4().hex
    result = client.run("printf 'Subject: %s\\n\\nhi\\n' | /usr/sbin/sendmail -i -f root nosuchuser" % token)
    if result.rc == 0:
        _wait_for_mail(client, "/var/mail/root", token)
    else:
        assert result.rc == 67, result  # sysexits EX_NOUSER: refused, not lost


def test_mail_from_another_host_reaches_the_mailbox(host, client):
    token = uuid.uuid4().hex
    body = "From: dave@example.net\nTo: alice@example.com\nSubject: %s\n\nhello\n" % token
    out = _smtp(client, "mh-sendmail-mail", "dave@example.net", "alice@mail.example.com", body)
    assert "DATA 250" in out, out
    _wait_for_mail(host, "/var/mail/alice", token)


def _bv(host, address):
    """sendmail -bv for one address (it reports each resolved address once)."""
    return host.check_output("sendmail -bv %s 2>&1" % address)


def test_virtusertable_routes_with_makemap_and_sendmail_bv(host):
    dump = host.check_output("makemap -u hash /etc/mail/virtusertable")
    entries = {tuple(line.split("\t", 1)) for line in dump.splitlines()}
    assert ("@example.com", "bob") in entries, dump
    assert ("alice@example.com", "alice") in entries, dump
    # The guide's catch-all: any example.com address is bob's.
    out = _bv(host, "anyone@example.com")
    assert "anyone@example.com... deliverable: mailer local, user bob" in out, out
    # A specific entry beats the catch-all.
    out = _bv(host, "sales@example.com")
    assert "sales@example.com... deliverable: mailer local, user alice" in out, out
    out = _bv(host, "alice@example.com")
    assert "alice@example.com... deliverable: mailer local, user alice" in out, out


@pytest.mark.parametrize(
    "local_part,mailbox",
    [("anyone-%s" % uuid.uuid4().hex[:8], "bob"), ("alice", "alice")],
    ids=["catch-all-to-bob", "specific-entry-to-alice"],
)
def test_virtusertable_mail_arrives(host, client, local_part, mailbox):
    token = uuid.uuid4().hex
    rcpt = "%s@example.com" % local_part
    body = "From: dave@example.net\nTo: %s\nSubject: %s\n\nhello\n" % (rcpt, token)
    out = _smtp(client, "mh-sendmail-mail", "dave@example.net", rcpt, body)
    assert "DATA 250" in out, out
    _wait_for_mail(host, "/var/mail/%s" % mailbox, token)


def test_aliases_resolve_to_their_targets(host):
    out = _bv(host, "info")
    assert "alice... deliverable: mailer local, user alice" in out, out
    out = _bv(host, "postmaster")
    assert "root... deliverable: mailer local, user root" in out, out


def test_masquerading_rewrites_host_addresses(host):
    token = uuid.uuid4().hex
    body = "From: Carol <carol@host.example.com>\nTo: bob\nSubject: %s\n\nhello\n" % token
    out = _smtp(host, "127.0.0.1", "carol@host.example.com", "bob", body, helo="host.example.com")
    assert "DATA 250" in out, out
    message = _message(_wait_for_mail(host, "/var/mail/bob", token), token)
    assert "From: Carol <carol@example.com>" in message, message
    assert "Return-Path: <carol@example.com>" in message, message
    assert "carol@host.example.com" not in message, message


def test_access_reject_blocks_the_client(host, blocked):
    # Connect:<address> REJECT: Sendmail greets, then refuses every command
    # from MAIL on with 550 5.7.1 Access denied.
    token = uuid.uuid4().hex
    out = _smtp(blocked, "mh-sendmail-mail", "eve@example.net", "alice@mail.example.com", "Subject: %s\n\nx\n" % token)
    assert "MAIL 550 5.7.1 Access denied" in out, out
    assert "RCPT" not in out and "DATA" not in out, out
    assert token not in host.run("cat /var/mail/alice").stdout


def test_relaying_from_outside_is_refused(client):
    out = _smtp(client, "mh-sendmail-mail", "dave@example.net", "victim@example.org", "Subject: relay\n\nx\n")
    assert "RCPT 550" in out and "Relaying denied" in out, out


def test_relay_domains_allow_relaying_to_them(host, client):
    lines = host.file("/etc/mail/relay-domains").content_string.splitlines()
    assert "relay-ok.example.org" in lines, lines
    # RCPT only: the message would wait in the queue for a domain that does not exist.
    out = _smtp(client, "mh-sendmail-mail", "dave@example.net", "someone@relay-ok.example.org", None)
    assert "RCPT 250" in out, out


def test_starttls_uses_the_tls_cert_certificate(host):
    out = host.run(
        "openssl s_client -starttls smtp -connect 127.0.0.1:25 -servername mail.example.com </dev/null 2>&1"
    ).stdout
    assert "CN = mail.example.com" in out or "CN=mail.example.com" in out, out
    key = host.check_output("grep -o 'confSERVER_KEY.*' /etc/mail/sendmail.mc").split("`")[1].rstrip("')dnl")
    assert host.file(key).mode == 0o600


def test_regeneration_kept_a_backup_of_the_previous_cf(host):
    backups = host.check_output("ls /etc/mail/ | grep -E '^sendmail\\.cf\\..*~$' || true").split()
    assert backups, "no backup of the previous sendmail.cf"
    assert host.file("/etc/mail/" + backups[0]).size > 0


def test_broken_mc_left_the_previous_cf_serving(host):
    # side_effect recorded the checksums before feeding the role broken mc lines.
    assert host.run("sha1sum --check /root/sendmail-before-side-effect.txt").rc == 0
    mc = host.file("/etc/mail/sendmail.mc").content_string
    assert "mailhost_no_such_feature" not in mc and "mailhost_broken" not in mc
    assert "mailhost_broken" not in host.file("/etc/mail/sendmail.cf").content_string
    assert host.service("sendmail").is_running
    greeting = host.check_output(
        "python3 -c 'import smtplib; print(smtplib.SMTP(\"127.0.0.1\", 25, timeout=20).noop())'"
    )
    assert "250" in greeting


def _checksums(host, paths):
    return host.check_output("sha1sum %s" % " ".join(paths))


def test_check_mode_reports_changes_and_writes_nothing(host, blocked):
    """--check with a new masquerade domain and a new virtusertable entry:
    the mc and the virtusertable would change, nothing is written, nothing
    else is reported. On the blocked host, which has no Sendmail, the run
    succeeds and installs nothing."""
    files = [
        "/etc/mail/sendmail.mc",
        "/etc/mail/sendmail.cf",
        "/etc/mail/virtusertable",
        "/etc/mail/virtusertable.db",
    ]
    before = _checksums(host, files)
    returncode, output = scenario_playbook.run_playbook(__file__, "check_mode.yml", "--check", "--diff", timeout=600)
    assert returncode == 0, output
    changed = re.findall(
        r"TASK \[([^\]]+)\][^\n]*\n(?:(?!TASK|RUNNING HANDLER)[^\n]*\n)*?changed: \[mh-sendmail-mail\]", output
    )
    assert sorted(changed) == [
        "mailhost.mail.sendmail : Manage the virtusertable",
        "mailhost.mail.sendmail : Render sendmail.mc",
    ], output
    assert re.search(r"mh-sendmail-mail\s*: ok=\d+\s+changed=2\b", output), output
    assert "+MASQUERADE_AS(`dry-run.example.com')dnl" in output, output
    assert "+dry-run@example.com" in output, output
    assert _checksums(host, files) == before
    assert "dry-run@example.com" not in host.check_output("makemap -u hash /etc/mail/virtusertable")
    # The new host: the packages, the files and the maps would change; none is there.
    assert re.search(r"mh-sendmail-blocked\s*: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0", output), output
    assert not blocked.file("/etc/mail").exists
    assert not blocked.package("sendmail").is_installed
