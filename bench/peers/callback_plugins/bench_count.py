# Bench-only callback (bench/peers/peers.py enables it): per host, the tasks
# that ran and the modules that ran on the host.
#
# tasks: results ok/changed/failed/unreachable, handlers included, loop items
#   not counted separately (one task with a loop is one task); skipped tasks are
#   counted apart.
# modules: every call of ActionBase._execute_module, i.e. each module that ran
#   on the managed host: a task's own module and every module its action plugin
#   runs there (template = stat + copy, gather_facts = setup, a loop of N items
#   = N calls). Tasks that stay on the controller (set_fact, assert, debug,
#   include_*, meta, fail, validate_argument_spec) make none. The calls happen
#   in the forked workers, so each one appends a line to BENCH_COUNT_FILE.
from __future__ import annotations

import json
import os

from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_count
type: aggregate
short_description: per-host task and remote module counts for bench/peers
description: Writes BENCH_COUNT_FILE.json at the end of a playbook run.
"""

_COUNT_FILE = os.environ.get("BENCH_COUNT_FILE", "")


def _record(host, module):
    if not _COUNT_FILE:
        return
    fd = os.open(_COUNT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, ("%s\t%s\n" % (host, module)).encode())
    finally:
        os.close(fd)


def _wrap(cls):
    original = cls._execute_module
    if getattr(original, "_bench_wrapped", False):
        return

    def counted(self, module_name=None, *args, **kwargs):
        task_vars = kwargs.get("task_vars") or (args[2] if len(args) > 2 else None) or {}
        _record(task_vars.get("inventory_hostname", "?"), module_name or self._task.action)
        return original(self, module_name, *args, **kwargs)

    counted._bench_wrapped = True
    cls._execute_module = counted


_wrap(ActionBase)
try:  # mitogen puts its own _execute_module ahead of ActionBase's
    from ansible_mitogen.mixins import ActionModuleMixin

    _wrap(ActionModuleMixin)
except ImportError:
    pass


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.hosts = {}

    def _bump(self, result, key):
        host = result._host.get_name()
        counts = self.hosts.setdefault(host, {"tasks": 0, "skipped": 0, "changed": 0})
        counts[key] += 1
        if key == "tasks" and result._result.get("changed"):
            counts["changed"] += 1

    def v2_runner_on_ok(self, result):
        self._bump(result, "tasks")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._bump(result, "tasks")

    def v2_runner_on_unreachable(self, result):
        self._bump(result, "tasks")

    def v2_runner_on_skipped(self, result):
        self._bump(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        if _COUNT_FILE:
            with open(_COUNT_FILE + ".json", "w", encoding="utf-8") as out:
                json.dump(self.hosts, out)
