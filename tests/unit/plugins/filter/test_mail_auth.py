"""mail_auth: DKIM keys, OpenDKIM tables, DNS records and registrations; pure cores and filters, bad inputs included."""

from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ansible_collections.mailhost.mail.plugins.filter.mail_auth import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._mail_auth import (
    MailAuthError,
    dkim_txt,
    dns_records,
    key_table,
    postfix_registration,
    resolve_keys,
    sendmail_registration,
    signing_table,
    txt_strings,
    zone_text,
)
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_main_cf import registered_services
from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_milters import mail_filter_lines

FILTERS = FilterModule().filters()
KEY_DIR = "/etc/opendkim/keys"


def _pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED_KEY = ed25519.Ed25519PrivateKey.generate()
ROTATED = [
    {"domain": "example.com", "selector": "s2025", "active": False},
    {"domain": "example.com", "selector": "s2026"},
    {"domain": "example.net", "selector": "ed.mail", "algorithm": "ed25519"},
]


def test_resolve_keys_defaults_files_and_rotation():
    keys = resolve_keys(ROTATED, KEY_DIR + "/")
    assert [(k["name"], k["algorithm"], k["bits"], k["active"]) for k in keys] == [
        ("s2025._domainkey.example.com", "rsa", 2048, False),
        ("s2026._domainkey.example.com", "rsa", 2048, True),
        ("ed.mail._domainkey.example.net", "ed25519", 256, True),
    ]
    assert keys[0]["key_file"] == "/etc/opendkim/keys/example.com/s2025.private"
    assert keys[2]["key_dir"] == "/etc/opendkim/keys/example.net"
    assert resolve_keys([{"domain": "a.test", "selector": "x"}], KEY_DIR, "rsa", 3072)[0]["bits"] == 3072
    assert resolve_keys([], KEY_DIR) == []


def test_tables_keep_the_retired_key_and_sign_with_the_active_one():
    keys = resolve_keys(ROTATED, KEY_DIR)
    assert key_table(keys) == (
        "s2025._domainkey.example.com example.com:s2025:/etc/opendkim/keys/example.com/s2025.private\n"
        "s2026._domainkey.example.com example.com:s2026:/etc/opendkim/keys/example.com/s2026.private\n"
        "ed.mail._domainkey.example.net example.net:ed.mail:/etc/opendkim/keys/example.net/ed.mail.private\n")
    assert signing_table(keys) == (
        "*@example.com s2026._domainkey.example.com\n*@*.example.com s2026._domainkey.example.com\n"
        "*@example.net ed.mail._domainkey.example.net\n*@*.example.net ed.mail._domainkey.example.net\n")


@pytest.mark.parametrize(("keys", "message"), [
    ({"domain": "example.com"}, "must be a list"),
    (["example.com"], r"mail_auth_dkim_keys\[0\] must be a dict"),
    ([{"domain": "example.com", "selector": "s1", "key": "x"}], "unknown field"),
    ([{"domain": "Example.com", "selector": "s1"}], "domain must be a lower-case domain"),
    ([{"domain": "localhost", "selector": "s1"}], "domain must be"),
    ([{"domain": "example.com", "selector": "s_1"}], "selector must be DNS labels"),
    ([{"domain": "example.com", "selector": "-s1"}], "selector must be"),
    ([{"domain": "example.com", "selector": "s1."}], "selector must be"),
    ([{"domain": "example.com", "selector": "s1; rm"}], "selector must be"),
    ([{"domain": "example.com", "selector": ".".join(["a" * 60] * 4)}], "longer than a DNS name"),
    ([{"domain": "example.com", "selector": "s1"}, {"domain": "example.com", "selector": "s1", "active": False}],
     "listed twice"),
    ([{"domain": "example.com", "selector": "s1", "algorithm": "dsa"}], "algorithm must be rsa or ed25519"),
    ([{"domain": "example.com", "selector": "s1", "bits": 512}], "bits must be a number from 1024"),
    ([{"domain": "example.com", "selector": "s1", "bits": "2048"}], "bits must be"),
    ([{"domain": "example.com", "selector": "s1", "active": "yes"}], "active must be true or false"),
    ([{"domain": "example.com", "selector": "s1"}, {"domain": "example.com", "selector": "s2"}],
     "needs exactly one active selector.*has s1, s2"),
    ([{"domain": "example.com", "selector": "s1", "active": False}], "has none"),
])
def test_resolve_keys_bad_input(keys, message):
    with pytest.raises(MailAuthError, match=message):
        resolve_keys(keys, KEY_DIR)
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.mail_auth_keys"):
        FILTERS["mail_auth_keys"](keys, KEY_DIR)


def test_dkim_txt_rsa_is_the_der_subject_public_key_info():
    value = dkim_txt(_pem(RSA_KEY), "rsa")
    assert value.startswith("v=DKIM1; k=rsa; p=")
    der = base64.b64decode(value.split("p=", 1)[1])
    assert serialization.load_der_public_key(der).public_numbers() == RSA_KEY.public_key().public_numbers()


def test_dkim_txt_ed25519_is_the_raw_key():
    value = dkim_txt(_pem(ED_KEY), "ed25519")
    assert value.startswith("v=DKIM1; k=ed25519; p=")
    raw = base64.b64decode(value.split("p=", 1)[1])
    assert raw == ED_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert len(raw) == 32


@pytest.mark.parametrize(("pem", "algorithm", "message"), [
    (None, "rsa", "must be PEM text"),
    ("not a key", "rsa", "no '-----BEGIN PUBLIC KEY-----' block"),
    ("-----BEGIN PUBLIC KEY-----\nAAA=A\n-----END PUBLIC KEY-----", "rsa", "does not decode"),
    (_pem(ED_KEY), "rsa", "not an RSA key"),
    (_pem(RSA_KEY), "ed25519", "not an Ed25519 key"),
    (_pem(RSA_KEY), "dsa", "algorithm must be"),
])
def test_dkim_txt_bad_input(pem, algorithm, message):
    with pytest.raises(MailAuthError, match=message):
        dkim_txt(pem, algorithm)
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.mail_auth_dkim_txt"):
        FILTERS["mail_auth_dkim_txt"](pem, algorithm)


def test_dns_records_and_zone():
    keys = resolve_keys(ROTATED, KEY_DIR)
    public = {keys[0]["name"]: _pem(RSA_KEY), keys[2]["name"]: _pem(ED_KEY)}
    records = dns_records(keys, public, "v=spf1 mx -all", "v=DMARC1; p=reject; rua=mailto:postmaster@{domain}")
    assert [(r["name"], r["value"][:22]) for r in records] == [
        ("s2025._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIB"),
        ("ed.mail._domainkey.example.net", "v=DKIM1; k=ed25519; p="),
        ("example.com", "v=spf1 mx -all"),
        ("_dmarc.example.com", "v=DMARC1; p=reject; ru"),
        ("example.net", "v=spf1 mx -all"),
        ("_dmarc.example.net", "v=DMARC1; p=reject; ru"),
    ]
    assert records[5]["value"].endswith("mailto:postmaster@example.net")
    assert {r["type"] for r in records} == {"TXT"}
    assert not records[0]["active"]  # the retired selector's record stays published
    assert [r["name"] for r in dns_records(keys, {}, "", "")] == []
    zone = zone_text(records, 300)
    first = zone.splitlines()[0]
    assert first.startswith('s2025._domainkey.example.com. 300 IN TXT ( "v=DKIM1; k=rsa; p=')
    strings = first.split("( ", 1)[1].rsplit(" )", 1)[0].split('" "')
    assert len(strings) == 2 and "".join(strings).strip('"') == records[0]["value"]
    assert '_dmarc.example.net. 300 IN TXT ( "v=DMARC1; p=reject; rua=mailto:postmaster@example.net" )' in zone


def test_txt_strings_cut_at_255_bytes():
    assert txt_strings("") == [""]
    assert [len(s) for s in txt_strings("a" * 600)] == [255, 255, 90]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: dns_records("x", {}), "expected the keys"),
    (lambda: dns_records([], []), "public_keys must be a dict"),
    (lambda: dns_records(resolve_keys(ROTATED, KEY_DIR), {}, 5), "mail_auth_spf_record must be a string"),
    (lambda: dns_records(resolve_keys(ROTATED, KEY_DIR), {}, "", 'v=DMARC1; p="x"'), "without double quotes"),
    (lambda: zone_text("x"), "records must be a list"),
    (lambda: zone_text([{"name": "a", "type": "MX", "value": "x"}]), "type TXT"),
])
def test_records_bad_input(call, message):
    with pytest.raises(MailAuthError, match=message):
        call()


def test_postfix_registration_is_what_the_postfix_role_reads():
    registration = postfix_registration({"milters": [8891, 8893], "non_smtpd_milters": [8891], "spf": True})
    assert registration["smtpd_milters"] == ["inet:127.0.0.1:8891", "inet:127.0.0.1:8893"]
    assert registration["non_smtpd_milters"] == ["inet:127.0.0.1:8891"]
    assert registration["smtpd_recipient_restrictions"] == ["check_policy_service unix:private/policyd_spf"]
    assert registered_services([registration])[0]["args"] == ["user=policyd-spf argv=/usr/bin/policyd-spf"]
    assert "master_cf" not in postfix_registration({"milters": [8891]})


def test_sendmail_registration_is_what_the_sendmail_role_reads():
    registration = sendmail_registration({"filters": [["opendkim", 8891]], "default_action": "tempfail"})
    assert mail_filter_lines([registration]) == [
        "INPUT_MAIL_FILTER(`opendkim', `S=inet:8891@127.0.0.1, F=T, T=S:10s;R:30s;E:5m')dnl"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: postfix_registration([]), "expected a dict"),
    (lambda: postfix_registration({"milters": [0]}), "port must be a number"),
    (lambda: postfix_registration({"milters": ["8891"]}), "port must be a number"),
    (lambda: postfix_registration({"default_action": "drop"}), "mail_auth_milter_default_action"),
    (lambda: sendmail_registration({"default_action": "drop"}), "mail_auth_milter_default_action"),
    (lambda: sendmail_registration({"filters": [["opendkim", True]]}), "port must be a number"),
])
def test_registration_bad_input(call, message):
    with pytest.raises(MailAuthError, match=message):
        call()
