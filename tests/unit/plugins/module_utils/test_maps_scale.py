"""The fast paths of the map core give the same results as the general ones; the diff of changed regions is right."""

from __future__ import annotations

import difflib
import random
import re

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._maps.apply import apply_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.diff import unified_diff
from ansible_collections.mailhost.mail.plugins.module_utils._maps.entries import parse_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import MapError
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import (
    ALIASES_SPEC,
    POSTFIX_SPECS,
    SENDMAIL_SPECS,
)

VUT = SENDMAIL_SPECS["virtusertable"]
VIRTUAL = POSTFIX_SPECS["virtual"]
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def patch(before: str, diff: str) -> str:
    """Apply a unified diff made by unified_diff() to before (a minimal patch(1))."""
    old = before.splitlines(True)
    if not diff:
        return before
    lines = diff.splitlines(True)[2:]
    out: list[str] = []
    position = 0
    index = 0
    while index < len(lines):
        match = HUNK.match(lines[index].rstrip("\n"))
        assert match, lines[index]
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        out.extend(old[position:start])
        position = start
        index += 1
        while index < len(lines) and not lines[index].startswith("@@"):
            line = lines[index]
            body = line[1:]
            if index + 1 < len(lines) and lines[index + 1] == "\\ No newline at end of file\n":
                body = body[:-1]
                index += 1
            if line[0] == " ":
                assert old[position] == body
                out.append(body)
                position += 1
            elif line[0] == "-":
                assert old[position] == body
                position += 1
            else:
                assert line[0] == "+", line
                out.append(body)
            index += 1
    out.extend(old[position:])
    return "".join(out)


def difflib_diff(before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "a", "b"))


@pytest.mark.parametrize("before, entries, exclusive", [
    ("".join("u%d@a.example\tt%d\n" % (i, i) for i in range(50)), {"u20@a.example": "changed"}, False),
    ("".join("u%d@a.example\tt%d\n" % (i, i) for i in range(50)), {"u20@a.example": "c", "u40@a.example": "d"}, False),
    ("".join("u%d@a.example\tt%d\n" % (i, i) for i in range(50)), {"u0@a.example": "c", "u1@a.example": "d"}, False),
    ("".join("u%d@a.example\tt%d\n" % (i, i) for i in range(20)), {"new@a.example": "x"}, False),
    ("# c\nu1@a.example\tt1", {"new@a.example": "x"}, False),
    ("# c\nu1@a.example\tt1", {"u1@a.example": "x"}, False),
    ("", {"new@a.example": "x", "new2@a.example": "y"}, False),
    ("# c\nu1@a.example t1\nu2@a.example t2\n# end\n", {"u2@a.example": "t2"}, True),
])
def test_diff_matches_difflib(before, entries, exclusive):
    result = apply_entries(before, parse_entries(entries, VUT), VUT, exclusive)
    diff = unified_diff(before, result.changes, "a", "b")
    assert patch(before, diff) == result.content
    if before.endswith("\n") or not before:  # difflib does not mark a last line without a line end
        assert diff == difflib_diff(before, result.content)
    else:
        assert "\n\\ No newline at end of file\n" in diff


def test_unchanged_diff_is_empty_and_free():
    text = "".join("u%d@a.example\tt%d\n" % (i, i) for i in range(100000))
    entries = parse_entries({"u%d@a.example" % i: "t%d" % i for i in range(100000)}, VUT)
    result = apply_entries(text, entries, VUT)
    assert not result.changed and result.changes == [] and result.content == text
    assert unified_diff(text, result.changes, "a", "b") == ""


def _random_text(rng: random.Random, fmt_aliases: bool) -> str:
    lines = []
    for _round in range(rng.randint(0, 40)):
        kind = rng.random()
        key = "k%d@a.example" % rng.randint(0, 30)
        if fmt_aliases:
            key = "k%d" % rng.randint(0, 30)
        if kind < 0.1:
            lines.append("# comment %d\n" % rng.randint(0, 9))
        elif kind < 0.15:
            lines.append("\n")
        elif kind < 0.2:
            lines.append("  continued%d@a.example\n" % rng.randint(0, 9))
        elif fmt_aliases:
            lines.append("%s: v%d\n" % (key, rng.randint(0, 3)))
        else:
            lines.append("%s%sv%d@a.example\n" % (key, rng.choice(["\t", " ", "  "]), rng.randint(0, 3)))
    text = "".join(lines)
    if text and rng.random() < 0.2:
        text = text[:-1]
    if rng.random() < 0.2:
        text = text.replace("\n", "\r\n")
    return text


@pytest.mark.parametrize("spec", [VUT, VIRTUAL, ALIASES_SPEC], ids=lambda spec: spec.name)
def test_random_changes_diff_applies_and_rerun_is_stable(spec):
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    aliases = spec is ALIASES_SPEC
    for _round in range(300):
        before = _random_text(rng, aliases)
        raw = []
        for key in rng.sample(range(31), rng.randint(0, 12)):
            name = ("k%d" if aliases else "k%d@a.example") % key
            if rng.random() < 0.2:
                raw.append({"key": name, "state": "absent"})
            else:
                raw.append({"key": name, "value": "v%d@a.example" % rng.randint(0, 3)})
        entries = parse_entries(raw, spec)
        exclusive = rng.random() < 0.3
        result = apply_entries(before, entries, spec, exclusive)
        diff = unified_diff(before, result.changes, "a", "b")
        assert patch(before, diff) == result.content
        assert bool(result.changes) == (result.content != before) or result.changed
        again = apply_entries(result.content, entries, spec, exclusive)
        assert again.content == result.content and not again.changed and again.changes == []


@pytest.mark.parametrize("spec, raw", [
    (VUT, {"u%d@a.example" % i: "t%d@b.example" % i for i in range(200)}),
    (VIRTUAL, {"u%d@a.example" % i: ["t%d@b.example" % i, "x@b.example"] for i in range(200)}),
    (ALIASES_SPEC, {"list %d" % i: ["a", "|/bin/x %d" % i] for i in range(200)}),
])
def test_whole_file_fast_path_agrees_with_parser(spec, raw):
    entries = parse_entries(raw, spec)
    written = apply_entries("", entries, spec).content
    for text in (written, written.replace("\n", "\r\n")):
        fast = apply_entries(text, entries, spec)  # the file is exactly the rendered entries
        slow = apply_entries("# forces the parser\n" + text, entries, spec)
        assert fast.content == text and slow.content == "# forces the parser\n" + text
        assert not fast.changed and not slow.changed
    # A changed value, a missing line or another order are not taken for the rendered file.
    changed = written.replace("t7@b.example", "other@b.example", 1).replace('"|/bin/x 7"', "other", 1)
    assert apply_entries(changed, entries, spec).content == written
    assert apply_entries(written.split("\n", 1)[1], entries, spec).changed
    swapped = entries[1:2] + entries[:1] + entries[2:]
    result = apply_entries(written, swapped, spec)
    assert result.content == written and not result.changed


@pytest.mark.parametrize("spec, raw", [
    (VUT, {"u%d@a.example" % i: "t%d@b.example" % i for i in range(50)}),
    (VIRTUAL, {"u%d@a.example" % i: ["t%d@b.example" % i, "x@b.example"] for i in range(50)}),
    (ALIASES_SPEC, {"list %d" % i: ["a", "|/bin/x %d" % i] for i in range(50)}),
])
def test_new_map_fast_path_agrees_with_parser(spec, raw):
    entries = parse_entries(raw, spec) + parse_entries(["gone@a.example"], spec, "absent")
    fast = apply_entries("", entries, spec)
    slow = apply_entries("# forces the parser\n", entries, spec)
    assert "# forces the parser\n" + fast.content == slow.content
    assert (fast.added, fast.updated, fast.removed) == (slow.added, slow.updated, slow.removed)
    assert [(start + 1, count, lines) for start, count, lines in fast.changes] == slow.changes
    assert unified_diff("", fast.changes, "a", "b") == difflib_diff("", fast.content)
    empty = apply_entries("", entries[-1:], spec)
    assert (empty.content, empty.changed, empty.changes) == ("", False, [])


TRICKY = [
    "user@example.com", "@example.com", "a.b+c=d@sub.example.com", "%1@example.net", "bob", "-x@example.com",
    "x@-bad.example", "x@bad-.example", "x@ex_ample.com", "x@.example", "x@example..com", "x@example.com.",
    ".example.com", "example.com", "a@b@c.example", "error:nouser", "error:", "esmtp:[relay.example.com]", "local:",
    "smtp:", ":", "a:b:c", "#hash", "x#y", "a,b", ",a", "a,", "white space", " lead", "trail ", "tab\there",
    "new\nline", "cr\rline", "nbsp\u00a0x", "line\u2028sep", "ünï@example.com", "x@ünï.example", "q\"uote", "(paren)",
    "|/bin/cmd", "/var/file", ":include:/etc/list", "", "@", "user@", "a@b", "under_score", "1.2.3.4", "[::1]",
    "a..b@example.com", "x@a.-b.example", "a-@b-c.example", "x@a--b.example", "x@b.example-", "UP@Example.COM",
]


@pytest.mark.parametrize("spec", list(SENDMAIL_SPECS.values()) + list(POSTFIX_SPECS.values()) + [ALIASES_SPEC],
                         ids=lambda spec: "%s-%s" % (spec.format, spec.name))
def test_plain_check_agrees_with_validators(spec, monkeypatch):
    from ansible_collections.mailhost.mail.plugins.module_utils._maps import entries as _maps_entries

    def outcome(raw):
        try:
            return parse_entries(raw, spec)
        except Exception as exc:  # noqa: BLE001 - compare whatever the validators say
            return "%s: %s" % (type(exc).__name__, exc)

    filler = {"filler%d@example.com" % i: "target%d@example.net" % i for i in range(3)}
    for key in TRICKY:
        for value in TRICKY:
            raw = dict(filler)
            raw[key] = value
            monkeypatch.setattr(_maps_entries, "PLAIN_CHECK_MIN", 10**9)
            slow = outcome(raw)
            monkeypatch.setattr(_maps_entries, "PLAIN_CHECK_MIN", 1)
            assert outcome(raw) == slow, (key, value)
            plain = _maps_entries._plain_entries(raw, spec)
            if plain is not None:  # the plain forms accept only what the validators accept, unchanged
                assert plain == slow, (key, value)


def test_plain_check_duplicates_and_types_fall_back(monkeypatch):
    from ansible_collections.mailhost.mail.plugins.module_utils._maps import entries as _maps_entries

    monkeypatch.setattr(_maps_entries, "PLAIN_CHECK_MIN", 1)
    with pytest.raises(MapError, match="duplicate key"):
        parse_entries({"A@example.com": "x", "a@example.com": "y"}, VUT)
    assert parse_entries({"a@example.com": ["x@example.net", "y@example.net"]}, VIRTUAL)[0].value == \
        "x@example.net, y@example.net"
    assert parse_entries({"a@example.com": " x@example.net "}, VUT)[0].value == "x@example.net"
