# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: map file text parsed into records, every byte kept."""

from __future__ import annotations

from typing import Optional

from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import FORMAT_ALIASES, FORMAT_SENDMAIL, Record


def fold_key(key: str) -> str:
    """makemap, postmap and postalias fold keys to lower case unless told not to (-f)."""
    return key.lower()


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
