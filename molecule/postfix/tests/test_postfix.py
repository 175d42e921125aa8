"""Postfix role: real SMTP clients against the converged mail host.

The mail host is mh-postfix-mail (mynetworks: loopback only); the client
container mh-postfix-outside is on the same Docker network but outside
mynetworks. Nothing leaves the containers: example.net is discarded by the
transport table and the default transport is an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time
import uuid

import pytest
import testinfra

testinfra_hosts = ["mh-postfix-mail"]

SCENARIO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
MAIL_HOST = "mh-postfix-mail"
PASSWORD = "alice-secret"  # noqa: S105 - the test user set up by converge.yml


@pytest.fixture(scope="module")
def outside():
    return testinfra.get_host("ansible://mh-postfix-outside", ansible_inventory=INVENTORY)


def run_python(target, script: str) -> str:
    """Run a Python script inside a container; return its stdout, fail on error."""
    cmd = target.run("python3 - <<'EOF'\n" + textwrap.dedent(script) + "\nEOF")
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    return cmd.stdout


def mailbox_has(host, user: str, marker: str, timeout: float = 30) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if host.run(f"grep -qF {marker} /var/mail/{user}").rc == 0:
            return True
        time.sleep(1)
    return False


def run_side(*args: str) -> subprocess.CompletedProcess:
    """Apply the role with side.yml against the molecule inventory."""
    return subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, os.path.join(SCENARIO_DIR, "side.yml"), *args],
        capture_output=True, text=True, check=False, timeout=540,
    )


def recap(output: str, host: str) -> dict:
    line = re.search(rf"^{re.escape(host)}\s*:\s*(.*)$", output, re.M)
    assert line, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def test_guide_settings_in_postconf(host):
    conf = host.run("postconf -n").stdout
    for line in [
        "mydomain = example.com",
        "myhostname = mail.example.com",
        "myorigin = $mydomain",
        "mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain",
        "mynetworks = 127.0.0.0/8, [::1]/128",
        "inet_interfaces = all",
        "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        "smtpd_tls_security_level = may",
        "smtpd_sasl_type = dovecot",
        "smtpd_sasl_path = private/auth",
    ]:
        assert line in conf.splitlines(), line
    assert host.service("postfix").is_running
    assert host.service("postfix").is_enabled


def test_outside_mail_to_local_user_is_delivered(host, outside):
    marker = uuid.uuid4().hex
    run_python(outside, f"""
        import smtplib
        with smtplib.SMTP("{MAIL_HOST}", 25, timeout=30) as s:
            s.ehlo("outside.example.net")
            s.sendmail("bob@example.net", ["alice@mail.example.com"],
                       "Subject: hello\\r\\n\\r\\n{marker}\\r\\n")
    """)
    assert mailbox_has(host, "alice", marker)


def test_alias_and_virtual_alias_deliver(host, outside):
    marker = uuid.uuid4().hex
    run_python(outside, f"""
        import smtplib
        with smtplib.SMTP("{MAIL_HOST}", 25, timeout=30) as s:
            s.sendmail("bob@example.net", ["info@mail.example.com"], "Subject: alias\\r\\n\\r\\n{marker}-alias\\r\\n")
    """)
    assert mailbox_has(host, "alice", marker + "-alias")
    db_type = host.run("postconf -h default_database_type").stdout.strip()
    assert host.run(f"postalias -q info {db_type}:/etc/aliases").stdout.strip() == "alice"
    assert host.run(f"postmap -q sales@example.com {db_type}:/etc/postfix/virtual").stdout.strip() == "alice"


def test_map_entry_answers_postmap(host):
    db_type = host.run("postconf -h default_database_type").stdout.strip()
    assert host.run(f"postmap -q example.net {db_type}:/etc/postfix/transport").stdout.strip() == "discard:"
    assert f"transport_maps = {db_type}:/etc/postfix/transport" in host.run("postconf -n").stdout


def test_relay_from_outside_is_denied(outside):
    out = run_python(outside, f"""
        import smtplib
        with smtplib.SMTP("{MAIL_HOST}", 25, timeout=30) as s:
            s.ehlo("outside.example.net")
            s.mail("bob@example.net")
            print(s.rcpt("victim@example.net"))
    """)
    assert "554" in out and "5.7.1" in out and "Relay access denied" in out


def test_relay_from_loopback_is_accepted(host):
    out = run_python(host, """
        import smtplib
        with smtplib.SMTP("127.0.0.1", 25, timeout=30) as s:
            s.ehlo("localhost")
            s.mail("root@mail.example.com")
            print(s.rcpt("someone@example.net"))
    """)
    assert out.startswith("(250"), out


def test_submission_needs_starttls_then_auth_then_relays(outside):
    out = run_python(outside, f"""
        import smtplib, ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("{MAIL_HOST}", 587, timeout=30) as s:
            s.ehlo("outside.example.net")
            print("plain-starttls", s.has_extn("starttls"))
            print("plain-auth", s.has_extn("auth"))
            print("plain-mail", s.mail("bob@example.net"))
            s.rset()
            s.starttls(context=ctx)
            s.ehlo("outside.example.net")
            print("tls-version", s.sock.version())
            print("tls-auth", s.has_extn("auth"))
            s.mail("alice@mail.example.com")
            print("noauth-rcpt", s.rcpt("someone@example.net"))
            s.rset()
            s.login("alice", "{PASSWORD}")
            s.mail("alice@mail.example.com")
            print("auth-rcpt", s.rcpt("someone@example.net"))
    """)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["plain-starttls"] == "True"
    assert lines["plain-auth"] == "False"
    assert "530" in lines["plain-mail"]
    assert lines["tls-version"] in ("TLSv1.2", "TLSv1.3")
    assert lines["tls-auth"] == "True"
    assert lines["noauth-rcpt"].startswith("(554"), lines["noauth-rcpt"]
    assert lines["auth-rcpt"].startswith("(250"), lines["auth-rcpt"]


def test_smtps_speaks_tls_and_relays_after_auth(outside):
    out = run_python(outside, f"""
        import smtplib, ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP_SSL("{MAIL_HOST}", 465, context=ctx, timeout=30) as s:
            s.ehlo("outside.example.net")
            print("tls-version", s.sock.version())
            s.login("alice", "{PASSWORD}")
            s.mail("alice@mail.example.com")
            print("auth-rcpt", s.rcpt("someone@example.net"))
    """)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["tls-version"] in ("TLSv1.2", "TLSv1.3")
    assert lines["auth-rcpt"].startswith("(250"), lines["auth-rcpt"]


# A client context that offers exactly one old TLS version. OpenSSL 3 only
# offers TLS 1.0 and 1.1 at security level 0 (their handshakes use SHA-1).
OLD_TLS_CLIENT = textwrap.dedent("""
    import smtplib, socket, ssl, warnings
    warnings.simplefilter("ignore", DeprecationWarning)

    def old_tls_context(version):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = getattr(ssl.TLSVersion, version)
        ctx.maximum_version = getattr(ssl.TLSVersion, version)
        return ctx
""")


@pytest.fixture(scope="module")
def old_tls_client(outside):
    """Prove that the outside container's client really speaks TLS 1.0 and 1.1.

    A throwaway server on the container's loopback that allows them must
    negotiate each version with the very context the refusal test uses, so a
    refusal by Postfix cannot be the client's own inability. Fails, never skips.
    """
    out = run_python(outside, OLD_TLS_CLIENT + textwrap.dedent("""
        import subprocess, tempfile, threading
        tmp = tempfile.mkdtemp()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=control",
                        "-days", "1", "-keyout", tmp + "/key", "-out", tmp + "/cert"], check=True, capture_output=True)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(tmp + "/cert", tmp + "/key")
        server_ctx.set_ciphers("ALL:@SECLEVEL=0")
        server_ctx.minimum_version = ssl.TLSVersion.TLSv1
        for version in ("TLSv1", "TLSv1_1"):
            listener = socket.create_server(("127.0.0.1", 0))
            def serve():
                conn, _ = listener.accept()
                try:
                    server_ctx.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    conn.close()
            thread = threading.Thread(target=serve)
            thread.start()
            try:
                with socket.create_connection(listener.getsockname(), timeout=30) as raw:
                    with old_tls_context(version).wrap_socket(raw) as tls:
                        print(version, tls.version())
            except (ssl.SSLError, OSError) as exc:
                print(version, "FAILED", exc)
            thread.join(timeout=30)
            listener.close()
    """))
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines == {"TLSv1": "TLSv1", "TLSv1_1": "TLSv1.1"}, (
        "the outside container's client cannot negotiate TLS 1.0/1.1 even with a server that allows them, "
        "so it cannot test that Postfix refuses them: " + out
    )


@pytest.mark.parametrize("port", [25, 465])
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_are_refused(outside, old_tls_client, port, version):
    out = run_python(outside, OLD_TLS_CLIENT + textwrap.dedent(f"""
        ctx = old_tls_context("{version}")
        try:
            if {port} == 465:
                with socket.create_connection(("{MAIL_HOST}", 465), timeout=30) as raw:
                    with ctx.wrap_socket(raw) as tls:
                        print("NEGOTIATED", tls.version())
            else:
                s = smtplib.SMTP("{MAIL_HOST}", 25, timeout=30)
                try:
                    s.ehlo("outside.example.net")
                    s.starttls(context=ctx)
                    print("NEGOTIATED", s.sock.version())
                finally:
                    s.close()
        except ssl.SSLError as exc:
            print("REFUSED", exc.reason, exc)
    """))
    # The server's protocol_version alert: the client offered the old
    # version and Postfix turned it down.
    assert out.startswith("REFUSED TLSV1_ALERT_PROTOCOL_VERSION"), out


def test_tls_minimum_is_1_2_in_config(host):
    for name in ["smtpd_tls_protocols", "smtpd_tls_mandatory_protocols"]:
        value = host.run(f"postconf -h {name}").stdout
        assert "!TLSv1," in value and "!TLSv1.1" in value, (name, value)


def test_starttls_on_25_is_optional_and_modern(outside):
    out = run_python(outside, f"""
        import smtplib, ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("{MAIL_HOST}", 25, timeout=30) as s:
            s.ehlo("outside.example.net")
            print("auth-before-tls", s.has_extn("auth"))
            s.starttls(context=ctx)
            print("tls-version", s.sock.version())
    """)
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert lines["auth-before-tls"] == "False"
    assert lines["tls-version"] in ("TLSv1.2", "TLSv1.3")


CIPHER_CLIENT = """
import smtplib, socket, ssl


def suite_context(ciphers):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    return ctx


def handshake(port, ctx):
    try:
        if port == 465:
            with socket.create_connection(("%s", 465), timeout=30) as raw:
                with ctx.wrap_socket(raw) as tls:
                    return "NEGOTIATED " + tls.cipher()[0]
        s = smtplib.SMTP("%s", port, timeout=30)
        try:
            s.ehlo("outside.example.net")
            s.starttls(context=ctx)
            return "NEGOTIATED " + s.sock.cipher()[0]
        finally:
            s.close()
    except (ssl.SSLError, smtplib.SMTPException, ConnectionError) as exc:
        return "REFUSED " + str(exc)
""" % (MAIL_HOST, MAIL_HOST)


def offer_only(outside, port: int, ciphers: str) -> tuple[list, str]:
    """Offer only the given TLS 1.2 suites; return what was offered and the outcome."""
    out = run_python(outside, CIPHER_CLIENT + textwrap.dedent(f"""
        ctx = suite_context("{ciphers}")
        print("|".join(c["name"] for c in ctx.get_ciphers()))
        print(handshake({port}, ctx))
    """))
    offered, outcome = out.strip().split("\n", 1)
    # get_ciphers() lists the TLS 1.3 suites too, which a TLS 1.2 client never offers.
    return [name for name in offered.split("|") if not name.startswith("TLS_")], outcome


@pytest.mark.parametrize("port", [25, 465, 587])
def test_no_port_accepts_anonymous_suites(outside, port):
    offered, outcome = offer_only(outside, port, "aNULL")
    # The client really offers them, so a refusal is the server's.
    assert offered and all("ADH" in name or "AECDH" in name for name in offered), offered
    assert outcome.startswith("REFUSED"), outcome


@pytest.mark.parametrize("port", [465, 587])
def test_password_ports_accept_only_forward_secret_aead_suites(outside, port):
    offered, outcome = offer_only(outside, port, "kRSA")
    assert offered and not any(name.startswith(("ECDHE", "DHE")) for name in offered), offered
    assert outcome.startswith("REFUSED"), outcome
    offered, outcome = offer_only(outside, port, "ECDHE+AES+SHA1")
    assert offered, offered
    assert outcome.startswith("REFUSED"), outcome
    _offered, outcome = offer_only(outside, port, "ECDHE+AESGCM")
    assert outcome.startswith("NEGOTIATED ECDHE-"), outcome


def test_port_25_keeps_opportunistic_suites_without_anonymous_ones(outside):
    # An old peer without forward secrecy still gets TLS rather than plaintext.
    _offered, outcome = offer_only(outside, 25, "kRSA+AESGCM")
    assert outcome.startswith("NEGOTIATED AES"), outcome


def test_tls_cipher_settings_in_postconf(host):
    assert host.run("postconf -h tls_preempt_cipherlist").stdout.strip() == "yes"
    assert "aNULL" in host.run("postconf -h smtpd_tls_exclude_ciphers").stdout
    assert host.run("postconf -P smtps/inet/smtpd_tls_security_level").stdout.strip().endswith("= encrypt")
    assert host.run("postconf -P submission/inet/smtpd_tls_security_level").stdout.strip().endswith("= encrypt")


def test_private_key_is_root_only(host):
    key = host.run("postconf -h smtpd_tls_key_file").stdout.strip()
    f = host.file(key)
    assert f.user == "root"
    assert f.mode == 0o600


def test_disabled_service_is_gone(host):
    services = host.run("postconf -M").stdout
    assert not re.search(r"^relay\s+unix", services, re.M)
    assert re.search(r"^submission\s+inet", services, re.M)


def test_bad_value_left_postfix_running_with_old_config(host):
    # converge.yml tried default_process_limit = not-a-number and asserted the failure.
    assert "default_process_limit" not in host.run("postconf -n").stdout
    assert host.service("postfix").is_running


def test_check_mode_changes_nothing_and_works_on_a_fresh_host(host, outside):
    """One check-mode run on both containers: the converged mail host and the untouched outside one."""
    before = host.file("/etc/postfix/main.cf").md5sum
    result = run_side("--check", "--diff", "-e", "target=all")
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result.stdout, MAIL_HOST)["changed"] == 0, result.stdout[-3000:]
    assert host.file("/etc/postfix/main.cf").md5sum == before
    assert recap(result.stdout, "mh-postfix-outside")["failed"] == 0
    assert not outside.package("postfix").is_installed
