# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the sendmail role's sendmail.cf test; the logic is in module_utils/_sendmail_routes.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_routes import RouteError, cf_routes
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """Sendmail route filters."""

    def filters(self):
        return filter_map(
            RouteError,
            sendmail_cf_routes=cf_routes,
        )
