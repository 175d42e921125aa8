#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sendmail_map
short_description: Manage entries of sendmail maps (access, mailertable, domaintable, genericstable, virtusertable)
version_added: 0.1.0
description:
  - Adds, updates and removes entries of a sendmail map file and compiles it with C(makemap).
  - Each entry is validated for the map type given in O(map_type) before anything is written.
  - The database is compiled only when the entries changed or the database is missing or stale.
author:
  - mailhost.mail maintainers (@mailhost)
extends_documentation_fragment:
  - ansible.builtin.files
  - mailhost.mail._attributes
  - mailhost.mail._attributes.CHECK_DIFF_FULL
  - mailhost.mail._attributes.PLATFORM
  - mailhost.mail._attributes.ACTION_PLUGIN
  - mailhost.mail._map_file
attributes:
  platform:
    platforms: posix
options:
  path:
    description: The map source file, for example C(/etc/mail/access).
    type: path
    required: true
    aliases: [dest]
  map_type:
    description:
      - What the map is; decides how keys and values are validated.
      - V(access) values are V(OK), V(RELAY), V(REJECT), V(DISCARD), V(SKIP), V(FRIEND), V(HATER), V(ERROR:...) or
        V(QUARANTINE:...); keys may carry a tag such as V(Connect:) or V(From:).
      - V(mailertable) keys are domains (or V(.domain)) and values are V(mailer:host) or V(error:...).
      - V(domaintable) maps a domain to a domain; V(genericstable) maps a user or address to an address.
    type: str
    required: true
    choices: [access, mailertable, domaintable, genericstable, virtusertable]
  db_type:
    description: The database type passed to C(makemap).
    type: str
    choices: [hash, btree, cdb]
    default: hash
seealso:
  - module: mailhost.mail.virtusertable
requirements:
  - C(makemap) (package sendmail-bin on Debian, sendmail on Fedora) when O(rebuild=true).
"""

EXAMPLES = r"""
- name: Relay for the local network and refuse a spammer
  mailhost.mail.sendmail_map:
    path: /etc/mail/access
    map_type: access
    entries:
      "Connect:192.168.1": RELAY
      "From:spammer@example.net": "ERROR:5.7.1:550 Go away"

- name: Send mail for a domain through a given relay
  mailhost.mail.sendmail_map:
    path: /etc/mail/mailertable
    map_type: mailertable
    entries:
      example.org: "esmtp:[relay.example.com]"
      .example.org: "esmtp:[relay.example.com]"

- name: The virtusertable as a sendmail_map
  mailhost.mail.sendmail_map:
    path: /etc/mail/virtusertable
    map_type: virtusertable
    entries:
      "@example.com": bob@other-example.com
"""
RETURN = r"""
added:
  description: Keys that were added.
  returned: always
  type: list
  elements: str
  sample: ["@example.com"]
updated:
  description: Keys whose value changed, or whose duplicates were removed.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Keys that were removed.
  returned: always
  type: list
  elements: str
  sample: []
rebuilt:
  description: Whether the database was (or, in check mode, would be) rebuilt.
  returned: always
  type: bool
  sample: true
path:
  description: The map source file.
  returned: always
  type: str
  sample: /etc/mail/access
backup_file:
  description: The backup of the previous file.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/mail/access.12345.2025-01-01@00:00:00~
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.mailhost.mail.plugins.module_utils._mapfile import (  # noqa: E402
    SENDMAIL_DB_TYPES,
    argument_spec,
    makemap_rebuilder,
    run_map_module,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import SENDMAIL_SPECS  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            None, SENDMAIL_DB_TYPES, "hash",
            map_type=dict(type="str", required=True, choices=sorted(SENDMAIL_SPECS)),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run_map_module(module, SENDMAIL_SPECS[module.params["map_type"]], makemap_rebuilder(module))


if __name__ == "__main__":
    main()
