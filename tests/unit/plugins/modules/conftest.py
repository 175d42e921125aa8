"""Run the map modules in-process against stub rebuild tools on PATH."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

# Each stub logs its argv and builds a fake database; FAIL in the source makes it fail like the real tool.
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$STUB_LOG"
name=$(basename "$0")
case "$name" in
  postconf) case "$*" in
      *alias_database*) echo "hash:${STUB_ALIASES:-/etc/aliases}" ;;
      *) echo "${STUB_DB_TYPE:-hash}" ;;
    esac; exit 0 ;;
  makemap) src="$2"; ext=.db; [ "$1" = cdb ] && ext=.cdb; cat > "$src.tmpdb";;
  postmap|postalias) src="${1#*:}"; case "${1%%:*}" in lmdb) ext=.lmdb;; cdb) ext=.cdb;; *) ext=.db;; esac
     cp "$src" "$src.tmpdb";;
  newaliases) src="$STUB_ALIASES"; ext=.db; cp "$src" "$src.tmpdb";;
esac
if grep -q FAIL "$src.tmpdb"; then rm -f "$src.tmpdb"; echo "$name: fatal: bad line" >&2; exit 1; fi
mv "$src.tmpdb" "$src$ext"
"""


@pytest.fixture
def stubs(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("makemap", "postmap", "postalias", "newaliases", "postconf"):
        path = bindir / tool
        path.write_text(STUB)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "stub.log"
    log.write_text("")
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    monkeypatch.setenv("STUB_LOG", str(log))
    return log


def calls(log) -> list:
    return [line for line in log.read_text().splitlines() if not line.startswith("postconf")]


def run_module(module, args: dict, capsys, check_mode: bool = False, diff: bool = True) -> dict:
    """Run module.main() with args; return the parsed result (with 'failed' on fail_json)."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out)
