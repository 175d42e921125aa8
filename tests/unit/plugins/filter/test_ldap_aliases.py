"""The ldap_aliases role's tables: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.ldap_aliases import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._ldap_aliases import (
    TableError,
    probes,
    registration,
    resolve_tables,
)

FILTERS = FilterModule().filters()
SECRET = "bind-secret-never-shown"  # noqa: S105 - a marker the error messages must not contain
# What the role's vars/main.yml hands over, with the role defaults filled in.
DEFAULTS = {
    "state": "present",
    "maps": ["alias_maps"],
    "proxy": False,
    "probe": "",
    "server_host": ["ldap://ldap.example.com"],
    "bind": False,
    "bind_dn": "",
    "bind_pw": "",
}
ETC = "/etc/postfix"


def resolve(*tables, **defaults):
    return resolve_tables(list(tables), dict(DEFAULTS, **defaults), ETC)


@pytest.mark.parametrize(("table", "defaults", "expected"), [
    ({"name": "aliases"}, {},
     {"path": "/etc/postfix/ldap-aliases.cf", "map": "ldap:/etc/postfix/ldap-aliases.cf",
      "maps": ["alias_maps"], "state": "present", "secret": False}),
    ({"name": "v", "maps": ["virtual_alias_maps"], "proxy": True}, {},
     {"map": "proxy:ldap:/etc/postfix/ldap-v.cf", "maps": ["virtual_alias_maps"]}),
    ({"name": "a"}, {"proxy": "yes"}, {"proxy": True, "map": "proxy:ldap:/etc/postfix/ldap-a.cf"}),
    ({"name": "a", "proxy": "False"}, {"proxy": True}, {"proxy": False}),
    ({"name": "a", "bind": True, "bind_pw": SECRET}, {}, {"secret": True, "bind": True}),
    # A password without bind is never written, so the table is not secret.
    ({"name": "a", "bind_pw": SECRET}, {}, {"secret": False}),
    ({"name": "a"}, {"bind": 1, "bind_pw": SECRET}, {"secret": True}),
    ({"name": "a", "bind": True, "bind_pw": None}, {}, {"secret": False, "bind_pw": ""}),
    ({"name": "a", "probe": 42}, {}, {"probe": "42"}),
    ({"name": "a", "probe": None}, {"probe": "sales"}, {"probe": ""}),
    ({"name": "a"}, {"probe": "sales"}, {"probe": "sales"}),
    ({"name": "a", "maps": []}, {}, {"maps": []}),
    ({"name": "a", "maps": None}, {}, {"maps": []}),
    ({"name": "a", "maps": ["alias_maps", "alias_maps"]}, {}, {"maps": ["alias_maps"]}),
    ({"name": "old", "state": "absent"}, {}, {"state": "absent", "path": "/etc/postfix/ldap-old.cf"}),
    ({"name": "aliases-ldaps.2_b"}, {}, {"path": "/etc/postfix/ldap-aliases-ldaps.2_b.cf"}),
    ({"name": "a", "timeout": 5}, {"server_host": ["x"]}, {"timeout": 5, "server_host": ["x"]}),
])
def test_resolve_tables(table, defaults, expected):
    (resolved,) = resolve(table, **defaults)
    assert {k: resolved[k] for k in expected} == expected


def test_resolve_tables_keeps_order_and_leaves_the_input_alone():
    tables = [{"name": "b"}, {"name": "a", "state": "absent"}]
    defaults = dict(DEFAULTS)
    resolved = resolve_tables(tables, defaults, "/etc/postfix/")
    assert [t["name"] for t in resolved] == ["b", "a"]
    assert resolved[0]["path"] == "/etc/postfix/ldap-b.cf"
    assert tables == [{"name": "b"}, {"name": "a", "state": "absent"}]
    assert defaults == DEFAULTS


@pytest.mark.parametrize(("tables", "defaults", "config_dir", "message"), [
    ({"name": "a"}, DEFAULTS, ETC, "must be a list"),
    ("aliases", DEFAULTS, ETC, "must be a list"),
    (None, DEFAULTS, ETC, "must be a list"),
    ([{"name": "a"}], None, ETC, "shared settings must be a mapping"),
    ([{"name": "a"}], DEFAULTS, "etc/postfix", "absolute path"),
    ([{"name": "a"}], DEFAULTS, None, "absolute path"),
    (["aliases"], DEFAULTS, ETC, "table 1 must be a mapping"),
    ([{"name": "a"}, None], DEFAULTS, ETC, "table 2 must be a mapping"),
    ([{}], DEFAULTS, ETC, "table 1: name must be"),
    ([{"name": ""}], DEFAULTS, ETC, "table 1: name must be"),
    ([{"name": "../main"}], DEFAULTS, ETC, "name must be"),
    ([{"name": "a b"}], DEFAULTS, ETC, "name must be"),
    ([{"name": ".hidden"}], DEFAULTS, ETC, "name must be"),
    ([{"name": "a,b"}], DEFAULTS, ETC, "name must be"),
    ([{"name": 7}], DEFAULTS, ETC, "name must be"),
    ([{"name": "a"}, {"name": "a", "state": "absent"}], DEFAULTS, ETC, "table a is listed twice"),
    ([{"name": "a", "state": "gone"}], DEFAULTS, ETC, "table a: state must be one of present, absent"),
    ([{"name": "a", "maps": "alias_maps"}], DEFAULTS, ETC, "table a: maps must be a list"),
    ([{"name": "a", "maps": {"alias_maps": True}}], DEFAULTS, ETC, "maps must be a list"),
    ([{"name": "a", "maps": ["transport_maps"]}], DEFAULTS, ETC, "maps may hold only alias_maps, virtual_alias_maps"),
    ([{"name": "a", "proxy": "maybe"}], DEFAULTS, ETC, "table a: proxy must be a boolean"),
    ([{"name": "a", "bind": 2}], DEFAULTS, ETC, "table a: bind must be a boolean"),
    ([{"name": "a", "bind": None}], DEFAULTS, ETC, "bind must be a boolean"),
    ([{"name": "a", "probe": ["sales"]}], DEFAULTS, ETC, "table a: probe must be a string"),
    ([{"name": "a", "probe": True}], DEFAULTS, ETC, "probe must be a string"),
    ([{"name": "a", "bind": True, "bind_pw": {"vault": SECRET}}], DEFAULTS, ETC, "table a: bind_pw must be a string"),
])
def test_resolve_tables_refuses_what_it_cannot_render(tables, defaults, config_dir, message):
    with pytest.raises(TableError, match=message) as error:
        resolve_tables(tables, defaults, config_dir)
    assert SECRET not in str(error.value)


def test_probes_only_present_tables_with_a_key_and_no_secret():
    resolved = resolve(
        {"name": "a", "bind": True, "bind_pw": SECRET},
        {"name": "b", "probe": ""},
        {"name": "c", "state": "absent"},
        {"name": "d", "probe": "info@example.com"},
        probe="sales",
    )
    assert probes(resolved) == [{"name": "a", "probe": "sales"}, {"name": "d", "probe": "info@example.com"}]
    assert probes(resolve({"name": "a"})) == []


@pytest.mark.parametrize(("tables", "expected"), [
    ([{"name": "aliases"}],
     {"alias_maps": ["ldap:/etc/postfix/ldap-aliases.cf"], "virtual_alias_maps": []}),
    ([{"name": "aliases"}, {"name": "virtual", "maps": ["virtual_alias_maps"]}, {"name": "tls", "maps": []}],
     {"alias_maps": ["ldap:/etc/postfix/ldap-aliases.cf"],
      "virtual_alias_maps": ["ldap:/etc/postfix/ldap-virtual.cf"]}),
    # An absent table is left out, so the postfix role drops it from main.cf.
    ([{"name": "old", "state": "absent"}, {"name": "new", "proxy": True}],
     {"alias_maps": ["proxy:ldap:/etc/postfix/ldap-new.cf"], "virtual_alias_maps": []}),
    ([{"name": "both", "maps": ["virtual_alias_maps", "alias_maps"]}, {"name": "a"}],
     {"alias_maps": ["ldap:/etc/postfix/ldap-both.cf", "ldap:/etc/postfix/ldap-a.cf"],
      "virtual_alias_maps": ["ldap:/etc/postfix/ldap-both.cf"]}),
    ([], {"alias_maps": [], "virtual_alias_maps": []}),
])
def test_registration(tables, expected):
    assert registration(resolve(*tables)) == expected


@pytest.mark.parametrize("function", [probes, registration])
@pytest.mark.parametrize("value", [None, "tables", {"name": "a"}, [None], [{"name": "a"}], ["a"]])
def test_resolved_input_is_checked(function, value):
    with pytest.raises(TableError, match="resolved tables|ldap_aliases_tables"):
        function(value)


def test_filters_wrap_errors_with_their_names():
    assert FILTERS["ldap_aliases_registration"](FILTERS["ldap_aliases_tables"]([{"name": "a"}], DEFAULTS, ETC)) == {
        "alias_maps": ["ldap:/etc/postfix/ldap-a.cf"],
        "virtual_alias_maps": [],
    }
    with pytest.raises(AnsibleFilterError, match=r"^mailhost\.mail\.ldap_aliases_tables: table a is listed twice"):
        FILTERS["ldap_aliases_tables"]([{"name": "a"}, {"name": "a"}], DEFAULTS, ETC)
    with pytest.raises(AnsibleFilterError, match=r"^mailhost\.mail\.ldap_aliases_probes: "):
        FILTERS["ldap_aliases_probes"]("nope")
    with pytest.raises(AnsibleFilterError, match=r"^mailhost\.mail\.ldap_aliases_registration: "):
        FILTERS["ldap_aliases_registration"]([{"name": "a"}])
