# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure core of the map modules: parse, validate, compute and render map files.

No I/O happens here.  A map file is kept as a list of records, one per logical
line (an entry with its continuation lines, a comment, or a blank line), so that
everything the module does not manage is written back byte for byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Union

# File formats: how a key is separated from its value, and whether lines that
# start with whitespace continue the previous entry.
FORMAT_SENDMAIL = "sendmail"  # makemap: "key<ws>value", no continuation lines
FORMAT_POSTFIX = "postfix"  # postmap: "key<ws>value", leading whitespace continues
FORMAT_ALIASES = "aliases"  # aliases(5): "name: rcpt, rcpt", leading whitespace continues

STATES = ("present", "absent")


class MapError(ValueError):
    """An entry or option is invalid; the message names the entry and the reason."""


class Entry(NamedTuple):
    """One wanted entry. ``value`` is None for absent entries."""

    key: str
    value: Optional[str]
    state: str = "present"


class Record:
    """One logical line of a map file.

    ``lines`` are the physical lines with their line endings. ``key`` is None for
    comments, blank lines and lines that cannot be parsed; those are kept as-is.
    (A plain class with slots: a map holds one per line, 100,000 of them are common.)
    """

    __slots__ = ("lines", "key", "value")

    def __init__(self, lines: list[str], key: Optional[str] = None, value: Optional[str] = None) -> None:
        self.lines = lines
        self.key = key
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.lines, self.key, self.value) == (other.lines, other.key, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Record(lines=%r, key=%r, value=%r)" % (self.lines, self.key, self.value)


@dataclass
class MapResult:
    """What applying the entries did to a map."""

    content: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # The changed regions, for a diff: (first line of the old text, 0-based; number of old lines
    # replaced; the new lines), in increasing order and not overlapping.
    changes: list[tuple[int, int, list[str]]] = field(default_factory=list)

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
_USER_AT = re.compile(r"^[^\s@]+@$")
_SMTP_CODE_TEXT = re.compile(r"^[45]\d\d\s+\S")
_SMTP_CODE = re.compile(r"^[245]\d\d$")
_MAILER_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*:\S*$")
_RESTRICTIONS = re.compile(r"^(?:[a-z][a-z0-9_]*)(?:\s*[, ]\s*[a-z][a-z0-9_:.\[\]/-]*)*$")
_TRANSPORT_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ADDRESS_SEPARATORS = re.compile(r"[\s,]+")
_ALIAS_NEEDS_QUOTES = re.compile(r'[\s:#",]')


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


# Plain forms: a key or value of its map's plain form is valid by the validators above (each form accepts
# a subset of what they accept), has no whitespace at all (so stripping it changes nothing) and no line break.
# A large dict of such entries is checked with one regular expression over all keys and one over all
# values, instead of one validator call per entry; anything else goes through the validators.
_PLAIN_USER = r"[A-Za-z0-9._+=%-]+"
_PLAIN_LABEL = r"[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*"  # the language of _LABEL, with less backtracking
_PLAIN_DOMAIN = r"(?:%s\.)*%s" % (_PLAIN_LABEL, _PLAIN_LABEL)
_PLAIN_ADDRESS = r"%s(?:@[A-Za-z0-9._-]+)?" % _PLAIN_USER  # a local user or an address
_PLAIN_POSTFIX_KEY = r"[^\s#]\S*"  # exactly the generic key rule: not empty, no whitespace, no leading '#'
_PLAIN_FORMS = {
    (FORMAT_SENDMAIL, "virtusertable"): (r"[A-Za-z0-9._+=-]*@%s" % _PLAIN_DOMAIN, _PLAIN_ADDRESS),
    (FORMAT_SENDMAIL, "genericstable"): (r"(?:%s|@%s)" % (_PLAIN_ADDRESS, _PLAIN_DOMAIN), _PLAIN_ADDRESS),
    (FORMAT_SENDMAIL, "mailertable"): (r"\.?%s" % _PLAIN_DOMAIN, r"[A-Za-z][A-Za-z0-9_-]*:\S+"),
    (FORMAT_SENDMAIL, "domaintable"): (r"\.?%s" % _PLAIN_DOMAIN, _PLAIN_DOMAIN),
    (FORMAT_POSTFIX, "virtual"): (_PLAIN_POSTFIX_KEY, r"[^\s,]\S*"),
    (FORMAT_POSTFIX, "canonical"): (_PLAIN_POSTFIX_KEY, _PLAIN_ADDRESS),
    (FORMAT_POSTFIX, "sender_canonical"): (_PLAIN_POSTFIX_KEY, _PLAIN_ADDRESS),
    (FORMAT_POSTFIX, "recipient_canonical"): (_PLAIN_POSTFIX_KEY, _PLAIN_ADDRESS),
    (FORMAT_POSTFIX, "generic"): (_PLAIN_POSTFIX_KEY, _PLAIN_ADDRESS),
    (FORMAT_POSTFIX, "transport"): (_PLAIN_POSTFIX_KEY, r"[A-Za-z0-9_.-]*:\S*"),
    (FORMAT_POSTFIX, "relocated"): (_PLAIN_POSTFIX_KEY, r"\S+"),
    (FORMAT_POSTFIX, "none"): (_PLAIN_POSTFIX_KEY, r"\S+"),
    (FORMAT_ALIASES, "aliases"): (r"[A-Za-z0-9._+=-]+", _PLAIN_ADDRESS),
}
_PLAIN_BLOCKS: dict[tuple[str, str], tuple[Any, Any]] = {
    # One line per key or value, joined with newlines: "form(\nform)*".
    name: (re.compile(r"%s(?:\n%s)*" % (key, key)), re.compile(r"%s(?:\n%s)*" % (value, value)))
    for name, (key, value) in _PLAIN_FORMS.items()
}
# Below this many entries the validators are as fast; the plain check is for large maps.
PLAIN_CHECK_MIN = 1000


def _plain_entries(raw: dict, spec: MapSpec) -> Optional[list[Entry]]:
    """The entries of a dict whose keys and values all have their map's plain form, else None."""
    blocks = _PLAIN_BLOCKS.get((spec.format, spec.name))
    if blocks is None:
        return None
    keys = list(raw)
    values = list(raw.values())
    if set(map(type, keys)) != {str} or set(map(type, values)) != {str}:
        return None
    key_text = "\n".join(keys)
    value_text = "\n".join(values)
    lines = len(keys) - 1  # a line break inside a key or value would pass as two plain ones
    if key_text.count("\n") != lines or value_text.count("\n") != lines:
        return None
    if not blocks[0].fullmatch(key_text) or not blocks[1].fullmatch(value_text):
        return None
    if len(set(key_text.lower().split("\n"))) != len(keys):
        return None  # a duplicate key: the validators name it
    return [Entry(key, value, "present") for key, value in zip(keys, values)]


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


# ---------------------------------------------------------------------------
# Keys


def fold_key(key: str) -> str:
    """makemap, postmap and postalias fold keys to lower case unless told not to (-f)."""
    return key.lower()


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
    append = records.append
    continues = fmt != FORMAT_SENDMAIL
    current: Optional[Record] = None  # the last entry, while continuation lines may follow
    pieces: list[str] = []

    for line in text.splitlines(True):
        stripped = line.strip()
        indented = line[0] in " \t"
        if indented and continues and current is not None and stripped and stripped[0] != "#":
            current.lines.append(line)
            pieces.append(stripped)
            continue
        if len(pieces) > 1:  # the entry before had continuation lines: split the logical line again
            current.key, current.value = _split_entry(" ".join(pieces), fmt)  # type: ignore[union-attr]
        if not stripped or indented or stripped[0] == "#":
            current = None
            pieces = []
            append(Record([line]))
            continue
        key, value = _split_entry(stripped, fmt)
        current = Record([line], key, value)
        pieces = [stripped]
        append(current)
    if len(pieces) > 1:
        current.key, current.value = _split_entry(" ".join(pieces), fmt)  # type: ignore[union-attr]
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


def decode_entries(text: str) -> Any:
    """The entries given as JSON text (a dict or a list), as the action plugin sends large ones."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise MapError("entries given as text must be JSON (a dict or a list): %s" % exc) from None
    if not isinstance(raw, (dict, list)):
        raise MapError("entries given as JSON text must be a dict or a list, not %s" % type(raw).__name__)
    return raw


def parse_entries(raw: Any, spec: MapSpec, default_state: str = "present") -> list[Entry]:
    """Turn the ``entries`` option (a dict, or a list of dicts or keys) into validated entries.

    Raises MapError naming the first bad entry, so the module fails before touching anything.
    """
    if default_state not in STATES:
        raise MapError("state must be one of %s, not %r" % (", ".join(STATES), default_state))
    items: list[tuple[Any, Any, str, bool]] = []  # key, value, state, value given
    if raw is None:
        raw = []
    if isinstance(raw, str):
        raw = decode_entries(raw)
    if isinstance(raw, dict):
        if default_state == "present" and len(raw) >= PLAIN_CHECK_MIN:
            plain = _plain_entries(raw, spec)
            if plain is not None:
                return plain
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
    aliases = spec.format == FORMAT_ALIASES
    validate_key = spec.validate_key
    validate_value = spec.validate_value
    append = entries.append
    for key, value, state, has_value in items:
        if key.__class__ is not str:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise MapError("entry %r: the key must be a string" % (key,))
            key = str(key)
        key = key.strip()
        if state not in STATES:
            raise MapError("entry %r: state must be present or absent, not %r" % (key, state))
        # The key checks run inline: this loop runs once per entry, often 100,000 times.
        if not key:
            reason: Optional[str] = "the key is empty"
        elif "\n" in key or "\r" in key:
            reason = "the key contains a newline"
        elif not aliases and _WS.search(key):
            reason = "the key contains whitespace"
        elif not aliases and key[0] == "#":
            reason = "the key starts with '#', which makes the line a comment"
        else:
            reason = validate_key(key)
        if reason:
            raise MapError("entry %r: invalid %s key: %s" % (key, spec.name, reason))
        folded = key.lower()  # fold_key()
        if folded in seen:
            raise MapError("entry %r: duplicate key (keys are case-insensitive, it repeats %r)" % (key, seen[folded]))
        seen[folded] = key
        if state == "absent":
            append(Entry(key, None, "absent"))
            continue
        if not has_value:
            raise MapError("entry %r: a value is required when state is present" % key)
        if value.__class__ is str:
            text = value.strip()
            if "\n" in text or "\r" in text:
                raise MapError("entry %r: the value contains a newline" % key)
        else:
            text = _value_text(key, value, spec)
        reason = validate_value(text)
        if reason:
            raise MapError("entry %r: invalid %s value %r: %s" % (key, spec.name, text, reason))
        append(Entry(key, text, "present"))
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
        if _ALIAS_NEEDS_QUOTES.search(key) or key.startswith("#"):
            key = '"%s"' % key
        return "%s: %s%s" % (key, entry.value, newline)
    return "%s\t%s%s" % (entry.key, entry.value, newline)


def apply_entries(text: str, entries: list[Entry], spec: MapSpec, exclusive: bool = False) -> MapResult:
    """Apply entries to the map text and return the new text with what changed.

    Existing keys are updated in place, new keys are appended in the order given,
    absent keys are removed, and with ``exclusive`` every key not given is removed.
    Comments, blank lines and unparsable lines are always kept. Later duplicates of
    a managed key in the file are removed, as the map tools would ignore or reject them.

    Linear in the size of the file and the number of entries: an entry whose line
    already reads exactly as it would be rendered is kept without normalising values.
    """
    newline = detect_newline(text)
    if text and _is_rendered(text, entries, spec, newline):
        return MapResult(content=text)
    records = parse_map(text, spec.format)
    wanted: dict[str, Entry] = {entry.key.lower(): entry for entry in entries}
    result = MapResult(content="")
    removed = result.removed
    updated = result.updated
    changes = result.changes
    done: set[str] = set()
    updated_keys: set[str] = set()
    out: list[str] = []
    extend = out.extend
    lineno = 0  # first line of the current record in the old text

    for record in records:
        lines = record.lines
        start = lineno
        lineno += len(lines)
        if record.key is None:
            extend(lines)
            continue
        folded = record.key.lower()  # fold_key()
        entry = wanted.get(folded)
        if entry is None:
            if exclusive:
                if folded not in done:
                    removed.append(record.key)
                    done.add(folded)
                changes.append((start, len(lines), []))
                continue
            extend(lines)
            continue
        if entry.state == "absent":
            if folded not in done:
                removed.append(record.key)
                done.add(folded)
            changes.append((start, len(lines), []))
            continue
        if folded in done:  # a later duplicate of a managed key
            if entry.key not in updated_keys:
                updated_keys.add(entry.key)
                updated.append(entry.key)
            changes.append((start, len(lines), []))
            continue
        done.add(folded)
        rendered = render_entry(entry, spec, newline)
        if (len(lines) == 1 and lines[0] == rendered) or \
                normalize_value(record.value, spec) == normalize_value(entry.value, spec):
            extend(lines)
        else:
            updated_keys.add(entry.key)
            updated.append(entry.key)
            out.append(rendered)
            changes.append((start, len(lines), [rendered]))

    added = [entry for entry in entries if entry.state == "present" and entry.key.lower() not in done]
    if added:
        new_lines = [render_entry(entry, spec, newline) for entry in added]
        if out and not out[-1].endswith("\n"):
            # Only the old text's last line can lack a line end, and a kept line is unchanged.
            changes.append((lineno - 1, 1, [out[-1] + newline] + new_lines))
            out[-1] += newline
        else:
            changes.append((lineno, 0, new_lines))
        out.extend(new_lines)
        result.added.extend(entry.key for entry in added)
    result.content = "".join(out)
    return result


def _is_rendered(text: str, entries: list[Entry], spec: MapSpec, newline: str) -> bool:
    """Whether ``text`` is exactly the present entries as this module renders them, in order.

    Then applying the entries changes nothing: every present key is there once with its value,
    and an absent key cannot be (keys are unique across entries). This is the usual re-run of a
    map that the module wrote, and is much cheaper than parsing the file.
    """
    if spec.format == FORMAT_ALIASES:
        rendered = "".join([render_entry(entry, spec, newline) for entry in entries if entry.value is not None])
    else:
        rendered = "".join(["%s\t%s%s" % (entry.key, entry.value, newline) for entry in entries
                            if entry.value is not None])
    if text != rendered:
        return False
    # A value may hold a character that splitlines() takes for a line break; leave those to the parser.
    present = sum(1 for entry in entries if entry.value is not None)
    return text.count(newline) == present and len(text.splitlines()) == present


def unified_diff(before: str, changes: list[tuple[int, int, list[str]]], before_header: str, after_header: str,
                 context: int = 3) -> str:
    """A unified diff of ``before`` and the text that ``changes`` (see MapResult) make of it.

    Equivalent to ``difflib.unified_diff`` for these changes, but it looks only at the changed
    regions and their context: an unchanged file costs nothing, and a few changes in a
    100,000-line map cost a few lines.
    """
    if not changes:
        return ""
    old = before.splitlines(True)
    merged: list[tuple[int, int, list[str]]] = []
    for change in changes:  # adjacent changes make one block: its old lines, then its new lines
        if merged and change[0] == merged[-1][0] + merged[-1][1]:
            merged[-1] = (merged[-1][0], merged[-1][1] + change[1], merged[-1][2] + change[2])
        else:
            merged.append(change)
    groups: list[list[tuple[int, int, list[str]]]] = []
    for change in merged:
        if groups and change[0] - (groups[-1][-1][0] + groups[-1][-1][1]) <= 2 * context:
            groups[-1].append(change)
        else:
            groups.append([change])
    out = ["--- %s\n" % before_header, "+++ %s\n" % after_header]
    delta = 0  # how many lines the new text is ahead of the old one before the current group
    for group in groups:
        low = max(0, group[0][0] - context)
        high = min(len(old), group[-1][0] + group[-1][1] + context)
        body: list[str] = []
        position = low
        new_count = 0
        for start, count, new in group:
            body.extend(" " + line for line in old[position:start])
            body.extend("-" + line for line in old[start:start + count])
            body.extend("+" + line for line in new)
            new_count += start - position + len(new)
            position = start + count
        body.extend(" " + line for line in old[position:high])
        new_count += high - position
        out.append("@@ -%s +%s @@\n" % (_diff_range(low, high - low), _diff_range(low + delta, new_count)))
        out.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body)
        delta += new_count - (high - low)
    return "".join(out)


def _diff_range(start: int, length: int) -> str:
    """difflib's range format: 1-based first line and length; an empty range names the line before it."""
    if length == 1:
        return "%d" % (start + 1)
    if not length:
        return "%d,0" % start
    return "%d,%d" % (start + 1, length)
