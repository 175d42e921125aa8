# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mta_switch role's reading of its probes: loop results by item, and which MTA the mail programs lead to.

Pure functions over plain values (registered loop results and the stat
results in them); plugins/filter/mta_switch_probes.py exposes them to the
role's tasks, and tests/unit covers them.

A program "leads to" an MTA's own program when both, links followed, are the
same file (device and inode), not when the paths are equal: on RedHat
mailq.postfix is itself a link to ../sbin/sendmail.postfix, and Fedora 42
links /usr/sbin to bin. A program that is its MTA's own (Postfix's
/usr/sbin/sendmail on Debian) must be a file, not a link to another MTA's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ProbeError(ValueError):
    """Probe results that are not what the role's stat and systemd_service loops register."""


def _type(value: Any) -> str:
    return type(value).__name__


def results_by_item(registered: Any, attribute: str) -> dict:
    """Map each loop item of a registered loop to one value of its result.

    ``registered`` is what a looped task registered (a mapping with
    ``results``) or that list; ``attribute`` is a key or a dotted path into
    each result, e.g. ``stat`` or ``status.ActiveState``.
    """
    if not isinstance(attribute, str) or not attribute:
        raise ProbeError("the attribute must be a non-empty string, not %r" % (attribute,))
    results = registered.get("results") if isinstance(registered, Mapping) else registered
    if not isinstance(results, (list, tuple)):
        raise ProbeError("expected the result of a loop (a mapping with a list of results), not %s" % _type(registered))
    grouped: dict = {}
    for result in results:
        if not isinstance(result, Mapping):
            raise ProbeError("a loop result must be a mapping, not %s" % _type(result))
        loop_var = result.get("ansible_loop_var", "item")
        if loop_var not in result:
            raise ProbeError("a loop result has no %r" % loop_var)
        item = result[loop_var]
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise ProbeError("loop items must be strings, not %s" % _type(item))
        if item in grouped:
            raise ProbeError("the loop item %r appears twice" % (item,))
        value: Any = result
        for key in attribute.split("."):
            if not isinstance(value, Mapping) or key not in value:
                why = " (the task was skipped)" if result.get("skipped") else ""
                raise ProbeError("the result for %r has no %r%s" % (item, attribute, why))
            value = value[key]
        grouped[item] = value
    return grouped


def _stat(stats: Any, path: str, what: str) -> Mapping:
    if not isinstance(stats, Mapping):
        raise ProbeError("the %s must be a mapping of path to stat result, not %s" % (what, _type(stats)))
    stat = stats.get(path)
    if not isinstance(stat, Mapping) or "exists" not in stat:
        raise ProbeError("the %s have no stat result for %s" % (what, path))
    return stat


def _file_id(stat: Mapping, path: str) -> tuple:
    if "dev" not in stat or "inode" not in stat:
        raise ProbeError("the stat result for %s has no dev and inode" % path)
    return stat["dev"], stat["inode"]


def program_fault(program: str, own: str, stats: Any, lstats: Any) -> str:
    """Why ``program`` does not lead to the MTA's ``own`` program; empty if it does.

    ``stats`` maps paths to stat results with links followed, ``lstats`` to
    ones without (needed only for a program that is its MTA's own).
    """
    found = _stat(stats, program, "stats")
    target = _stat(stats, own, "stats")
    if not found["exists"]:
        return "%s is missing" % program
    if not target["exists"]:
        return "%s does not lead to %s (missing)" % (program, own)
    if _file_id(found, program) != _file_id(target, own):
        link = lstats.get(program, {}) if isinstance(lstats, Mapping) else {}
        source = link.get("lnk_source") if isinstance(link, Mapping) else None
        return "%s does not lead to %s%s" % (program, own, " (it is a link to %s)" % source if source else "")
    if program == own:
        link = _stat(lstats, program, "stats without links followed")
        if link.get("islnk"):
            return "%s is a link to %s, not the MTA's own program" % (program, link.get("lnk_source", "another file"))
    return ""


def program_faults(programs: Any, stats: Any, lstats: Any) -> list[str]:
    """For one MTA's programs (program -> own program), why each one that does not lead to its own program."""
    if not isinstance(programs, Mapping):
        raise ProbeError("the programs must be a mapping of program to the MTA's own program, not %s" % _type(programs))
    faults = [program_fault(program, own, stats, lstats) for program, own in programs.items()]
    return [fault for fault in faults if fault]


def program_owner(stats: Any, programs: Any, lstats: Any, program: str = "/usr/sbin/sendmail") -> str:
    """The MTA whose own program ``program`` leads to, or an empty string.

    ``programs`` maps each MTA to its programs (program -> own program), in
    the order they are tried.
    """
    if not isinstance(programs, Mapping):
        raise ProbeError("the programs must be a mapping of MTA to its programs, not %s" % _type(programs))
    for mta, own_programs in programs.items():
        if not isinstance(own_programs, Mapping) or program not in own_programs:
            raise ProbeError("the programs of %s do not name its own %s" % (mta, program))
        if not program_fault(program, own_programs[program], stats, lstats):
            return mta
    return ""
