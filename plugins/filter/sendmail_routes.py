# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the sendmail role's sendmail.cf test; the logic is in module_utils/_sendmail_routes.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_routes import RouteError, cf_routes


def _wrap(name, function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RouteError as exc:
            raise AnsibleFilterError("mailhost.mail.%s: %s" % (name, exc)) from exc
    call.__name__ = name
    call.__doc__ = function.__doc__
    return call


class FilterModule:
    """Sendmail route filters."""

    def filters(self):
        return {
            "sendmail_cf_routes": _wrap("sendmail_cf_routes", cf_routes),
        }
