"""The estate works end to end, checked with real clients from the client.

SMTP into the mail server and IMAPS back out (certificate verified against the
one tls_cert issued), an alias that exists only in LDAP, the null client's
relay, and the Sendmail gateway's masquerading. The client drives
demo/files/mail_check.py, the demo's own check client.
"""

import json
import os
import time
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[3]
CHECK = "/usr/local/bin/mail_check.py"
CA = "/root/full-stack-mail-ca.pem"
PASSWORDS = {"alice": "alice-demo-pw", "bob": "bob-demo-pw"}

testinfra_hosts = ["mh-full_stack-client"]


def _host(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")


@pytest.fixture(scope="module")
def mail():
    return _host("mh-full_stack-mail")


@pytest.fixture(scope="module")
def client(host, mail, tmp_path_factory):
    """The client, with the check client and the mail server's certificate."""
    host.ansible("ansible.builtin.copy", f"src={ROOT / 'demo/files/mail_check.py'} dest={CHECK} mode=0755", check=False)
    pem = tmp_path_factory.mktemp("ca") / "mail.pem"
    pem.write_text(mail.file("/etc/ssl/certs/mailhost.pem").content_string)
    host.ansible("ansible.builtin.copy", f"src={pem} dest={CA} mode=0644", check=False)
    return host


def _send(client, host, sender, recipient, subject):
    cmd = client.run("python3 %s send %s 25 %s %s %s", CHECK, host, sender, recipient, subject)
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return json.loads(cmd.stdout)


def _fetch(client, user, subject):
    cmd = client.run(
        "MAIL_CHECK_PASSWORD=%s python3 %s fetch mail.example.com %s %s --cafile %s --timeout 60",
        PASSWORDS[user], CHECK, user, subject, CA,
    )
    assert cmd.rc == 0, f"{user} did not get '{subject}': {cmd.stdout} {cmd.stderr}"
    return json.loads(cmd.stdout)


def _subject(what):
    return f"full-stack {what} {time.time_ns()}"


def test_smtp_to_imaps(client):
    subject = _subject("direct")
    _send(client, "mail.example.com", "demo@client.example.com", "alice@example.com", subject)
    got = _fetch(client, "alice", subject)
    assert got["tls"] in ("TLSv1.2", "TLSv1.3")


def test_ldap_alias_delivers(client, mail):
    lookup = mail.run("postmap -q sales ldap:/etc/postfix/ldap-aliases.cf")
    assert lookup.rc == 0 and "bob@example.com" in lookup.stdout, lookup.stdout + lookup.stderr
    subject = _subject("ldap-alias")
    _send(client, "mail.example.com", "demo@client.example.com", "sales@example.com", subject)
    got = _fetch(client, "bob", subject)
    assert "sales@example.com" in got["header"]


def test_null_client_relays(client):
    subject = _subject("null-client")
    cmd = client.run(
        "printf 'To: alice@example.com\\nSubject: %%s\\n\\nvia the null client\\n' %s | /usr/sbin/sendmail -t", subject
    )
    assert cmd.rc == 0, cmd.stderr
    _fetch(client, "alice", subject)


def test_null_client_listens_on_loopback_only(client):
    for socket in client.socket.get_listening_sockets():
        if socket.endswith(":25"):
            assert "127.0.0.1" in socket or "::1" in socket, socket


# The gateway listens on every interface only after the sendmail role's restart
# really replaced the package's daemon; in containers that needs SYS_PTRACE
# (Debian's init script reads /proc/PID/exe), which the platforms now have.
def test_gateway_masquerades(client):
    subject = _subject("gateway")
    _send(client, "gw.example.com", "carol@client.example.com", "alice@example.com", subject)
    got = _fetch(client, "alice", subject)
    assert "carol@example.com" in got["header"], got["header"]
