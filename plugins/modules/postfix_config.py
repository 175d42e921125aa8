#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postfix_config
short_description: Install main.cf and master.cf only after postfix check accepts them
version_added: 0.2.0
description:
  - Compares the given C(main.cf) and C(master.cf) with the installed ones. When they differ, stages the
    candidate set in a temporary directory, runs C(postfix -c DIR check) on it, and installs the changed files
    atomically only when Postfix accepts them. A rejected candidate fails the task with Postfix's own message, and
    nothing in O(config_directory) changes.
  - Reports whether the change needs a restart rather than a reload (C(inet_interfaces) or C(inet_protocols)
    changed), so that the caller can notify the right handler.
  - An unchanged configuration costs one read of each file; Postfix is not asked anything.
  - The check runs in check mode too (the staging directory is not the live configuration), so check mode
    reports a configuration that Postfix would reject.
author:
  - mailhost.mail maintainers (@mailhost)
extends_documentation_fragment:
  - ansible.builtin.files
  - mailhost.mail._attributes
  - mailhost.mail._attributes.CHECK_DIFF_FULL
  - mailhost.mail._attributes.PLATFORM
attributes:
  platform:
    platforms: posix
options:
  config_directory:
    description: Postfix's configuration directory.
    type: path
    default: /etc/postfix
  main_cf:
    description: The whole content of C(main.cf). Omit it to leave C(main.cf) as it is.
    type: str
  master_cf:
    description: The whole content of C(master.cf). Omit it to leave C(master.cf) as it is.
    type: str
  validate:
    description:
      - Run C(postfix -c DIR check) on the staged candidate before installing it.
      - Turn it off only where Postfix is not installed yet and the files are laid down for a later install.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of each file that is replaced.
    type: bool
    default: false
requirements:
  - C(postfix) and C(postconf) (package postfix) when O(validate=true).
  - C(script) (util-linux) to capture Postfix's messages; without it the failure names only the exit code.
seealso:
  - module: mailhost.mail.postfix_map
"""

EXAMPLES = r"""
- name: Install the rendered main.cf and master.cf after postfix check accepts them
  mailhost.mail.postfix_config:
    main_cf: "{{ lookup('ansible.builtin.template', 'main.cf.j2') }}"
    master_cf: "{{ lookup('ansible.builtin.template', 'master.cf.j2') }}"
    owner: root
    group: root
    mode: "0644"
  register: postfix_config

- name: Restart Postfix when a listener setting changed, else reload it
  ansible.builtin.service:
    name: postfix
    state: "{{ 'restarted' if postfix_config.restart_required else 'reloaded' }}"
  when: postfix_config is changed
"""

RETURN = r"""
changed_files:
  description: The files that were (or, in check mode, would be) replaced, by name.
  returned: always
  type: list
  elements: str
  sample: [main.cf]
restart_required:
  description: Whether C(inet_interfaces) or C(inet_protocols) change, which a reload does not apply.
  returned: always
  type: bool
  sample: false
check_output:
  description: What C(postfix check) printed about the candidate (warnings included), when it ran.
  returned: when the configuration changed and O(validate=true)
  type: str
  sample: ""
backup_files:
  description: The backups of the replaced files.
  returned: when O(backup=true) and a file was replaced
  type: list
  elements: str
"""

import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.mailhost.mail.plugins.module_utils._postfix_config import (  # noqa: E402
    CONFIG_FILES,
    check_command,
    check_output,
    listen_settings,
    pending_files,
)
from ansible_collections.mailhost.mail.plugins.module_utils._textfile import (  # noqa: E402
    C_LOCALE,
    read_text,
    replace_text,
)


def _stage(path, text, mtime):
    with open(path, "wb") as handle:
        handle.write(text.encode("utf-8", "surrogateescape"))
    os.utime(path, (mtime, mtime))


def _validate(module, directory, wanted, current, res):
    """Stage the candidate set, let Postfix judge it; fail the module (nothing installed) when it refuses."""
    postfix = module.get_bin_path("postfix", required=True)
    postconf = module.get_bin_path("postconf", required=True)

    def run(argv):
        return module.run_command(argv, environ_update=C_LOCALE)

    stage = tempfile.mkdtemp(prefix="postfix-candidate.")
    # Postfix waits, re-reading in 0.3 s steps, until a just-written main.cf is about 2 s old (strace shows it):
    # the staged copies are dated a minute back, which saves those seconds on every changed host.
    staged_at = time.time() - 60
    try:
        for name in CONFIG_FILES.values():
            text = wanted.get(name, current.get(name))
            if text is not None:
                _stage(os.path.join(stage, name), text, staged_at)
        rc, out, err = run(check_command(postfix, stage, None))
        if rc != 0:
            # Postfix prints why only to a terminal: ask again through script(1), which is slower
            # (it waits for every process that holds the terminal), to tell the user.
            script = module.get_bin_path("script")
            if script:
                rc, out, err = run(check_command(postfix, stage, script))
        res["check_output"] = check_output(rc, out, err)
        if rc != 0:
            module.fail_json(
                msg="postfix check rejected the new configuration, so it was not installed and the running "
                    "Postfix keeps its current one: %s" % (res["check_output"] or "exit code %d" % rc),
                **res)
        if "main.cf" in res["changed_files"]:
            # No main.cf yet: whatever runs has no listeners of ours, so start afresh.
            before = listen_settings(run, postconf, None) if current.get("main.cf") is not None else None
            res["restart_required"] = before is None or before != listen_settings(run, postconf, stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_directory=dict(type="path", default="/etc/postfix"),
            main_cf=dict(type="str"),
            master_cf=dict(type="str"),
            validate=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
        ),
        required_one_of=[list(CONFIG_FILES)],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    directory = params["config_directory"]
    if not os.path.isdir(directory):
        module.fail_json(msg="the Postfix configuration directory %s does not exist" % directory)
    wanted = {name: params[option] for option, name in CONFIG_FILES.items() if params[option] is not None}
    # Both files are read: a file not given is staged as installed, for postfix check to see the whole set.
    current = {}
    for name in CONFIG_FILES.values():
        exists, text = read_text(module, os.path.join(directory, name))
        current[name] = text if exists else None
    changed_files = pending_files(wanted, current)
    res = dict(changed=bool(changed_files), changed_files=changed_files, restart_required=False)
    if module._diff:
        res["diff"] = [
            dict(before=current[name] or "", after=wanted[name],
                 before_header=os.path.join(directory, name) if current[name] is not None else "/dev/null",
                 after_header=os.path.join(directory, name))
            for name in changed_files
        ]
    if changed_files and params["validate"]:
        _validate(module, directory, wanted, current, res)

    def file_args(name):
        return module.load_file_common_arguments(params, path=os.path.join(directory, name))

    if module.check_mode:
        for name in wanted:
            if name not in changed_files:
                res["changed"] = module.set_fs_attributes_if_different(file_args(name), res["changed"])
        module.exit_json(**res)

    backups = []
    for name in changed_files:
        path = os.path.join(directory, name)
        if params["backup"] and current[name] is not None:
            backups.append(module.backup_local(path))
        replace_text(module, path, wanted[name])
    if backups:
        res["backup_files"] = backups
    for name in wanted:
        res["changed"] = module.set_fs_attributes_if_different(file_args(name), res["changed"])
    module.exit_json(**res)


if __name__ == "__main__":
    main()
