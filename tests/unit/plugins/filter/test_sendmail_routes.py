"""The sendmail role's sendmail.cf route test: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.sendmail_routes import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._sendmail_routes import RouteError, cf_routes

FILTERS = FilterModule().filters()


# The values the role's Jinja computed before the filter, for the molecule scenarios' inputs and a few more:
# the filter must give them byte for byte.
@pytest.mark.parametrize(("args", "addresses", "regex", "expected"), [
    # molecule/sendmail mail host (and its check_mode run): the "@example.com: bob" probe.
    (([], "root", "mailhost-probe@example.com", "bob"),
     ["root", "mailhost-probe@example.com"],
     "(?i)^(?:mailer local, [^;]*); (?:mailer [^,;]+, (host [^,;]*, )?user bob)$",
     ["root: the local mailer", "mailhost-probe@example.com: the virtusertable target bob"]),
    # The role's defaults (the sendmail client): no virtusertable.
    (([], "root", "", ""),
     ["root"], "(?i)^(?:mailer local, [^;]*)$", ["root: the local mailer"]),
    # The probe's target is an address: any mailer with it as the user, or the local mailer with its user part.
    (([], "postmaster", "mailhost-probe@example.org", "mailhost-probe+tag@other.example"),
     ["postmaster", "mailhost-probe@example.org"],
     r"(?i)^(?:mailer local, [^;]*); (?:mailer [^,;]+, (host [^,;]*, )?user mailhost\-probe\+tag@other\.example"
     r"|mailer local, user mailhost\-probe\+tag)$",
     ["postmaster: the local mailer",
      "mailhost-probe@example.org: the virtusertable target mailhost-probe+tag@other.example"]),
    (([], "root", "first.one@example.com", "a.b*c"),
     ["root", "first.one@example.com"],
     r"(?i)^(?:mailer local, [^;]*); (?:mailer [^,;]+, (host [^,;]*, )?user a\.b\*c)$",
     ["root: the local mailer", "first.one@example.com: the virtusertable target a.b*c"]),
    # Explicit addresses replace the automatic ones; the probe is then not used.
    ((["alice@example.com", "bob", "a.b+c@x.example"], "root", "mailhost-probe@example.com", "bob"),
     ["alice@example.com", "bob", "a.b+c@x.example"],
     "(?i)^(?:mailer (?!error,)[^;]*); (?:mailer (?!error,)[^;]*); (?:mailer (?!error,)[^;]*)$",
     ["alice@example.com: any mailer but error", "bob: any mailer but error",
      "a.b+c@x.example: any mailer but error"]),
])
def test_cf_routes_equal_the_former_jinja(args, addresses, regex, expected):
    routes = cf_routes(*args)
    assert routes["addresses"] == addresses
    assert routes["regex"] == regex
    assert routes["expected"] == expected
    assert len(routes["patterns"]) == len(addresses)


@pytest.mark.parametrize(("args", "mailer_lines", "matches"), [
    (([], "root", "mailhost-probe@example.com", "bob"),
     ["mailer local, user root", "mailer local, user bob"], True),
    (([], "root", "mailhost-probe@example.com", "bob"),
     ["mailer local, user root", "mailer local, user bobby"], False),
    (([], "root", "mailhost-probe@example.com", "bob"), ["mailer local, user root"], False),
    (([], "root", "", ""), ["MAILER LOCAL, USER ROOT"], True),
    (([], "root", "", ""), ["mailer esmtp, host example.com., user root@example.com"], False),
    (([], "root", "p@example.org", "x+1@other.example"),
     ["mailer local, user root", "mailer esmtp, host other.example., user x+1@other.example"], True),
    (([], "root", "p@example.org", "x+1@other.example"), ["mailer local, user root", "mailer local, user x+1"], True),
    (([], "root", "p@example.org", "x+1@other.example"), ["mailer local, user root", "mailer local, user xx1"], False),
    ((["a@example.com", "b@example.net"], "root", "", ""),
     ["mailer relay, host [192.0.2.1], user a@example.com", "mailer local, user b"], True),
    ((["a@example.com", "b@example.net"], "root", "", ""),
     ["mailer error, host nouser, user No such user", "mailer local, user b"], False),
])
def test_cf_routes_regex_decides_on_sendmail_bt_output(args, mailer_lines, matches):
    assert bool(re.match(cf_routes(*args)["regex"], "; ".join(mailer_lines))) is matches


@pytest.mark.parametrize("args", [
    ("root",),  # a string, not a list: it used to be tested character by character
    ({"a": 1},),
    (None,),
    ([None],),
    ([["nested"]],),
    ([7],),
    ([""],),
    (["  "],),
    (["root\n/parse other"],),
    (["a@example.com", "b\r"],),
    ([], ""),
    ([], None),
    ([], "root\x00"),
    ([], "root", "mailhost-probe@example.com", ""),
    ([], "root", "mailhost-probe@example.com", None),
    ([], "root", None),
    ([], "root", "probe\n@example.com", "bob"),
])
def test_cf_routes_refuses_bad_input(args):
    with pytest.raises(RouteError):
        cf_routes(*args)


def test_cf_routes_checks_only_what_it_uses():
    # With explicit addresses the local address and the probe are not tested.
    assert cf_routes(["a@example.com"], "", "", "")["addresses"] == ["a@example.com"]
    assert cf_routes((), "root", "", None)["addresses"] == ["root"]


def test_filter_names_itself_on_bad_input():
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.sendmail_cf_routes: .*must be a list"):
        FILTERS["sendmail_cf_routes"]("root")


def test_filter_is_the_core_function():
    routes = FILTERS["sendmail_cf_routes"]([], local_address="root", probe="p@example.com", probe_target="bob")
    assert routes == cf_routes([], "root", "p@example.com", "bob")
