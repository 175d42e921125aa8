#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_map
short_description: Manage entries of Postfix lookup tables and compile them with postmap
version_added: 0.1.0
description:
  - Adds, updates and removes entries of a Postfix lookup table source file (access, transport, virtual,
    canonical, generic, relocated, ...) and compiles it with C(postmap).
  - Lines that start with whitespace continue the previous entry, as in postmap(1).
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
    description: The table source file, for example C(/etc/postfix/virtual).
    type: path
    required: true
    aliases: [dest]
  map_type:
    description:
      - What the table is; decides how values are validated.
      - V(access) values are actions such as V(OK), V(REJECT), V(DUNNO), V(4xx/5xx text) or restriction names.
      - V(transport) values are V(transport:nexthop). V(virtual) values are one or more addresses (a list is
        rendered comma separated). V(canonical), V(sender_canonical), V(recipient_canonical) and V(generic) values
        are one address. V(relocated) values are free text.
      - V(none) checks only the syntax of keys and values.
    type: str
    default: none
    choices: [access, transport, virtual, canonical, sender_canonical, recipient_canonical, relocated, generic, none]
  db_type:
    description:
      - The table type passed to C(postmap) as C(type:path).
      - Defaults to what C(postconf -h default_database_type) prints (V(hash) on Debian, V(lmdb) where Berkeley DB
        was dropped), or V(hash) when C(postconf) is missing.
    type: str
    choices: [hash, lmdb, btree, cdb]
seealso:
  - module: mailhost.mail.aliases
requirements:
  - C(postmap) (package postfix) when O(rebuild=true).
"""

EXAMPLES = r"""
- name: Virtual aliases for a hosted domain
  mailhost.mail.postfix_map:
    path: /etc/postfix/virtual
    map_type: virtual
    entries:
      info@example.com: bob
      sales@example.com: [alice@example.com, carol@example.com]

- name: Send a domain through a relay, removing an old route
  mailhost.mail.postfix_map:
    path: /etc/postfix/transport
    map_type: transport
    entries:
      - key: example.org
        value: "smtp:[relay.example.com]:587"
      - key: old.example.org
        state: absent

- name: Sender access table that holds exactly these entries, in lmdb format
  mailhost.mail.postfix_map:
    path: /etc/postfix/sender_access
    map_type: access
    db_type: lmdb
    exclusive: true
    entries:
      spammer@example.net: REJECT
      example.com: OK
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
  sample: /etc/postfix/virtual
backup_file:
  description: The backup of the previous file.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/postfix/virtual.12345.2025-01-01@00:00:00~
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.mailhost.mail.plugins.module_utils._mapfile import (  # noqa: E402
    Rebuilder,
    argument_spec,
    postfix_default_db_type,
    run_map_module,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import POSTFIX_SPECS  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            None, ["hash", "lmdb", "btree", "cdb"],
            map_type=dict(type="str", default="none", choices=sorted(POSTFIX_SPECS)),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    rebuilder = None
    if module.params["rebuild"]:
        db_type = module.params["db_type"] or postfix_default_db_type(module)
        postmap = module.get_bin_path("postmap", required=True)
        rebuilder = Rebuilder("postmap", [postmap], db_type, prefix_type=True)
    run_map_module(module, POSTFIX_SPECS[module.params["map_type"]], rebuilder)


if __name__ == "__main__":
    main()
