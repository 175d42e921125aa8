# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DKIM keys, OpenDKIM tables, DNS records and MTA registrations for the mail_auth role.

Pure functions; plugins/filter/mail_auth.py exposes them to the role, tests/unit covers them.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(r"^%s(?:\.%s)+$" % (_LABEL, _LABEL))
_SELECTOR = re.compile(r"^%s(?:\.%s)*$" % (_LABEL, _LABEL))
_KEY_FIELDS = ("domain", "selector", "algorithm", "bits", "active")
_ALGORITHMS = ("rsa", "ed25519")
# DER of the SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410), before its 32 raw bytes.
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
# The DER of the rsaEncryption OID, which an RSA SubjectPublicKeyInfo carries.
_RSA_OID = bytes.fromhex("06092a864886f70d010101")
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----")
_TXT_CHUNK = 255


class MailAuthError(ValueError):
    """A key, a record or a setting the mail_auth role cannot use."""


def resolve_keys(keys: Any, key_dir: str, algorithm: str = "rsa", bits: int = 2048) -> list:
    """The DKIM keys checked, each with its algorithm, size, whether it signs, and its key file.

    ``keys`` is mail_auth_dkim_keys: dicts with domain and selector, optional algorithm (rsa,
    ed25519), bits (RSA, 1024-4096) and active (default true). Each domain needs exactly one
    active selector, the one that signs; inactive ones keep their key and DNS record, so mail
    signed before a rotation still verifies while it is in transit.
    """
    if not isinstance(keys, (list, tuple)):
        raise MailAuthError("mail_auth_dkim_keys must be a list of {domain, selector}, not %s" % type(keys).__name__)
    resolved: list = []
    seen: set = set()
    for index, key in enumerate(keys):
        where = "mail_auth_dkim_keys[%d]" % index
        if not isinstance(key, dict):
            raise MailAuthError("%s must be a dict with domain and selector, not %r" % (where, key))
        unknown = sorted(set(key) - set(_KEY_FIELDS))
        if unknown:
            raise MailAuthError("%s: unknown field(s) %s; known: %s"
                                % (where, ", ".join(unknown), ", ".join(_KEY_FIELDS)))
        domain, selector = key.get("domain"), key.get("selector")
        if not isinstance(domain, str) or not _DOMAIN.match(domain):
            raise MailAuthError("%s: domain must be a lower-case domain name like example.com, not %r"
                                % (where, domain))
        if not isinstance(selector, str) or not _SELECTOR.match(selector):
            raise MailAuthError("%s (%s): selector must be DNS labels of a-z, 0-9 and inner '-', not %r"
                                % (where, domain, selector))
        if len("%s._domainkey.%s" % (selector, domain)) > 253:
            raise MailAuthError("%s: %s._domainkey.%s is longer than a DNS name may be" % (where, selector, domain))
        if (domain, selector) in seen:
            raise MailAuthError("%s: selector %s of %s is listed twice" % (where, selector, domain))
        seen.add((domain, selector))
        kind = key.get("algorithm", algorithm)
        if kind not in _ALGORITHMS:
            raise MailAuthError("%s (%s %s): algorithm must be rsa or ed25519, not %r"
                                % (where, domain, selector, kind))
        size = key.get("bits", bits)
        if kind == "rsa" and (isinstance(size, bool) or not isinstance(size, int) or not 1024 <= size <= 4096):
            raise MailAuthError("%s (%s %s): bits must be a number from 1024 to 4096, not %r"
                                % (where, domain, selector, size))
        active = key.get("active", True)
        if not isinstance(active, bool):
            raise MailAuthError("%s (%s %s): active must be true or false, not %r" % (where, domain, selector, active))
        resolved.append({
            "domain": domain, "selector": selector, "algorithm": kind, "bits": size if kind == "rsa" else 256,
            "active": active, "name": "%s._domainkey.%s" % (selector, domain),
            "key_dir": "%s/%s" % (key_dir.rstrip("/"), domain),
            "key_file": "%s/%s/%s.private" % (key_dir.rstrip("/"), domain, selector),
        })
    for domain in _unique(k["domain"] for k in resolved):
        active = [k["selector"] for k in resolved if k["domain"] == domain and k["active"]]
        if len(active) != 1:
            raise MailAuthError(
                "mail_auth_dkim_keys: domain %s needs exactly one active selector (the one that signs), has %s; "
                "set active: false on the selectors kept for rotation" % (domain, ", ".join(active) or "none"))
    return resolved


def _unique(items) -> list:
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def key_table(keys: Any) -> str:
    """OpenDKIM's KeyTable: every key, so a retired selector's key stays loadable."""
    return "".join("%s %s:%s:%s\n" % (k["name"], k["domain"], k["selector"], k["key_file"]) for k in _checked(keys))


def signing_table(keys: Any) -> str:
    """OpenDKIM's SigningTable (refile:): mail from a domain, and its subdomains, is signed with its active key."""
    lines = []
    for k in _checked(keys):
        if k["active"]:
            lines.append("*@%s %s\n" % (k["domain"], k["name"]))
            lines.append("*@*.%s %s\n" % (k["domain"], k["name"]))
    return "".join(lines)


def _checked(keys: Any) -> list:
    if not isinstance(keys, (list, tuple)) or not all(isinstance(k, dict) and "name" in k for k in keys):
        raise MailAuthError("expected the keys from mail_auth_keys, not %r" % (keys,))
    return list(keys)


def _spki_der(pem: Any) -> bytes:
    if not isinstance(pem, str):
        raise MailAuthError("a public key must be PEM text, not %s" % type(pem).__name__)
    match = _PEM.search(pem)
    if not match:
        raise MailAuthError("no '-----BEGIN PUBLIC KEY-----' block in %r" % pem[:80])
    try:
        return base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MailAuthError("the public key's base64 does not decode: %s" % exc) from exc


def dkim_txt(pem: Any, algorithm: str = "rsa") -> str:
    """The DKIM TXT record value (RFC 6376, RFC 8463) for a PEM SubjectPublicKeyInfo.

    RSA: p= is the base64 of the whole DER SubjectPublicKeyInfo. Ed25519: k=ed25519 and p= is
    the base64 of the raw 32-byte public key, without the DER header.
    """
    der = _spki_der(pem)
    if algorithm == "ed25519":
        if len(der) != len(_ED25519_SPKI) + 32 or not der.startswith(_ED25519_SPKI):
            raise MailAuthError("the public key is not an Ed25519 key (%d bytes of DER)" % len(der))
        return "v=DKIM1; k=ed25519; p=%s" % base64.b64encode(der[len(_ED25519_SPKI):]).decode()
    if algorithm == "rsa":
        if der[:1] != b"\x30" or _RSA_OID not in der[:32]:
            raise MailAuthError("the public key is not an RSA key")
        return "v=DKIM1; k=rsa; p=%s" % base64.b64encode(der).decode()
    raise MailAuthError("algorithm must be rsa or ed25519, not %r" % (algorithm,))


def dns_records(keys: Any, public_keys: Any, spf: Any = "", dmarc: Any = "") -> list:
    """The TXT records to publish: DKIM per selector (from ``public_keys``, key name -> PEM),
    then per signing domain the suggested SPF record and the DMARC record.

    ``spf`` and ``dmarc`` are record values; ``{domain}`` in them becomes the domain; empty
    leaves the record out. A key without a public key yet (check mode on a new host) is left out.
    """
    if not isinstance(public_keys, dict):
        raise MailAuthError("public_keys must be a dict of key name to PEM, not %s" % type(public_keys).__name__)
    records: list = []
    checked = _checked(keys)
    for k in checked:
        if k["name"] in public_keys:
            records.append({"name": k["name"], "type": "TXT", "value": dkim_txt(public_keys[k["name"]], k["algorithm"]),
                            "domain": k["domain"], "selector": k["selector"], "active": k["active"]})
    for domain in _unique(k["domain"] for k in checked):
        for prefix, template, what in (("", spf, "mail_auth_spf_record"), ("_dmarc.", dmarc, "mail_auth_dmarc_record")):
            if not isinstance(template, str):
                raise MailAuthError("%s must be a string, not %r" % (what, template))
            if "\n" in template or '"' in template:
                raise MailAuthError("%s must be one line without double quotes, not %r" % (what, template))
            if template:
                records.append({"name": prefix + domain, "type": "TXT", "value": template.replace("{domain}", domain),
                                "domain": domain})
    return records


def txt_strings(value: str) -> list:
    """A TXT value cut into the 255-byte character strings one TXT record holds."""
    data = value.encode()
    return [data[i:i + _TXT_CHUNK].decode() for i in range(0, len(data), _TXT_CHUNK)] or [""]


def zone_text(records: Any, ttl: int = 3600) -> str:
    """The records as zone-file lines (absolute names), long values split into quoted strings."""
    if not isinstance(records, (list, tuple)):
        raise MailAuthError("records must be a list, not %s" % type(records).__name__)
    lines = []
    for record in records:
        if not isinstance(record, dict) or record.get("type") != "TXT" or not isinstance(record.get("value"), str):
            raise MailAuthError("a record must be a dict with name, type TXT and value, not %r" % (record,))
        strings = " ".join('"%s"' % s for s in txt_strings(record["value"]))
        lines.append("%s. %d IN TXT ( %s )\n" % (record["name"].rstrip("."), ttl, strings))
    return "".join(lines)


def postfix_registration(settings: Any) -> dict:
    """What mail_auth registers for the postfix role in /etc/postfix/mailhost.d/mail_auth.json.

    ``settings``: milters (list of inet ports on localhost, in order), non_smtpd_milters (the
    ports that also see locally submitted mail), default_action, spf (bool), spf_service,
    spf_command.
    """
    if not isinstance(settings, dict):
        raise MailAuthError("expected a dict of settings, not %s" % type(settings).__name__)
    ports = [_port(p) for p in settings.get("milters", [])]
    local_ports = [_port(p) for p in settings.get("non_smtpd_milters", [])]
    action = settings.get("default_action", "accept")
    if action not in ("accept", "reject", "tempfail"):
        raise MailAuthError("mail_auth_milter_default_action must be accept, reject or tempfail, not %r" % (action,))
    registration: dict = {
        "smtpd_milters": ["inet:127.0.0.1:%d" % p for p in ports],
        "non_smtpd_milters": ["inet:127.0.0.1:%d" % p for p in local_ports],
        "milter_settings": {"milter_default_action": action, "milter_protocol": 6},
    }
    if settings.get("spf"):
        service = settings.get("spf_service", "policyd_spf")
        registration["smtpd_recipient_restrictions"] = ["check_policy_service unix:private/%s" % service]
        registration["parameters"] = {"%s_time_limit" % service: 3600}
        argv = "user=%s argv=%s" % (settings.get("spf_user", "policyd-spf"),
                                    settings.get("spf_command", "/usr/bin/policyd-spf"))
        registration["master_cf"] = [{"service": service, "type": "unix", "unpriv": "n", "chroot": "n",
                                      "maxproc": "0", "command": "spawn", "args": [argv]}]
    return registration


def sendmail_registration(settings: Any) -> dict:
    """What mail_auth registers for the sendmail role in /etc/mail/mailhost.d/mail_auth.json."""
    if not isinstance(settings, dict):
        raise MailAuthError("expected a dict of settings, not %s" % type(settings).__name__)
    action = settings.get("default_action", "accept")
    flags = {"accept": "", "reject": "R", "tempfail": "T"}.get(action)
    if flags is None:
        raise MailAuthError("mail_auth_milter_default_action must be accept, reject or tempfail, not %r" % (action,))
    return {"input_mail_filters": [{"name": name, "socket": "inet:%d@127.0.0.1" % _port(port), "flags": flags,
                                    "timeouts": ["S:10s", "R:30s", "E:5m"]}
                                   for name, port in settings.get("filters", [])]}


def _port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise MailAuthError("a milter port must be a number from 1 to 65535, not %r" % (port,))
    return port
