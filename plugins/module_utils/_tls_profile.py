# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS profiles the postfix, dovecot and sendmail roles share: one vocabulary, one set of values.

``intermediate`` is Mozilla's "intermediate" server configuration (version 5.7):
TLS 1.2 and 1.3 only; TLS 1.2 suites with forward secrecy (ECDHE or DHE) and
an AEAD cipher (AES-GCM, ChaCha20-Poly1305); TLS 1.3's three suites; the
curves X25519, P-256 and P-384.

``opportunistic`` is for SMTP between MTAs on port 25, where TLS is optional
and a peer that cannot negotiate falls back to plaintext: TLS 1.2 and 1.3, and
every suite except the broken ones (anonymous, NULL, EXPORT, RC4, 3DES, MD5,
DES, IDEA, SEED). It keeps TLS_RSA_* and CBC suites, which are still better
than the plaintext the peer would otherwise send. It is what the postfix role
has always used on port 25.

``tls_profile(name, service)`` returns the values one service's configuration
needs, so every role renders the same profile from the same table.
"""

from __future__ import annotations

from typing import Any

PROFILES = ("intermediate", "opportunistic")
SERVICES = ("postfix", "dovecot", "sendmail", "generic")

# Mozilla intermediate, TLS 1.2 suites in Mozilla's order (OpenSSL names).
INTERMEDIATE_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305",
)
INTERMEDIATE_TLS13 = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
INTERMEDIATE_CURVES = ("X25519", "prime256v1", "secp384r1")

# What no profile offers, in OpenSSL's cipher-string vocabulary.
BROKEN = ("aNULL", "eNULL", "EXPORT", "RC4", "3DES", "MD5", "DES", "IDEA", "SEED")
# Postfix takes grades (high, medium) minus exclusions. "high" minus these is
# Mozilla's list: ECDHE/DHE key exchange with AES-GCM or ChaCha20-Poly1305: no
# static RSA, PSK, SRP or DSS; no suite with a SHA-1/SHA-2 MAC (CBC); no
# Camellia or ARIA; no AES-CCM (AEAD, but not in Mozilla's list).
POSTFIX_INTERMEDIATE_EXCLUDE = ("aNULL", "eNULL", "kRSA", "kPSK", "kSRP", "kDHEPSK", "kECDHEPSK", "kRSAPSK",
                                "aDSS", "SHA1", "SHA256", "SHA384", "CAMELLIA", "ARIA", "AESCCM")

# Protocols: the oldest one allowed, and the Postfix/OpenSSL names refused.
MIN_PROTOCOL = "TLSv1.2"
REFUSED_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
# OpenSSL option names that sendmail's ServerSSLOptions/ClientSSLOptions take.
_SENDMAIL_NO_PROTOCOLS = ("+SSL_OP_NO_SSLv2", "+SSL_OP_NO_SSLv3", "+SSL_OP_NO_TLSv1", "+SSL_OP_NO_TLSv1_1")


class TLSProfileError(ValueError):
    """A profile or service name that is not known."""


def _generic(name: str) -> dict[str, Any]:
    if name == "intermediate":
        tls12 = ":".join(INTERMEDIATE_TLS12)
        return {
            "name": name,
            "min_protocol": MIN_PROTOCOL,
            "refused_protocols": list(REFUSED_PROTOCOLS),
            "cipher_list": tls12,
            "tls13_ciphersuites": ":".join(INTERMEDIATE_TLS13),
            "curves": ":".join(INTERMEDIATE_CURVES),
            "forward_secrecy": True,
        }
    return {
        "name": name,
        "min_protocol": MIN_PROTOCOL,
        "refused_protocols": list(REFUSED_PROTOCOLS),
        "cipher_list": "HIGH:MEDIUM:" + ":".join("!" + c for c in BROKEN),
        "tls13_ciphersuites": ":".join(INTERMEDIATE_TLS13),
        "curves": "",
        "forward_secrecy": False,
    }


def tls_profile(name: Any, service: Any = "generic") -> dict[str, Any]:
    """The settings of TLS profile ``name`` for ``service`` (postfix, dovecot, sendmail or generic).

    generic: name, min_protocol, refused_protocols, cipher_list (OpenSSL string
    for TLS 1.2 and older), tls13_ciphersuites, curves (":"-separated, '' for
    the library's default), forward_secrecy.

    postfix adds: protocols (Postfix's "!SSLv2, ..." list), ciphers (grade)
    and exclude_ciphers, for smtpd_tls[_mandatory]_ciphers and
    smtpd_tls[_mandatory]_exclude_ciphers.

    dovecot adds: ssl_min_protocol, ssl_cipher_list, ssl_cipher_suites, ssl_curve_list.

    sendmail adds: cipher_list (confCIPHER_LIST) and ssl_options
    (confSERVER_SSL_OPTIONS and confCLIENT_SSL_OPTIONS).
    """
    if not isinstance(name, str) or name not in PROFILES:
        raise TLSProfileError("unknown TLS profile %r: choose one of %s" % (name, ", ".join(PROFILES)))
    if not isinstance(service, str) or service not in SERVICES:
        raise TLSProfileError("unknown service %r: choose one of %s" % (service, ", ".join(SERVICES)))
    profile = _generic(name)
    if service == "postfix":
        intermediate = name == "intermediate"
        profile.update(
            protocols=["!" + p for p in REFUSED_PROTOCOLS],
            ciphers="high" if intermediate else "medium",
            exclude_ciphers=list(POSTFIX_INTERMEDIATE_EXCLUDE if intermediate else BROKEN),
        )
    elif service == "dovecot":
        profile.update(
            ssl_min_protocol=MIN_PROTOCOL,
            ssl_cipher_list=profile["cipher_list"],
            ssl_cipher_suites=profile["tls13_ciphersuites"],
            ssl_curve_list=profile["curves"],
        )
    elif service == "sendmail":
        profile.update(ssl_options=" ".join(_SENDMAIL_NO_PROTOCOLS + ("+SSL_OP_CIPHER_SERVER_PREFERENCE",)))
    return profile
