"""ACME on the wire: what every port serves, before and after renewal and failures.

Every test takes testinfra's host (the client) so pytest keeps them in file
order. The client reads the served certificate with openssl s_client (STARTTLS on 25
and 587, TLS on 465, 993, 995 and nothing else). The tests run in file order:
issue (converge), check mode, an unreachable directory, a failed challenge,
then a forced renewal by converge with a renewal threshold above the
certificate's remaining validity (which also installs the renewal timer), and
the timer's removal.
"""

import json
import os
import re
import sys

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

testinfra_hosts = ["mh-acme-client"]

PORTS = [
    ("mail", "mail.example.com", 25, True),
    ("mail", "mail.example.com", 465, False),
    ("mail", "mail.example.com", 587, True),
    ("mail", "mail.example.com", 993, False),
    ("mail", "mail.example.com", 995, False),
    ("gw", "gw.example.com", 25, True),
]
FILES = ["/etc/ssl/certs/mailhost.pem", "/etc/ssl/private/mailhost.key", "/etc/ssl/certs/mailhost-chain.pem"]
SERIALS = {}
REPORT = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], ".cache", "mh-acme-serials.json")


def _host(name):
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return testinfra.get_host(f"ansible://mh-acme-{name}?ansible_inventory={inventory}")


def _served(client, name, port, starttls):
    """Serial of the certificate that name:port serves (a few tries while a service reloads)."""
    starttls_opt = "-starttls smtp" if starttls else ""
    for _attempt in range(10):
        cmd = client.run(
            "echo | timeout 10 openssl s_client -connect %s:%s -servername %s " + starttls_opt
            + " 2>/dev/null | openssl x509 -noout -serial -issuer",
            name, str(port), name,
        )
        match = re.search(r"serial=(\w+)", cmd.stdout)
        if match:
            return match.group(1), cmd.stdout
        client.run("sleep 1")
    raise AssertionError(f"{name}:{port} served no certificate: {cmd.stdout} {cmd.stderr}")


def _file_serial(host):
    return host.check_output("openssl x509 -noout -serial -in %s", FILES[0]).split("=", 1)[1]


def _digests(host):
    return host.check_output("sha256sum " + " ".join(FILES))


def _all_served(client):
    return {f"{name}:{port}": _served(client, name, port, starttls)[0] for _h, name, port, starttls in PORTS}


def _save(stage, served):
    SERIALS[stage] = served
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w", encoding="utf-8") as out:
        json.dump(SERIALS, out, indent=1)


@pytest.fixture(scope="module")
def hosts():
    return {"mail": _host("mail"), "gw": _host("gw")}


def test_every_port_serves_the_issued_certificate(host, hosts):
    for short, name, port, starttls in PORTS:
        serial, text = _served(host, name, port, starttls)
        assert "Pebble" in text, text
        assert serial == _file_serial(hosts[short]), f"{name}:{port}"
    _save("issued", _all_served(host))


def test_keys_are_root_only(host, hosts):
    for short in ("mail", "gw"):
        for path in ("/etc/ssl/private/mailhost.key", "/etc/ssl/private/acme-account.key"):
            key = hosts[short].file(path)
            assert (key.user, key.group, key.mode) == ("root", "root", 0o600), path


def test_check_mode_changes_nothing(host):
    returncode, output = scenario_playbook.run_playbook(__file__, "tls_cert.yml", "--check", timeout=900)
    assert returncode == 0, output
    for short in ("mail", "gw"):
        assert re.search(rf"mh-acme-{short}\s*: ok=\d+\s+changed=0\s", output), output


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("directory", "could not order a certificate from the ACME directory https://pebble.example.com:14999/dir"),
        ("challenge", "the HTTP-01 challenge"),
    ],
)
def test_a_failed_order_leaves_the_certificate_served(host, hosts, breakage, message):
    before = {short: _digests(h) for short, h in hosts.items()}
    returncode, output = scenario_playbook.run_playbook(
        __file__, "break.yml", "-e", f"acme_break={breakage}", timeout=900)
    assert returncode != 0, output
    for short in ("mail", "gw"):
        assert re.search(rf"mh-acme-{short}\s*: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=1", output), output
    assert output.count(message) >= 2, output
    assert "were left unchanged" in output
    for short, h in hosts.items():
        assert _digests(h) == before[short], short
    assert not hosts["mail"].service("mailhost-acme-http01").is_running
    assert not hosts["mail"].socket("tcp://0.0.0.0:8080").is_listening
    assert hosts["gw"].check_output("find /var/www/acme /var/tmp -path '*acme-challenge/*'") == ""
    served = _all_served(host)
    assert served == SERIALS["issued"]
    _save(f"after failed {breakage}", served)


def test_renewal_is_served_on_every_port_without_a_restart(host, hosts):
    # The same run installs the renewal timer (tested next), so the scenario
    # pays for one converge rather than two.
    returncode, output = scenario_playbook.run_playbook(
        __file__, "converge.yml", "-e", "tls_cert_renew_days=5000",
        "-e", "tls_cert_acme_renew_command='/usr/bin/touch /run/mh-acme-timer-ran'", timeout=900)
    assert returncode == 0, output
    assert "expires within 5000 days" in output
    served = _all_served(host)
    _save("renewed", served)
    for short, name, port, _starttls in PORTS:
        key = f"{name}:{port}"
        assert served[key] != SERIALS["issued"][key], key
        assert served[key] == _file_serial(hosts[short]), key


def test_the_renewal_timer_runs_its_command_and_goes_away(host, hosts):
    mail = hosts["mail"]
    assert mail.service("mailhost-tls-renew.timer").is_enabled
    assert mail.service("mailhost-tls-renew.timer").is_running
    assert mail.run("systemd-analyze verify /etc/systemd/system/mailhost-tls-renew.service").rc == 0
    mail.check_output("systemctl start mailhost-tls-renew.service")
    assert mail.file("/run/mh-acme-timer-ran").exists
    returncode, output = scenario_playbook.run_playbook(__file__, "timer.yml", "-e", "timer_command=''", timeout=900)
    assert returncode == 0, output
    assert not mail.file("/etc/systemd/system/mailhost-tls-renew.timer").exists
    assert not mail.service("mailhost-tls-renew.timer").is_running
