# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The postfix role's main.cf: composed and rendered; the logic is in module_utils/_postfix_main_cf.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._postfix_main_cf import (
    MainCfError,
    compose_main_cf,
    registered_services,
    render_main_cf,
)
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """main.cf composition and rendering."""

    def filters(self):
        return filter_map(
            MainCfError,
            postfix_main_cf=render_main_cf,
            postfix_main_cf_settings=compose_main_cf,
            postfix_registered_services=registered_services,
        )
