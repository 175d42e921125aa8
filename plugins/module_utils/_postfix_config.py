# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Core of mailhost.mail.postfix_config: which files change, and how Postfix judges a candidate.

The module stages the candidate files in a directory of their own and asks Postfix about that
directory (``postfix -c DIR check``, ``postconf -c DIR``), so nothing under the live configuration
directory changes until Postfix has accepted the whole set.
"""

from __future__ import annotations

import shlex
from typing import Callable, Optional

# The files Postfix reads from its configuration directory that this module installs, by option name.
CONFIG_FILES = {"main_cf": "main.cf", "master_cf": "master.cf"}
# Parameters that a reload does not apply: the master daemon binds its listeners once, at start.
RESTART_PARAMETERS = ("inet_interfaces", "inet_protocols")

# run(argv) -> (rc, stdout, stderr)
Runner = Callable[[list], tuple]


def pending_files(wanted: dict, current: dict) -> list:
    """File names (in CONFIG_FILES order) whose wanted content differs from the current one (None: missing)."""
    return [name for name in CONFIG_FILES.values() if name in wanted and wanted[name] != current.get(name)]


def check_command(postfix: str, directory: str, script: Optional[str]) -> list:
    """``postfix -c DIR check``; through script(1) when it is there, because postfix prints its fatal
    messages only to a terminal (otherwise only to syslog)."""
    command = [postfix, "-c", directory, "check"]
    if not script:
        return command
    return [script, "-qec", shlex.join(command), "/dev/null"]


def check_output(rc: int, out: str, err: str) -> str:
    """What postfix check said, as one clean text (script(1) adds carriage returns)."""
    return "\n".join(part for part in ((out or "").replace("\r", "").strip(), (err or "").strip()) if part)


def listen_settings(run: Runner, postconf: str, directory: Optional[str]) -> Optional[str]:
    """The restart parameters as Postfix reads them from ``directory`` (None: the live configuration)."""
    argv = [postconf]
    if directory:
        argv += ["-c", directory]
    rc, out, _err = run(argv + ["-h"] + list(RESTART_PARAMETERS))
    return out if rc == 0 else None
