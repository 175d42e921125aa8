"""Unit tests of the pure map core: parse, validate, apply, render and round-trip."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._maps.apply import apply_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.entries import parse_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import (
    FORMAT_ALIASES,
    FORMAT_POSTFIX,
    FORMAT_SENDMAIL,
    Entry,
    MapError,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.parse import detect_newline, fold_key, parse_map
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import (
    ALIASES_SPEC,
    POSTFIX_SPECS,
    SENDMAIL_SPECS,
    split_recipients,
)

VUT = SENDMAIL_SPECS["virtusertable"]

SAMPLES = [
    "",
    "\n",
    "# only a comment\n",
    "@example.com bob@other-example.com\n",
    "# head\n\nalice@example.com\talice\n  # indented comment\n@example.org error:nouser 550 No such user\n",
    "no-trailing-newline\tvalue",
    "crlf@example.com\tbob\r\n# c\r\n",
    "ünïcödé@example.com\tbøb\n",
    "key value\n continued\n\tmore\nnext v\n",
    'root: alice,\n  bob, "|/usr/bin/x y"\n"quoted name": carol\n',
]


@pytest.mark.parametrize("fmt", [FORMAT_SENDMAIL, FORMAT_POSTFIX, FORMAT_ALIASES])
@pytest.mark.parametrize("text", SAMPLES)
def test_parse_round_trips(text, fmt):
    assert "".join(line for record in parse_map(text, fmt) for line in record.lines) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_apply_nothing_keeps_text(text):
    for spec in (VUT, POSTFIX_SPECS["none"], ALIASES_SPEC):
        result = apply_entries(text, [], spec)
        assert result.content == text
        assert not result.changed


def test_parse_comments_blank_and_entries():
    records = parse_map("# c\n\n@example.com bob@other-example.com\n", FORMAT_SENDMAIL)
    assert [r.key for r in records] == [None, None, "@example.com"]
    assert records[2].value == "bob@other-example.com"


def test_postfix_continuation_lines():
    records = parse_map("a@example.com b@example.com,\n    c@example.com\nnext x\n", FORMAT_POSTFIX)
    assert [r.key for r in records] == ["a@example.com", "next"]
    assert records[0].value == "b@example.com, c@example.com"
    assert len(records[0].lines) == 2


def test_sendmail_has_no_continuation_lines():
    records = parse_map("a b\n c\n", FORMAT_SENDMAIL)
    assert [r.key for r in records] == ["a", None]


def existing_entries(text, spec):
    """The entries of a map file as {key: value}; the first of duplicate keys wins, as with postmap."""
    found, seen = {}, set()
    for record in parse_map(text, spec.format):
        if record.key is not None and fold_key(record.key) not in seen:
            seen.add(fold_key(record.key))
            found[record.key] = record.value or ""
    return found


def test_aliases_continuation_and_quotes():
    text = 'root: alice,\n\tbob,\n  "|/usr/bin/procmail -a x"\n"mail list": :include:/etc/mail/list\n'
    found = existing_entries(text, ALIASES_SPEC)
    assert split_recipients(found["root"]) == ["alice", "bob", '"|/usr/bin/procmail -a x"']
    assert found["mail list"] == ":include:/etc/mail/list"


def test_guide_example_virtusertable():
    entries = parse_entries({"@example.com": "bob@other-example.com"}, VUT)
    result = apply_entries("", entries, VUT)
    assert result.content == "@example.com\tbob@other-example.com\n"
    assert result.added == ["@example.com"]


def test_update_in_place_append_and_remove():
    text = "# virtual users\n@a.example one\n@b.example two\n# tail\n"
    entries = parse_entries(
        [
            {"key": "@a.example", "value": "uno"},
            {"key": "@b.example", "state": "absent"},
            {"key": "@c.example", "value": "three"},
        ],
        VUT,
    )
    result = apply_entries(text, entries, VUT)
    assert result.content == "# virtual users\n@a.example\tuno\n# tail\n@c.example\tthree\n"
    assert (result.added, result.updated, result.removed) == (["@c.example"], ["@a.example"], ["@b.example"])


def test_exclusive_keeps_comments_and_removes_others():
    text = "# keep me\nx@a.example one\n\ny@a.example two\n"
    entries = parse_entries({"y@a.example": "two"}, VUT)
    result = apply_entries(text, entries, VUT, exclusive=True)
    assert result.content == "# keep me\n\ny@a.example two\n"
    assert result.removed == ["x@a.example"]
    assert result.updated == [] and result.added == []


def test_state_absent_with_list_of_keys():
    text = "x@a.example one\ny@a.example two\n"
    entries = parse_entries(["x@a.example"], VUT, default_state="absent")
    assert apply_entries(text, entries, VUT).content == "y@a.example two\n"


def test_absent_missing_key_is_no_change():
    entries = parse_entries({"nobody@a.example": None}, VUT, default_state="absent")
    assert not apply_entries("x@a.example one\n", entries, VUT).changed


@pytest.mark.parametrize(
    "spec, entries",
    [
        (VUT, {"@example.com": "bob@other-example.com", "info@example.org": "%1@example.net"}),
        (SENDMAIL_SPECS["access"], {"Connect:192.168.1": "RELAY", "spam.example": "ERROR:5.7.1:550 go away"}),
        (SENDMAIL_SPECS["mailertable"], {".example.org": "esmtp:[relay.example.com]", "x.example": "local:"}),
        (POSTFIX_SPECS["virtual"], {"info@example.com": ["a@example.com", "b@example.com"]}),
        (POSTFIX_SPECS["transport"], {"example.org": "smtp:[relay.example.com]:587"}),
        (ALIASES_SPEC, {"root": ["alice", "|/usr/bin/x -y", ":include:/etc/list"], "mail list": "bob"}),
    ],
)
def test_idempotent(spec, entries):
    parsed = parse_entries(entries, spec)
    first = apply_entries("# header\n", parsed, spec)
    assert first.changed
    second = apply_entries(first.content, parsed, spec)
    assert second.content == first.content
    assert not second.changed


def test_keys_are_case_insensitive():
    entries = parse_entries({"Bob@Example.COM": "bob"}, VUT)
    result = apply_entries("bob@example.com\tbob\n", entries, VUT)
    assert not result.changed


def test_duplicate_entries_given_are_rejected():
    with pytest.raises(MapError, match="duplicate key"):
        parse_entries([{"key": "a@x.example", "value": "a"}, {"key": "A@X.example", "value": "b"}], VUT)


def test_duplicate_keys_in_file_are_collapsed_when_managed():
    text = "a@x.example one\nb@x.example two\nA@x.example three\n"
    result = apply_entries(text, parse_entries({"a@x.example": "one"}, VUT), VUT)
    assert result.content == "a@x.example one\nb@x.example two\n"
    assert result.updated == ["a@x.example"]


def test_unmanaged_duplicates_are_left_alone():
    text = "a@x.example one\na@x.example two\n"
    assert apply_entries(text, parse_entries({"b@x.example": "b"}, VUT), VUT).content == text + "b@x.example\tb\n"


def test_crlf_is_kept_for_new_lines():
    text = "a@x.example one\r\n"
    assert detect_newline(text) == "\r\n"
    result = apply_entries(text, parse_entries({"b@x.example": "two", "a@x.example": "one"}, VUT), VUT)
    assert result.content == "a@x.example one\r\nb@x.example\ttwo\r\n"


def test_missing_final_newline_is_added_before_appending():
    result = apply_entries("a@x.example one", parse_entries({"b@x.example": "two"}, VUT), VUT)
    assert result.content == "a@x.example one\nb@x.example\ttwo\n"


def test_non_ascii_values():
    spec = POSTFIX_SPECS["none"]
    result = apply_entries("clé valeur\n", parse_entries({"clé": "nouvelle"}, spec), spec)
    assert result.content == "clé\tnouvelle\n"


def test_continuation_entry_replaced_whole():
    spec = POSTFIX_SPECS["virtual"]
    text = "a@x.example b@x.example,\n  c@x.example\nz z@x.example\n"
    same = apply_entries(text, parse_entries({"a@x.example": ["b@x.example", "c@x.example"]}, spec), spec)
    assert not same.changed
    new = apply_entries(text, parse_entries({"a@x.example": "d@x.example"}, spec), spec)
    assert new.content == "a@x.example\td@x.example\nz z@x.example\n"


def test_aliases_render_and_quote():
    parsed = parse_entries({"root": ["alice", "bob"], "two words": "carol"}, ALIASES_SPEC)
    assert apply_entries("", parsed, ALIASES_SPEC).content == 'root: alice, bob\n"two words": carol\n'


def test_aliases_continuation_same_value_unchanged():
    text = "root: alice,\n    bob\n"
    assert not apply_entries(text, parse_entries({"root": ["alice", "bob"]}, ALIASES_SPEC), ALIASES_SPEC).changed


@pytest.mark.parametrize(
    "spec, entries, message",
    [
        (VUT, {"example.com": "bob"}, "virtusertable keys are 'user@domain' or '@domain'"),
        (VUT, {"@example.com": "bob smith"}, "single word"),
        (VUT, {"@example.com": ""}, "empty"),
        (VUT, {"with space@example.com": "bob"}, "whitespace"),
        (VUT, {"#x@example.com": "bob"}, "comment"),
        (VUT, {"@example.com": ["a", "b"]}, "not a list"),
        (VUT, {"@example.com": True}, "must be a string"),
        (VUT, [{"key": "@example.com"}], "value is required"),
        (VUT, [{"key": "@example.com", "value": "x", "other": 1}], "unknown field"),
        (VUT, [{"key": "@example.com", "value": "x", "state": "gone"}], "state must be"),
        (VUT, {"@example.com": "a\nb"}, "newline"),
        (SENDMAIL_SPECS["access"], {"example.com": "ALLOW"}, "access values must be OK, RELAY"),
        (SENDMAIL_SPECS["access"], {"Connect:": "OK"}, "empty after its tag"),
        (SENDMAIL_SPECS["mailertable"], {"example.com": "relay.example.com"}, "mailer:host"),
        (SENDMAIL_SPECS["mailertable"], {"exa mple": "smtp:x"}, "whitespace"),
        (SENDMAIL_SPECS["domaintable"], {"example.com": "not a domain"}, "domain name"),
        (SENDMAIL_SPECS["genericstable"], {"bob": "two words"}, "single word"),
        (POSTFIX_SPECS["access"], {"example.com": "ALLOW"}, "access actions"),
        (POSTFIX_SPECS["transport"], {"example.com": "relay.example.com"}, "transport:nexthop"),
        (POSTFIX_SPECS["virtual"], {"a@example.com": " , "}, "at least one address"),
        (POSTFIX_SPECS["canonical"], {"a@example.com": "b c"}, "single word"),
        (POSTFIX_SPECS["none"], {"key": ""}, "empty"),
        (ALIASES_SPEC, {"root": ":include:relative"}, "absolute path"),
        (ALIASES_SPEC, {"root": "|"}, "needs a command"),
        (ALIASES_SPEC, {"root": "two words"}, "quote recipients"),
        (ALIASES_SPEC, {"root": '"unbalanced'}, "unbalanced"),
        (ALIASES_SPEC, {'a"b': "root"}, "double quotes"),
        (ALIASES_SPEC, {"root": []}, "at least one recipient"),
    ],
)
def test_validation_errors_name_the_entry(spec, entries, message):
    with pytest.raises(MapError) as excinfo:
        parse_entries(entries, spec)
    assert message in str(excinfo.value)
    key = entries[0]["key"] if isinstance(entries, list) and "other" not in entries[0] else None
    if isinstance(entries, dict):
        key = next(iter(entries))
    if key is not None:
        assert repr(key) in str(excinfo.value)


@pytest.mark.parametrize("raw", ["a string", 5, [5]])
def test_entries_must_be_dict_or_list(raw):
    with pytest.raises(MapError):
        parse_entries(raw, VUT)


@pytest.mark.parametrize(
    "spec, entries",
    [
        (SENDMAIL_SPECS["access"], {"From:spam@example.net": "REJECT", "10.0.0": "RELAY", "user@": "OK"}),
        (SENDMAIL_SPECS["access"], {"To:example.com": "QUARANTINE:held", "Spam:abuse@": "FRIEND"}),
        (SENDMAIL_SPECS["domaintable"], {"old.example": "new.example"}),
        (SENDMAIL_SPECS["genericstable"], {"bob": "bob@example.com", "@local.example": "@example.com"}),
        (POSTFIX_SPECS["access"], {"1.2.3.4": "REJECT go away", "x.example": "permit_mynetworks, reject", "y": "550"}),
        (POSTFIX_SPECS["relocated"], {"old@example.com": "new@example.net"}),
        (POSTFIX_SPECS["transport"], {"*": ":", "x.example": "error:gone"}),
        (ALIASES_SPEC, {"postmaster": "root", "log": "/var/log/mail.archive", "q": '"|/bin/cat, x"'}),
        (VUT, {"@example.org": "error:nouser 550 No such user", "a@example.org": "%1@example.net"}),
    ],
)
def test_valid_entries_pass(spec, entries):
    assert len(parse_entries(entries, spec)) == len(entries)


def test_entry_dataclass_defaults():
    assert Entry("k", "v").state == "present"


def test_large_map_is_fast_enough():
    spec = POSTFIX_SPECS["virtual"]
    entries = parse_entries({"user%d@example.com" % i: "target%d@example.net" % i for i in range(20000)}, spec)
    first = apply_entries("", entries, spec)
    assert len(first.added) == 20000
    assert not apply_entries(first.content, entries, spec).changed


@pytest.mark.parametrize(
    "raw",
    [
        {"@example.com": "bob@other-example.com", "info@example.com": "alice"},
        [{"key": "@example.com", "value": "bob@other-example.com"}, {"key": "old@example.com", "state": "absent"}],
    ],
)
def test_entries_as_json_text_equal_the_same_entries_given_natively(raw):
    assert parse_entries(json.dumps(raw), VUT) == parse_entries(raw, VUT)


@pytest.mark.parametrize(
    "text, message",
    [("{not json", "must be JSON"), ("5", "dict or a list, not int"), ('"x"', "dict or a list, not str")],
)
def test_entries_as_json_text_must_be_a_dict_or_list(text, message):
    with pytest.raises(MapError, match=message):
        parse_entries(text, VUT)


def test_invalid_entry_in_json_text_is_named():
    with pytest.raises(MapError, match="'bad key'"):
        parse_entries(json.dumps({"bad key": "bob"}), VUT)
