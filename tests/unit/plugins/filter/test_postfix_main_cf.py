"""main.cf rendering: the pure core and its filter plugin, bad inputs included."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.mailhost.mail.plugins.filter.postfix_main_cf import FilterModule
from ansible_collections.mailhost.mail.plugins.module_utils._postfix_main_cf import (
    MainCfError,
    compose_main_cf,
    main_cf_value,
    recipient_restrictions,
    registered_services,
    render_main_cf,
)

FILTER = FilterModule().filters()["postfix_main_cf"]


@pytest.mark.parametrize(("value", "text"), [
    (True, "yes"),
    (False, "no"),
    ("$mydomain", "$mydomain"),
    ("", ""),
    (10, "10"),
    (2.5, "2.5"),
    (["$myhostname", "localhost"], "$myhostname, localhost"),
    (("a",), "a"),
    ([], ""),
    ([25, "x"], "25, x"),
])
def test_main_cf_value(value, text):
    assert main_cf_value("p", value) == text


def test_render_keeps_order_drops_null_and_writes_empty_values():
    settings = {"compatibility_level": "3.6", "relayhost": "", "gone": None, "smtpd_tls_auth_only": True,
                "mynetworks": ["127.0.0.0/8", "[::1]/128"]}
    assert render_main_cf(settings) == (
        "compatibility_level = 3.6\n"
        "relayhost =\n"
        "smtpd_tls_auth_only = yes\n"
        "mynetworks = 127.0.0.0/8, [::1]/128\n"
    )
    assert FILTER(settings) == render_main_cf(settings)
    assert render_main_cf({}) == ""


@pytest.mark.parametrize(("settings", "message"), [
    ({"bad name": "x"}, "not a Postfix parameter name"),
    ({"bad-name": "x"}, "not a Postfix parameter name"),
    ({"": "x"}, "not a Postfix parameter name"),
    ({1: "x"}, "not a Postfix parameter name"),
    ({"relayhost": "a\nmynetworks = 0.0.0.0/0"}, "relayhost: a main.cf value must be one line"),
    ({"relayhost": "a\r"}, "one line"),
    ({"mynetworks": ["10.0.0.0/8\n0.0.0.0/0"]}, "mynetworks: a main.cf value must be one line"),
    ({"x": {"nested": 1}}, "x: expected a string"),
    ({"x": [["nested"]]}, "x: a list item"),
    ({"x": [None]}, "x: a list item"),
    ({"x": [True]}, "x: a list item"),
    (["not", "a", "dict"], "expected a dict"),
    ("main.cf", "expected a dict"),
])
def test_bad_input_is_refused_naming_the_parameter(settings, message):
    with pytest.raises(MainCfError, match=message):
        render_main_cf(settings)
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.postfix_main_cf: .*" + message.split(":")[-1].strip()):
        FILTER(settings)


def _inputs(**changes):
    """The role's defaults on Debian, as configure.yml passes them."""
    inputs = {
        "mode": "server", "compatibility_level": "3.6", "mydomain": "example.com", "myhostname": "mail.example.com",
        "myorigin": "$myhostname", "mydestination": ["$myhostname", "localhost.$mydomain", "localhost"],
        "mynetworks": ["127.0.0.0/8", "[::1]/128"], "inet_interfaces": "all", "inet_protocols": "all",
        "relayhost": "", "notify_classes": ["resource", "software", "2bounce"],
        "platform": {"smtpd_banner": "$myhostname ESMTP"},
        "smtpd_relay_restrictions": ["permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"],
        "smtpd_recipient_restrictions": [], "alias_maps": ["hash:/etc/aliases"], "virtual_alias_maps": [],
        "registered": [], "tables": [{"name": "transport", "parameter": "transport_maps"},
                                     {"name": "virtual", "parameter": "virtual_alias_maps"},
                                     {"name": "access", "parameter": "smtpd_client_restrictions"}],
        "table_entries": {"transport": {}, "virtual": {}, "access": {}},
        "db_type": "hash", "config_directory": "/etc/postfix",
        "tls": True, "tls_cert": "/c.pem", "tls_key": "/k.pem", "tls_chain": "", "smtpd_tls_security_level": "may",
        "tls_protocols": ["!SSLv2", "!SSLv3"], "tls_exclude_ciphers": ["aNULL"],
        "tls_mandatory_exclude_ciphers": ["kRSA"],
        "tls_ca_path": "/etc/ssl/certs", "dovecot_integration": False, "dovecot_lmtp": True, "main_cf": {},
    }
    inputs.update(changes)
    return inputs


SETTINGS = FilterModule().filters()["postfix_main_cf_settings"]


def test_compose_defaults_in_the_guides_order():
    cf = compose_main_cf(_inputs())
    assert list(cf)[:11] == ["compatibility_level", "mydomain", "myhostname", "myorigin", "mydestination",
                             "mynetworks", "inet_interfaces", "inet_protocols", "relayhost", "notify_classes",
                             "smtpd_banner"]
    assert cf["alias_maps"] == ["hash:/etc/aliases"] and cf["alias_database"] == "hash:/etc/aliases"
    assert "virtual_alias_maps" not in cf and "transport_maps" not in cf
    assert (cf["smtpd_tls_cert_file"], cf["smtpd_tls_key_file"]) == ("/c.pem", "/k.pem")
    assert cf["smtpd_tls_mandatory_ciphers"] == "high" and cf["tls_preempt_cipherlist"] is True
    assert "smtpd_sasl_type" not in cf
    assert SETTINGS(_inputs()) == cf


@pytest.mark.parametrize("mode", ["loopback-only", "null-client"])
def test_compose_modes(mode):
    cf = compose_main_cf(_inputs(mode=mode))
    assert cf["inet_interfaces"] == "loopback-only"
    assert list(cf).index("inet_interfaces") == 6  # overridden in place, not moved
    if mode == "null-client":
        assert cf["mydestination"] == "" and cf["local_transport"].startswith("error:")
    else:
        assert "local_transport" not in cf


def test_compose_maps_tables_registrations_tls_chain_and_dovecot():
    cf = compose_main_cf(_inputs(
        registered=[{"alias_maps": ["ldap:/etc/postfix/ldap/aliases.cf", "hash:/etc/aliases"],
                     "virtual_alias_maps": ["ldap:/v.cf"]}, {}],
        alias_maps=["lmdb:/etc/aliases", "hash:/other"],
        table_entries={"transport": {"a": "b"}, "virtual": {"x": "y"}, "access": {"10.0.0.1": "OK"}},
        tls_chain="/chain.pem", dovecot_integration=True))
    assert cf["alias_maps"] == ["lmdb:/etc/aliases", "hash:/other", "ldap:/etc/postfix/ldap/aliases.cf",
                                "hash:/etc/aliases"]
    assert cf["alias_database"] == "lmdb:/etc/aliases"
    assert cf["virtual_alias_maps"] == ["hash:/etc/postfix/virtual", "ldap:/v.cf"]
    assert cf["transport_maps"] == "hash:/etc/postfix/transport"
    assert cf["smtpd_client_restrictions"] == "check_client_access hash:/etc/postfix/access"
    assert cf["smtpd_tls_chain_files"] == ["/k.pem", "/c.pem", "/chain.pem"] and "smtpd_tls_cert_file" not in cf
    assert cf["smtpd_sasl_type"] == "dovecot" and cf["mailbox_transport"] == "lmtp:unix:private/dovecot-lmtp"
    no_lmtp = compose_main_cf(_inputs(dovecot_integration=True, dovecot_lmtp=False))
    assert "mailbox_transport" not in no_lmtp and no_lmtp["smtpd_sasl_path"] == "private/auth"


def test_compose_user_parameters_win_and_null_drops():
    cf = compose_main_cf(_inputs(main_cf={"relayhost": "[hub]", "mynetworks": None, "delay_warning_time": "4h"},
                                 tls=False))
    assert cf["relayhost"] == "[hub]" and cf["mynetworks"] is None and list(cf)[-1] == "delay_warning_time"
    assert "smtpd_tls_cert_file" not in cf
    assert "\nmynetworks =" not in "\n" + render_main_cf(cf)


@pytest.mark.parametrize(("changes", "message"), [
    ({"mode": "relay"}, "mode must be"),
    ({"registered": ["ldap:/x.cf"]}, "registration in mailhost.d must be a dict"),
    ({"registered": [{"alias_maps": "ldap:/x.cf"}]}, "alias_maps must be a list"),
    ({"main_cf": ["relayhost"]}, "main_cf must be a dict"),
    ({"platform": "x"}, "platform must be a dict"),
    ({"alias_maps": "hash:/etc/aliases"}, "alias_maps must be a list"),
    ({"table_entries": ["transport"]}, "table_entries must be a dict"),
])
def test_compose_bad_input(changes, message):
    with pytest.raises(MainCfError, match=message):
        compose_main_cf(_inputs(**changes))
    with pytest.raises(AnsibleFilterError, match="mailhost.mail.postfix_main_cf_settings"):
        SETTINGS(_inputs(**changes))


def test_compose_missing_setting_and_not_a_dict():
    inputs = _inputs()
    del inputs["myorigin"]
    with pytest.raises(MainCfError, match="need 'myorigin'"):
        compose_main_cf(inputs)
    with pytest.raises(MainCfError, match="expected a dict"):
        compose_main_cf(["mode"])


SPF_SERVICE = {"service": "policyd_spf", "type": "unix", "unpriv": "n", "chroot": "n", "maxproc": "0",
               "command": "spawn", "args": ["user=policyd-spf argv=/usr/bin/policyd-spf"]}
MAIL_AUTH = {"smtpd_milters": ["inet:localhost:8891", "inet:localhost:8893"],
             "non_smtpd_milters": ["inet:localhost:8891"],
             "milter_settings": {"milter_default_action": "accept", "milter_protocol": 6},
             "smtpd_recipient_restrictions": ["check_policy_service unix:private/policyd_spf"],
             "parameters": {"policyd_spf_time_limit": 3600},
             "master_cf": [SPF_SERVICE]}


@pytest.mark.parametrize(("own", "added", "expected"), [
    ([], [], ["permit_mynetworks", "reject_unauth_destination"]),
    ([], ["check_policy_service unix:private/policyd_spf"],
     ["permit_mynetworks", "reject_unauth_destination", "check_policy_service unix:private/policyd_spf"]),
    (["permit_mynetworks", "reject_unauth_destination", "permit"], ["check_policy_service x", "check_policy_service x"],
     ["permit_mynetworks", "reject_unauth_destination", "check_policy_service x", "permit"]),
    (["reject_non_fqdn_recipient"], ["check_policy_service x"],
     ["reject_non_fqdn_recipient", "check_policy_service x"]),
    (["permit_mynetworks", "check_policy_service x"], ["check_policy_service x"],
     ["permit_mynetworks", "check_policy_service x"]),
])
def test_recipient_restrictions_put_registered_checks_after_relay_control(own, added, expected):
    assert recipient_restrictions(own, added) == expected


def test_compose_registered_milters_restrictions_and_parameters():
    cf = compose_main_cf(_inputs(registered=[MAIL_AUTH, {"smtpd_milters": ["inet:localhost:8891", "unix:/m"]}]))
    assert cf["smtpd_milters"] == ["inet:localhost:8891", "inet:localhost:8893", "unix:/m"]
    assert cf["non_smtpd_milters"] == ["inet:localhost:8891"]
    assert cf["milter_default_action"] == "accept" and cf["milter_protocol"] == 6
    assert cf["smtpd_recipient_restrictions"] == [
        "permit_mynetworks", "reject_unauth_destination", "check_policy_service unix:private/policyd_spf"]
    assert cf["policyd_spf_time_limit"] == 3600
    text = render_main_cf(cf)
    assert "smtpd_milters = inet:localhost:8891, inet:localhost:8893, unix:/m\n" in text
    # Without registrations nothing of it appears, and the user's main_cf wins over a registration.
    plain = compose_main_cf(_inputs())
    assert not {"smtpd_milters", "non_smtpd_milters", "milter_default_action"} & set(plain)
    assert "smtpd_recipient_restrictions" not in plain
    user = compose_main_cf(_inputs(registered=[MAIL_AUTH], main_cf={"milter_default_action": "tempfail"}))
    assert user["milter_default_action"] == "tempfail"


@pytest.mark.parametrize(("registered", "message"), [
    ([{"smtpd_milters": "inet:localhost:8891"}], "smtpd_milters must be a list"),
    ([{"smtpd_milters": ["inet:a:1\nx = y"]}], "one-line strings"),
    ([{"milter_settings": {"milter_default_action": "accept"}},
      {"milter_settings": {"milter_default_action": "reject"}}],
     "two registrations set milter_default_action"),
    ([{"milter_settings": {"smtpd_milters": "x"}}], "may set milter_default_action, milter_protocol"),
    ([{"milter_settings": ["accept"]}], "milter_settings must be a dict"),
    ([{"parameters": {"myhostname": "evil"}}], "may not set myhostname"),
    ([{"parameters": {"bad name": "x"}}], "not a Postfix parameter name"),
    ([{"smtpd_recipient_restrictions": [None]}], "one-line strings"),
])
def test_compose_bad_registrations(registered, message):
    with pytest.raises(MainCfError, match=message):
        compose_main_cf(_inputs(registered=registered))


def test_registered_services_fill_the_columns_and_merge_repeats():
    services = registered_services([MAIL_AUTH, {"master_cf": [SPF_SERVICE]}, {}])
    assert services == [{"service": "policyd_spf", "type": "unix", "private": "-", "unpriv": "n", "chroot": "n",
                         "wakeup": "-", "maxproc": "0", "command": "spawn",
                         "args": ["user=policyd-spf argv=/usr/bin/policyd-spf"]}]
    assert registered_services([]) == []


@pytest.mark.parametrize(("registered", "message"), [
    ({"master_cf": []}, "registered must be a list"),
    (["x"], "must be a dict"),
    ([{"master_cf": {"service": "a"}}], "master_cf must be a list"),
    ([{"master_cf": ["a"]}], "service must be a dict"),
    ([{"master_cf": [dict(SPF_SERVICE, service="bad name")]}], "needs a service name"),
    ([{"master_cf": [dict(SPF_SERVICE, type="tcp")]}], "type must be one of"),
    ([{"master_cf": [dict(SPF_SERVICE, command="")]}], "needs a command"),
    ([{"master_cf": [dict(SPF_SERVICE, args="user=x")]}], "args must be a list of strings"),
    ([{"master_cf": [dict(SPF_SERVICE, args=["a\n-o x=y"])]}], "must be one line"),
    ([{"master_cf": [SPF_SERVICE]}, {"master_cf": [dict(SPF_SERVICE, maxproc="1")]}], "differently"),
])
def test_registered_services_bad_input(registered, message):
    with pytest.raises(MainCfError, match=message):
        registered_services(registered)
