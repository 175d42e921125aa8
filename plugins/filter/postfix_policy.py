# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the postfix role's checks; the logic is in module_utils/_postfix_policy.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_policy import (
    PolicyError,
    bad_networks,
    open_networks,
    origin_route,
    postfix_list,
    relay_verdict,
)


def _wrap(name, function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except PolicyError as exc:
            raise AnsibleFilterError("mailhost.mail.%s: %s" % (name, exc)) from exc
    call.__name__ = name
    call.__doc__ = function.__doc__
    return call


class FilterModule:
    """Postfix policy filters."""

    def filters(self):
        return {
            "postfix_list": _wrap("postfix_list", postfix_list),
            "postfix_open_networks": _wrap("postfix_open_networks", open_networks),
            "postfix_bad_networks": _wrap("postfix_bad_networks", bad_networks),
            "postfix_relay_verdict": _wrap("postfix_relay_verdict", relay_verdict),
            "postfix_origin_route": _wrap("postfix_origin_route", origin_route),
        }
