# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addresses a candidate sendmail.cf must resolve, and where each must be routed.

Pure functions over plain values; plugins/filter/sendmail_routes.py exposes them
to the sendmail role (vars/main.yml, tasks/sendmail_cf.yml), and tests/unit covers them.

``sendmail -bt`` prints one ``mailer ..., user ...`` line for each ``/parse <address>``.
The role joins those lines with ``"; "`` and matches them against one regex, a
pattern per address in order, so a pattern never crosses a ``;``.
"""

from __future__ import annotations

import re
from typing import Any

# Where each kind of test address must go.
LOCAL_MAILER = "mailer local, [^;]*"
ANY_MAILER_BUT_ERROR = "mailer (?!error,)[^;]*"
# Characters that would end or split the /parse line a test address is fed to sendmail -bt on.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RouteError(ValueError):
    """A test address or probe that the sendmail.cf test cannot use."""


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise RouteError("%s must be a string, not %s" % (what, type(value).__name__))
    if not value.strip():
        raise RouteError("%s is empty" % what)
    if _CONTROL.search(value):
        raise RouteError("%s %r holds a control character (a newline would start another sendmail -bt command)"
                         % (what, value))
    return value


def probe_pattern(target: str) -> str:
    """Where the virtusertable probe must go: any mailer with the entry's target as the user.

    A target that is an address may also be on a local domain, where sendmail
    hands its user part to the local mailer.
    """
    pattern = "mailer [^,;]+, (host [^,;]*, )?user " + re.escape(target)
    if "@" in target:
        pattern += "|mailer local, user " + re.escape(target.split("@")[0])
    return pattern


def cf_routes(test_addresses: Any, local_address: Any = "root", probe: Any = "", probe_target: Any = "") -> dict:
    """The addresses to test a candidate sendmail.cf with, and the route each must take.

    ``test_addresses`` (sendmail_cf_test_addresses) non-empty: each of them, to
    any mailer but error. Empty: ``local_address`` to the local mailer, and the
    virtusertable ``probe`` address, when given, to ``probe_target``.

    Returns ``{"addresses": [...], "patterns": [...], "expected": [...], "regex": ...}``:
    one pattern and one description per address, and the regex the joined
    ``mailer`` lines of ``sendmail -bt`` must match.
    """
    if not isinstance(test_addresses, (list, tuple)):
        raise RouteError("the test addresses must be a list, not %s" % type(test_addresses).__name__)
    if test_addresses:
        addresses = [_address(a, "a test address") for a in test_addresses]
        patterns = [ANY_MAILER_BUT_ERROR] * len(addresses)
        expected = ["%s: any mailer but error" % a for a in addresses]
    else:
        addresses = [_address(local_address, "the local test address")]
        patterns = [LOCAL_MAILER]
        expected = ["%s: the local mailer" % addresses[0]]
        if not isinstance(probe, str):
            raise RouteError("the probe address must be a string, not %s" % type(probe).__name__)
        if probe:
            probe = _address(probe, "the probe address")
            target = _address(probe_target, "the target of the probe %s" % probe)
            addresses.append(probe)
            patterns.append(probe_pattern(target))
            expected.append("%s: the virtusertable target %s" % (probe, target))
    return {
        "addresses": addresses,
        "patterns": patterns,
        "expected": expected,
        "regex": "(?i)^(?:" + "); (?:".join(patterns) + ")$",
    }
