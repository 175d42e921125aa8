"""The shared TLS profiles: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.tls_profile import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._tls_profile import (
    PROFILES,
    SERVICES,
    TLSProfileError,
    tls_profile,
)

FILTERS = FilterModule().filters()
# Mozilla's intermediate TLS 1.2 suites: ECDHE/DHE key exchange, AEAD cipher.
_FS_AEAD = re.compile(r"^(ECDHE-(ECDSA|RSA)|DHE-RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")


def test_intermediate_is_mozillas_profile():
    profile = tls_profile("intermediate")
    suites = profile["cipher_list"].split(":")
    assert len(suites) == 9 and all(_FS_AEAD.match(s) for s in suites)
    assert profile["tls13_ciphersuites"] == "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
    assert profile["curves"] == "X25519:prime256v1:secp384r1"
    assert profile["min_protocol"] == "TLSv1.2" and profile["forward_secrecy"] is True
    assert profile["refused_protocols"] == ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]


@pytest.mark.parametrize("name", PROFILES)
def test_no_profile_offers_broken_suites_or_old_protocols(name):
    profile = tls_profile(name, "postfix")
    assert profile["protocols"] == ["!SSLv2", "!SSLv3", "!TLSv1", "!TLSv1.1"]
    assert {"aNULL", "eNULL"} <= set(profile["exclude_ciphers"])
    if name == "opportunistic":
        for broken in ("EXPORT", "RC4", "3DES", "MD5", "DES"):
            assert "!" + broken in profile["cipher_list"].split(":")
            assert broken in profile["exclude_ciphers"]


@pytest.mark.parametrize(("name", "ciphers", "excluded"), [
    ("intermediate", "high", {"kRSA", "SHA1", "SHA256", "SHA384", "CAMELLIA", "ARIA", "aDSS", "kPSK", "AESCCM"}),
    ("opportunistic", "medium", {"RC4", "3DES", "EXPORT", "SEED", "IDEA"}),
])
def test_postfix_grades_and_exclusions(name, ciphers, excluded):
    profile = tls_profile(name, "postfix")
    assert profile["ciphers"] == ciphers
    assert excluded <= set(profile["exclude_ciphers"])
    if name == "opportunistic":
        assert "kRSA" not in profile["exclude_ciphers"]


def test_dovecot_and_sendmail_render_the_same_suites():
    dovecot = tls_profile("intermediate", "dovecot")
    sendmail = tls_profile("intermediate", "sendmail")
    assert dovecot["ssl_cipher_list"] == sendmail["cipher_list"] == tls_profile("intermediate")["cipher_list"]
    assert dovecot["ssl_min_protocol"] == "TLSv1.2"
    assert dovecot["ssl_cipher_suites"].count("TLS_") == 3 and dovecot["ssl_curve_list"].startswith("X25519")
    assert sendmail["ssl_options"].split() == ["+SSL_OP_NO_SSLv2", "+SSL_OP_NO_SSLv3", "+SSL_OP_NO_TLSv1",
                                               "+SSL_OP_NO_TLSv1_1", "+SSL_OP_CIPHER_SERVER_PREFERENCE"]
    assert tls_profile("opportunistic", "dovecot")["ssl_curve_list"] == ""


@pytest.mark.parametrize("service", SERVICES)
def test_values_are_single_line_and_free_of_m4_quotes(service):
    for name in PROFILES:
        for value in tls_profile(name, service).values():
            text = " ".join(value) if isinstance(value, list) else str(value)
            assert "\n" not in text and "`" not in text and "'" not in text


@pytest.mark.parametrize(("name", "service", "message"), [
    ("modern", "postfix", "unknown TLS profile 'modern'"),
    ("", "postfix", "unknown TLS profile ''"),
    (None, "dovecot", "unknown TLS profile None"),
    (["intermediate"], "dovecot", "unknown TLS profile"),
    ("Intermediate", "sendmail", "unknown TLS profile"),
    ("intermediate", "exim", "unknown service 'exim'"),
    ("intermediate", None, "unknown service None"),
])
def test_bad_inputs(name, service, message):
    with pytest.raises(TLSProfileError, match=re.escape(message)):
        tls_profile(name, service)
    with pytest.raises(AnsibleFilterError, match=r"mailhost\.mail\.tls_profile: unknown"):
        FILTERS["tls_profile"](name, service)


def test_filter_returns_fresh_values():
    first = FILTERS["tls_profile"]("intermediate", "postfix")
    first["exclude_ciphers"].append("x")
    assert "x" not in FILTERS["tls_profile"]("intermediate", "postfix")["exclude_ciphers"]
