"""mail_auth end to end: DKIM signing and verification (dkimpy and OpenDKIM), SPF, DMARC reject, records, faults."""

import json
import os
import re
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

testinfra_hosts = ["mh-mail_auth-signer"]
SIGNER, RECV, DNS = "mh-mail_auth-signer", "mh-mail_auth-recv", "mh-mail_auth-dns"
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")


@pytest.fixture(scope="module")
def hosts():
    import testinfra

    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return {name: testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory))
            for name in (SIGNER, RECV, DNS)}


def run_playbook(playbook, *args):
    return scenario_playbook.run_playbook(__file__, playbook, *args)


def recap(output, host):
    match = re.search(r"^%s\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % re.escape(host),
                      output, re.M)
    assert match, output[-3000:]
    return tuple(int(g) for g in match.groups())


def wait_for_message(recv, marker, timeout=60):
    """The path of the delivered message in bob's Maildir whose Subject holds the marker."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = recv.run("grep -l -r -- %s /home/bob/Maildir/new", marker)
        if found.rc == 0 and found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(1)
    pytest.fail("no message with %s arrived; receiver log:\n%s" % (
        marker, recv.run("journalctl -n 40 --no-pager -u postfix@- -u opendkim -u opendmarc").stdout))


def send_from_signer(signer, marker, sender="alice@example.com", body="Signed by the signer.\n"):
    message = "From: %s\nTo: bob@example.net\nSubject: %s\n\n%s" % (sender, marker, body)
    result = signer.run("printf %%s %s | /usr/sbin/sendmail -f %s -t", message, sender)
    assert result.rc == 0, result.stderr


def smtp_from_outside(dns, mail_from, header_from, marker):
    """Talk SMTP to the receiver from the DNS container (an outside host); return the DATA reply."""
    script = (
        "import smtplib,sys\n"
        "s=smtplib.SMTP('mx.example.net',25,timeout=60)\n"
        "s.ehlo('outside.test')\n"
        "s.mail(sys.argv[1]); s.rcpt('bob@example.net')\n"
        "code,msg=s.data(('From: %s\\r\\nTo: bob@example.net\\r\\nSubject: %s\\r\\n\\r\\nhello\\r\\n' "
        "% (sys.argv[2], sys.argv[3])).encode())\n"
        "print(code, msg.decode())\n")
    result = dns.run("python3 -c %s %s %s %s", script, mail_from, header_from, marker)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def test_keys_are_root_owned_and_readable_by_opendkim_only(hosts):
    signer = hosts[SIGNER]
    for selector in ("s2025", "s2026", "ed"):
        key = signer.file("/etc/opendkim/keys/example.com/%s.private" % selector)
        assert key.user == "root" and key.group == "opendkim" and key.mode == 0o640
    assert signer.run("runuser -u opendkim -- head -c 10 /etc/opendkim/keys/example.com/s2026.private").rc == 0
    assert signer.run("runuser -u nobody -- cat /etc/opendkim/keys/example.com/s2026.private").rc != 0
    assert "2048 bit" in signer.run("openssl pkey -in /etc/opendkim/keys/example.com/s2026.private -text -noout").stdout
    assert "ED25519" in signer.run("openssl pkey -in /etc/opendkim/keys/example.com/ed.private -text -noout").stdout


def test_tables_sign_with_the_active_selector_and_keep_the_old_key(hosts):
    signer = hosts[SIGNER]
    assert signer.file("/etc/opendkim/SigningTable").content_string.split("\n")[0] == (
        "*@example.com s2026._domainkey.example.com")
    assert "s2025._domainkey.example.com example.com:s2025:" in signer.file("/etc/opendkim/KeyTable").content_string
    assert signer.run("opendkim -n -x /etc/opendkim.conf").rc == 0
    assert signer.socket("tcp://127.0.0.1:8891").is_listening
    assert signer.socket("tcp://127.0.0.1:8893").is_listening


def test_postfix_composed_the_registration(hosts):
    recv = hosts[RECV]
    postconf = recv.run("postconf smtpd_milters non_smtpd_milters milter_default_action smtpd_recipient_restrictions")
    cf = dict(line.split(" = ", 1) for line in postconf.stdout.splitlines())
    assert cf["smtpd_milters"] == "inet:127.0.0.1:8891, inet:127.0.0.1:8893"
    assert cf["non_smtpd_milters"] == "inet:127.0.0.1:8891"
    assert cf["milter_default_action"] == "accept"
    assert cf["smtpd_recipient_restrictions"] == (
        "permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policyd_spf")
    assert re.search(r"^policyd_spf\s+unix\s+-\s+n\s+n\s+-\s+0\s+spawn user=policyd-spf argv=/usr/bin/policyd-spf$",
                     recv.run("postconf -M").stdout, re.M)
    assert json.loads(recv.file("/etc/postfix/mailhost.d/mail_auth.json").content_string)["smtpd_milters"]


def test_dns_serves_the_returned_records(hosts):
    records = {r["name"]: r for r in json.load(open(os.path.join(EPHEMERAL, "mail_auth-recv.json")))}
    assert records["r1._domainkey.example.net"]["value"].startswith("v=DKIM1; k=rsa; p=MIIB")
    assert records["_dmarc.example.net"]["value"] == "v=DMARC1; p=none; rua=mailto:postmaster@example.net"
    zone = open(os.path.join(EPHEMERAL, "mail_auth-signer.zone")).read()
    assert re.search(r'^ed\._domainkey\.example\.com\. 3600 IN TXT \( "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=" \)$',
                     zone, re.M), zone
    assert re.search(r'^s2025\._domainkey\.example\.com\. 3600 IN TXT \( "v=DKIM1; k=rsa; p=\S+" "\S+" \)$', zone, re.M)
    answer = hosts[RECV].run("python3 -c %s", "import dns.resolver;print(b''.join(dns.resolver.resolve("
                             "'s2026._domainkey.example.com','TXT')[0].strings).decode())")
    assert answer.rc == 0, answer.stderr
    assert answer.stdout.strip().startswith("v=DKIM1; k=rsa; p=MIIB")


def test_signed_mail_verifies_with_dkimpy_and_opendkim_and_a_tampered_body_fails(hosts):
    marker = "signed-%s" % uuid.uuid4().hex
    send_from_signer(hosts[SIGNER], marker)
    recv = hosts[RECV]
    path = wait_for_message(recv, marker)
    message = recv.file(path).content_string
    assert re.search(r"^DKIM-Signature:.*\bd=example\.com;.*\bs=s2026;", message.replace("\n\t", " "), re.M), message
    assert re.search(r"^Authentication-Results: mx\.example\.net;\s+dkim=pass", message, re.M), message
    assert re.search(r"^Authentication-Results: mx\.example\.net; dmarc=pass", message, re.M), message
    verified = recv.run("dkimverify < %s", path)
    assert verified.rc == 0 and "signature ok" in verified.stdout, verified.stdout + verified.stderr
    tampered = recv.run("sed 's/Signed by the signer/Signed by someone else/' %s | dkimverify", path)
    assert tampered.rc != 0, tampered.stdout
    assert "signature verification failed" in tampered.stdout or "body hash mismatch" in tampered.stderr, (
        tampered.stdout + tampered.stderr)


def test_spf_fail_is_marked_and_delivered_in_tag_mode(hosts):
    marker = "spf-%s" % uuid.uuid4().hex
    reply = smtp_from_outside(hosts[DNS], "someone@spf-fail.test", "someone@spf-fail.test", marker)
    assert reply.startswith("250"), reply
    message = hosts[RECV].file(wait_for_message(hosts[RECV], marker)).content_string
    assert re.search(r"^Authentication-Results: mx\.example\.net; spf=fail smtp\.mailfrom=spf-fail\.test", message,
                     re.M), message


def test_spoofed_ceo_from_outside_is_refused_by_the_dmarc_reject_policy(hosts):
    marker = "spoof-%s" % uuid.uuid4().hex
    reply = smtp_from_outside(hosts[DNS], "ceo@example.com", "ceo@example.com", marker)
    assert reply.startswith("5"), reply
    assert "DMARC" in reply or "dmarc" in reply.lower(), reply


def test_check_mode_changes_nothing():
    rc, output = run_playbook("mail_hosts.yml", "--check")
    assert rc == 0, output[-3000:]
    for host in (SIGNER, RECV):
        assert recap(output, host) == (0, 0, 0), output[-3000:]


def test_malformed_selector_fails_before_anything_changes(hosts):
    rc, output = run_playbook("mail_hosts.yml", "--limit", SIGNER, "-e",
                              '{"mail_auth_dkim_keys": [{"domain": "example.com", "selector": "bad_selector"}]}')
    assert rc != 0
    assert "selector must be DNS labels" in output and "bad_selector" in output, output[-3000:]
    assert recap(output, SIGNER)[0] == 0
    assert hosts[SIGNER].service("postfix").is_running


def test_broken_key_file_fails_clearly_and_the_mta_keeps_serving(hosts):
    signer = hosts[SIGNER]
    key = "/etc/opendkim/keys/example.com/s2025.private"
    assert signer.run("cp -p %s %s.saved", key, key).rc == 0
    tables = signer.run("sha256sum /etc/opendkim/KeyTable /etc/opendkim.conf /etc/postfix/main.cf").stdout
    try:
        assert signer.run("sh -c 'echo not a key > %s'", key).rc == 0
        rc, output = run_playbook("mail_hosts.yml", "--limit", SIGNER)
        assert rc != 0
        assert "DKIM key s2025._domainkey.example.com" in output and "keep running" in output, output[-3000:]
        assert signer.run("sha256sum /etc/opendkim/KeyTable /etc/opendkim.conf /etc/postfix/main.cf").stdout == tables
        assert signer.service("opendkim").is_running and signer.service("postfix").is_running
        marker = "still-%s" % uuid.uuid4().hex
        send_from_signer(signer, marker)
        wait_for_message(hosts[RECV], marker)
    finally:
        signer.run("mv -f %s.saved %s", key, key)
