# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of mailhost.mail.renamed_variables: deprecation warnings for renamed role variables."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()


class ActionModule(ActionBase):
    """Warn once per task for each old variable name that is defined."""

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("names", "removed_in"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        names = self._task.args.get("names")
        removed_in = self._task.args.get("removed_in")
        if not isinstance(names, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
            raise AnsibleActionFail("names must be a dict of old variable name to new variable name")
        if not isinstance(removed_in, str) or not removed_in:
            raise AnsibleActionFail("removed_in must be the collection version that drops the old names")
        renamed = {old: new for old, new in names.items() if old in task_vars}
        for old, new in sorted(renamed.items()):
            # The version is the calling role's, given as an argument: this plugin is the
            # collection's one place that turns a role's renames into deprecation warnings.
            display.deprecated(  # pylint: disable=collection-invalid-deprecated-version
                msg="The variable %s is now %s; the old name is still read" % (old, new),
                version=removed_in,
                collection_name="mailhost.mail",
            )
        result.update(changed=False, renamed=renamed)
        return result
