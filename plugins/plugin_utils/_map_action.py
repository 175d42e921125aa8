# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the map modules: send a large ``entries`` option as one JSON text.

AnsibleModule deep-copies every option twice and decodes each string of the arguments on
its own; for a map of 100,000 entries that is 400,000 objects and most of the module's
time. As one string the entries cost one copy, and the module decodes them with ``json``.
The module accepts the same JSON text from users, so this changes nothing they see.
"""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# Below this many entries the module's own handling is as fast, and the arguments stay readable in -vvv output.
ENCODE_MIN_ENTRIES = 1000


def encode_entries(entries):
    """``entries`` as JSON text when it is a large dict or list of plain JSON data, else unchanged."""
    if not isinstance(entries, (dict, list)) or len(entries) < ENCODE_MIN_ENTRIES:
        return entries
    try:
        return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return entries  # something JSON cannot carry: the module validates and names it


class MapActionModule(ActionBase):
    """ansible.builtin.normal's behaviour (check mode, async, tmp cleanup), with the entries encoded."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        if "entries" in args:
            args["entries"] = encode_entries(args["entries"])
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
