# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule glue shared by the map modules: read, compute, diff, write, rebuild."""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

from ansible_collections.mailhost.mail.plugins.module_utils._maps.apply import apply_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.diff import unified_diff
from ansible_collections.mailhost.mail.plugins.module_utils._maps.entries import parse_entries
from ansible_collections.mailhost.mail.plugins.module_utils._maps.model import MapError
from ansible_collections.mailhost.mail.plugins.module_utils._maps.specs import MapSpec
from ansible_collections.mailhost.mail.plugins.module_utils._textfile import C_LOCALE, read_text, replace_text

# Database file suffix per type, as makemap, postmap and postalias create them.
DB_SUFFIXES = {"hash": ".db", "btree": ".db", "cdb": ".cdb", "lmdb": ".lmdb"}
KNOWN_ALIAS_FILES = ("/etc/aliases", "/etc/mail/aliases", "/etc/postfix/aliases")
# Up to this size (before + after, in characters) diff mode returns the whole texts as before/after, for the
# controller to diff (as ansible.builtin.copy does below its 104448-byte limit); above it, the module returns
# a unified diff of the changed regions only, so that a large map costs only what changed.
DIFF_INLINE_MAX = 104448
# Above this many entries, the result's invocation does not echo the entries back to the controller.
ECHO_ENTRIES_MAX = 1000
# A result key the action plugin (plugin_utils/_map_action.py) turns back into ``added``: a large
# list as one JSON text costs one string in AnsibleModule's no_log walk and the JSON round trip,
# instead of one object per key.
ADDED_AS_TEXT_KEY = "_mailhost_added_json"
ADDED_AS_TEXT_MIN = 1000

COMMON_ARGUMENT_SPEC = dict(
    entries=dict(type="raw"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    exclusive=dict(type="bool", default=False),
    backup=dict(type="bool", default=False),
    rebuild=dict(type="bool", default=True),
)


def argument_spec(path_default: Optional[str] = None, db_types: Optional[list] = None, db_default: Optional[str] = None,
                  **extra) -> dict:
    spec = dict(COMMON_ARGUMENT_SPEC)
    if path_default is None:
        spec["path"] = dict(type="path", required=True, aliases=["dest"])
    else:
        spec["path"] = dict(type="path", default=path_default, aliases=["dest"])
    spec["db_type"] = dict(type="str", choices=db_types, default=db_default)
    spec.update(extra)
    return spec


@dataclass
class Rebuilder:
    """How to compile a map: ``command`` gets the source path; ``stdin`` feeds the source on stdin.

    ``in_place`` tools (newaliases) cannot build into a temporary name, so the
    database is rebuilt after the source is in place.
    """

    name: str
    command: list
    db_type: Optional[str]
    stdin: bool = False
    in_place: bool = False
    prefix_type: bool = False  # postmap/postalias take "type:path"

    def argv(self, source: str) -> list:
        if self.in_place:
            return list(self.command)
        return list(self.command) + [("%s:%s" % (self.db_type, source)) if self.prefix_type else source]

    def db_paths(self, source: str) -> list:
        suffixes = [DB_SUFFIXES.get(self.db_type, ".db")] if self.db_type else [".db", ".lmdb", ".cdb"]
        sources = [source]
        if self.in_place:
            # Sendmail reads AliasFile=/etc/mail/aliases, often a link to /etc/aliases,
            # and newaliases keeps the database beside the name it was given.
            real = os.path.realpath(source)
            sources += [alias for alias in KNOWN_ALIAS_FILES if alias != source and os.path.realpath(alias) == real]
        return [name + suffix for name in sources for suffix in suffixes]


def postfix_default_db_type(module) -> str:
    """Postfix's own default (hash on Debian, lmdb where Berkeley DB is gone), else hash."""
    postconf = module.get_bin_path("postconf")
    if postconf:
        rc, out, _err = module.run_command([postconf, "-h", "default_database_type"], environ_update=C_LOCALE)
        if rc == 0 and out.strip():
            return out.strip()
    return "hash"


def _db_is_stale(rebuilder: Rebuilder, path: str) -> bool:
    try:
        source_mtime = os.stat(path).st_mtime
    except OSError:
        return False
    for db in rebuilder.db_paths(path):
        try:
            if os.stat(db).st_mtime >= source_mtime:
                return False
        except OSError:
            continue
    return True


def _cleanup(prefix_path: Optional[str]) -> None:
    if not prefix_path:
        return
    for leftover in glob.glob(glob.escape(prefix_path) + "*"):
        try:
            os.unlink(leftover)
        except OSError:
            pass


def _build(module, rebuilder: Rebuilder, source: str, content: bytes) -> None:
    """Compile ``source`` with the rebuild tool; fail the module with the tool's stderr."""
    argv = rebuilder.argv(source)
    # An empty stdin would leave the tool reading the module's own stdin.
    data = (content or b"\n") if rebuilder.stdin else None
    rc, out, err = module.run_command(argv, data=data, binary_data=True, environ_update=C_LOCALE)
    if rc != 0:
        raise RuntimeError("%s failed (rc=%d): %s" % (" ".join(argv), rc, (err or out).strip()))


SENDMAIL_DB_TYPES = ["hash", "btree", "cdb"]


def alias_files_newaliases_builds(module) -> list:
    """The alias files whose databases newaliases rebuilds: the MTA's configured ones and the usual names."""
    files = list(KNOWN_ALIAS_FILES)
    postconf = module.get_bin_path("postconf")
    if postconf:
        rc, out, _err = module.run_command([postconf, "-h", "alias_database"], environ_update=C_LOCALE)
        if rc == 0:
            # "hash:/etc/aliases, lmdb:/etc/postfix/more" -> the paths
            files += [item.split(":", 1)[-1] for item in out.replace(",", " ").split() if item]
    return files


def newaliases_covers(module, path: str) -> bool:
    real = os.path.realpath(path)
    return any(os.path.realpath(name) == real for name in alias_files_newaliases_builds(module))


def makemap_rebuilder(module) -> Optional[Rebuilder]:
    """The makemap step shared by the sendmail map modules, or None when rebuild is off."""
    if not module.params["rebuild"]:
        return None
    makemap = module.get_bin_path("makemap", required=True)
    return Rebuilder("makemap", [makemap, module.params["db_type"]], module.params["db_type"], stdin=True)


def run_map_module(module, spec: MapSpec, rebuilder: Optional[Rebuilder]) -> None:
    """Apply ``entries`` to the map at ``path`` and exit the module."""
    params = module.params
    path = params["path"]
    try:
        entries = parse_entries(params["entries"], spec, params["state"])
    except MapError as exc:
        module.fail_json(msg="%s: %s; nothing was changed" % (path, exc), path=path)

    exists, before = read_text(module, path)
    result = apply_entries(before, entries, spec, params["exclusive"])
    after = result.content
    write = after != before or (not exists and params["state"] == "present")
    rebuild = bool(rebuilder) and params["rebuild"] and (write or _db_is_stale(rebuilder, path))

    res = dict(
        changed=write or rebuild,
        rebuilt=rebuild,
        added=result.added,
        updated=result.updated,
        removed=result.removed,
        path=path,
    )
    if module._diff:
        before_header = "%s (content)" % path if exists else "/dev/null"
        after_header = "%s (content)" % path
        if len(before) + len(after) <= DIFF_INLINE_MAX:
            res["diff"] = dict(before=before, after=after, before_header=before_header, after_header=after_header)
        else:
            res["diff"] = dict(prepared=unified_diff(before, result.changes, before_header, after_header))
    if len(result.added) >= ADDED_AS_TEXT_MIN:
        res[ADDED_AS_TEXT_KEY] = json.dumps(res.pop("added"), ensure_ascii=False, separators=(",", ":"))
    if len(entries) > ECHO_ENTRIES_MAX:
        # AnsibleModule echoes all parameters back as the invocation, then scans and serialises them again:
        # for 100,000 entries that is megabytes and seconds. Name how many were given instead.
        res["invocation"] = dict(module_args=dict(
            params, entries="(%d entries, not echoed back)" % len(entries)))
    if module.check_mode:
        if exists:
            # Honours check mode: reports an owner, group or mode change without making it.
            res["changed"] = module.set_fs_attributes_if_different(
                module.load_file_common_arguments(params), res["changed"])
        module.exit_json(**res)

    directory = os.path.dirname(path) or "."
    if write and not os.path.isdir(directory):
        module.fail_json(msg="the directory %s does not exist" % directory, **res)
    tmp_source = None
    try:
        if write or (rebuild and not rebuilder.in_place):
            data = (after if write else before).encode("utf-8", "surrogateescape")
            fd, tmp_source = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            if exists:
                stat = os.stat(path)
                os.chmod(tmp_source, stat.st_mode & 0o7777)
                try:
                    os.chown(tmp_source, stat.st_uid, stat.st_gid)
                except OSError:
                    pass
            else:
                os.chmod(tmp_source, 0o644)
            if rebuild and not rebuilder.in_place:
                # Build the database beside the new source first: a tool that
                # rejects the source fails the task before anything is replaced.
                _build(module, rebuilder, tmp_source, data)
            if write and params["backup"] and exists:
                res["backup_file"] = module.backup_local(path)
            if write:
                module.atomic_move(tmp_source, path, unsafe_writes=False)
            if rebuild and not rebuilder.in_place:
                for tmp_db, db in zip(rebuilder.db_paths(tmp_source), rebuilder.db_paths(path)):
                    if os.path.exists(tmp_db):
                        os.rename(tmp_db, db)
                        # atomic_move stamps the source with time.time(), which can be ahead of the kernel's
                        # coarse clock; the database must never look older than its source.
                        stamp = max(time.time_ns(), os.stat(path).st_mtime_ns)
                        os.utime(db, ns=(stamp, stamp))
        if rebuild and rebuilder.in_place:
            try:
                _build(module, rebuilder, path, b"")
            except RuntimeError:
                if write:  # keep the source matching the database that is still in use
                    if exists:
                        replace_text(module, path, before)
                    else:
                        os.unlink(path)
                raise
    except RuntimeError as exc:
        module.fail_json(msg="%s; %s was left unchanged" % (exc, path), **res)
    except OSError as exc:
        module.fail_json(msg="cannot update %s: %s" % (path, exc), **res)
    finally:
        _cleanup(tmp_source)

    file_args = module.load_file_common_arguments(params)
    if os.path.exists(path):
        res["changed"] = module.set_fs_attributes_if_different(file_args, res["changed"])
    module.exit_json(**res)
