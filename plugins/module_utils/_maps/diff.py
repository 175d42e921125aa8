# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: a unified diff of the changed regions of a map only."""

from __future__ import annotations


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
