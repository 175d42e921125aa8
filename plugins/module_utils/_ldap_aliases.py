# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ldap_aliases role's tables: each one resolved against the shared settings, its probe, its registration.

Pure functions over plain values; plugins/filter/ldap_aliases.py exposes them
to the role, and tests/unit covers them. Error messages name tables and keys
but never print a table, which may hold a bind password.
"""

from __future__ import annotations

import re
from typing import Any

# The Postfix parameters a table may be registered for; the postfix role
# appends what is registered for them after its own maps.
MAP_PARAMETERS = ("alias_maps", "virtual_alias_maps")
STATES = ("present", "absent")
# The name becomes part of a file name (ldap-<name>.cf) and of a map in main.cf.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0", "")


class TableError(ValueError):
    """A table the role cannot render or register."""


def _flag(value: Any, where: str) -> bool:
    """A boolean setting, given as a bool or as YAML's words for one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise TableError("%s must be a boolean, not %r" % (where, value))


def _text(value: Any, where: str) -> str:
    """A string setting; None is empty, numbers are written as Postfix would read them."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TableError("%s must be a string, not %s" % (where, type(value).__name__))
    return str(value)


def resolve_tables(tables: Any, defaults: Any, config_dir: Any) -> list[dict[str, Any]]:
    """Every table combined with the shared settings, with its file, its map and whether it holds a secret.

    ``defaults`` holds the shared settings (the role's ``__ldap_aliases_table_defaults``);
    a table's own keys win. Each result adds ``path`` (``<config_dir>/ldap-<name>.cf``),
    ``map`` (``[proxy:]ldap:<path>``) and ``secret`` (it binds with a password).
    """
    if not isinstance(tables, (list, tuple)):
        raise TableError("the tables must be a list, not %s" % type(tables).__name__)
    if not isinstance(defaults, dict):
        raise TableError("the shared settings must be a mapping, not %s" % type(defaults).__name__)
    if not isinstance(config_dir, str) or not config_dir.startswith("/"):
        raise TableError("the configuration directory must be an absolute path, not %r" % (config_dir,))
    directory = config_dir.rstrip("/")
    seen: set[str] = set()
    resolved = []
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            raise TableError("table %d must be a mapping, not %s" % (index + 1, type(table).__name__))
        name = table.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise TableError(
                "table %d: name must be letters, digits, '.', '-' or '_' (it becomes ldap-<name>.cf), not %r"
                % (index + 1, name)
            )
        if name in seen:
            raise TableError("table %s is listed twice" % name)
        seen.add(name)
        merged = dict(defaults)
        merged.update(table)
        where = "table %s: " % name
        state = merged.get("state", "present")
        if state not in STATES:
            raise TableError("%sstate must be one of %s, not %r" % (where, ", ".join(STATES), state))
        maps = merged.get("maps", [])
        if maps is None:
            maps = []
        if isinstance(maps, str) or not isinstance(maps, (list, tuple)):
            raise TableError("%smaps must be a list of %s, not %r" % (where, ", ".join(MAP_PARAMETERS), maps))
        unknown = [m for m in maps if m not in MAP_PARAMETERS]
        if unknown:
            raise TableError("%smaps may hold only %s, not %r" % (where, ", ".join(MAP_PARAMETERS), unknown))
        proxy = _flag(merged.get("proxy", False), where + "proxy")
        bind = _flag(merged.get("bind", False), where + "bind")
        # Named, never shown: it is the password.
        bind_pw = _text(merged.get("bind_pw"), where + "bind_pw")
        path = "%s/ldap-%s.cf" % (directory, name)
        merged.update(
            state=state,
            maps=list(dict.fromkeys(maps)),
            proxy=proxy,
            bind=bind,
            bind_pw=bind_pw,
            probe=_text(merged.get("probe"), where + "probe"),
            path=path,
            map=("proxy:" if proxy else "") + "ldap:" + path,
            secret=bind and len(bind_pw) > 0,
        )
        resolved.append(merged)
    return resolved


def _checked(resolved: Any) -> list[dict[str, Any]]:
    if not isinstance(resolved, (list, tuple)):
        raise TableError("expected the resolved tables (a list), not %s" % type(resolved).__name__)
    for table in resolved:
        if not isinstance(table, dict) or not {"name", "state", "maps", "map", "probe"} <= set(table):
            raise TableError("expected tables resolved by ldap_aliases_tables")
    return list(resolved)


def probes(resolved: Any) -> list[dict[str, str]]:
    """The present tables that have a probe key, as ``{name, probe}``: what may be shown of them."""
    return [
        {"name": t["name"], "probe": t["probe"]}
        for t in _checked(resolved)
        if t["state"] == "present" and len(t["probe"]) > 0
    ]


def registration(resolved: Any) -> dict[str, list[str]]:
    """The maps to register for the postfix role: per parameter, the present tables' maps in table order.

    Absent tables are simply left out, so the postfix role drops their maps from main.cf.
    """
    tables = [t for t in _checked(resolved) if t["state"] == "present"]
    return {
        parameter: list(dict.fromkeys(t["map"] for t in tables if parameter in t["maps"]))
        for parameter in MAP_PARAMETERS
    }
