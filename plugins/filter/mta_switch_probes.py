# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the mta_switch role's probes; the logic is in module_utils/_mta_switch.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._mta_switch import (
    ProbeError,
    program_faults,
    program_owner,
    results_by_item,
)
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """mta_switch probe filters."""

    def filters(self):
        return filter_map(
            ProbeError,
            mta_switch_results=results_by_item,
            mta_switch_owner=program_owner,
            mta_switch_program_faults=program_faults,
        )
