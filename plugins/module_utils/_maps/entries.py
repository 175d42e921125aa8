# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: the ``entries`` option of the map modules, decoded and validated."""

from __future__ import annotations

import json
import re
from itertools import repeat
from typing import Any, Optional

from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import (
    FORMAT_ALIASES,
    FORMAT_POSTFIX,
    FORMAT_SENDMAIL,
    STATES,
    Entry,
    MapError,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import _WS, MapSpec

# Plain forms: a key or value of its map's plain form is valid by the validators in ``specs`` (each form accepts
# a subset of what they accept), has no whitespace at all (so stripping it changes nothing) and no line break.
# A large dict of such entries is checked with one regular expression over all keys and one over all
# values, instead of one validator call per entry; anything else goes through the validators.
_PLAIN_USER = r"[A-Za-z0-9._+=%-]+"
_PLAIN_LABEL = r"[A-Za-z0-9_]+(?:-+[A-Za-z0-9_]+)*"  # the language of _LABEL, with less backtracking
_PLAIN_DOMAIN = r"(?:%s\.)*%s" % (_PLAIN_LABEL, _PLAIN_LABEL)
_PLAIN_ADDRESS = r"%s(?:@[A-Za-z0-9._-]+)?" % _PLAIN_USER  # a local user or an address
_PLAIN_POSTFIX_KEY = r"[^\s#]\S*"  # exactly the generic key rule: not empty, no whitespace, no leading '#'
# A domain after '@' that runs to the end of the line: the block checks only its characters, and the label
# rules (no empty label, no '-' at either end of one) are checked on the whole text at once with _NOT_LABELS,
# several times faster than _PLAIN_DOMAIN on every line. A text that holds one of them (also where the local
# part does) goes to the validators.
_PLAIN_AT_DOMAIN = r"@[A-Za-z0-9_.-]+"
_NOT_LABELS = ("@.", "@-", ".\n", "-\n", "..", ".-", "-.")
_AT_DOMAIN_KEYS = ((FORMAT_SENDMAIL, "virtusertable"), (FORMAT_SENDMAIL, "genericstable"))
_PLAIN_FORMS = {
    (FORMAT_SENDMAIL, "virtusertable"): (r"[A-Za-z0-9._+=-]*%s" % _PLAIN_AT_DOMAIN, _PLAIN_ADDRESS),
    (FORMAT_SENDMAIL, "genericstable"): (r"(?:%s|%s)" % (_PLAIN_ADDRESS, _PLAIN_AT_DOMAIN), _PLAIN_ADDRESS),
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
    if (spec.format, spec.name) in _AT_DOMAIN_KEYS and (
            key_text.endswith((".", "-")) or any(part in key_text for part in _NOT_LABELS)):
        return None
    # A text whose letters are all lower case folds to itself, and a dict's keys are unique.
    if not key_text.islower() and len(set(key_text.lower().split("\n"))) != len(keys):
        return None  # a duplicate key: the validators name it
    # Entry(key, value, "present") without a Python call per entry.
    return list(map(tuple.__new__, repeat(Entry), zip(keys, values, repeat("present"))))


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
