# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postfix role's main.cf text; the logic is in module_utils/_postfix_main_cf.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_main_cf import (
    MainCfError,
    compose_main_cf,
    render_main_cf,
)


def postfix_main_cf(settings):
    """main.cf lines for a dict of parameters."""
    try:
        return render_main_cf(settings)
    except MainCfError as exc:
        raise AnsibleFilterError("mailhost.mail.postfix_main_cf: %s" % exc) from exc


def postfix_main_cf_settings(inputs):
    """The main.cf parameters, in order, from the postfix role's settings."""
    try:
        return compose_main_cf(inputs)
    except MainCfError as exc:
        raise AnsibleFilterError("mailhost.mail.postfix_main_cf_settings: %s" % exc) from exc


class FilterModule:
    """main.cf rendering."""

    def filters(self):
        return {"postfix_main_cf": postfix_main_cf, "postfix_main_cf_settings": postfix_main_cf_settings}
