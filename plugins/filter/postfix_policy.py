# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the postfix role's checks; the logic is in module_utils/_postfix_policy.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._postfix_policy import (
    PolicyError,
    bad_networks,
    open_networks,
    origin_route,
    postfix_list,
    relay_verdict,
    unknown_parameters,
    wide_networks,
)
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """Postfix policy filters."""

    def filters(self):
        return filter_map(
            PolicyError,
            postfix_list=postfix_list,
            postfix_open_networks=open_networks,
            postfix_wide_networks=wide_networks,
            postfix_unknown_parameters=unknown_parameters,
            postfix_bad_networks=bad_networks,
            postfix_relay_verdict=relay_verdict,
            postfix_origin_route=origin_route,
        )
