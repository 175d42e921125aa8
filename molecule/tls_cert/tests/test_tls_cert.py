"""tls_cert: the certificates on disk, checked with openssl and a live Dovecot."""

import pytest

MAIN_CERT = "/etc/ssl/certs/mailhost.pem"
MAIN_KEY = "/etc/ssl/private/mailhost.key"
PROVIDED_CERT = "/etc/ssl/certs/provided.pem"
PROVIDED_KEY = "/etc/ssl/private/provided.key"
PROVIDED_CHAIN = "/etc/ssl/certs/provided-chain.pem"


def mkcert_paths(host):
    """Where the distribution's mkcert.sh writes (Debian 12 ignores SSLDIR)."""
    if host.system_info.release.split(".")[0] == "12":
        return "/etc/dovecot/ssl/dovecot.pem", "/etc/dovecot/ssl/dovecot.key"
    return "/etc/ssl/certs/dovecot.pem", "/etc/ssl/private/dovecot.pem"


def sans(host, cert):
    out = host.check_output(f"openssl x509 -in {cert} -noout -ext subjectAltName")
    lines = [line.strip() for line in out.splitlines()[1:] if line.strip()]
    return {name.strip() for name in ",".join(lines).split(",")}


def fingerprint(host, cert):
    return host.check_output(f"openssl x509 -in {cert} -noout -fingerprint -sha256").split("=", 1)[1]


def test_main_cert_verifies_as_its_own_ca(host):
    result = host.run(f"openssl verify -CAfile {MAIN_CERT} {MAIN_CERT}")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == f"{MAIN_CERT}: OK"


def test_main_cert_has_the_requested_names(host):
    # side_effect reissued it with DNS:pop.example.com added
    assert sans(host, MAIN_CERT) == {
        "DNS:mail.example.com",
        "DNS:imap.example.com",
        "DNS:smtp.example.com",
        "DNS:pop.example.com",
        "IP Address:127.0.0.1",
    }
    subject = host.check_output(f"openssl x509 -in {MAIN_CERT} -noout -subject -nameopt RFC2253")
    assert subject == "subject=CN=mail.example.com"


@pytest.mark.parametrize("which", ["main", "mkcert", "provided"])
def test_key_is_root_only_and_cert_world_readable(host, which):
    cert, key = {
        "main": (MAIN_CERT, MAIN_KEY),
        "mkcert": mkcert_paths(host),
        "provided": (PROVIDED_CERT, PROVIDED_KEY),
    }[which]
    k = host.file(key)
    assert (k.mode, k.user, k.group) == (0o600, "root", "root")
    c = host.file(cert)
    assert (c.mode, c.user, c.group) == (0o644, "root", "root")


@pytest.mark.parametrize("which", ["main", "mkcert", "provided"])
def test_key_belongs_to_cert(host, which):
    cert, key = {
        "main": (MAIN_CERT, MAIN_KEY),
        "mkcert": mkcert_paths(host),
        "provided": (PROVIDED_CERT, PROVIDED_KEY),
    }[which]
    from_cert = host.check_output(f"openssl x509 -in {cert} -noout -pubkey")
    from_key = host.check_output(f"openssl pkey -in {key} -pubout")
    assert from_cert == from_key


def test_dovecot_serves_the_main_cert_on_993(host):
    """side_effect reissued the main certificate after the dovecot role had
    configured Dovecot; the role's reload must have put the new one on 993."""
    served = host.run(
        "openssl s_client -connect 127.0.0.1:993 -servername mail.example.com </dev/null 2>/dev/null"
        " | openssl x509 -noout -fingerprint -sha256"
    )
    assert served.rc == 0, served.stderr
    assert served.stdout.strip().split("=", 1)[1] == fingerprint(host, MAIN_CERT)


def test_imaps_handshake_trusts_the_main_cert(host):
    """A real client that trusts only this certificate completes TLS and reads the greeting."""
    script = f"""python3 - <<'EOF'
import imaplib, ssl
ctx = ssl.create_default_context(cafile="{MAIN_CERT}")
ctx.check_hostname = True
with imaplib.IMAP4_SSL("127.0.0.1", 993, ssl_context=ctx) as imap:
    print(imap.welcome.decode())
EOF"""
    result = host.run(script)
    assert result.rc == 0, result.stderr
    assert "Dovecot" in result.stdout


def test_mkcert_used_the_rendered_config(host):
    cert, _key = mkcert_paths(host)
    assert host.run(f"openssl verify -CAfile {cert} {cert}").rc == 0
    subject = host.check_output(f"openssl x509 -in {cert} -noout -subject -nameopt RFC2253")
    assert "CN=mail.example.com" in subject
    assert "O=Dovecot mail server" in subject
    # side_effect reissued it with these names
    assert sans(host, cert) == {"DNS:mail.example.com", "DNS:pop3.example.com"}
    cnf = host.file("/etc/dovecot/dovecot-openssl.cnf")
    assert cnf.mode == 0o644
    assert "Ansible managed" in cnf.content_string
    assert "DNS:pop3.example.com" in cnf.content_string


def test_provided_cert_and_chain_installed(host):
    subject = host.check_output(f"openssl x509 -in {PROVIDED_CERT} -noout -subject -nameopt RFC2253")
    assert subject == "subject=CN=provided.example.com"
    chain = host.file(PROVIDED_CHAIN)
    assert chain.mode == 0o644
    result = host.run(f"openssl verify -CAfile {PROVIDED_CHAIN} {PROVIDED_CERT}")
    assert result.rc == 0, result.stderr


@pytest.mark.parametrize(
    "path",
    [
        "/etc/ssl/certs/mismatch.pem",
        "/etc/ssl/private/mismatch.key",
        "/etc/ssl/certs/expired.pem",
        "/etc/ssl/private/expired.key",
    ],
)
def test_refused_pairs_installed_nothing(host, path):
    assert not host.file(path).exists


def test_reissued_cert_has_new_names_and_ecc_key(host):
    cert = "/etc/ssl/certs/reissue.pem"
    assert sans(host, cert) == {"DNS:b.example.com", "DNS:c.example.com"}
    subject = host.check_output(f"openssl x509 -in {cert} -noout -subject -nameopt RFC2253")
    assert subject == "subject=CN=b.example.com"
    # side_effect deleted the key; the regenerated one belongs to the certificate
    from_cert = host.check_output(f"openssl x509 -in {cert} -noout -pubkey")
    assert from_cert == host.check_output("openssl pkey -in /etc/ssl/private/reissue.key -pubout")
    text = host.check_output(f"openssl x509 -in {cert} -noout -text")
    assert "id-ecPublicKey" in text
    assert "secp384r1" in text or "P-384" in text
    key = host.file("/etc/ssl/private/reissue.key")
    assert (key.mode, key.user) == (0o600, "root")


def test_renewed_cert_is_outside_the_window(host):
    assert host.run(f"openssl x509 -in /etc/ssl/certs/renew.pem -noout -checkend {30 * 86400}").rc == 0
