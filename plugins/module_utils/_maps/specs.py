# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: the map types, how their keys and values are validated (MapSpec).

Validators return None when a key or value is fine, or the reason it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import (
    FORMAT_ALIASES,
    FORMAT_POSTFIX,
    FORMAT_SENDMAIL,
)

_WS = re.compile(r"\s")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_DOMAIN = re.compile(r"^\.?(?:%s\.)*%s\.?$" % (_LABEL, _LABEL))
_IP_OR_NET = re.compile(
    r"^(?:\d{1,3}(?:\.\d{1,3}){0,3}(?:/\d{1,2})?|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?(?:/\d{1,3})?)$"
)
_LOCALPART = re.compile(r"^[^\s@,:;<>()\[\]\\\"]+$")
_ADDRESS = re.compile(r"^[^\s@,:;<>()\[\]\\\"]+@[^\s@,;<>()\\\"]+$")
_USER_AT = re.compile(r"^[^\s@]+@$")
_SMTP_CODE_TEXT = re.compile(r"^[45]\d\d\s+\S")
_SMTP_CODE = re.compile(r"^[245]\d\d$")
_MAILER_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:\S*$")
_RESTRICTIONS = re.compile(r"^(?:[a-z][a-z0-9_]*)(?:\s*[, ]\s*[a-z][a-z0-9_:.\[\]/-]*)*$")
_TRANSPORT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ADDRESS_SEPARATORS = re.compile(r"[\s,]+")


def _single_token(value: str) -> Optional[str]:
    if not value:
        return "the value is empty"
    if _WS.search(value):
        return "the value must be a single word without whitespace"
    return None


_DOMAIN_CACHE: dict[str, bool] = {}


def _is_domain(text: str) -> bool:
    # Large maps repeat a few domains many times: remember the answers (bounded).
    known = _DOMAIN_CACHE.get(text)
    if known is None:
        known = bool(_DOMAIN.match(text))
        if len(_DOMAIN_CACHE) < 10000:
            _DOMAIN_CACHE[text] = known
    return known


def _is_address_or_user(text: str) -> bool:
    return bool(_ADDRESS.match(text) or _LOCALPART.match(text))


def _key_virtusertable(key: str) -> Optional[str]:
    if "@" not in key:
        return "virtusertable keys are 'user@domain' or '@domain'"
    local, _sep, domain = key.rpartition("@")
    if "@" in local or not _is_domain(domain) or (local and not _LOCALPART.match(local)):
        return "virtusertable keys are 'user@domain' or '@domain'"
    return None


def _value_virtusertable(value: str) -> Optional[str]:
    if value.lower().startswith("error:"):
        return None if len(value) > len("error:") else "an error: target needs a code or text"
    reason = _single_token(value)
    if reason:
        return reason + " (or 'error:code text')"
    if not _is_address_or_user(value):
        return "the target must be a local user, an address, '%1@domain' or 'error:...'"
    return None


_ACCESS_ACTIONS = ("OK", "RELAY", "REJECT", "DISCARD", "SKIP", "FRIEND", "HATER")
_ACCESS_TAGS = ("connect:", "from:", "to:", "spam:", "greet:", "compat:", "srv_features:", "clt_features:", "auth:")


def _key_access(key: str) -> Optional[str]:
    lower = key.lower()
    for tag in _ACCESS_TAGS:
        if lower.startswith(tag):
            key = key[len(tag):]
            break
    if not key:
        return "the key is empty after its tag"
    if _is_domain(key) or _IP_OR_NET.match(key) or _ADDRESS.match(key) or _USER_AT.match(key):
        return None
    return "access keys are a domain, an IP address or network, 'user@' or an address, optionally with a tag"


def _value_sendmail_access(value: str) -> Optional[str]:
    if value in _ACCESS_ACTIONS:
        return None
    upper = value.upper()
    if (upper.startswith("ERROR:") or upper.startswith("QUARANTINE:")) and value.split(":", 1)[1].strip():
        return None
    if _SMTP_CODE_TEXT.match(value):
        return None
    return "access values must be OK, RELAY, REJECT, DISCARD, SKIP, FRIEND, HATER, 'ERROR:...' or 'QUARANTINE:...'"


def _key_domain(key: str) -> Optional[str]:
    return None if _is_domain(key) else "the key must be a domain name (or '.domain')"


def _value_mailertable(value: str) -> Optional[str]:
    if value.lower().startswith("error:"):
        return None if value[6:].strip() else "an error: target needs a code or text"
    if not _MAILER_HOST.match(value):
        return "mailertable targets must be 'mailer:host' (for example 'esmtp:[relay.example.com]') or 'error:...'"
    return None


def _value_domain(value: str) -> Optional[str]:
    return None if _is_domain(value) else "the value must be a domain name"


def _key_generics(key: str) -> Optional[str]:
    if key.startswith("@"):
        return None if _is_domain(key[1:]) else "genericstable keys are 'user', 'user@domain' or '@domain'"
    return None if _is_address_or_user(key) else "genericstable keys are 'user', 'user@domain' or '@domain'"


def _value_address(value: str) -> Optional[str]:
    reason = _single_token(value)
    if reason:
        return reason
    if not (_is_address_or_user(value) or (value.startswith("@") and _is_domain(value[1:]))):
        return "the value must be an address or a local user"
    return None


_POSTFIX_ACCESS_ACTIONS = (
    "OK", "REJECT", "DEFER", "DEFER_IF_REJECT", "DEFER_IF_PERMIT", "BCC", "DISCARD", "DUNNO", "FILTER", "HOLD",
    "PREPEND", "REDIRECT", "INFO", "WARN", "PERMIT",
)  # fmt: skip


def _value_postfix_access(value: str) -> Optional[str]:
    first = value.split(None, 1)[0] if value.strip() else ""
    if first.upper() in _POSTFIX_ACCESS_ACTIONS and first == first.upper():
        return None
    if _SMTP_CODE.match(first):
        return None
    if _RESTRICTIONS.match(value):
        return None  # restriction names, e.g. "permit_mynetworks, reject"
    return "access actions are OK, REJECT, DEFER, DUNNO, PERMIT, HOLD, DISCARD, FILTER, PREPEND, REDIRECT, WARN, " \
        "'4xx/5xx text' or restriction names"


def _value_transport(value: str) -> Optional[str]:
    if ":" not in value:
        return "transport entries are 'transport:nexthop' (either part may be empty)"
    transport = value.split(":", 1)[0]
    if transport and not _TRANSPORT_NAME.match(transport):
        return "the transport name '%s' is not valid" % transport
    return None


def _value_addresses(value: str) -> Optional[str]:
    if not split_addresses(value):
        return "the value needs at least one address"
    return None


def _value_any(value: str) -> Optional[str]:
    return None if value.strip() else "the value is empty"


def _key_postfix_table(key: str) -> Optional[str]:
    return None


@dataclass(frozen=True)
class MapSpec:
    """How one map type is parsed, validated, compared and rendered."""

    name: str
    format: str
    validate_key: Callable[[str], Optional[str]] = _key_postfix_table
    validate_value: Callable[[str], Optional[str]] = _value_any
    multi_value: bool = False  # a list value is allowed and rendered comma separated


SENDMAIL_SPECS = {
    "virtusertable": MapSpec("virtusertable", FORMAT_SENDMAIL, _key_virtusertable, _value_virtusertable),
    "access": MapSpec("access", FORMAT_SENDMAIL, _key_access, _value_sendmail_access),
    "mailertable": MapSpec("mailertable", FORMAT_SENDMAIL, _key_domain, _value_mailertable),
    "domaintable": MapSpec("domaintable", FORMAT_SENDMAIL, _key_domain, _value_domain),
    "genericstable": MapSpec("genericstable", FORMAT_SENDMAIL, _key_generics, _value_address),
}

POSTFIX_SPECS = {
    "access": MapSpec("access", FORMAT_POSTFIX, validate_value=_value_postfix_access),
    "transport": MapSpec("transport", FORMAT_POSTFIX, validate_value=_value_transport),
    "virtual": MapSpec("virtual", FORMAT_POSTFIX, validate_value=_value_addresses, multi_value=True),
    "canonical": MapSpec("canonical", FORMAT_POSTFIX, validate_value=_value_address),
    "sender_canonical": MapSpec("sender_canonical", FORMAT_POSTFIX, validate_value=_value_address),
    "recipient_canonical": MapSpec("recipient_canonical", FORMAT_POSTFIX, validate_value=_value_address),
    "generic": MapSpec("generic", FORMAT_POSTFIX, validate_value=_value_address),
    "relocated": MapSpec("relocated", FORMAT_POSTFIX, validate_value=_value_any),
    "none": MapSpec("none", FORMAT_POSTFIX),
}


def _validate_alias_name(key: str) -> Optional[str]:
    if '"' in key or "\n" in key:
        return "alias names must not contain double quotes or newlines"
    return None


def _validate_alias_value(value: str) -> Optional[str]:
    recipients = split_recipients(value)
    if not recipients:
        return "an alias needs at least one recipient"
    for rcpt in recipients:
        reason = _recipient_problem(rcpt)
        if reason:
            return "recipient %r: %s" % (rcpt, reason)
    return None


ALIASES_SPEC = MapSpec("aliases", FORMAT_ALIASES, _validate_alias_name, _validate_alias_value, multi_value=True)


# Alias recipients and Postfix address lists


def split_recipients(value: str) -> list[str]:
    """Split an alias value on commas outside double quotes; drop empty items."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() if item.strip().startswith('"') else " ".join(item.split()) for item in items if item.strip()]


def split_addresses(value: str) -> list[str]:
    """Split a Postfix virtual value: addresses separated by commas and/or whitespace."""
    return [part for part in _ADDRESS_SEPARATORS.split(value) if part]


def _recipient_problem(rcpt: str) -> Optional[str]:
    body = rcpt[1:-1] if len(rcpt) >= 2 and rcpt[0] == rcpt[-1] == '"' else rcpt
    if rcpt.startswith('"') and not (len(rcpt) >= 2 and rcpt.endswith('"')):
        return "unbalanced double quote"
    if body.lower().startswith(":include:"):
        target = body[len(":include:"):].strip()
        return None if target.startswith("/") else ":include: needs an absolute path"
    if body.startswith("|"):
        return None if body[1:].strip() else "a |command recipient needs a command"
    if body.startswith("/"):
        return None if len(body) > 1 else "a /file recipient needs a path"
    if body is rcpt and _WS.search(rcpt):
        return "quote recipients that contain whitespace"
    if ":" in body and not body.lower().startswith("error:"):
        return "unexpected ':' (use ':include:/path' or quote the recipient)"
    return None
