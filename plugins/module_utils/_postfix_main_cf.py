# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main.cf text from the postfix role's settings: one ``name = value`` line per parameter.

Pure functions; plugins/filter/postfix_main_cf.py exposes them to the role's
main.cf template, and tests/unit covers them.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class MainCfError(ValueError):
    """A parameter name or value that main.cf cannot hold."""


def main_cf_value(name: str, value: Any) -> str:
    """A value as main.cf writes it: yes/no for booleans, lists joined with ", ", text as it is."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (str, int, float)):
        text = str(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if item is None or isinstance(item, (dict, list, tuple, bool)):
                raise MainCfError("%s: a list item must be a string or a number, not %r" % (name, item))
        text = ", ".join(str(item) for item in value)
    else:
        raise MainCfError("%s: expected a string, number, boolean or list, not %s" % (name, type(value).__name__))
    if "\n" in text or "\r" in text:
        raise MainCfError("%s: a main.cf value must be one line, not %r" % (name, text))
    return text


def render_main_cf(settings: Any) -> str:
    """The main.cf lines for the settings in their order; a None value drops the parameter."""
    if not isinstance(settings, dict):
        raise MainCfError("expected a dict of main.cf parameters, not %s" % type(settings).__name__)
    lines = []
    for name, value in settings.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise MainCfError("%r is not a Postfix parameter name" % (name,))
        if value is None:
            continue
        text = main_cf_value(name, value)
        lines.append("%s =%s\n" % (name, " " + text if text else ""))
    return "".join(lines)


_ALIASES_FILE = re.compile(r"^[a-z0-9]+:/etc/aliases$")
# The TLS settings that do not depend on the role's variables.
_TLS_FIXED = {"smtpd_tls_auth_only": True, "smtpd_tls_mandatory_ciphers": "high", "tls_preempt_cipherlist": True,
              "smtp_tls_security_level": "may"}
_DOVECOT_LMTP = "lmtp:unix:private/dovecot-lmtp"


def _unique(items: list) -> list:
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _required(inputs: dict, name: str) -> Any:
    if name not in inputs:
        raise MainCfError("the settings need %r" % name)
    return inputs[name]


def _list(inputs: dict, name: str) -> list:
    value = inputs.get(name) or []
    if not isinstance(value, (list, tuple)):
        raise MainCfError("%s must be a list, not %s" % (name, type(value).__name__))
    return list(value)


def _registered(inputs: dict, parameter: str) -> list:
    maps: list = []
    for entry in _list(inputs, "registered"):
        if not isinstance(entry, dict):
            raise MainCfError("a registration in mailhost.d must be a dict, not %r" % (entry,))
        value = entry.get(parameter, [])
        if not isinstance(value, (list, tuple)):
            raise MainCfError("a registration's %s must be a list of maps, not %r" % (parameter, value))
        for item in value:
            if not isinstance(item, str) or not item.strip() or "\n" in item:
                raise MainCfError("a registration's %s entries must be one-line strings, not %r" % (parameter, item))
        maps.extend(value)
    return maps


_MILTER_LISTS = ("smtpd_milters", "non_smtpd_milters")
_MILTER_SCALARS = ("milter_default_action", "milter_protocol")
_DEFAULT_RECIPIENT_RESTRICTIONS = ["permit_mynetworks", "reject_unauth_destination"]
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
_SERVICE_COLUMNS = {"private": "-", "unpriv": "-", "chroot": "-", "wakeup": "-", "maxproc": "-"}


def _registered_scalars(inputs: dict, group: str, names: tuple) -> dict:
    """One value per name from every registration's ``group`` dict; two registrations may not disagree."""
    values: dict = {}
    for entry in _list(inputs, "registered"):
        if not isinstance(entry, dict):
            raise MainCfError("a registration in mailhost.d must be a dict, not %r" % (entry,))
        given = entry.get(group, {})
        if not isinstance(given, dict):
            raise MainCfError("a registration's %s must be a dict, not %r" % (group, given))
        for name, value in given.items():
            if names and name not in names:
                raise MainCfError("a registration's %s may set %s, not %r" % (group, ", ".join(names), name))
            if not isinstance(name, str) or not _NAME.match(name):
                raise MainCfError("a registration's %s: %r is not a Postfix parameter name" % (group, name))
            main_cf_value(name, value)
            if name in values and values[name] != value:
                raise MainCfError("two registrations set %s to %r and %r" % (name, values[name], value))
            values[name] = value
    return values


def recipient_restrictions(own: list, added: list) -> list:
    """The recipient restrictions with registered entries after reject_unauth_destination.

    An empty own list starts from permit_mynetworks, reject_unauth_destination, so
    a registered check never runs for the host's own clients nor before relay control.
    """
    base = list(own) or list(_DEFAULT_RECIPIENT_RESTRICTIONS)
    added = [item for item in _unique(added) if item not in base]
    if not added:
        return base
    if "reject_unauth_destination" in base:
        at = base.index("reject_unauth_destination") + 1
        return base[:at] + added + base[at:]
    return base + added


def registered_services(registered: Any) -> list:
    """The master.cf services other roles registered (``master_cf``), checked, with the columns' defaults."""
    if not isinstance(registered, (list, tuple)):
        raise MainCfError("registered must be a list, not %s" % type(registered).__name__)
    services: list = []
    seen: dict = {}
    for entry in registered:
        if not isinstance(entry, dict):
            raise MainCfError("a registration in mailhost.d must be a dict, not %r" % (entry,))
        given = entry.get("master_cf", [])
        if not isinstance(given, (list, tuple)):
            raise MainCfError("a registration's master_cf must be a list of services, not %r" % (given,))
        for service in given:
            if not isinstance(service, dict):
                raise MainCfError("a registered master.cf service must be a dict, not %r" % (service,))
            name, kind, command = service.get("service"), service.get("type"), service.get("command")
            if not isinstance(name, str) or not _SERVICE_NAME.match(name):
                raise MainCfError("a registered master.cf service needs a service name, not %r" % (name,))
            if kind not in _SERVICE_TYPES:
                raise MainCfError("master.cf service %s: type must be one of %s, not %r"
                                  % (name, ", ".join(_SERVICE_TYPES), kind))
            if not isinstance(command, str) or not command.strip():
                raise MainCfError("master.cf service %s/%s needs a command" % (name, kind))
            args = service.get("args", [])
            if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
                raise MainCfError("master.cf service %s/%s: args must be a list of strings" % (name, kind))
            resolved = dict(_SERVICE_COLUMNS, service=name, type=kind, command=command, args=list(args))
            for column in _SERVICE_COLUMNS:
                if column in service:
                    resolved[column] = str(service[column])
            for text in [resolved[c] for c in _SERVICE_COLUMNS] + [command] + list(args):
                if "\n" in text or "\r" in text:
                    raise MainCfError("master.cf service %s/%s: %r must be one line" % (name, kind, text))
            key = "%s/%s" % (name, kind)
            if key in seen:
                if seen[key] != resolved:
                    raise MainCfError("two registrations define master.cf service %s differently" % key)
                continue
            seen[key] = resolved
            services.append(resolved)
    return services


def compose_main_cf(inputs: Any) -> dict:
    """The main.cf parameters, in order, from the postfix role's variables.

    ``inputs`` holds the role's values under short names: the guide's settings
    (compatibility_level, mydomain, myhostname, myorigin, mydestination,
    mynetworks, inet_interfaces, inet_protocols, relayhost, notify_classes),
    mode, platform (the OS's own main.cf settings), the restriction lists, the
    maps (alias_maps, virtual_alias_maps, registered, tables with
    table_entries, db_type, config_directory), TLS (tls, tls_cert, tls_key, tls_chain,
    smtpd_tls_security_level, tls_protocols, tls_exclude_ciphers,
    tls_mandatory_exclude_ciphers, tls_ca_path, and optionally tls_ciphers and
    tls_mandatory_ciphers, the grades of the TLS profiles), dovecot_integration,
    dovecot_lmtp, and main_cf, the user's parameters, which win over all.
    """
    if not isinstance(inputs, dict):
        raise MainCfError("expected a dict of the role's settings, not %s" % type(inputs).__name__)
    mode = _required(inputs, "mode")
    if mode not in ("server", "loopback-only", "null-client"):
        raise MainCfError("mode must be server, loopback-only or null-client, not %r" % (mode,))
    db = _required(inputs, "db_type")
    directory = _required(inputs, "config_directory")
    cf: dict = {name: _required(inputs, name) for name in (
        "compatibility_level", "mydomain", "myhostname", "myorigin", "mydestination", "mynetworks",
        "inet_interfaces", "inet_protocols", "relayhost", "notify_classes")}
    if mode in ("loopback-only", "null-client"):
        cf["inet_interfaces"] = "loopback-only"
    if mode == "null-client":
        cf.update(mydestination="", local_transport="error:local delivery is disabled")
    platform = inputs.get("platform") or {}
    if not isinstance(platform, dict):
        raise MainCfError("platform must be a dict, not %s" % type(platform).__name__)
    cf.update(platform)
    cf["smtpd_relay_restrictions"] = _required(inputs, "smtpd_relay_restrictions")
    own_recipient = _list(inputs, "smtpd_recipient_restrictions")
    added_recipient = _registered(inputs, "smtpd_recipient_restrictions")
    if own_recipient or added_recipient:
        cf["smtpd_recipient_restrictions"] = recipient_restrictions(own_recipient, added_recipient)

    # Lookup tables: ours first, then what other roles registered.
    own_aliases = _list(inputs, "alias_maps")
    cf["alias_maps"] = _unique(own_aliases + _registered(inputs, "alias_maps"))
    cf["alias_database"] = next((m for m in own_aliases if _ALIASES_FILE.match(str(m))), "%s:/etc/aliases" % db)
    entries = inputs.get("table_entries") or {}
    if not isinstance(entries, dict):
        raise MainCfError("table_entries must be a dict of table name to entries, not %s" % type(entries).__name__)
    in_use = {name for name, table in entries.items() if table}
    own_virtual = ["%s:%s/virtual" % (db, directory)] if "virtual" in in_use else []
    virtual = _unique(_list(inputs, "virtual_alias_maps") + own_virtual + _registered(inputs, "virtual_alias_maps"))
    if virtual:
        cf["virtual_alias_maps"] = virtual
    for table in _list(inputs, "tables"):
        name, parameter = table["name"], table["parameter"]
        if name == "virtual" or name not in in_use:
            continue
        prefix = "check_client_access " if name == "access" else ""
        cf[parameter] = "%s%s:%s/%s" % (prefix, db, directory, name)

    if inputs.get("tls"):
        key, cert, chain = (_required(inputs, n) for n in ("tls_key", "tls_cert", "tls_chain"))
        if chain:
            cf["smtpd_tls_chain_files"] = [key, cert, chain]
        else:
            cf.update(smtpd_tls_cert_file=cert, smtpd_tls_key_file=key)
        protocols = _required(inputs, "tls_protocols")
        cf.update(
            smtpd_tls_security_level=_required(inputs, "smtpd_tls_security_level"),
            smtpd_tls_auth_only=_TLS_FIXED["smtpd_tls_auth_only"],
            smtpd_tls_protocols=protocols,
            smtpd_tls_mandatory_protocols=protocols,
        )
        # The grades of the TLS profiles (module_utils/_tls_profile.py); the
        # exclusions of port 25 apply to the mandatory ports too.
        if inputs.get("tls_ciphers"):
            cf["smtpd_tls_ciphers"] = inputs["tls_ciphers"]
        cf.update(
            smtpd_tls_exclude_ciphers=_required(inputs, "tls_exclude_ciphers"),
            smtpd_tls_mandatory_ciphers=(inputs.get("tls_mandatory_ciphers")
                                         or _TLS_FIXED["smtpd_tls_mandatory_ciphers"]),
            smtpd_tls_mandatory_exclude_ciphers=_required(inputs, "tls_mandatory_exclude_ciphers"),
            tls_preempt_cipherlist=_TLS_FIXED["tls_preempt_cipherlist"],
            smtp_tls_security_level=_TLS_FIXED["smtp_tls_security_level"],
            smtp_tls_CApath=_required(inputs, "tls_ca_path"),
            smtp_tls_protocols=protocols,
            smtp_tls_mandatory_protocols=protocols,
        )
    if inputs.get("dovecot_integration"):
        cf.update(smtpd_sasl_type="dovecot", smtpd_sasl_path="private/auth")
        if inputs.get("dovecot_lmtp"):
            cf.update(mailbox_transport=_DOVECOT_LMTP, virtual_transport=_DOVECOT_LMTP)
    # Milters and plain parameters other roles registered; the user's main_cf still wins.
    for name in _MILTER_LISTS:
        milters = _unique(_registered(inputs, name))
        if milters:
            cf[name] = milters
    cf.update(_registered_scalars(inputs, "milter_settings", _MILTER_SCALARS))
    for name, value in _registered_scalars(inputs, "parameters", ()).items():
        if name in cf:
            raise MainCfError("a registration's parameters may not set %s, which the postfix role sets" % name)
        cf[name] = value
    main_cf = inputs.get("main_cf") or {}
    if not isinstance(main_cf, dict):
        raise MainCfError("main_cf must be a dict, not %s" % type(main_cf).__name__)
    cf.update(main_cf)
    return cf
