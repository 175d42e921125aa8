# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sendmail role's registered mail filters; the logic is in module_utils/_sendmail_milters.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_milters import MilterError, mail_filter_lines
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """sendmail.mc mail filters."""

    def filters(self):
        return filter_map(MilterError, sendmail_mail_filters=mail_filter_lines)
