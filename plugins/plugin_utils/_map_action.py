# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the map modules: send a large ``entries`` option as one JSON text.

AnsibleModule deep-copies every option twice and decodes each string of the arguments on
its own; for a map of 100,000 entries that is 400,000 objects and most of the module's
time. As one string the entries cost one copy, and the module decodes them with ``json``.
The module accepts the same JSON text from users, so this changes nothing they see.

``entries: "{{ var }}"`` is the usual way to pass a large map. Templating it renders every
key and value on its own (about 1 s for 100,000 entries on ansible-core 2.19), and the
worker then pickles the templated args, one tagged string at a time, back to the main
process. When the variable holds plain data with no template syntax anywhere, templating
would return it unchanged, so the entries are encoded straight from the variable instead.
"""

from __future__ import annotations

import json
import re

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash
from ansible_collections.mailhost.mail.plugins.module_utils._mapfile import ADDED_AS_TEXT_KEY

# Below this many entries the module's own handling is as fast, and the arguments stay readable in -vvv output.
ENCODE_MIN_ENTRIES = 1000
# A template that is exactly one variable, as Jinja reads "{{ name }}".
_VARIABLE_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Jinja's start strings: JSON text holds them only where a key or value string does.
_TEMPLATE_STARTS = ("{{", "{%", "{#")


def encode_entries(entries):
    """``entries`` as JSON text when it is a large dict or list of plain JSON data, else unchanged."""
    if not isinstance(entries, (dict, list)) or len(entries) < ENCODE_MIN_ENTRIES:
        return entries
    try:
        return json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return entries  # something JSON cannot carry: the module validates and names it


def encode_untemplated_entries(value, templar):
    """JSON text of the variable that ``value`` ("{{ name }}") names, when templating could not change it; else None.

    Templating is the identity on data whose strings hold no template start string, so the
    JSON text of the raw variable is what encode_entries() would make of the templated one.
    Anything else (a longer expression, a variable that is or holds a template, data JSON
    cannot carry, a small map) returns None and is templated as usual.
    """
    if not isinstance(value, str):
        return None
    match = _VARIABLE_TEMPLATE.fullmatch(value)
    if match is None or not templar.is_template(value):
        return None  # not one variable, or a string that is not trusted as a template: left as it is
    variables = templar.available_variables
    name = match.group(1)
    if name not in variables:
        return None  # templating names the undefined variable
    raw = variables[name]
    if not isinstance(raw, (dict, list)) or len(raw) < ENCODE_MIN_ENTRIES:
        return None
    text = encode_entries(raw)
    if not isinstance(text, str) or any(start in text for start in _TEMPLATE_STARTS):
        return None
    return text


def decode_added(result):
    """Turn the module's ``added`` back into a list when it came as one JSON text (a large map)."""
    text = result.pop(ADDED_AS_TEXT_KEY, None)
    if isinstance(text, str):
        result["added"] = json.loads(text)
    return result


class MapActionModule(ActionBase):
    """ansible.builtin.normal's behaviour (check mode, async, tmp cleanup), with the entries encoded."""

    _supports_check_mode = True
    _supports_async = True

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        # ansible-core 2.19's hook for templating one task arg (older versions template as before).
        if name == "entries":
            text = encode_untemplated_entries(value, templar)
            if text is not None:
                return text
        return super().finalize_task_arg(name, value, templar, context)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        if "entries" in args:
            args["entries"] = encode_entries(args["entries"])
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        decode_added(result)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
