# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the ldap_aliases role's tables; the logic is in module_utils/_ldap_aliases.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mailhost.mail.plugins.module_utils._ldap_aliases import (
    TableError,
    probes,
    registration,
    resolve_tables,
)


def _wrap(name, function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except TableError as exc:
            raise AnsibleFilterError("mailhost.mail.%s: %s" % (name, exc)) from exc
    call.__name__ = name
    call.__doc__ = function.__doc__
    return call


class FilterModule:
    """ldap_aliases table filters."""

    def filters(self):
        return {
            "ldap_aliases_tables": _wrap("ldap_aliases_tables", resolve_tables),
            "ldap_aliases_probes": _wrap("ldap_aliases_probes", probes),
            "ldap_aliases_registration": _wrap("ldap_aliases_registration", registration),
        }
