"""The map modules' action plugin: large entries travel as JSON text that the module reads back the same."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._maps import POSTFIX_SPECS, parse_entries
from ansible_collections.mailhost.mail.plugins.plugin_utils._map_action import ENCODE_MIN_ENTRIES, encode_entries

VIRTUAL = POSTFIX_SPECS["virtual"]


def test_small_entries_are_sent_as_they_are():
    entries = {"info@example.com": "bob"}
    assert encode_entries(entries) is entries


@pytest.mark.parametrize("as_list", [False, True])
def test_large_entries_are_json_text_that_parses_to_the_same_entries(as_list):
    entries = {"user%d@example.com" % i: ["t%d@example.net" % i, "ü%d" % i] for i in range(ENCODE_MIN_ENTRIES)}
    if as_list:
        entries = [{"key": key, "value": value} for key, value in entries.items()]
    text = encode_entries(entries)
    assert isinstance(text, str) and json.loads(text) == entries
    assert "ü" in text  # not escaped: shorter, and decoded the same
    assert parse_entries(text, VIRTUAL) == parse_entries(entries, VIRTUAL)


def test_entries_json_cannot_carry_are_left_for_the_module_to_name():
    entries = {"user%d@example.com" % i: "t@example.net" for i in range(ENCODE_MIN_ENTRIES)}
    entries["odd@example.com"] = object()
    assert encode_entries(entries) is entries


@pytest.mark.parametrize("value", [None, "already text", 5])
def test_other_values_are_left_alone(value):
    assert encode_entries(value) == value
