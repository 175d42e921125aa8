# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: the map core's data, the map file formats and its error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Optional

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
