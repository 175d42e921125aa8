#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aliases
short_description: Manage mail aliases in /etc/aliases (or any alias file) and rebuild the alias database
version_added: 0.1.0
description:
  - "Adds, updates and removes aliases. A name maps to one or more recipients; a list is written as
    C(name: a, b, c)."
  - Recipients may be addresses, local users, V(:include:/path), V(|command), V(/file) or quoted strings.
    Lines that start with whitespace continue the previous alias, as in aliases(5).
  - The file is shared by Postfix and Sendmail. The database is rebuilt with C(newaliases), which works with either
    MTA, or with C(postalias) for the given path, only when the aliases changed or the database is missing or stale.
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
    description: The alias file.
    type: path
    default: /etc/aliases
    aliases: [dest]
  rebuild_command:
    description:
      - V(newaliases) rebuilds the MTA's configured alias databases in place; on failure the previous alias file is
        restored. It takes no path, so O(path) must be one of the MTA's alias files (C(/etc/aliases),
        C(/etc/mail/aliases), or one named in Postfix's C(alias_database)); any other file needs V(postalias).
      - V(postalias) builds C(db_type:path) under a temporary name and renames it into place.
    type: str
    choices: [newaliases, postalias]
    default: newaliases
  db_type:
    description:
      - The table type passed to C(postalias), and the database suffix looked for when deciding whether the database
        is stale.
      - Defaults to what C(postconf -h default_database_type) prints, or V(hash) when C(postconf) is missing.
        With V(newaliases) and no O(db_type), any of C(.db), C(.lmdb) or C(.cdb) beside the file counts.
    type: str
    choices: [hash, lmdb, btree, cdb]
seealso:
  - module: mailhost.mail.postfix_map
requirements:
  - C(newaliases) (from Postfix or Sendmail), or C(postalias) with O(rebuild_command=postalias), when O(rebuild=true).
"""

EXAMPLES = r"""
- name: Send root's mail to the admins and keep a mailing list in a file
  mailhost.mail.aliases:
    entries:
      root: [alice, bob@example.com]
      staff: ":include:/etc/mail/staff.list"
      tickets: "|/usr/local/bin/ticket-intake"
      archive: /var/mail/archive.mbox

- name: Remove an alias
  mailhost.mail.aliases:
    entries: [olduser]
    state: absent

- name: A Postfix-only alias file compiled with postalias
  mailhost.mail.aliases:
    path: /etc/postfix/aliases
    rebuild_command: postalias
    entries:
      - key: postmaster
        value: root
"""

RETURN = r"""
added:
  description: Keys that were added.
  returned: always
  type: list
  elements: str
  sample: ["postmaster"]
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
  sample: /etc/aliases
backup_file:
  description: The backup of the previous file.
  returned: when O(backup=true) and the file changed
  type: str
  sample: /etc/aliases.12345.2025-01-01@00:00:00~
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.mailhost.mail.plugins.module_utils._mapfile import (  # noqa: E402
    Rebuilder,
    argument_spec,
    newaliases_covers,
    postfix_default_db_type,
    run_map_module,
)
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import ALIASES_SPEC  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            "/etc/aliases", ["hash", "lmdb", "btree", "cdb"],
            rebuild_command=dict(type="str", default="newaliases", choices=["newaliases", "postalias"]),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    rebuilder = None
    if module.params["rebuild"]:
        if module.params["rebuild_command"] == "postalias":
            db_type = module.params["db_type"] or postfix_default_db_type(module)
            postalias = module.get_bin_path("postalias", required=True)
            rebuilder = Rebuilder("postalias", [postalias], db_type, prefix_type=True)
        else:
            if not newaliases_covers(module, module.params["path"]):
                # newaliases takes no path: it would rebuild the MTA's own alias file and never this one,
                # so the database would stay stale and every run would report a change.
                module.fail_json(
                    msg="newaliases rebuilds only the MTA's configured alias files, not %s; use "
                        "rebuild_command=postalias for this file, or rebuild=false; nothing was changed"
                        % module.params["path"],
                    path=module.params["path"])
            newaliases = module.get_bin_path("newaliases", required=True)
            rebuilder = Rebuilder("newaliases", [newaliases], module.params["db_type"], in_place=True)
    run_map_module(module, ALIASES_SPEC, rebuilder)


if __name__ == "__main__":
    main()
