# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure core of the map modules: parse, validate, compute and render map files.

No I/O happens here.  A map file is kept as a list of records, one per logical
line (an entry with its continuation lines, a comment, or a blank line), so that
everything the module does not manage is written back byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

# File formats: how a key is separated from its value, and whether lines that
# start with whitespace continue the previous entry.
FORMAT_SENDMAIL = "sendmail"  # makemap: "key<ws>value", no continuation lines
FORMAT_POSTFIX = "postfix"  # postmap: "key<ws>value", leading whitespace continues
FORMAT_ALIASES = "aliases"  # aliases(5): "name: rcpt, rcpt", leading whitespace continues

STATES = ("present", "absent")


class MapError(ValueError):
    """An entry or option is invalid; the message names the entry and the reason."""


@dataclass(frozen=True)
class Entry:
    """One wanted entry. ``value`` is None for absent entries."""

    key: str
    value: Optional[str]
    state: str = "present"


@dataclass
class Record:
    """One logical line of a map file.

    ``lines`` are the physical lines with their line endings. ``key`` is None for
    comments, blank lines and lines that cannot be parsed; those are kept as-is.
    """

    lines: list[str]
    key: Optional[str] = None
    value: Optional[str] = None


@dataclass
class MapResult:
    """What applying the entries did to a map."""

    content: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


# ---------------------------------------------------------------------------
# Value validators: each returns None when fine, or the reason it is not.

_WS = re.compile(r"\s")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_DOMAIN = re.compile(r"^\.?(?:%s\.)*%s\.?$" % (_LABEL, _LABEL))
_IP_OR_NET = re.compile(
    r"^(?:\d{1,3}(?:\.\d{1,3}){0,3}(?:/\d{1,2})?|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?(?:/\d{1,3})?)$"
)
_LOCALPART = re.compile(r"^[^\s@,:;<>()\[\]\\\"]+$")
_ADDRESS = re.compile(r"^[^\s@,:;<>()\[\]\\\"]+@[^\s@,;<>()\\\"]+$")


def _single_token(value: str) -> Optional[str]:
    if not value:
        return "the value is empty"
    if _WS.search(value):
        return "the value must be a single word without whitespace"
    return None


def _is_domain(text: str) -> bool:
    return bool(_DOMAIN.match(text))


def _is_address_or_user(text: str) -> bool:
    return bool(_ADDRESS.match(text) or _LOCALPART.match(text))


def _key_virtusertable(key: str) -> Optional[str]:
    if "@" not in key:
        return "virtusertable keys are 'user@domain' or '@domain'"
    local, _, domain = key.rpartition("@")
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
    if _is_domain(key) or _IP_OR_NET.match(key) or _ADDRESS.match(key) or re.match(r"^[^\s@]+@$", key):
        return None
    return "access keys are a domain, an IP address or network, 'user@' or an address, optionally with a tag"


def _value_sendmail_access(value: str) -> Optional[str]:
    if value in _ACCESS_ACTIONS:
        return None
    upper = value.upper()
    if (upper.startswith("ERROR:") or upper.startswith("QUARANTINE:")) and value.split(":", 1)[1].strip():
        return None
    if re.match(r"^[45]\d\d\s+\S", value):
        return None
    return "access values must be OK, RELAY, REJECT, DISCARD, SKIP, FRIEND, HATER, 'ERROR:...' or 'QUARANTINE:...'"


def _key_domain(key: str) -> Optional[str]:
    return None if _is_domain(key) else "the key must be a domain name (or '.domain')"


def _value_mailertable(value: str) -> Optional[str]:
    if value.lower().startswith("error:"):
        return None if value[6:].strip() else "an error: target needs a code or text"
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]*:\S*$", value):
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
    if re.match(r"^[245]\d\d$", first):
        return None
    if re.match(r"^(?:[a-z][a-z0-9_]*)(?:\s*[, ]\s*[a-z][a-z0-9_:.\[\]/-]*)*$", value):
        return None  # restriction names, e.g. "permit_mynetworks, reject"
    return "access actions are OK, REJECT, DEFER, DUNNO, PERMIT, HOLD, DISCARD, FILTER, PREPEND, REDIRECT, WARN, " \
        "'4xx/5xx text' or restriction names"


def _value_transport(value: str) -> Optional[str]:
    if ":" not in value:
        return "transport entries are 'transport:nexthop' (either part may be empty)"
    transport = value.split(":", 1)[0]
    if transport and not re.match(r"^[A-Za-z0-9_.-]+$", transport):
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


# ---------------------------------------------------------------------------
# Aliases recipients


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
    return [part for part in re.split(r"[\s,]+", value) if part]


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


# ---------------------------------------------------------------------------
# Keys


def fold_key(key: str) -> str:
    """makemap, postmap and postalias fold keys to lower case unless told not to (-f)."""
    return key.lower()


def _key_problem(key: str, spec: MapSpec) -> Optional[str]:
    if not key:
        return "the key is empty"
    if "\n" in key or "\r" in key:
        return "the key contains a newline"
    if spec.format != FORMAT_ALIASES:
        if _WS.search(key):
            return "the key contains whitespace"
        if key.startswith("#"):
            return "the key starts with '#', which makes the line a comment"
    return spec.validate_key(key)


# ---------------------------------------------------------------------------
# Parsing the file


def detect_newline(text: str) -> str:
    return "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"


def _split_entry(logical: str, fmt: str) -> tuple[Optional[str], Optional[str]]:
    """Split one logical line into key and value (None, None when it is not an entry)."""
    if fmt == FORMAT_ALIASES:
        if logical.startswith('"'):
            end = logical.find('"', 1)
            if end < 0:
                return None, None
            key = logical[1:end]
            rest = logical[end + 1:].lstrip()
            if not rest.startswith(":"):
                return None, None
            return key, rest[1:].strip()
        name, sep, value = logical.partition(":")
        if not sep or not name.strip():
            return None, None
        return name.strip(), value.strip()
    parts = logical.split(None, 1)
    if not parts:
        return None, None
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def parse_map(text: str, fmt: str) -> list[Record]:
    """Parse map file text into records. ``"".join(lines)`` of all records gives ``text`` back."""
    records: list[Record] = []
    continues = fmt != FORMAT_SENDMAIL
    current: Optional[Record] = None
    pieces: list[str] = []

    def close() -> None:
        if current is not None:
            current.key, current.value = _split_entry(" ".join(pieces), fmt)

    for line in text.splitlines(True):
        stripped = line.strip()
        if continues and current is not None and stripped and line[0] in " \t" and not stripped.startswith("#"):
            current.lines.append(line)
            pieces.append(stripped)
            continue
        close()
        current = None
        if not stripped or stripped.startswith("#") or line[0] in " \t":
            records.append(Record([line]))
            continue
        current = Record([line])
        pieces = [stripped]
        records.append(current)
    close()
    return records


# ---------------------------------------------------------------------------
# Entries from module arguments


def _value_text(key: str, value: Any, spec: MapSpec) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, dict):
        raise MapError("entry %r: the value must be a string, not %s" % (key, type(value).__name__))
    if isinstance(value, (list, tuple)):
        if not spec.multi_value:
            raise MapError("entry %r: a %s value must be a single string, not a list" % (key, spec.name))
        items = [str(item).strip() for item in value]
        if not all(items):
            raise MapError("entry %r: the list of values contains an empty item" % key)
        return ", ".join(items)
    text = str(value).strip()
    if "\n" in text or "\r" in text:
        raise MapError("entry %r: the value contains a newline" % key)
    return text


def parse_entries(raw: Any, spec: MapSpec, default_state: str = "present") -> list[Entry]:
    """Turn the ``entries`` option (a dict, or a list of dicts or keys) into validated entries.

    Raises MapError naming the first bad entry, so the module fails before touching anything.
    """
    if default_state not in STATES:
        raise MapError("state must be one of %s, not %r" % (", ".join(STATES), default_state))
    items: list[tuple[Any, Any, str, bool]] = []  # key, value, state, value given
    if raw is None:
        raw = []
    if isinstance(raw, dict):
        items = [(key, value, default_state, True) for key, value in raw.items()]
    elif isinstance(raw, (list, tuple)):
        for index, item in enumerate(raw):
            if isinstance(item, dict):
                unknown = sorted(set(item) - {"key", "value", "state"})
                if unknown:
                    raise MapError(
                        "entries[%d]: unknown field(s) %s; use key, value and state" % (index, ", ".join(unknown))
                    )
                if "key" not in item:
                    raise MapError("entries[%d]: the entry has no key" % index)
                state = item.get("state") or default_state
                items.append((item["key"], item.get("value"), state, item.get("value") is not None))
            elif isinstance(item, str):
                items.append((item, None, default_state, False))
            else:
                raise MapError(
                    "entries[%d]: expected a dict with key/value/state or a key, got %s" % (index, type(item).__name__)
                )
    else:
        raise MapError("entries must be a dict or a list, not %s" % type(raw).__name__)

    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for key, value, state, has_value in items:
        if not isinstance(key, (str, int)) or isinstance(key, bool):
            raise MapError("entry %r: the key must be a string" % (key,))
        key = str(key).strip()
        if state not in STATES:
            raise MapError("entry %r: state must be present or absent, not %r" % (key, state))
        reason = _key_problem(key, spec)
        if reason:
            raise MapError("entry %r: invalid %s key: %s" % (key, spec.name, reason))
        folded = fold_key(key)
        if folded in seen:
            raise MapError("entry %r: duplicate key (keys are case-insensitive, it repeats %r)" % (key, seen[folded]))
        seen[folded] = key
        if state == "absent":
            entries.append(Entry(key, None, "absent"))
            continue
        if not has_value:
            raise MapError("entry %r: a value is required when state is present" % key)
        text = _value_text(key, value, spec)
        reason = spec.validate_value(text)
        if reason:
            raise MapError("entry %r: invalid %s value %r: %s" % (key, spec.name, text, reason))
        entries.append(Entry(key, text, "present"))
    return entries


# ---------------------------------------------------------------------------
# Comparing and rendering


def normalize_value(value: Optional[str], spec: MapSpec) -> Union[str, tuple[str, ...], None]:
    """The form in which two values are equal when the compiled map would be the same."""
    if value is None:
        return None
    if spec.format == FORMAT_ALIASES:
        return tuple(split_recipients(value))
    if spec.multi_value:
        return tuple(split_addresses(value))
    if spec.format == FORMAT_POSTFIX:
        return " ".join(value.split())
    return value.strip()


def render_entry(entry: Entry, spec: MapSpec, newline: str = "\n") -> str:
    if spec.format == FORMAT_ALIASES:
        key = entry.key
        if re.search(r'[\s:#",]', key) or key.startswith("#"):
            key = '"%s"' % key
        return "%s: %s%s" % (key, entry.value, newline)
    return "%s\t%s%s" % (entry.key, entry.value, newline)


def apply_entries(text: str, entries: list[Entry], spec: MapSpec, exclusive: bool = False) -> MapResult:
    """Apply entries to the map text and return the new text with what changed.

    Existing keys are updated in place, new keys are appended in the order given,
    absent keys are removed, and with ``exclusive`` every key not given is removed.
    Comments, blank lines and unparsable lines are always kept. Later duplicates of
    a managed key in the file are removed, as the map tools would ignore or reject them.
    """
    records = parse_map(text, spec.format)
    newline = detect_newline(text)
    wanted: dict[str, Entry] = {fold_key(entry.key): entry for entry in entries}
    result = MapResult(content="")
    done: set[str] = set()
    out: list[str] = []

    for record in records:
        if record.key is None:
            out.extend(record.lines)
            continue
        folded = fold_key(record.key)
        entry = wanted.get(folded)
        if entry is None:
            if exclusive:
                if folded not in done:
                    result.removed.append(record.key)
                    done.add(folded)
                continue
            out.extend(record.lines)
            continue
        if entry.state == "absent":
            if folded not in done:
                result.removed.append(record.key)
                done.add(folded)
            continue
        if folded in done:  # a later duplicate of a managed key
            if entry.key not in result.updated and entry.key not in result.added:
                result.updated.append(entry.key)
            continue
        done.add(folded)
        if normalize_value(record.value, spec) == normalize_value(entry.value, spec):
            out.extend(record.lines)
        else:
            result.updated.append(entry.key)
            out.append(render_entry(entry, spec, newline))

    additions = [entry for entry in entries if entry.state == "present" and fold_key(entry.key) not in done]
    if additions:
        if out and not out[-1].endswith("\n"):
            out[-1] += newline
        for entry in additions:
            out.append(render_entry(entry, spec, newline))
            result.added.append(entry.key)
    result.content = "".join(out)
    return result


def existing_entries(text: str, spec: MapSpec) -> dict[str, str]:
    """The entries of a map file as {key: value}; the first of duplicate keys wins, as with postmap."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for record in parse_map(text, spec.format):
        if record.key is not None and fold_key(record.key) not in seen:
            seen.add(fold_key(record.key))
            found[record.key] = record.value or ""
    return found
