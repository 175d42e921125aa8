# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options shared by the map modules (virtusertable, sendmail_map, aliases, postfix_map).
    DOCUMENTATION = r"""
options:
  entries:
    description:
      - The entries to manage.
      - Either a dictionary mapping each key to its value, or a list of dictionaries with C(key), C(value) and an
        optional C(state) (V(present) or V(absent), default O(state)). A list may also hold plain keys, which is
        handy with O(state=absent).
      - Either form may also be given as JSON text, for example from a file. The action plugin sends large
        entries (1000 or more) to the host that way, because the module then decodes them much faster.
      - Keys are compared case-insensitively, because C(makemap), C(postmap) and C(postalias) fold keys to lower case.
      - Every entry is validated for the map type before anything is written; an invalid entry fails the task
        with a message that names the entry.
    type: raw
  state:
    description:
      - The default state of the entries.
      - V(absent) removes the given keys; their values are ignored.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - If V(true), the given entries are the whole map and every other key is removed.
      - Comments and blank lines are kept either way.
    type: bool
    default: false
  backup:
    description:
      - Create a backup file including the timestamp information so you can get the original file back.
    type: bool
    default: false
  rebuild:
    description:
      - Compile the database when an entry changed, or when the database is missing or older than the source.
      - Whether entries changed is decided from the parsed entries, never from the database file.
      - The database is built under a temporary name beside the map and renamed into place, so lookups never
        see a half-built map. When the tool rejects the map, the task fails and the source file is left as it was.
      - The exception is C(newaliases) (M(mailhost.mail.aliases) with its default C(rebuild_command)), which
        takes no path and rebuilds the MTA's alias databases itself, in place and under the MTA's own locking;
        on failure the module puts the previous alias file back.
    type: bool
    default: true
notes:
  - Unmanaged lines, comments and the order of entries are kept; new entries are appended.
  - The source file is written atomically (a temporary file in the same directory, then a rename).
  - In diff mode, a small map (before and after together up to 104448 characters) is returned as C(before) and
    C(after) for the controller to compare; a larger map is returned as a unified diff of the changed lines only
    (C(prepared)), so that a diff of a large map costs only what changed.
  - With more than 1000 entries, the C(invocation) in the result names how many entries were given instead of
    echoing them all back.
"""
