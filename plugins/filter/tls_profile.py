# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS profile filter the postfix, dovecot and sendmail roles share; logic in module_utils/_tls_profile.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._tls_profile import TLSProfileError, tls_profile
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """TLS profile filter."""

    def filters(self):
        return filter_map(TLSProfileError, tls_profile=tls_profile)
