"""The mta_switch role's probe reading: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.mta_switch_probes import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._mta_switch import (
    ProbeError,
    program_faults,
    program_owner,
    results_by_item,
)

FILTERS = FilterModule().filters()

SENDMAIL = "/usr/sbin/sendmail"
# vars/Debian.yml and vars/default.yml (Fedora).
DEBIAN = {
    "postfix": {SENDMAIL: SENDMAIL, "/usr/bin/mailq": SENDMAIL, "/usr/bin/newaliases": SENDMAIL},
    "sendmail": {SENDMAIL: "/usr/libexec/sendmail/sendmail", "/usr/bin/mailq": "/usr/share/sendmail/sendmail",
                 "/usr/sbin/newaliases": "/usr/share/sendmail/sendmail"},
}
FEDORA = {
    "postfix": {SENDMAIL: "/usr/sbin/sendmail.postfix", "/usr/bin/mailq": "/usr/bin/mailq.postfix"},
    "sendmail": {SENDMAIL: "/usr/sbin/sendmail.sendmail", "/usr/bin/mailq": "/usr/bin/mailq.sendmail"},
}


def stat(inode=None, link=None):
    """A stat result: a file with this inode (None: missing); with link, an lstat of a link to it."""
    if inode is None:
        return {"exists": False}
    result = {"exists": True, "dev": 2049, "inode": inode, "islnk": link is not None}
    if link is not None:
        result["lnk_source"] = link
    return result


def registered(attribute, values, **extra):
    return {"changed": False, "msg": "All items completed",
            "results": [dict({"item": item, attribute: value, "ansible_loop_var": "item"}, **extra)
                        for item, value in values.items()]}


# results_by_item


def test_results_by_item_groups_a_registered_loop():
    probe = registered("status", {"postfix.service": {"ActiveState": "active", "LoadState": "loaded"},
                                  "sendmail.service": {"ActiveState": "inactive", "LoadState": "not-found"}})
    assert results_by_item(probe, "status.ActiveState") == {"postfix.service": "active",
                                                            "sendmail.service": "inactive"}
    assert results_by_item(probe["results"], "status.LoadState") == {"postfix.service": "loaded",
                                                                     "sendmail.service": "not-found"}
    assert results_by_item(probe, "status") == {"postfix.service": probe["results"][0]["status"],
                                                "sendmail.service": probe["results"][1]["status"]}


def test_results_by_item_follows_the_loop_var():
    probe = {"results": [{"path_item": "/a", "ansible_loop_var": "path_item", "stat": {"exists": True}}]}
    assert results_by_item(probe, "stat") == {"/a": {"exists": True}}


def test_results_by_item_of_an_empty_loop():
    assert results_by_item({"results": [], "skipped": True}, "stat") == {}


@pytest.mark.parametrize(("value", "attribute", "message"), [
    ("text", "stat", "result of a loop"),
    ({"stat": {"exists": True}}, "stat", "result of a loop"),  # a task without a loop
    (None, "stat", "result of a loop"),
    ({"results": ["x"]}, "stat", "must be a mapping"),
    ({"results": [{"stat": {}}]}, "stat", "has no 'item'"),
    ({"results": [{"item": {"name": "a"}, "stat": {}}]}, "stat", "must be strings"),
    ({"results": [{"item": True, "stat": {}}]}, "stat", "must be strings"),
    ({"results": [{"item": "/a", "stat": {}}, {"item": "/a", "stat": {}}]}, "stat", "appears twice"),
    ({"results": [{"item": "/a", "skipped": True}]}, "stat", "skipped"),
    ({"results": [{"item": "u", "status": {}}]}, "status.ActiveState", "has no 'status.ActiveState'"),
    ({"results": [{"item": "u", "status": "active"}]}, "status.ActiveState", "has no"),
    ({"results": []}, "", "non-empty string"),
    ({"results": []}, None, "non-empty string"),
])
def test_results_by_item_refuses_bad_input(value, attribute, message):
    with pytest.raises(ProbeError, match=message):
        results_by_item(value, attribute)


# program_owner


@pytest.mark.parametrize(("programs", "stats", "lstat", "owner"), [
    # Debian on Postfix: /usr/sbin/sendmail is Postfix's own file.
    (DEBIAN, {SENDMAIL: stat(10), "/usr/libexec/sendmail/sendmail": stat(None)}, stat(10), "postfix"),
    # Debian on Sendmail: /usr/sbin/sendmail is a link into sendmail-bin's alternatives; followed it is
    # Sendmail's program, and for Postfix it would have to be a file.
    (DEBIAN, {SENDMAIL: stat(20), "/usr/libexec/sendmail/sendmail": stat(20)},
     stat(30, link="/etc/alternatives/sendmail-mta"), "sendmail"),
    # Debian, Postfix removed while sendmail-bin's own program is still there.
    (DEBIAN, {SENDMAIL: stat(None), "/usr/libexec/sendmail/sendmail": stat(20)}, stat(None), ""),
    # A fresh Debian host: no MTA at all.
    (DEBIAN, {SENDMAIL: stat(None), "/usr/libexec/sendmail/sendmail": stat(None)}, stat(None), ""),
    # Fedora: the mta alternative; links all the way.
    (FEDORA, {SENDMAIL: stat(40), "/usr/sbin/sendmail.postfix": stat(40), "/usr/sbin/sendmail.sendmail": stat(41)},
     stat(50, link="/etc/alternatives/mta"), "postfix"),
    (FEDORA, {SENDMAIL: stat(41), "/usr/sbin/sendmail.postfix": stat(40), "/usr/sbin/sendmail.sendmail": stat(41)},
     stat(50, link="/etc/alternatives/mta"), "sendmail"),
    # Fedora with only Sendmail installed.
    (FEDORA, {SENDMAIL: stat(41), "/usr/sbin/sendmail.postfix": stat(None), "/usr/sbin/sendmail.sendmail": stat(41)},
     stat(50, link="/etc/alternatives/mta"), "sendmail"),
    # Some other MTA's program (exim, nullmailer).
    (FEDORA, {SENDMAIL: stat(60), "/usr/sbin/sendmail.postfix": stat(40), "/usr/sbin/sendmail.sendmail": stat(41)},
     stat(60), ""),
])
def test_program_owner(programs, stats, lstat, owner):
    assert program_owner(stats, programs, {SENDMAIL: lstat}) == owner


def test_program_owner_compares_the_device_too():
    stats = {SENDMAIL: stat(40), "/usr/sbin/sendmail.postfix": dict(stat(40), dev=1),
             "/usr/sbin/sendmail.sendmail": stat(None)}
    assert program_owner(stats, FEDORA, {SENDMAIL: stat(50, link="/etc/alternatives/mta")}) == ""


def test_program_owner_of_another_program():
    stats = {"/usr/bin/mailq": stat(7), "/usr/bin/mailq.postfix": stat(8), "/usr/bin/mailq.sendmail": stat(7)}
    assert program_owner(stats, FEDORA, {}, program="/usr/bin/mailq") == "sendmail"


@pytest.mark.parametrize(("stats", "programs", "lstats", "message"), [
    ({}, DEBIAN, {SENDMAIL: stat(10)}, "no stat result for /usr/sbin/sendmail"),
    ({SENDMAIL: stat(10)}, FEDORA, {}, "no stat result for /usr/sbin/sendmail.postfix"),
    ([], DEBIAN, {}, "mapping of path"),
    ({SENDMAIL: {"path": SENDMAIL}}, DEBIAN, {}, "no stat result"),  # no "exists"
    ({SENDMAIL: {"exists": True}, "/usr/libexec/sendmail/sendmail": stat(1)}, DEBIAN, {SENDMAIL: stat(1)},
     "no dev and inode"),
    # Postfix's own program on Debian: it may be a link, so its lstat is needed.
    ({SENDMAIL: stat(10)}, DEBIAN, {}, "without links followed have no stat result"),
    ({SENDMAIL: stat(10)}, DEBIAN, None, "without links followed must be a mapping"),
    ({SENDMAIL: stat(10)}, ["postfix"], {}, "mapping of MTA"),
    ({SENDMAIL: stat(10)}, {"postfix": {"/usr/bin/mailq": SENDMAIL}}, {}, "do not name its own /usr/sbin/sendmail"),
    ({SENDMAIL: stat(10)}, {"postfix": SENDMAIL}, {}, "do not name its own"),
])
def test_program_owner_refuses_incomplete_probes(stats, programs, lstats, message):
    with pytest.raises(ProbeError, match=message):
        program_owner(stats, programs, lstats)


# program_faults


def test_program_faults_none_when_every_program_leads_to_its_own():
    stats = {SENDMAIL: stat(10), "/usr/bin/mailq": stat(10), "/usr/bin/newaliases": stat(10)}
    assert program_faults(DEBIAN["postfix"], stats, {SENDMAIL: stat(10)}) == []


@pytest.mark.parametrize(("stats", "lstats", "faults"), [
    ({SENDMAIL: stat(10), "/usr/bin/mailq": stat(None), "/usr/bin/newaliases": stat(10)}, {SENDMAIL: stat(10)},
     ["/usr/bin/mailq is missing"]),
    ({SENDMAIL: stat(None), "/usr/bin/mailq": stat(None), "/usr/bin/newaliases": stat(None)},
     {SENDMAIL: stat(None)},
     ["/usr/sbin/sendmail is missing", "/usr/bin/mailq is missing", "/usr/bin/newaliases is missing"]),
    # /usr/sbin/sendmail still a link to Sendmail's alternatives after the switch to Postfix.
    ({SENDMAIL: stat(20), "/usr/bin/mailq": stat(20), "/usr/bin/newaliases": stat(20)},
     {SENDMAIL: stat(30, link="/etc/alternatives/sendmail-mta")},
     ["/usr/sbin/sendmail is a link to /etc/alternatives/sendmail-mta, not the MTA's own program"]),
    # mailq leads to another file than the own program (whose own stat says nothing more).
    ({SENDMAIL: stat(10), "/usr/bin/mailq": stat(20), "/usr/bin/newaliases": stat(10)}, {SENDMAIL: stat(10)},
     ["/usr/bin/mailq does not lead to /usr/sbin/sendmail"]),
])
def test_program_faults_say_why(stats, lstats, faults):
    assert program_faults(DEBIAN["postfix"], stats, lstats) == faults


def test_program_faults_name_the_link_and_a_missing_own_program():
    programs = FEDORA["postfix"]
    stats = {SENDMAIL: stat(41), "/usr/sbin/sendmail.postfix": stat(40),
             "/usr/bin/mailq": stat(42), "/usr/bin/mailq.postfix": stat(None)}
    lstats = {SENDMAIL: stat(50, link="/usr/sbin/sendmail.sendmail")}
    assert program_faults(programs, stats, lstats) == [
        "/usr/sbin/sendmail does not lead to /usr/sbin/sendmail.postfix (it is a link to /usr/sbin/sendmail.sendmail)",
        "/usr/bin/mailq does not lead to /usr/bin/mailq.postfix (missing)",
    ]


@pytest.mark.parametrize(("programs", "stats", "lstats", "message"), [
    ([SENDMAIL], {}, {}, "mapping of program"),
    ({"/usr/bin/mailq": "/usr/bin/mailq.postfix"}, {"/usr/bin/mailq": stat(1)}, {}, "mailq.postfix"),
    ({"/usr/bin/mailq": "/usr/bin/mailq.postfix"}, "stats", {}, "mapping of path"),
])
def test_program_faults_refuse_incomplete_probes(programs, stats, lstats, message):
    with pytest.raises(ProbeError, match=message):
        program_faults(programs, stats, lstats)


# The filters


@pytest.mark.parametrize(("name", "args"), [
    ("mta_switch_results", ("not a loop", "stat")),
    ("mta_switch_owner", ({}, DEBIAN, {})),
    ("mta_switch_program_faults", ([], {}, {})),
])
def test_filters_turn_bad_input_into_a_filter_error(name, args):
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.%s: " % name):
        FILTERS[name](*args)


def test_filters_are_the_core_functions():
    probe = registered("stat", {SENDMAIL: stat(10), "/usr/libexec/sendmail/sendmail": stat(None)})
    stats = FILTERS["mta_switch_results"](probe, "stat")
    assert FILTERS["mta_switch_owner"](stats, DEBIAN, {SENDMAIL: stat(10)}) == "postfix"
    assert FILTERS["mta_switch_program_faults"]({SENDMAIL: SENDMAIL}, stats, {SENDMAIL: stat(10)}) == []
