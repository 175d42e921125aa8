"""postfix_config: check mode reports, the real run installs, a repeat changes nothing; a refusal changes nothing."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._postfix_config import (
    check_command,
    check_output,
    pending_files,
)
from ansible_collections.mailhost.mail.plugins.modules import postfix_config

from .conftest import run_module

# Stand-ins for postfix and postconf that read the staged directory like the real tools:
# postfix check fails on a main.cf line with "bad", postconf prints the listener settings.
POSTFIX = """#!/bin/sh
echo "postfix $*" >> "$STUB_LOG"
[ "$1" = -c ] || exit 2
if grep -q bad "$2/main.cf"; then echo "postfix: fatal: bad numerical configuration: x = bad" >&2; exit 1; fi
[ -f "$2/master.cf" ] || { echo "postfix: fatal: no master.cf" >&2; exit 1; }
"""
POSTCONF = """#!/bin/sh
echo "postconf $*" >> "$STUB_LOG"
dir=/nonexistent
[ "$1" = -c ] && dir=$2
[ "$1" = -c ] || dir=$STUB_LIVE
grep -E '^inet_(interfaces|protocols)' "$dir/main.cf" || true
"""


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("postfix", POSTFIX), ("postconf", POSTCONF)):
        path = bindir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "tools.log"
    log.write_text("")
    live = tmp_path / "etc"
    live.mkdir()
    # script(1) from the system when it is there, as on a real host.
    monkeypatch.setenv("PATH", "%s:/usr/bin:/bin" % bindir)
    monkeypatch.setenv("STUB_LOG", str(log))
    monkeypatch.setenv("STUB_LIVE", str(live))
    return live, log


MAIN = "inet_interfaces = loopback-only\nmyhostname = mail.example.com\n"
MASTER = "smtp inet n - y - - smtpd\n"


def _args(live, main=MAIN, master=MASTER):
    return {"config_directory": str(live), "main_cf": main, "master_cf": master, "mode": "0644"}


def test_fresh_install_check_real_repeat(tools, capsys):
    live, log = tools
    checked = run_module(postfix_config, _args(live), capsys, check_mode=True)
    assert checked["changed"] is True and checked["changed_files"] == ["main.cf", "master.cf"]
    assert checked["restart_required"] is True  # no main.cf yet
    assert [d["before_header"] for d in checked["diff"]] == ["/dev/null", "/dev/null"]
    assert os.listdir(live) == []
    assert "check" in log.read_text()  # check mode asks Postfix too

    real = run_module(postfix_config, _args(live), capsys)
    assert real["changed"] is True and real["changed_files"] == ["main.cf", "master.cf"]
    assert (live / "main.cf").read_text() == MAIN and (live / "master.cf").read_text() == MASTER
    assert stat.S_IMODE((live / "main.cf").stat().st_mode) == 0o644

    log.write_text("")
    again = run_module(postfix_config, _args(live), capsys)
    assert again["changed"] is False and again["changed_files"] == [] and again["diff"] == []
    assert log.read_text() == ""  # a converged host asks Postfix nothing
    assert sorted(os.listdir(live)) == ["main.cf", "master.cf"]  # no temporary files left


def test_reload_or_restart_follows_the_listener_settings(tools, capsys):
    live, _log = tools
    run_module(postfix_config, _args(live), capsys)
    other_name = run_module(postfix_config, _args(live, main=MAIN.replace("mail.", "mx.")), capsys)
    assert other_name["changed_files"] == ["main.cf"] and other_name["restart_required"] is False
    listeners = run_module(postfix_config, _args(live, main="inet_interfaces = all\n"), capsys)
    assert listeners["changed_files"] == ["main.cf"] and listeners["restart_required"] is True
    master_only = run_module(postfix_config, _args(live, main="inet_interfaces = all\n", master=MASTER + "#\n"), capsys)
    assert master_only["changed_files"] == ["master.cf"] and master_only["restart_required"] is False


def test_rejected_candidate_changes_nothing(tools, capsys):
    live, _log = tools
    run_module(postfix_config, _args(live), capsys)
    before = {name: (live / name).read_bytes() for name in ("main.cf", "master.cf")}
    for check_mode in (True, False):
        refused = run_module(postfix_config, _args(live, main=MAIN + "default_process_limit = bad\n",
                                                   master=MASTER + "#\n"), capsys, check_mode=check_mode)
        assert refused["failed"] is True
        assert refused["msg"].startswith("postfix check rejected the new configuration, so it was not installed")
        assert "bad numerical configuration" in refused["msg"]
        assert {name: (live / name).read_bytes() for name in before} == before
        assert sorted(os.listdir(live)) == ["main.cf", "master.cf"]


def test_one_file_given_stages_the_installed_other(tools, capsys):
    live, log = tools
    run_module(postfix_config, _args(live), capsys)
    result = run_module(postfix_config, {"config_directory": str(live), "main_cf": MAIN + "# more\n"}, capsys)
    assert "failed" not in result, result["msg"]  # master.cf came from the live directory, so the check passed
    assert result["changed_files"] == ["main.cf"]
    assert (live / "master.cf").read_text() == MASTER


def test_mode_change_alone_is_reported_and_made(tools, capsys):
    live, _log = tools
    run_module(postfix_config, _args(live), capsys)
    os.chmod(live / "main.cf", 0o600)
    checked = run_module(postfix_config, _args(live), capsys, check_mode=True)
    assert checked["changed"] is True and checked["changed_files"] == []
    assert stat.S_IMODE((live / "main.cf").stat().st_mode) == 0o600
    assert run_module(postfix_config, _args(live), capsys)["changed"] is True
    assert stat.S_IMODE((live / "main.cf").stat().st_mode) == 0o644


def test_backup_keeps_the_replaced_file(tools, capsys):
    live, _log = tools
    run_module(postfix_config, _args(live), capsys)
    result = run_module(postfix_config, dict(_args(live, main=MAIN + "# two\n"), backup=True), capsys)
    assert len(result["backup_files"]) == 1 and open(result["backup_files"][0]).read() == MAIN


def test_missing_directory_fails_clearly(tmp_path, capsys):
    result = run_module(postfix_config, _args(tmp_path / "nope"), capsys)
    assert result["failed"] is True and "does not exist" in result["msg"]


def test_core_helpers():
    assert pending_files({"main.cf": "a", "master.cf": "b"}, {"main.cf": "a", "master.cf": None}) == ["master.cf"]
    assert check_command("/usr/sbin/postfix", "/tmp/x y", None) == ["/usr/sbin/postfix", "-c", "/tmp/x y", "check"]
    assert check_command("/usr/sbin/postfix", "/tmp/x y", "/usr/bin/script") == [
        "/usr/bin/script", "-qec", "/usr/sbin/postfix -c '/tmp/x y' check", "/dev/null"]
    assert check_output(1, "postfix: fatal: x\r\n", "") == "postfix: fatal: x"
