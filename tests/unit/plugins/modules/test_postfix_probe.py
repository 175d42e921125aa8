"""postfix_probe: the database type, the registry directory and its files in one step; check mode creates nothing."""

from __future__ import annotations

import base64
import grp
import json
import os
import pwd

import pytest

from ansible_collections.mailhost.mail.plugins.modules import postfix_probe

from .conftest import run_module


@pytest.fixture
def owner():
    return dict(owner=pwd.getpwuid(os.getuid()).pw_name, group=grp.getgrgid(os.getgid()).gr_name)


def test_reads_database_type_and_registered_files_in_order(tmp_path, stubs, capsys, monkeypatch, owner):
    monkeypatch.setenv("STUB_DB_TYPE", "lmdb")
    registry = tmp_path / "mailhost.d"
    registry.mkdir(mode=0o755)
    (registry / "b.json").write_text(json.dumps({"name": "b"}))
    (registry / "a.json").write_text(json.dumps({"name": "a"}))
    (registry / "notes.txt").write_text("not a registration")
    res = run_module(postfix_probe, dict(registry_directory=str(registry), **owner), capsys)
    assert res["changed"] is False
    assert res["database_type"] == "lmdb"
    assert [os.path.basename(r["item"]) for r in res["results"]] == ["a.json", "b.json"]
    assert json.loads(base64.b64decode(res["results"][0]["content"])) == {"name": "a"}


def test_creates_a_missing_directory_but_not_in_check_mode(tmp_path, stubs, capsys, owner):
    registry = tmp_path / "mailhost.d"
    res = run_module(postfix_probe, dict(registry_directory=str(registry), **owner), capsys, check_mode=True)
    assert res["changed"] is True and res["results"] == []
    assert not registry.exists()
    res = run_module(postfix_probe, dict(registry_directory=str(registry), **owner), capsys)
    assert res["changed"] is True
    assert registry.is_dir() and (registry.stat().st_mode & 0o777) == 0o755
    res = run_module(postfix_probe, dict(registry_directory=str(registry), **owner), capsys)
    assert res["changed"] is False


def test_falls_back_when_postconf_is_missing(tmp_path, capsys, monkeypatch, owner):
    monkeypatch.setenv("PATH", str(tmp_path))
    registry = tmp_path / "mailhost.d"
    registry.mkdir()
    res = run_module(
        postfix_probe, dict(registry_directory=str(registry), database_type_fallback="cdb", **owner), capsys
    )
    assert res["database_type"] == "cdb"


def test_a_file_in_the_way_fails(tmp_path, stubs, capsys, owner):
    registry = tmp_path / "mailhost.d"
    registry.write_text("")
    res = run_module(postfix_probe, dict(registry_directory=str(registry), **owner), capsys)
    assert res["failed"] is True and "not a directory" in res["msg"]
