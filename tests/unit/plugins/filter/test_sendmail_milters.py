"""sendmail.mc mail filter lines from registrations: the pure core and its filter, bad inputs included."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.sendmail_milters import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_milters import MilterError, mail_filter_lines

FILTER = FilterModule().filters()["sendmail_mail_filters"]
DKIM = {"name": "opendkim", "socket": "inet:8891@localhost"}


def test_lines_in_order_with_flags_and_timeouts_and_repeats_merged():
    registered = [{"input_mail_filters": [DKIM, {"name": "opendmarc", "socket": "inet:8893@127.0.0.1", "flags": "T",
                                                 "timeouts": ["S:4m", "E:10m"]}]},
                  {"input_mail_filters": [DKIM]}, {}]
    assert mail_filter_lines(registered) == [
        "INPUT_MAIL_FILTER(`opendkim', `S=inet:8891@localhost')dnl",
        "INPUT_MAIL_FILTER(`opendmarc', `S=inet:8893@127.0.0.1, F=T, T=S:4m;E:10m')dnl",
    ]
    assert mail_filter_lines([]) == []
    assert FILTER([{"input_mail_filters": [dict(DKIM, socket="local:/run/opendkim/opendkim.sock")]}]) == [
        "INPUT_MAIL_FILTER(`opendkim', `S=local:/run/opendkim/opendkim.sock')dnl"]


@pytest.mark.parametrize(("registered", "message"), [
    ({}, "registered must be a list"),
    (["x"], "must be a dict"),
    ([{"input_mail_filters": DKIM}], "input_mail_filters must be a list"),
    ([{"input_mail_filters": ["opendkim"]}], "a mail filter must be a dict"),
    ([{"input_mail_filters": [dict(DKIM, name="open dkim')")]}], "needs a name"),
    ([{"input_mail_filters": [dict(DKIM, socket="inet:localhost:8891")]}], "socket must be"),
    ([{"input_mail_filters": [dict(DKIM, socket="inet:8891@localhost')dnl")]}], "socket must be"),
    ([{"input_mail_filters": [dict(DKIM, flags="X")]}], "flags must be"),
    ([{"input_mail_filters": [dict(DKIM, timeouts="S:4m")]}], "timeouts must be"),
    ([{"input_mail_filters": [dict(DKIM, timeouts=["Q:1"])]}], "timeouts must be"),
    ([{"input_mail_filters": [DKIM]}, {"input_mail_filters": [dict(DKIM, flags="R")]}], "differently"),
])
def test_bad_registrations(registered, message):
    with pytest.raises(MilterError, match=message):
        mail_filter_lines(registered)
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.sendmail_mail_filters"):
        FILTER(registered)
