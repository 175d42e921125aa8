# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to mailhost.mail: the pure core of the map modules (parse, validate, compare, render, diff).

No I/O happens here; the AnsibleModule glue (read, write, rebuild) is ``_mapfile``. A map file is
kept as a list of records, one per logical line (an entry with its continuation lines, a comment,
or a blank line), so that everything the module does not manage is written back byte for byte.

By concern:

* ``model``: the formats, ``Entry``, ``Record``, ``MapResult`` and ``MapError``;
* ``specs``: the map types (``MapSpec``) and their key and value validators;
* ``entries``: the ``entries`` option decoded and validated into ``Entry`` items;
* ``parse``: map file text into records;
* ``apply``: entries compared with the records, and the new text rendered;
* ``diff``: a unified diff of the changed regions only.

Import from the submodule that holds a name; this package module imports nothing, so that a module
carries only the parts it uses.
"""
