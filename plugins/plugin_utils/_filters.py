# This file is private to the mailhost.mail collection; it is not a public API and may change at any time.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way this collection's filter plugins wrap their pure cores in module_utils."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def _filter(name, function, error):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except error as exc:
            raise AnsibleFilterError("mailhost.mail.%s: %s" % (name, exc)) from exc
    call.__name__ = name
    call.__doc__ = function.__doc__
    return call


def filter_map(error, **functions):
    """Filter name -> the function, with ``error`` raised as an AnsibleFilterError naming the filter."""
    return {name: _filter(name, function, error) for name, function in functions.items()}
