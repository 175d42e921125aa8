#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: virtusertable
short_description: Manage entries of the sendmail virtusertable and compile it with makemap
version_added: 0.1.0
description:
  - Adds, updates and removes entries of the sendmail C(virtusertable), which routes mail for virtual domains.
  - Keys are V(user@domain) or V(@domain); targets are a local user, an address, V(%1@otherdomain) or
    V(error:nouser User unknown).
  - The database is compiled with C(makemap) only when the entries changed or the database is missing or stale.
  - For the other sendmail maps use M(mailhost.mail.sendmail_map).
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
    description: The virtusertable source file.
    type: path
    default: /etc/mail/virtusertable
    aliases: [dest]
  db_type:
    description: The database type passed to C(makemap).
    type: str
    choices: [hash, btree, cdb]
    default: hash
seealso:
  - module: mailhost.mail.sendmail_map
requirements:
  - C(makemap) (package sendmail-bin on Debian, sendmail on Fedora) when O(rebuild=true).
"""

EXAMPLES = r"""
- name: Deliver all mail for example.com to bob at another domain
  mailhost.mail.virtusertable:
    entries:
      "@example.com": bob@other-example.com

- name: Route single addresses, keep the domain part, and reject unknown users
  mailhost.mail.virtusertable:
    entries:
      - key: info@example.org
        value: alice
      - key: "@example.net"
        value: "%1@example.org"
      - key: "@example.org"
        value: "error:nouser 550 No such user here"
      - key: old@example.org
        state: absent
    backup: true

- name: The virtusertable holds exactly these entries
  mailhost.mail.virtusertable:
    entries:
      "@example.com": bob@other-example.com
    exclusive: true
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
  sample: /etc/mail/virtusertable
backup_file:
  description: The backup of the previous file.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/mail/virtusertable.12345.2025-01-01@00:00:00~
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
        argument_spec=argument_spec("/etc/mail/virtusertable", SENDMAIL_DB_TYPES, "hash"),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    run_map_module(module, SENDMAIL_SPECS["virtusertable"], makemap_rebuilder(module))


if __name__ == "__main__":
    main()
