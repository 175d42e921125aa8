# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: entries compared with a map's text, and the new text rendered."""

from __future__ import annotations

import re
from typing import Optional, Union

from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import (
    FORMAT_ALIASES,
    FORMAT_POSTFIX,
    Entry,
    MapResult,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.parse import detect_newline, parse_map
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import (
    MapSpec,
    split_addresses,
    split_recipients,
)

_ALIAS_NEEDS_QUOTES = re.compile(r'[\s:#",]')


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
    if not text:
        return _new_map(entries, spec)
    newline = detect_newline(text)
    if _is_rendered(text, entries, spec, newline):
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


def _new_map(entries: list[Entry], spec: MapSpec) -> MapResult:
    """What ``apply_entries`` makes of an empty map: the present entries, in order (their keys are unique)."""
    present = [entry for entry in entries if entry.value is not None]
    if spec.format == FORMAT_ALIASES:
        lines = [render_entry(entry, spec) for entry in present]
    else:  # render_entry() inlined: a new map is often 100,000 entries
        lines = ["%s\t%s\n" % (key, value) for key, value, _state in present]
    result = MapResult(content="".join(lines), added=[entry.key for entry in present])
    if lines:
        result.changes.append((0, 0, lines))
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
