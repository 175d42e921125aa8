# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the ldap_aliases role's tables; the logic is in module_utils/_ldap_aliases.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._ldap_aliases import (
    TableError,
    probes,
    registration,
    resolve_tables,
)
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """ldap_aliases table filters."""

    def filters(self):
        return filter_map(
            TableError,
            ldap_aliases_tables=resolve_tables,
            ldap_aliases_probes=probes,
            ldap_aliases_registration=registration,
        )
