# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Postfix policy checks on the role's variables: list values, mynetworks, and the open-relay verdict.

Pure functions over plain values; plugins/filter/postfix_policy.py exposes them
to the postfix role's validate_vars.yml, and tests/unit covers them.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

# A rule that stops relaying for clients the earlier rules did not permit.
RELAY_STOPPERS = ("reject_unauth_destination", "defer_unauth_destination", "reject", "defer")
# Rules that permit every client: permit itself, and permit_naked_ip_address,
# which the client satisfies by its own HELO.
RELAY_OPENERS = ("permit", "permit_naked_ip_address")
# Postfix's own smtpd_relay_restrictions when the parameter is not set.
RELAY_DEFAULT = ("permit_mynetworks", "permit_sasl_authenticated", "defer_unauth_destination")

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_NETWORK = re.compile(
    r"^!?(" + r"(" + _OCTET + r"\.){3}" + _OCTET + r"(/([0-9]|[12][0-9]|3[0-2]))?"  # IPv4[/len]
    r"|\[[0-9A-Fa-f:.]+\](/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?"  # [IPv6][/len]
    r"|/\S+"  # a file of networks
    r"|[a-z0-9_]+:\S+"  # type:table
    r")$"
)
# A /0 network without "!", whatever its address: 0.0.0.0/0, ::/0, [::]/0.
_EVERY_CLIENT = re.compile(r"^\[?[0-9A-Fa-f:.]*\]?/0+$")
_TOKEN = re.compile(r"[^\s,]+")


class PolicyError(ValueError):
    """A value that is not what a Postfix list parameter can hold."""


def postfix_list(value: Any) -> list[str]:
    """The items of a Postfix list parameter given as None, a string or a list (commas or blanks separate)."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _TOKEN.findall(str(value))
    if isinstance(value, (list, tuple)):
        items: list[str] = []
        for item in value:
            if isinstance(item, (dict, list, tuple)) or item is None or isinstance(item, bool):
                raise PolicyError("a list item must be a string, not %r" % (item,))
            items.extend(_TOKEN.findall(str(item)))
        return items
    raise PolicyError("expected a string or a list, not %s" % type(value).__name__)


def open_networks(networks: Any) -> list[str]:
    """The mynetworks entries that match every client address (an open relay)."""
    return [n for n in postfix_list(networks) if _EVERY_CLIENT.match(n)]


def bad_networks(networks: Any) -> list[str]:
    """The mynetworks entries that are not a CIDR network, [IPv6]/len, /file or type:table."""
    return [n for n in postfix_list(networks) if not _NETWORK.match(n)]


# The widest public network mynetworks may hold without
# postfix_mynetworks_allow_wide: every address in it may relay.
WIDE_PREFIX = {4: 24, 6: 48}
# Not public, whatever their length: loopback, link-local, RFC 1918 / ULA and
# the other ranges Python's ipaddress calls private, and shared address space
# (RFC 6598, carrier-grade NAT), which is_private does not include.
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def _parse_network(entry: str):
    """The network of a mynetworks entry, or None for !negations, files, tables and what is not a network."""
    if entry.startswith("!") or not _NETWORK.match(entry) or entry.startswith("/") or re.match(r"^[a-z0-9_]+:", entry):
        return None
    address, _sep, length = entry.partition("/")
    address = address.strip("[]")
    try:
        return ipaddress.ip_network("%s/%s" % (address, length) if length else address, strict=False)
    except ValueError:
        return None


def wide_networks(networks: Any) -> list[str]:
    """The mynetworks entries wider than the bound: a public IPv4 network shorter than /24, IPv6 shorter than /48.

    Public means not loopback, link-local, private (RFC 1918, ULA and the
    other ranges ipaddress calls private) or shared address space (100.64/10).
    Negated entries, files and tables are not looked at; /0 is refused by
    open_networks and malformed entries by bad_networks.
    """
    wide = []
    for entry in postfix_list(networks):
        network = _parse_network(entry)
        if network is None or network.prefixlen == 0:
            continue
        if network.is_loopback or network.is_link_local or network.is_private:
            continue
        if network.version == 4 and network.subnet_of(_SHARED):
            continue
        if network.prefixlen < WIDE_PREFIX[network.version]:
            wide.append(entry)
    return wide


_PARAMETER_REFERENCE = re.compile(r"\$(?:\{|\()?([A-Za-z0-9_]+)")


def unknown_parameters(main_cf: Any, known: Any, services: Any = None) -> list[str]:
    """The names in ``main_cf`` that Postfix does not know, in order.

    ``known`` is what ``postconf -d`` names (a list, or its text with one
    ``name = value`` or bare name a line). A name is also known when it is a
    master.cf service name followed by ``_`` (per-service parameters such as
    ``relay_destination_concurrency_limit``; ``services`` lists the service
    names), or when another main.cf value refers to it as ``$name``: a
    parameter of the user's own, which Postfix accepts for the same reason.
    Postfix itself only warns about an unknown name ("unused parameter") and
    ignores it, so a misspelt setting would silently not apply.
    """
    if not isinstance(main_cf, dict):
        raise PolicyError("expected a dict of main.cf parameters, not %s" % type(main_cf).__name__)
    if isinstance(known, str):
        known = known.splitlines()
    if not isinstance(known, (list, tuple, set)):
        raise PolicyError("expected the known parameter names as a list or postconf output, not %s"
                          % type(known).__name__)
    names = {str(line).split("=", 1)[0].strip() for line in known if line}
    prefixes = tuple("%s_" % s for s in (services or []) if isinstance(s, str) and s)
    referenced = set()
    for value in main_cf.values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, str):
                referenced.update(_PARAMETER_REFERENCE.findall(item))
    return [str(name) for name in main_cf
            if str(name) not in names and str(name) not in referenced and not str(name).startswith(prefixes)]


def relay_verdict(relay_restrictions: Any, recipient_restrictions: Any = None) -> dict[str, str]:
    """Decide whether the restriction lists make an open relay, the way smtpd reads them.

    Postfix reads the list from left to right and the first rule that decides
    wins: relaying is refused only if a stopping rule is reached before any
    rule that permits every client; a stopping rule behind warn_if_reject does
    not stop. None means the parameter is not set (Postfix's default for
    smtpd_relay_restrictions); an empty smtpd_relay_restrictions makes Postfix
    decide relaying with smtpd_recipient_restrictions, which is then checked.

    Returns ``{"verdict": "stop"|"open"|"none", "rule": ..., "parameter": ..., "rules": [...]}``.
    """
    relay = list(RELAY_DEFAULT) if relay_restrictions is None else postfix_list(relay_restrictions)
    if relay:
        parameter, rules = "smtpd_relay_restrictions", relay
    else:
        parameter, rules = "smtpd_recipient_restrictions", postfix_list(recipient_restrictions)
    previous = ""
    for rule in (r.lower() for r in rules):
        if rule in RELAY_OPENERS:
            return {"verdict": "open", "rule": rule, "parameter": parameter, "rules": rules}
        if rule in RELAY_STOPPERS and previous != "warn_if_reject":
            return {"verdict": "stop", "rule": rule, "parameter": parameter, "rules": rules}
        previous = rule
    return {"verdict": "none", "rule": "", "parameter": parameter, "rules": rules}


# Postfix's own values of the parameters origin_route reads, for a parameter
# that main.cf does not set (None).
ORIGIN_DEFAULTS = {
    "myorigin": "$myhostname",
    "mydestination": "$myhostname, localhost.$mydomain, localhost",
    "relayhost": "",
}
_EXPANSION = re.compile(r"\$(\{(?P<braced>[a-z0-9_]+)\}|(?P<plain>[a-z0-9_]+))")


def _expand(value: str, names: dict[str, str]) -> str:
    """$name and ${name} replaced for the parameters in names; others are left as they are."""
    def replace(match: re.Match) -> str:
        name = match.group("braced") or match.group("plain")
        return names.get(name, match.group(0))
    return _EXPANSION.sub(replace, value)


def _domain(value: str) -> str:
    return value.strip().rstrip(".").lower()


def origin_route(settings: Any, transport: Any = None) -> dict[str, str]:
    """Where mail to an unqualified local user goes: the domain of myorigin and the route for it.

    ``settings`` holds main.cf values (strings or lists; None or a missing key
    means Postfix's default): myorigin, mydomain, myhostname, mydestination,
    relayhost, virtual_alias_domains, virtual_mailbox_domains, relay_domains.
    ``transport`` is the transport table (key -> next hop).

    The route is ``local`` (a mydestination domain), ``relayhost``,
    ``transport`` (an entry for the domain or ``*``), ``virtual`` (a virtual
    alias or mailbox domain), ``relay_domains``, ``unknown`` (a table or a
    parameter this check cannot read decides) or ``none``: the mail goes to the
    domain's MX over smtp, and where that is not this host's own setup, the
    bounce and the double bounce go the same way and the message is lost.
    """
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise PolicyError("expected a dict of main.cf settings, not %s" % type(settings).__name__)
    if transport is None:
        transport = {}
    if not isinstance(transport, dict):
        raise PolicyError("expected the transport table as a dict, not %s" % type(transport).__name__)

    def value(name: str) -> str:
        raw = settings.get(name)
        if raw is None:
            raw = ORIGIN_DEFAULTS.get(name, "")
        return ", ".join(postfix_list(raw))

    names = {"myhostname": _domain(value("myhostname")), "mydomain": _domain(value("mydomain"))}
    origin = _domain(_expand(value("myorigin"), names))
    result = {"domain": origin, "route": "none", "detail": ""}
    if not origin or "$" in origin or "/" in origin or ":" in origin:
        result.update(route="unknown", detail="myorigin = %s" % value("myorigin"))
        return result

    destinations = [_expand(d, names) for d in postfix_list(value("mydestination"))]
    if origin in (_domain(d) for d in destinations):
        result.update(route="local", detail="mydestination")
        return result
    if value("relayhost"):
        result.update(route="relayhost", detail=value("relayhost"))
        return result
    keys = {_domain(str(k)) for k in transport}
    if origin in keys or "*" in keys:
        result.update(route="transport", detail="transport_maps")
        return result
    for name, route in (("virtual_alias_domains", "virtual"), ("virtual_mailbox_domains", "virtual"),
                        ("relay_domains", "relay_domains")):
        if origin in (_domain(_expand(d, names)) for d in postfix_list(value(name))):
            result.update(route=route, detail=name)
            return result
    # A table, a file or an unexpanded parameter could still name the domain.
    for name in ("mydestination", "virtual_alias_domains", "virtual_mailbox_domains", "relay_domains"):
        for item in postfix_list(value(name)):
            item = _expand(item, names)
            if "$" in item or item.startswith("/") or ":" in item:
                result.update(route="unknown", detail="%s has %s" % (name, item))
                return result
    return result
