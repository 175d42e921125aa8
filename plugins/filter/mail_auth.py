# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the mail_auth role; the logic is in module_utils/_mail_auth.py."""

from __future__ import annotations

from ansible_collections.mailhost.mail.plugins.module_utils._mail_auth import (
    MailAuthError,
    dkim_txt,
    dns_records,
    key_table,
    postfix_registration,
    resolve_keys,
    sendmail_registration,
    signing_table,
    zone_text,
)
from ansible_collections.mailhost.mail.plugins.plugin_utils._filters import filter_map


class FilterModule:
    """mail_auth filters."""

    def filters(self):
        return filter_map(
            MailAuthError,
            mail_auth_keys=resolve_keys,
            mail_auth_key_table=key_table,
            mail_auth_signing_table=signing_table,
            mail_auth_dkim_txt=dkim_txt,
            mail_auth_dns_records=dns_records,
            mail_auth_zone=zone_text,
            mail_auth_postfix_registration=postfix_registration,
            mail_auth_sendmail_registration=sendmail_registration,
        )
