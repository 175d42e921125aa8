"""The postfix role's policy checks: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.postfix_policy import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_policy import (
    PolicyError,
    bad_networks,
    open_networks,
    origin_route,
    postfix_list,
)
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_policy import (
    relay_verdict,
    unknown_parameters,
    wide_networks,
)

FILTERS = FilterModule().filters()


@pytest.mark.parametrize(("value", "expected"), [
    (None, []),
    ("", []),
    ("127.0.0.0/8, [::1]/128", ["127.0.0.0/8", "[::1]/128"]),
    ("a,b  c\td", ["a", "b", "c", "d"]),
    (["a, b", "c"], ["a", "b", "c"]),
    ([10], ["10"]),
    ((), []),
])
def test_postfix_list(value, expected):
    assert postfix_list(value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, [None], [["nested"]], [{"a": 1}], [True], True, object()])
def test_postfix_list_refuses_what_no_parameter_holds(value):
    with pytest.raises(PolicyError):
        postfix_list(value)


@pytest.mark.parametrize(("networks", "expected"), [
    ("0.0.0.0/0", ["0.0.0.0/0"]),
    (["127.0.0.0/8", "::/0"], ["::/0"]),
    ("[::]/0", ["[::]/0"]),
    ("10.0.0.0/00", ["10.0.0.0/00"]),
    ("!0.0.0.0/0", []),
    ("0.0.0.0/1", []),
    (None, []),
])
def test_open_networks(networks, expected):
    assert open_networks(networks) == expected


@pytest.mark.parametrize(("networks", "expected"), [
    ("127.0.0.0/8 [::1]/128 192.0.2.1", []),
    ("!192.0.2.0/24, /etc/postfix/networks, hash:/etc/postfix/net", []),
    ("256.0.0.0/8", ["256.0.0.0/8"]),
    ("10.0.0.0/33", ["10.0.0.0/33"]),
    ("::1/128", ["::1/128"]),  # IPv6 needs brackets in mynetworks
    ("[::1]/129", ["[::1]/129"]),
    ("example.com", ["example.com"]),
    ("10.0.0", ["10.0.0"]),
])
def test_bad_networks(networks, expected):
    assert bad_networks(networks) == expected


@pytest.mark.parametrize(("relay", "recipient", "verdict", "rule", "parameter"), [
    (None, None, "stop", "defer_unauth_destination", "smtpd_relay_restrictions"),
    ("permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", [], "stop",
     "reject_unauth_destination", "smtpd_relay_restrictions"),
    (["permit_mynetworks", "permit", "reject_unauth_destination"], [], "open", "permit", "smtpd_relay_restrictions"),
    ("permit_naked_ip_address reject_unauth_destination", None, "open", "permit_naked_ip_address",
     "smtpd_relay_restrictions"),
    # A rule after the stopping one no longer matters for relaying.
    ("reject_unauth_destination, permit", None, "stop", "reject_unauth_destination", "smtpd_relay_restrictions"),
    # warn_if_reject makes the next rule only log.
    ("permit_mynetworks warn_if_reject reject_unauth_destination", None, "none", "", "smtpd_relay_restrictions"),
    ("permit_mynetworks warn_if_reject reject_unauth_destination defer", None, "stop", "defer",
     "smtpd_relay_restrictions"),
    ("PERMIT_MYNETWORKS, REJECT_UNAUTH_DESTINATION", None, "stop", "reject_unauth_destination",
     "smtpd_relay_restrictions"),
    # Empty relay restrictions: Postfix decides relaying with the recipient list.
    ("", "permit_mynetworks, reject_unauth_destination", "stop", "reject_unauth_destination",
     "smtpd_recipient_restrictions"),
    ([], "permit", "open", "permit", "smtpd_recipient_restrictions"),
    ([], None, "none", "", "smtpd_recipient_restrictions"),
    ("permit_mynetworks check_client_access hash:/etc/postfix/access", None, "none", "", "smtpd_relay_restrictions"),
])
def test_relay_verdict(relay, recipient, verdict, rule, parameter):
    result = relay_verdict(relay, recipient)
    assert (result["verdict"], result["rule"], result["parameter"]) == (verdict, rule, parameter)


def test_relay_verdict_keeps_the_rules_as_written_for_the_message():
    assert relay_verdict("Permit, reject")["rules"] == ["Permit", "reject"]


@pytest.mark.parametrize("name", ["postfix_list", "postfix_open_networks", "postfix_bad_networks",
                                  "postfix_relay_verdict"])
def test_filters_turn_bad_input_into_a_filter_error(name):
    with pytest.raises(AnsibleFilterError, match="mailhost.mail"):
        FILTERS[name]({"not": "a list"})


def test_filters_are_the_core_functions():
    assert FILTERS["postfix_relay_verdict"]("permit")["verdict"] == "open"
    assert FILTERS["postfix_bad_networks"]("nonsense") == ["nonsense"]
    assert FILTERS["postfix_open_networks"]("::/0") == ["::/0"]
    assert FILTERS["postfix_list"]("a b") == ["a", "b"]


# The host: myorigin = $mydomain, the guide's mydestination, nothing else.
SWITCH = {"myorigin": "$mydomain", "mydomain": "example.com", "myhostname": "switch.example.com",
          "mydestination": ["$myhostname", "localhost.$mydomain", "localhost"]}


@pytest.mark.parametrize(("settings", "transport", "route", "domain"), [
    (SWITCH, None, "none", "example.com"),
    ({**SWITCH, "myorigin": "$myhostname"}, None, "local", "switch.example.com"),
    ({**SWITCH, "myorigin": "${myhostname}"}, None, "local", "switch.example.com"),
    ({**SWITCH, "myorigin": None}, None, "local", "switch.example.com"),  # Postfix's default
    ({**SWITCH, "mydestination": None, "myorigin": "localhost.$mydomain"}, None, "local", "localhost.example.com"),
    ({**SWITCH, "mydestination": "$myhostname, $mydomain"}, None, "local", "example.com"),
    ({**SWITCH, "myorigin": "Example.COM."}, {"example.com": "smtp:[hub]"}, "transport", "example.com"),
    ({**SWITCH, "relayhost": "[smarthost.example.net]:587"}, None, "relayhost", "example.com"),
    (SWITCH, {"*": "smtp:[hub.example.com]"}, "transport", "example.com"),
    (SWITCH, {"other.example": "error:no"}, "none", "example.com"),
    ({**SWITCH, "virtual_alias_domains": ["example.com"]}, None, "virtual", "example.com"),
    ({**SWITCH, "virtual_mailbox_domains": "$mydomain"}, None, "virtual", "example.com"),
    ({**SWITCH, "relay_domains": "example.com"}, None, "relay_domains", "example.com"),
    ({**SWITCH, "mydestination": ["$myhostname", "hash:/etc/postfix/domains"]}, None, "unknown", "example.com"),
    ({**SWITCH, "relay_domains": "$other_parameter"}, None, "unknown", "example.com"),
    ({**SWITCH, "myorigin": "/etc/mailname"}, None, "unknown", "/etc/mailname"),
    ({**SWITCH, "myorigin": "$unknown_parameter"}, None, "unknown", "$unknown_parameter"),
])
def test_origin_route(settings, transport, route, domain):
    result = origin_route(settings, transport)
    assert (result["route"], result["domain"]) == (route, domain)
    assert FILTERS["postfix_origin_route"](settings, transport) == result


@pytest.mark.parametrize(("settings", "transport"), [
    ("myorigin = $mydomain", None),
    (["myorigin"], None),
    (SWITCH, ["example.com"]),
    ({**SWITCH, "mydestination": [{"nested": "dict"}]}, None),
])
def test_origin_route_bad_input(settings, transport):
    with pytest.raises(PolicyError):
        origin_route(settings, transport)
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.postfix_origin_route"):
        FILTERS["postfix_origin_route"](settings, transport)


@pytest.mark.parametrize(("networks", "expected"), [
    (["127.0.0.0/8", "[::1]/128"], []),
    (["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"], []),
    (["[fc00::]/7", "[fe80::]/10", "[2001:db8::]/32"], []),
    (["203.0.113.7", "198.51.100.0/24", "8.8.8.0/24", "[2a00:1450::]/48"], []),
    (["8.0.0.0/8"], ["8.0.0.0/8"]),
    (["8.8.8.0/23"], ["8.8.8.0/23"]),
    (["0.0.0.0/1", "128.0.0.0/1"], ["0.0.0.0/1", "128.0.0.0/1"]),
    (["172.0.0.0/8"], ["172.0.0.0/8"]),  # wider than 172.16/12: mostly public
    (["198.51.100.0/23"], ["198.51.100.0/23"]),  # TEST-NET-2 plus a public /24
    (["[2a00:1450::]/47", "[2001:4860::]/32"], ["[2a00:1450::]/47", "[2001:4860::]/32"]),
    ("10.0.0.0/8, 8.0.0.0/8", ["8.0.0.0/8"]),
    (["!8.0.0.0/8", "hash:/etc/postfix/network_table", "/etc/postfix/networks"], []),
    (["0.0.0.0/0", "[::]/0", "10.0.0/8", "not-a-network"], []),  # the other checks' business
    (None, []),
])
def test_wide_networks(networks, expected):
    assert wide_networks(networks) == expected
    assert FILTERS["postfix_wide_networks"](networks) == expected


@pytest.mark.parametrize("value", [{"a": 1}, [None], True])
def test_wide_networks_bad_inputs(value):
    with pytest.raises(PolicyError):
        wide_networks(value)
    with pytest.raises(AnsibleFilterError, match="postfix_wide_networks"):
        FILTERS["postfix_wide_networks"](value)


KNOWN = "smtpd_banner = $myhostname ESMTP\nmyhostname = host\nsmtpd_tls_mandatory_ciphers = medium\nmaillog_file =\n"


@pytest.mark.parametrize(("main_cf", "services", "expected"), [
    ({"smtpd_banner": "x", "maillog_file": "/var/log/m"}, [], []),
    ({"smtpd_tls_mandatory_cipher": "high"}, [], ["smtpd_tls_mandatory_cipher"]),
    ({"relay2_destination_concurrency_limit": 5}, ["smtp", "relay2"], []),
    ({"relay2_destination_concurrency_limit": 5}, ["smtp"], ["relay2_destination_concurrency_limit"]),
    ({"my_networks": "10.0.0.0/8", "smtpd_banner": "$my_networks"}, [], []),
    ({"my_list": "a", "smtpd_banner": ["${my_list}", "x"]}, [], []),
    ({"my_list": "a", "smtpd_banner": "$(my_list)"}, [], []),
    ({"Myhostname": "x"}, [], ["Myhostname"]),
    ({}, [], []),
])
def test_unknown_parameters(main_cf, services, expected):
    assert unknown_parameters(main_cf, KNOWN, services) == expected
    assert FILTERS["postfix_unknown_parameters"](main_cf, KNOWN.splitlines(), services) == expected
    assert unknown_parameters(main_cf, ["smtpd_banner", "myhostname", "smtpd_tls_mandatory_ciphers",
                                        "maillog_file"], services) == expected


@pytest.mark.parametrize(("main_cf", "known"), [(["a"], KNOWN), ("a", KNOWN), ({"a": 1}, 5), ({"a": 1}, None)])
def test_unknown_parameters_bad_inputs(main_cf, known):
    with pytest.raises(PolicyError):
        unknown_parameters(main_cf, known)
    with pytest.raises(AnsibleFilterError, match="postfix_unknown_parameters"):
        FILTERS["postfix_unknown_parameters"](main_cf, known)
