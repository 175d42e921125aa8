# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sendmail.mc INPUT_MAIL_FILTER lines from what other roles registered in /etc/mail/mailhost.d/.

Pure functions; plugins/filter/sendmail_milters.py exposes them to the sendmail role's template.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# local:/path, unix:/path, inet:port@host, inet6:port@host
_SOCKET = re.compile(r"^(?:(?:local|unix):/[^\s,`']+|inet6?:[0-9]{1,5}@[A-Za-z0-9.:_-]+)$")
_FLAGS = ("", "R", "T")
_TIMEOUT = re.compile(r"^[SRET]:[0-9]+[smh]?$")


class MilterError(ValueError):
    """A registered mail filter that sendmail.mc cannot hold."""


def mail_filter_lines(registered: Any) -> list:
    """One INPUT_MAIL_FILTER line per registered filter, in registration order, names unique.

    A registration is a dict whose ``input_mail_filters`` list holds dicts with ``name``,
    ``socket`` (sendmail's form, inet:8891@localhost), optional ``flags`` ("", R: reject
    when the filter is down, T: tempfail; "" accepts) and ``timeouts`` (e.g. ["S:4m", "E:10m"]).
    """
    if not isinstance(registered, (list, tuple)):
        raise MilterError("registered must be a list, not %s" % type(registered).__name__)
    lines: list = []
    seen: dict = {}
    for entry in registered:
        if not isinstance(entry, dict):
            raise MilterError("a registration in /etc/mail/mailhost.d must be a dict, not %r" % (entry,))
        filters = entry.get("input_mail_filters", [])
        if not isinstance(filters, (list, tuple)):
            raise MilterError("input_mail_filters must be a list, not %r" % (filters,))
        for milter in filters:
            if not isinstance(milter, dict):
                raise MilterError("a mail filter must be a dict, not %r" % (milter,))
            name, socket = milter.get("name"), milter.get("socket")
            if not isinstance(name, str) or not _NAME.match(name):
                raise MilterError("a mail filter needs a name of letters, digits, - and _, not %r" % (name,))
            if not isinstance(socket, str) or not _SOCKET.match(socket):
                raise MilterError("mail filter %s: socket must be local:/path or inet:port@host, not %r"
                                  % (name, socket))
            flags = milter.get("flags", "")
            if flags not in _FLAGS:
                raise MilterError("mail filter %s: flags must be '', 'R' or 'T', not %r" % (name, flags))
            timeouts = milter.get("timeouts", [])
            if not isinstance(timeouts, (list, tuple)) or not all(
                    isinstance(t, str) and _TIMEOUT.match(t) for t in timeouts):
                raise MilterError("mail filter %s: timeouts must be a list like ['S:4m', 'E:10m'], not %r"
                                  % (name, timeouts))
            equates = ["S=%s" % socket] + (["F=%s" % flags] if flags else [])
            if timeouts:
                equates.append("T=%s" % ";".join(timeouts))
            line = "INPUT_MAIL_FILTER(`%s', `%s')dnl" % (name, ", ".join(equates))
            if name in seen:
                if seen[name] != line:
                    raise MilterError("two registrations define mail filter %s differently" % name)
                continue
            seen[name] = line
            lines.append(line)
    return lines
