#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_probe
short_description: Read what the postfix role needs to know about a host in one remote step
version_added: 0.1.0
description:
  - Asks C(postconf) for Postfix's default database type, makes sure the directory where other roles register
    their settings exists, and reads every C(*.json) file in it, in name order.
  - Replaces a C(postconf -h) command, a M(ansible.builtin.file), a M(ansible.builtin.find) and one
    M(ansible.builtin.slurp) per registered file with one remote module run. The registered files are returned as
    the results of a looped M(ansible.builtin.slurp) would be (RV(results)), and are decoded on the controller.
author:
  - mailhost.mail maintainers (@mailhost)
extends_documentation_fragment:
  - mailhost.mail._attributes
  - mailhost.mail._attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details: Reads as in a real run; a missing registry directory is reported as changed and not created.
  diff_mode:
    support: full
    details: Shows the registry directory's state before and after.
  platform:
    platforms: posix
options:
  registry_directory:
    description: The directory other roles write their C(*.json) registrations into.
    type: path
    required: true
  postconf:
    description: The C(postconf) program.
    type: path
    default: postconf
  database_type_fallback:
    description: Returned as RV(database_type) when C(postconf) gives no answer.
    type: str
    default: hash
  mode:
    description: Mode of the registry directory.
    type: raw
    default: "0755"
  owner:
    description: Owner of the registry directory.
    type: str
    default: root
  group:
    description: Group of the registry directory.
    type: str
    default: root
"""

EXAMPLES = r"""
- name: Read the database type and the registered maps
  mailhost.mail.postfix_probe:
    registry_directory: /etc/postfix/mailhost.d
  register: probe
"""

RETURN = r"""
database_type:
  description: Postfix's C(default_database_type) (or O(database_type_fallback)).
  returned: always
  type: str
  sample: hash
results:
  description: One entry per C(*.json) file of O(registry_directory), sorted by path, shaped like a looped slurp's.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The file's path.
      type: str
    source:
      description: The file's path.
      type: str
    content:
      description: The file's content, base64-encoded.
      type: str
    encoding:
      description: Always C(base64).
      type: str
"""

import base64  # noqa: E402
import glob  # noqa: E402
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def read_registry(directory):
    """The *.json files of DIRECTORY, sorted, as slurp-shaped results."""
    results = []
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), "*.json"))):
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as handle:
            content = base64.b64encode(handle.read()).decode("ascii")
        results.append(dict(item=path, source=path, content=content, encoding="base64"))
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            registry_directory=dict(type="path", required=True),
            postconf=dict(type="path", default="postconf"),
            database_type_fallback=dict(type="str", default="hash"),
            mode=dict(type="raw", default="0755"),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    directory = params["registry_directory"]
    postconf = module.get_bin_path(params["postconf"]) if "/" not in params["postconf"] else params["postconf"]
    database_type = ""
    if postconf:
        rc, out, err = module.run_command([postconf, "-h", "default_database_type"])
        if rc != 0:
            module.fail_json(msg="postconf -h default_database_type failed: %s" % (err or out).strip(), rc=rc)
        database_type = out.strip()
    res = dict(changed=False, database_type=database_type or params["database_type_fallback"], results=[])
    if os.path.isdir(directory):
        res["results"] = read_registry(directory)
    elif os.path.lexists(directory):
        module.fail_json(msg="%s exists and is not a directory" % directory)
    else:
        res["changed"] = True
        res["diff"] = dict(before=dict(path=directory, state="absent"), after=dict(path=directory, state="directory"))
        if module.check_mode:
            module.exit_json(**res)
        try:
            os.makedirs(directory)
        except OSError as exc:
            module.fail_json(msg="cannot create %s: %s" % (directory, exc))
    # Owner, group and mode are kept as the role wants them, as ansible.builtin.file would.
    file_args = module.load_file_common_arguments(
        dict(path=directory, mode=params["mode"], owner=params["owner"], group=params["group"])
    )
    res["changed"] = module.set_fs_attributes_if_different(file_args, res["changed"], diff=res.get("diff"))
    module.exit_json(**res)


if __name__ == "__main__":
    main()
