# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text files of the mail tools, read and replaced the same way by every module of the collection."""

from __future__ import annotations

import os
import tempfile

# The mail tools' messages, as the modules quote them, in the C locale.
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LC_MESSAGES": "C"}


def read_text(module, path: str) -> tuple[bool, str]:
    """(exists, text) of a file; bytes that are not UTF-8 survive a round trip (surrogateescape)."""
    if os.path.isdir(path):
        module.fail_json(msg="%s is a directory" % path, path=path)
    try:
        with open(path, "rb") as handle:
            return True, handle.read().decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        return False, ""
    except OSError as exc:
        module.fail_json(msg="cannot read %s: %s" % (path, exc), path=path)
    return False, ""  # not reached


def replace_text(module, path: str, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it over ``path`` atomically."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", "surrogateescape"))
        module.atomic_move(tmp, path, unsafe_writes=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
