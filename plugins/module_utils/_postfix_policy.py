# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Postfix policy checks on the role's variables: list values, mynetworks, and the open-relay verdict.

Pure functions over plain values; plugins/filter/postfix_policy.py exposes them
to the postfix role's validate_vars.yml, and tests/unit covers them.
"""

from __future__ import annotations

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
