"""ldap_aliases against a real OpenLDAP: lookups, registration, composition by postfix, delivery, secrets."""

import json
import os
import re
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

testinfra_hosts = ["mh-ldap_aliases-mail"]

BIND_PW = "postfix-bind-secret"
WRONG_PW = "wrong-bind-secret"
TABLE = "/etc/postfix/ldap-aliases.cf"
RETIRED = "/etc/postfix/ldap-retired.cf"
REGISTRY = "/etc/postfix/mailhost.d/ldap_aliases.json"
CONVERGED_REGISTRATION = {
    "alias_maps": ["ldap:%s" % TABLE],
    "virtual_alias_maps": ["ldap:/etc/postfix/ldap-virtual.cf"],
}


def run_playbook(playbook, *args):
    """Run one of the scenario's playbooks against its inventory; return (rc, output)."""
    return scenario_playbook.run_playbook(__file__, playbook, *args)


def handler_result(output, name):
    """What the named postfix handler printed in a run: 'changed', 'ok', 'skipping', or None if it never ran."""
    header = "RUNNING HANDLER [mailhost.mail.postfix : %s]" % name
    if header not in output:
        return None
    section = re.split(r"^(?:RUNNING HANDLER|TASK|PLAY) \[|^PLAY RECAP", output.split(header, 1)[1], flags=re.M)[0]
    for word in ("changed", "ok", "skipping"):
        if "%s: [mh-ldap_aliases-mail]" % word in section:
            return word
    return section.strip()[:300]


def postmap(host, key, table):
    return host.run("postmap -q %s ldap:%s", key, table)


def test_postfix_has_ldap_maps(host):
    assert host.package("postfix-ldap").is_installed
    assert "ldap" in host.run("postconf -m").stdout.split()


def test_postmap_returns_the_directory_answer(host):
    result = postmap(host, "sales", TABLE)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "bob"


def test_unknown_key_is_not_found_not_an_error(host):
    result = postmap(host, "nosuchalias", TABLE)
    assert result.rc == 1
    assert "fatal" not in result.stderr


@pytest.mark.parametrize("table", ["aliases-starttls", "aliases-ldaps"])
def test_verified_tls_lookups(host, table):
    path = "/etc/postfix/ldap-%s.cf" % table
    config = host.file(path).content_string
    assert "tls_require_cert = yes" in config
    assert "tls_ca_cert_file = /etc/ssl/certs/mh-ldap-ca.pem" in config
    result = postmap(host, "sales", path)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "bob"


def test_starttls_is_really_used(host):
    path = "/etc/postfix/ldap-aliases-starttls.cf"
    assert "start_tls = yes" in host.file(path).content_string
    # The same table without the CA to verify with must fail the handshake.
    broken = host.run(
        "sed 's|^tls_ca_cert_file = .*|tls_ca_cert_file = /etc/ssl/certs/ca-certificates.crt|' %s > /tmp/untrusted.cf"
        " && postmap -q sales ldap:/tmp/untrusted.cf; rc=$?; rm -f /tmp/untrusted.cf; exit $rc",
        path,
    )
    assert broken.rc == 1
    assert "fatal" in broken.stderr


def test_virtual_table_uses_full_addresses(host):
    path = "/etc/postfix/ldap-virtual.cf"
    assert postmap(host, "info@example.com", path).stdout.strip() == "carol"
    # sales lives only in the alias subtree, so its delivery proves alias_maps.
    assert postmap(host, "sales@example.com", path).rc == 1


def test_maps_are_composed_after_the_local_map(host):
    db_type = host.check_output("postconf -h default_database_type")
    alias_maps = host.check_output("postconf -h alias_maps")
    assert alias_maps == "%s:/etc/aliases, ldap:%s" % (db_type, TABLE)
    assert host.check_output("postconf -h virtual_alias_maps") == "ldap:/etc/postfix/ldap-virtual.cf"


def test_maps_are_registered_for_the_postfix_role(host):
    registry = host.file(REGISTRY)
    assert registry.mode == 0o644
    assert json.loads(registry.content_string) == CONVERGED_REGISTRATION


@pytest.mark.parametrize("name", ["aliases", "virtual", "aliases-starttls", "aliases-ldaps"])
def test_tables_with_a_password_are_private(host, name):
    table = host.file("/etc/postfix/ldap-%s.cf" % name)
    assert table.user == "root"
    assert table.group == "postfix"
    assert table.mode == 0o640
    assert "bind_pw = %s" % BIND_PW in table.content_string


def test_absent_table_is_removed(host):
    assert not host.file("/etc/postfix/ldap-retired.cf").exists


def test_password_stays_out_of_main_cf(host):
    for path in ("/etc/postfix/main.cf", "/etc/postfix/master.cf", REGISTRY):
        assert BIND_PW not in host.file(path).content_string, path
    assert BIND_PW not in host.check_output("postconf -n")


def test_postfix_configuration_is_valid(host):
    assert host.run("postfix check").rc == 0
    assert host.service("postfix").is_running


def send_and_wait(host, rcpt, mailbox):
    token = uuid.uuid4().hex
    script = f"""
import smtplib, time
with smtplib.SMTP("127.0.0.1", 25) as smtp:
    smtp.sendmail("tester@example.net", ["{rcpt}"],
                  "From: tester@example.net\\r\\nTo: {rcpt}\\r\\nSubject: {token}\\r\\n\\r\\nhello\\r\\n")
for _ in range(60):
    try:
        if "{token}" in open("/var/mail/{mailbox}").read():
            print("delivered")
            break
    except FileNotFoundError:
        pass
    time.sleep(0.5)
"""
    result = host.run("python3 - <<'EOF'\n%s\nEOF" % script)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def test_mail_to_an_ldap_alias_reaches_its_target(host):
    assert send_and_wait(host, "sales@example.com", "bob") == "delivered"


def test_mail_to_an_ldap_virtual_alias_reaches_its_target(host):
    assert send_and_wait(host, "info@example.com", "carol") == "delivered"


def test_local_aliases_still_work(host):
    assert send_and_wait(host, "localonly@example.com", "carol") == "delivered"


def test_check_mode_reports_drift_without_showing_or_fixing_it(host):
    """A tampered table shows up as a change in check mode; no password reaches the output."""
    tamper = host.run("cp -p %s /tmp/table.bak && sed -i 's/^timeout = .*/timeout = 9/' %s", TABLE, TABLE)
    assert tamper.rc == 0, tamper.stderr
    try:
        rc, output = run_playbook("converge.yml", "--check", "--diff", "-vv")
        assert rc == 0, output[-3000:]
        assert BIND_PW not in output
        assert WRONG_PW not in output
        recap = output.split("PLAY RECAP")[-1].split("mh-ldap_aliases-mail")[1].split("\n")[0]
        assert "changed=0" not in recap, recap
        assert "timeout = 9" in host.file(TABLE).content_string
    finally:
        assert host.run("mv /tmp/table.bak %s", TABLE).rc == 0


def test_a_table_put_live_is_composed_and_taken_away_again(host):
    """state: absent drops the table from the registration, so the postfix role drops it from main.cf."""
    rc, output = run_playbook("mail_host.yml", "-e", "mh_retired_state=present")
    try:
        assert rc == 0, output[-3000:]
        assert BIND_PW not in output
        assert host.file(RETIRED).exists
        assert json.loads(host.file(REGISTRY).content_string)["alias_maps"] == ["ldap:%s" % TABLE, "ldap:%s" % RETIRED]
        assert host.check_output("postconf -h alias_maps").endswith(", ldap:%s, ldap:%s" % (TABLE, RETIRED))
        assert postmap(host, "sales", RETIRED).stdout.strip() == "bob"
    finally:
        rc, output = run_playbook("mail_host.yml")
    assert rc == 0, output[-3000:]
    assert not host.file(RETIRED).exists
    assert json.loads(host.file(REGISTRY).content_string) == CONVERGED_REGISTRATION
    assert "retired" not in host.check_output("postconf -h alias_maps")
    assert host.run("postfix check").rc == 0


def test_a_changed_table_reloads_postfix_through_the_postfix_role(host):
    """Only a table changes: main.cf stays, and the postfix role's handlers check and reload on the bus topic."""
    main_cf = host.file("/etc/postfix/main.cf").sha256sum
    tamper = host.run("sed -i 's/^timeout = .*/timeout = 9/' %s", TABLE)
    assert tamper.rc == 0, tamper.stderr
    rc, output = run_playbook("mail_host.yml")
    assert rc == 0, output[-3000:]
    assert "timeout = 5" in host.file(TABLE).content_string
    assert host.file("/etc/postfix/main.cf").sha256sum == main_cf
    assert handler_result(output, "Check postfix configuration") == "ok", output[-3000:]
    assert handler_result(output, "Reload postfix") == "changed", output[-3000:]
    assert "ldap_aliases : " not in output.split("RUNNING HANDLER", 1)[1].split("PLAY RECAP")[0]
