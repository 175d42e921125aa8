"""Module tests: check mode reports the change, the real run makes it, a repeat changes nothing."""

from __future__ import annotations

import json

import os
import time

import pytest

from ansible_collections.mailhost.mail.plugins.modules import aliases, postfix_map, sendmail_map, virtusertable

from .conftest import calls, run_module

GUIDE = {"@example.com": "bob@other-example.com"}


def _cycle(module, args, capsys, stubs, path, db):
    """check -> real -> repeat; returns the real run's result."""
    checked = run_module(module, args, capsys, check_mode=True)
    assert checked["changed"] is True and checked["rebuilt"] is True
    assert not os.path.exists(path) or checked["diff"]["before"] == open(path).read()
    assert not os.path.exists(db)
    assert calls(stubs) == []

    real = run_module(module, args, capsys)
    assert real["changed"] is True and real["rebuilt"] is True, real
    assert real["diff"]["after"] == checked["diff"]["after"] == open(path).read()
    assert os.path.exists(db)
    assert len(calls(stubs)) == 1

    again = run_module(module, args, capsys)
    assert again["changed"] is False and again["rebuilt"] is False, again["diff"]
    assert again["added"] == again["updated"] == again["removed"] == []
    assert len(calls(stubs)) == 1
    assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".")]
    return real


def test_virtusertable_guide_example(tmp_path, capsys, stubs):
    path = str(tmp_path / "virtusertable")
    real = _cycle(virtusertable, {"path": path, "entries": GUIDE}, capsys, stubs, path, path + ".db")
    assert real["added"] == ["@example.com"]
    assert open(path).read() == "@example.com\tbob@other-example.com\n"
    assert open(path + ".db").read() == open(path).read()  # makemap got the source on stdin
    assert calls(stubs)[0].startswith("makemap hash ")


def test_sendmail_map_keeps_comments_and_updates(tmp_path, capsys, stubs):
    path = tmp_path / "access"
    path.write_text("# local policy\nConnect:127.0.0.1 RELAY\nspam.example REJECT\n")
    args = {"path": str(path), "map_type": "access", "entries": {"spam.example": "DISCARD", "Connect:10": "RELAY"}}
    real = _cycle(sendmail_map, args, capsys, stubs, str(path), str(path) + ".db")
    assert (real["added"], real["updated"], real["removed"]) == (["Connect:10"], ["spam.example"], [])
    assert path.read_text() == "# local policy\nConnect:127.0.0.1 RELAY\nspam.example\tDISCARD\nConnect:10\tRELAY\n"


def test_postfix_map_uses_postconf_default_type(tmp_path, capsys, stubs, monkeypatch):
    monkeypatch.setenv("STUB_DB_TYPE", "lmdb")
    path = str(tmp_path / "virtual")
    args = {"path": path, "map_type": "virtual", "entries": {"info@example.com": ["a@example.com", "b@example.com"]}}
    _cycle(postfix_map, args, capsys, stubs, path, path + ".lmdb")
    assert calls(stubs)[0] == "postmap lmdb:%s" % calls(stubs)[0].split(":", 1)[1]
    assert open(path).read() == "info@example.com\ta@example.com, b@example.com\n"


def test_aliases_newaliases(tmp_path, capsys, stubs, monkeypatch):
    path = tmp_path / "aliases"
    path.write_text("# aliases\npostmaster: root\nroot: alice,\n  bob\n")
    monkeypatch.setenv("STUB_ALIASES", str(path))
    args = {"path": str(path), "entries": {"root": ["alice", "bob"], "tickets": "|/usr/bin/intake -q"}}
    real = _cycle(aliases, args, capsys, stubs, str(path), str(path) + ".db")
    assert real["added"] == ["tickets"]
    assert path.read_text().endswith("root: alice,\n  bob\ntickets: |/usr/bin/intake -q\n")
    assert calls(stubs) == ["newaliases "]


def test_aliases_postalias(tmp_path, capsys, stubs):
    path = str(tmp_path / "aliases")
    args = {"path": path, "rebuild_command": "postalias", "db_type": "cdb", "entries": {"postmaster": "root"}}
    _cycle(aliases, args, capsys, stubs, path, path + ".cdb")


def test_invalid_entry_fails_before_touching(tmp_path, capsys, stubs):
    path = tmp_path / "mailertable"
    path.write_text("example.org esmtp:[relay]\n")
    result = run_module(
        sendmail_map, {"path": str(path), "map_type": "mailertable", "entries": {"example.com": "relay"}}, capsys
    )
    assert result["failed"] is True
    assert "'example.com'" in result["msg"] and "mailer:host" in result["msg"]
    assert path.read_text() == "example.org esmtp:[relay]\n"
    assert calls(stubs) == []


def test_tool_failure_leaves_source_unchanged(tmp_path, capsys, stubs):
    path = tmp_path / "transport"
    path.write_text("example.org smtp:relay\n")
    result = run_module(postfix_map, {"path": str(path), "entries": {"FAIL": "x"}}, capsys)
    assert result["failed"] is True
    assert "fatal: bad line" in result["msg"]
    assert path.read_text() == "example.org smtp:relay\n"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]


def test_newaliases_failure_restores_source(tmp_path, capsys, stubs, monkeypatch):
    path = tmp_path / "aliases"
    path.write_text("postmaster: root\n")
    monkeypatch.setenv("STUB_ALIASES", str(path))
    result = run_module(aliases, {"path": str(path), "entries": {"x": "FAIL"}}, capsys)
    assert result["failed"] is True and "fatal: bad line" in result["msg"]
    assert path.read_text() == "postmaster: root\n"


def test_stale_database_is_rebuilt_without_change(tmp_path, capsys, stubs):
    path = tmp_path / "virtusertable"
    path.write_text("@example.com\tbob@other-example.com\n")
    db = tmp_path / "virtusertable.db"
    db.write_text("old")
    old = time.time() - 100
    os.utime(db, (old, old))
    result = run_module(virtusertable, {"path": str(path), "entries": GUIDE}, capsys)
    assert result["changed"] is True and result["rebuilt"] is True and result["added"] == []
    assert db.read_text() == path.read_text()
    assert run_module(virtusertable, {"path": str(path), "entries": GUIDE}, capsys)["changed"] is False


def test_rebuild_false_skips_tool(tmp_path, capsys, stubs):
    path = str(tmp_path / "virtusertable")
    result = run_module(virtusertable, {"path": path, "entries": GUIDE, "rebuild": False}, capsys)
    assert result["changed"] is True and result["rebuilt"] is False
    assert calls(stubs) == []


def test_exclusive_and_backup(tmp_path, capsys, stubs):
    path = tmp_path / "virtusertable"
    path.write_text("# keep\nold@example.com old\n@example.com bob@other-example.com\n")
    result = run_module(virtusertable, {"path": str(path), "entries": GUIDE, "exclusive": True, "backup": True}, capsys)
    assert result["removed"] == ["old@example.com"]
    assert path.read_text() == "# keep\n@example.com bob@other-example.com\n"
    assert open(result["backup_file"]).read().startswith("# keep\nold@example.com")


def test_mode_is_applied(tmp_path, capsys, stubs):
    path = tmp_path / "virtusertable"
    result = run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0600"}, capsys)
    assert result["changed"] is True
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0640"}, capsys)
    assert again["changed"] is True and again["rebuilt"] is False
    assert oct(path.stat().st_mode & 0o777) == "0o640"


def test_check_mode_reports_a_mode_change_without_making_it(tmp_path, capsys, stubs):
    path = tmp_path / "virtusertable"
    run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0600"}, capsys)
    checked = run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0640"}, capsys, check_mode=True)
    assert checked["changed"] is True and checked["rebuilt"] is False
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    real = run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0640"}, capsys)
    assert real["changed"] is True
    assert run_module(virtusertable, {"path": str(path), "entries": GUIDE, "mode": "0640"}, capsys,
                      check_mode=True)["changed"] is False


def test_newaliases_refuses_a_file_it_would_not_rebuild(tmp_path, capsys, stubs, monkeypatch):
    mta_file = tmp_path / "aliases"
    monkeypatch.setenv("STUB_ALIASES", str(mta_file))
    other = tmp_path / "project-aliases"
    other.write_text("postmaster: root\n")
    result = run_module(aliases, {"path": str(other), "entries": {"team": "alice"}}, capsys)
    assert result["failed"] is True
    assert "rebuild_command=postalias" in result["msg"] and "nothing was changed" in result["msg"]
    assert other.read_text() == "postmaster: root\n"
    assert calls(stubs) == []
    # The same file is fine with postalias, or without a rebuild.
    assert run_module(aliases, {"path": str(other), "entries": {"team": "alice"}, "rebuild": False},
                      capsys)["changed"] is True


def test_absent_on_missing_file_creates_nothing(tmp_path, capsys, stubs):
    path = tmp_path / "virtusertable"
    result = run_module(virtusertable, {"path": str(path), "entries": ["@example.com"], "state": "absent"}, capsys)
    assert result["changed"] is False
    assert not path.exists()


@pytest.mark.parametrize("db_type, suffix", [("hash", ".db"), ("btree", ".db"), ("cdb", ".cdb")])
def test_sendmail_db_types(tmp_path, capsys, stubs, db_type, suffix):
    path = str(tmp_path / "domaintable")
    args = {"path": path, "map_type": "domaintable", "db_type": db_type, "entries": {"old.example": "new.example"}}
    run_module(sendmail_map, args, capsys)
    assert os.path.exists(path + suffix)


def test_large_map_diff_is_changed_lines_only(tmp_path, capsys, stubs, monkeypatch):
    from ansible_collections.mailhost.mail.plugins.module_utils import _mapfile

    monkeypatch.setattr(_mapfile, "DIFF_INLINE_MAX", 0)  # every map counts as large
    path = tmp_path / "virtual"
    entries = {"u%d@example.com" % i: "t%d@example.net" % i for i in range(100)}
    first = run_module(postfix_map, {"path": str(path), "map_type": "virtual", "entries": entries}, capsys)
    assert first["diff"]["prepared"].startswith("--- /dev/null\n+++ %s (content)\n@@ -0,0 +1,100 @@\n" % path)
    assert "before" not in first["diff"]
    entries["u50@example.com"] = "changed@example.net"
    args = {"path": str(path), "map_type": "virtual", "entries": entries}
    checked = run_module(postfix_map, args, capsys, check_mode=True)
    assert checked["diff"]["prepared"] == (
        "--- %s (content)\n+++ %s (content)\n@@ -48,7 +48,7 @@\n" % (path, path)
        + "".join(" u%d@example.com\tt%d@example.net\n" % (i, i) for i in (47, 48, 49))
        + "-u50@example.com\tt50@example.net\n+u50@example.com\tchanged@example.net\n"
        + "".join(" u%d@example.com\tt%d@example.net\n" % (i, i) for i in (51, 52, 53))
    )
    assert run_module(postfix_map, args, capsys)["changed"] is True
    assert run_module(postfix_map, args, capsys)["diff"] == {"prepared": ""}


def test_many_entries_are_not_echoed_back(tmp_path, capsys, stubs, monkeypatch):
    from ansible_collections.mailhost.mail.plugins.module_utils import _mapfile

    path = str(tmp_path / "virtusertable")
    few = run_module(virtusertable, {"path": path, "entries": GUIDE}, capsys)
    # ansible-core 2.21 no longer has AnsibleModule echo its parameters at all;
    # before it, small entry sets come back as given.
    if "invocation" in few:
        assert few["invocation"]["module_args"]["entries"] == GUIDE
    monkeypatch.setattr(_mapfile, "ECHO_ENTRIES_MAX", 1)
    many = {"a@example.com": "bob", "b@example.com": "carol"}
    result = run_module(virtusertable, {"path": path, "entries": many, "mode": "0640"}, capsys)
    assert result["added"] == ["a@example.com", "b@example.com"]
    assert "carol" not in json.dumps(result.get("invocation", {}))
    if "invocation" in few:
        assert result["invocation"]["module_args"]["entries"] == "(2 entries, not echoed back)"
        assert result["invocation"]["module_args"]["mode"] == "0640"


def test_a_large_added_list_travels_as_one_json_text(tmp_path, capsys, stubs, monkeypatch):
    from ansible_collections.mailhost.mail.plugins.module_utils import _mapfile
    from ansible_collections.mailhost.mail.plugins.plugin_utils._map_action import decode_added

    monkeypatch.setattr(_mapfile, "ADDED_AS_TEXT_MIN", 2)
    many = {"a@example.com": "bob", "b@example.com": "carol"}
    result = run_module(virtusertable, {"path": str(tmp_path / "virtusertable"), "entries": many}, capsys)
    assert "added" not in result and isinstance(result["_mailhost_added_json"], str)
    assert decode_added(result)["added"] == ["a@example.com", "b@example.com"]
