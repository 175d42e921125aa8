#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: renamed_variables
short_description: Give a deprecation warning for each renamed role variable that a play still sets
version_added: 0.2.0
description:
  - The collection's roles call this when they rename a public variable. For every old name in O(names) that is
    defined for the host, it emits an Ansible deprecation warning (the C([DEPRECATION WARNING]) channel, which
    C(deprecation_warnings=False) silences) naming the new name and the release that drops the old one.
  - It reads variables only; it runs on the controller and never contacts the host.
attributes:
  platform:
    platforms: all
  diff_mode:
    support: none
  check_mode:
    details: Nothing changes in either mode, and no module code runs on the host.
    support: full
extends_documentation_fragment:
  - mailhost.mail._attributes.ACTION_PLUGIN
  - mailhost.mail._attributes.PLATFORM
  - mailhost.mail._attributes
author:
  - mailhost.mail maintainers (@mailhost)
options:
  names:
    description: Old variable name to new variable name.
    type: dict
    required: true
  removed_in:
    description: The collection version that stops reading the old names.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Warn about the certificate variables the postfix role renamed
  mailhost.mail.renamed_variables:
    names:
      postfix_tls_cert_file: postfix_tls_certificate_path
      postfix_tls_key_file: postfix_tls_private_key_path
    removed_in: 2.0.0
"""

RETURN = r"""
renamed:
  description: The old names the play still sets, each with its new name.
  returned: always
  type: dict
  sample:
    postfix_tls_cert_file: postfix_tls_certificate_path
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(names=dict(type="dict", required=True), removed_in=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    module.fail_json(msg="mailhost.mail.renamed_variables runs on the controller as an action plugin only")


if __name__ == "__main__":
    main()
