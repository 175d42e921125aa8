"""The map modules' action plugin: large entries travel as JSON text that the module reads back the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._maps.entries import parse_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import POSTFIX_SPECS
from ansible_collections.mailhost.mail.plugins.plugin_utils._map_action import (
    ENCODE_MIN_ENTRIES,
    MapActionModule,
    encode_entries,
    decode_added,
    encode_untemplated_entries,
)

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


def _templar(**variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    return Templar(loader=DataLoader(), variables=variables)


def _trusted(text):
    from ansible.template import trust_as_template

    return trust_as_template(text)


def _large(size=ENCODE_MIN_ENTRIES):
    return {"user%d@bulk%d.example.com" % (i, i % 97): "target%d" % i for i in range(size)}


def test_a_large_plain_variable_is_encoded_without_templating():
    entries = _large()
    text = encode_untemplated_entries(_trusted("{{ bulk_entries }}"), _templar(bulk_entries=entries))
    assert text == encode_entries(entries)
    assert MapActionModule.finalize_task_arg(
        "entries", _trusted("{{bulk_entries}}"), _templar(bulk_entries=entries), None) == text


@pytest.mark.parametrize("case", ["template inside", "small", "expression", "undefined", "untrusted", "not json"])
def test_anything_else_is_templated_as_before(case):
    entries = _large()
    value = _trusted("{{ bulk_entries }}")
    variables = {"bulk_entries": entries, "user": "alice"}
    if case == "template inside":
        entries["info@example.com"] = _trusted("{{ user }}")
    elif case == "small":
        variables["bulk_entries"] = _large(ENCODE_MIN_ENTRIES - 1)
    elif case == "expression":
        value = _trusted("{{ bulk_entries | dict2items | items2dict }}")
    elif case == "undefined":
        value = _trusted("{{ other_entries }}")
    elif case == "untrusted":
        value = "{{ bulk_entries }}"
    elif case == "not json":
        entries["odd@example.com"] = {1, 2}
    templar = _templar(**variables)
    assert encode_untemplated_entries(value, templar) is None
    if case in ("template inside", "small", "expression"):
        templated = MapActionModule.finalize_task_arg("entries", value, templar, None)
        assert templated == templar.template(value)
        if case == "template inside":
            assert templated["info@example.com"] == "alice"


def test_other_args_are_templated_as_before():
    templar = _templar(bulk_entries=_large(), where="/etc/mail/virtusertable")
    path = MapActionModule.finalize_task_arg("path", _trusted("{{ where }}"), templar, None)
    assert path == "/etc/mail/virtusertable"


def test_added_sent_as_json_text_is_a_list_again():
    result = {"changed": True, "_mailhost_added_json": json.dumps(["a@example.com", "b@example.com"])}
    assert decode_added(result) == {"changed": True, "added": ["a@example.com", "b@example.com"]}
    assert decode_added({"added": ["x"]}) == {"added": ["x"]}


def test_a_large_map_returns_every_added_key_as_a_list(tmp_path):
    """End to end through the action plugin: 1500 new keys come back in added, as a list."""
    entries = {"user%d@bulk%d.example.com" % (i, i % 7): "target%d" % i for i in range(1500)}
    (tmp_path / "vars.json").write_text(json.dumps({"bulk": entries}))
    play = tmp_path / "play.yml"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"mailhost.mail.virtusertable": {"path": str(tmp_path / "virtusertable"), "entries": "{{ bulk }}",
                                         "rebuild": False}, "register": "out"},
        {"ansible.builtin.copy": {"content": "{{ out | to_json }}", "dest": str(tmp_path / "out.json"),
                                  "mode": "0644"}},
    ]}]))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-c", "local", str(play),
                          "-e", "@" + str(tmp_path / "vars.json")],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert sorted(out["added"]) == sorted(entries)
    assert "_mailhost_added_json" not in out
