"""Dovecot as mail clients see it: IMAPS, POP3S, STARTTLS rules, TLS versions,
delivery from Postfix through LMTP, Postfix's SASL socket, and the role's
password handling. Clients run in the second container (mh-dovecot-client)."""

import os
import re
import sys
import textwrap
import uuid

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

# docker exec is much quicker per command than the Ansible backend.
testinfra_hosts = ["docker://mh-dovecot-server"]

SERVER = "mail.example.com"
CAFILE = "/etc/ssl/certs/mh-test.pem"
USERS = {
    "alice@example.org": "alice-virtual-pw",
    "bob": "bob-system-pw",
}
AUTO_MAILBOXES = {"INBOX": None, "Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk"}

PRELUDE = f"""
import imaplib, poplib, smtplib, ssl, sys, time
ctx = ssl.create_default_context(cafile={CAFILE!r})
SERVER = {SERVER!r}
"""


@pytest.fixture(scope="module")
def client():
    return testinfra.get_host("docker://mh-dovecot-client")


def python(target, code):
    """Run Python 3 on a container; return the command result."""
    script = PRELUDE + textwrap.dedent(code)
    return target.run(f"python3 - <<'EOF'\n{script}\nEOF")


def ok(target, code):
    result = python(target, code)
    assert result.rc == 0, result.stdout + result.stderr
    return result.stdout


def run_playbook(playbook, *args):
    """Run one of the scenario's playbooks against its inventory; return (rc, output)."""
    return scenario_playbook.run_playbook(__file__, playbook, *args)


def send_through_postfix(client, rcpt, subject):
    ok(client, f"""
        with smtplib.SMTP(SERVER, 25, timeout=30) as s:
            s.sendmail("tester@client.example.com", [{rcpt!r}],
                       "From: tester@client.example.com\\r\\nTo: {rcpt}\\r\\n"
                       "Subject: {subject}\\r\\n\\r\\nbody {subject}\\r\\n")
    """)


@pytest.mark.parametrize("user", sorted(USERS))
def test_imaps_login_lists_the_auto_mailboxes(client, user):
    out = ok(client, f"""
        with imaplib.IMAP4_SSL(SERVER, 993, ssl_context=ctx, timeout=30) as m:
            m.login({user!r}, {USERS[user]!r})
            typ, listed = m.list()
            assert typ == "OK", listed
            typ, subscribed = m.lsub()
            print("LIST", *[x.decode() for x in listed], sep="\\n")
            print("LSUB", *[x.decode() for x in subscribed], sep="\\n")
    """)
    listing, subscribed = out.split("LSUB")
    for name, flag in AUTO_MAILBOXES.items():
        lines = [ln for ln in listing.splitlines() if ln.rstrip('"').endswith(name)]
        assert lines, (name, listing)
        if flag:
            assert flag in lines[0], lines
        assert any(ln.rstrip('"').endswith(name) for ln in subscribed.splitlines()), (name, subscribed)


@pytest.mark.parametrize("user", sorted(USERS))
def test_pop3s_login(client, user):
    out = ok(client, f"""
        p = poplib.POP3_SSL(SERVER, 995, context=ctx, timeout=30)
        p.user({user!r})
        print(p.pass_({USERS[user]!r}))
        p.quit()
    """)
    assert "+OK" in out


APOP_TIMESTAMP = re.compile(r"<[^<>@\s]+@[^<>\s]+>")


def pop3_greetings(client):
    return ok(client, """
        p = poplib.POP3_SSL(SERVER, 995, context=ctx, timeout=30)
        print("995", p.getwelcome().decode())
        p.quit()
        p = poplib.POP3(SERVER, 110, timeout=30)
        print("110", p.getwelcome().decode())
        p.quit()
    """)


def test_pop3_greeting_has_no_apop_timestamp_by_default(client):
    out = pop3_greetings(client)
    assert out.count("+OK") == 2, out
    assert not APOP_TIMESTAMP.search(out), out


# Each refusal costs Dovecot's (and PAM's) failure delay, so one protocol each.
@pytest.mark.parametrize("user,protocol", [("alice@example.org", "imap"), ("bob", "pop3")])
def test_wrong_password_is_refused(client, user, protocol):
    out = ok(client, f"""
        try:
            if {protocol!r} == "imap":
                with imaplib.IMAP4_SSL(SERVER, 993, ssl_context=ctx, timeout=30) as m:
                    m.login({user!r}, "not-the-password")
            else:
                p = poplib.POP3_SSL(SERVER, 995, context=ctx, timeout=30)
                p.user({user!r})
                p.pass_("not-the-password")
            print("ACCEPTED")
        except (imaplib.IMAP4.error, poplib.error_proto) as e:
            print("REFUSED", e)
    """)
    assert "REFUSED" in out, out


def test_imap_plaintext_login_before_starttls_is_refused(client):
    out = ok(client, """
        m = imaplib.IMAP4(SERVER, 143, timeout=30)
        print("CAPS", m.capabilities)
        try:
            m.login("alice@example.org", "alice-virtual-pw")
            print("PLAINTEXT ACCEPTED")
        except imaplib.IMAP4.error as e:
            print("PLAINTEXT REFUSED", e)
        m.starttls(ssl_context=ctx)
        print(m.login("alice@example.org", "alice-virtual-pw")[0])
        m.logout()
    """)
    assert "LOGINDISABLED" in out
    assert "PLAINTEXT REFUSED" in out, out
    assert out.strip().endswith("OK"), out


def test_pop3_plaintext_login_before_starttls_is_refused(client):
    out = ok(client, """
        p = poplib.POP3(SERVER, 110, timeout=30)
        try:
            p.user("alice@example.org")
            p.pass_("alice-virtual-pw")
            print("PLAINTEXT ACCEPTED")
        except poplib.error_proto as e:
            print("PLAINTEXT REFUSED", e)
        p.stls(context=ctx)
        p.user("alice@example.org")
        print(p.pass_("alice-virtual-pw"))
        p.quit()
    """)
    assert "PLAINTEXT REFUSED" in out, out
    assert "+OK" in out.splitlines()[-1], out


@pytest.mark.parametrize("port", [993, 995])
@pytest.mark.parametrize(
    "version,accepted", [("-tls1", False), ("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)]
)
def test_tls_versions(client, port, version, accepted):
    # SECLEVEL=0 lets this client offer TLS 1.0/1.1, so a refusal is the server's.
    cmd = (
        f"openssl s_client -connect {SERVER}:{port} -servername {SERVER} {version} "
        f"-cipher DEFAULT@SECLEVEL=0 -CAfile {CAFILE} -verify_return_error </dev/null"
    )
    result = client.run(cmd)
    if accepted:
        assert result.rc == 0, result.stderr
        assert "Verify return code: 0 (ok)" in result.stdout
    else:
        assert result.rc != 0, result.stdout
        assert "Cipher is (NONE)" in result.stdout or "alert" in result.stderr.lower(), result.stdout + result.stderr


def test_the_role_sets_the_tls_floor(host):
    """The refusals above could come from the client's or the distribution's
    OpenSSL defaults: the setting itself must be the role's."""
    assert host.check_output("doveconf -h ssl_min_protocol") == "TLSv1.2"
    assert host.check_output("doveconf -h ssl") == "required"
    assert "ssl_min_protocol = TLSv1.2" in host.file("/etc/dovecot/dovecot.conf").content_string


def _imap_wait(user, password, subject, then):
    """Client code: log in over 993, wait (at most 30 s) for the subject in INBOX, then run ``then``."""
    return f"""
        with imaplib.IMAP4_SSL(SERVER, 993, ssl_context=ctx, timeout=30) as m:
            m.login({user!r}, {password!r})
            for _ in range(60):
                m.select("INBOX")
                typ, found = m.search(None, "SUBJECT", {subject!r})
                if found[0]:
                    break
                time.sleep(0.5)
""" + then


def test_postfix_delivers_through_lmtp_and_imap_fetches(client):
    subject = f"imap-{uuid.uuid4().hex}"
    send_through_postfix(client, "alice@example.org", subject)
    out = ok(client, _imap_wait("alice@example.org", "alice-virtual-pw", subject, """
            num = found[0].split()[-1]
            typ, data = m.fetch(num, "(RFC822)")
            print(data[0][1].decode())
    """))
    assert f"Subject: {subject}" in out
    assert f"body {subject}" in out
    assert "with LMTP" in out  # Dovecot's Received header


def test_postfix_delivers_and_pop3_retrieves_and_deletes(client):
    subject = f"pop3-{uuid.uuid4().hex}"
    send_through_postfix(client, "carol@example.org", subject)
    out = ok(client, f"""
        def session():
            p = poplib.POP3_SSL(SERVER, 995, context=ctx, timeout=30)
            p.user("carol@example.org")
            p.pass_("carol-virtual-pw")
            return p

        def find(p):
            count, _ = p.stat()
            for i in range(1, count + 1):
                if any({subject!r} in ln.decode() for ln in p.top(i, 0)[1]):
                    return i
            return None

        for _ in range(60):
            p = session()
            num = find(p)
            if num:
                break
            p.quit()
            time.sleep(0.5)
        print("BODY", b"\\n".join(p.retr(num)[1]).decode())
        p.dele(num)
        p.quit()
        p = session()
        print("AFTER", find(p))
        p.quit()
    """)
    assert f"body {subject}" in out
    assert "AFTER None" in out


def test_postfix_delivers_local_mail_to_a_system_user(client):
    """mailbox_transport hands bob@mail.example.com to LMTP; Dovecot finds
    the system user by the local part."""
    subject = f"local-{uuid.uuid4().hex}"
    send_through_postfix(client, "bob@mail.example.com", subject)
    out = ok(client, _imap_wait("bob", "bob-system-pw", subject, """
            print("FOUND", found[0].decode())
    """))
    assert out.split("FOUND", 1)[1].strip(), out


def test_lmtp_tcp_delivery_to_system_user(host, client):
    subject = f"lmtp-{uuid.uuid4().hex}"
    ok(host, f"""
        with smtplib.LMTP("127.0.0.1", 24) as l:
            l.sendmail("tester@example.com", ["bob"], "Subject: {subject}\\r\\n\\r\\nhello bob\\r\\n")
    """)
    out = ok(client, f"""
        with imaplib.IMAP4_SSL(SERVER, 993, ssl_context=ctx, timeout=30) as m:
            m.login("bob", "bob-system-pw")
            m.select("INBOX")
            typ, found = m.search(None, "SUBJECT", {subject!r})
            print("FOUND", found[0].decode())
    """)
    assert out.split("FOUND", 1)[1].strip(), out


def test_lmtp_is_not_reachable_from_outside(client):
    result = python(client, """
        import socket
        socket.create_connection((SERVER, 24), timeout=5)
    """)
    assert result.rc != 0


def test_postfix_sasl_socket_authenticates(host):
    sock = host.file("/var/spool/postfix/private/auth")
    assert sock.is_socket
    assert (sock.user, sock.group, sock.mode) == ("postfix", "postfix", 0o660)
    lmtp = host.file("/var/spool/postfix/private/dovecot-lmtp")
    assert lmtp.is_socket and lmtp.user == "postfix"
    out = ok(host, """
        import base64, os, socket
        s = socket.socket(socket.AF_UNIX)
        s.connect("/var/spool/postfix/private/auth")
        f = s.makefile("rw")
        f.write(f"VERSION\\t1\\t2\\nCPID\\t{os.getpid()}\\n"); f.flush()
        while f.readline().strip() != "DONE":
            pass
        def auth(n, user, pw):
            resp = base64.b64encode(f"\\0{user}\\0{pw}".encode()).decode()
            f.write(f"AUTH\\t{n}\\tPLAIN\\tservice=smtp\\tsecured\\tresp={resp}\\n"); f.flush()
            return f.readline().split("\\t")[0]
        print(auth(1, "alice@example.org", "alice-virtual-pw"), auth(2, "alice@example.org", "wrong"))
    """)
    assert out.split() == ["OK", "FAIL"], out


def test_password_file_holds_only_hashes(host):
    users = host.file("/etc/dovecot/users")
    assert (users.user, users.group, users.mode) == ("root", "dovecot", 0o640)
    content = users.content_string
    for password in USERS.values():
        assert password not in content
    assert content.count("{SHA512-CRYPT}$6$") == 2


def test_check_mode_reports_a_password_change_without_leaking_it(host, client):
    """Check mode with a new password: the users file would change, the real
    file stays, and neither the password nor a hash shows in the output.
    On the client, a host without Dovecot, check mode succeeds and changes nothing."""
    before = host.file("/etc/dovecot/users").content_string
    rc, output = run_playbook("check_mode.yml", "--check", "--diff", "-v")
    assert rc == 0, output
    assert "alice-rotated-pw" not in output
    assert "zed-check-pw" not in output
    assert "$6$" not in output
    assert "censored" in output
    # The users file, and the reload it would trigger; nothing else.
    assert re.search(r"mh-dovecot-server\s*: ok=\d+\s+changed=2\b", output), output
    assert re.search(r"Write the virtual users' passwd-file\][^\n]*\n(?:(?!TASK)[^\n]*\n)*?changed: ", output), output
    assert host.file("/etc/dovecot/users").content_string == before
    assert not client.file("/etc/dovecot").exists
    assert not client.user("vmail").exists


# One test switches APOP on and back off: testinfra's `host` parametrization
# reorders tests, so no other test may see the APOP state.
def test_apop_on_and_off(host, client):
    rc, output = run_playbook("apop.yml", "-e", "mh_apop=true")
    try:
        assert rc == 0, output
        text = " ".join(output.split())
        assert "[WARNING]: dovecot_apop_enabled is true" in text, output
        assert "alice-virtual-pw" not in output

        greetings = pop3_greetings(client)
        assert len(APOP_TIMESTAMP.findall(greetings)) == 2, greetings

        out = ok(client, """
            p = poplib.POP3(SERVER, 110, timeout=30)
            try:
                p.apop("alice@example.org", "alice-virtual-pw")
                print("PLAINTEXT APOP ACCEPTED")
            except poplib.error_proto as e:
                print("PLAINTEXT APOP REFUSED", e)
            p.quit()
            p = poplib.POP3(SERVER, 110, timeout=30)
            p.stls(context=ctx)
            print("STLS", p.apop("alice@example.org", "alice-virtual-pw").decode())
            p.quit()
            p = poplib.POP3_SSL(SERVER, 995, context=ctx, timeout=30)
            print("POP3S", p.apop("carol@example.org", "carol-virtual-pw").decode())
            p.quit()
        """)
        assert "PLAINTEXT APOP REFUSED" in out, out
        assert "STLS +OK" in out, out
        assert "POP3S +OK" in out, out

        users = host.file("/etc/dovecot/users")
        assert (users.user, users.group, users.mode) == ("root", "root", 0o600)
        assert users.content_string.count("{PLAIN}") == 2
        # The auth process that read it for the logins above runs as root
        # (not counting the auth-worker processes, "dovecot/auth -w", root anyway).
        auth = host.check_output("ps -eo user=,args= | awk '$2 == \"dovecot/auth\" && NF == 2 {print $1}'")
        assert auth.split() == ["root"], auth
    finally:
        rc, output = run_playbook("apop.yml", "-e", "mh_apop=false")
    assert rc == 0, output
    assert "[WARNING]: dovecot_apop_enabled" not in " ".join(output.split())
    users = host.file("/etc/dovecot/users")
    assert (users.user, users.group, users.mode) == ("root", "dovecot", 0o640)
    assert "{PLAIN}" not in users.content_string
    assert not APOP_TIMESTAMP.search(pop3_greetings(client))
    test_pop3s_login(client, "alice@example.org")
