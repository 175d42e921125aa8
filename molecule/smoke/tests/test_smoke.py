"""Smoke tests: the container really is a systemd host that Ansible manages."""


def test_systemd_is_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_running(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_python_for_ansible(host):
    assert host.run("python3 -c 'import apt'").rc == 0


def test_converge_left_its_marker(host):
    """Written by mailhost.mail.aliases, so the collection resolved by FQCN inside Molecule."""
    marker = host.file("/etc/mailhost-smoke")
    assert marker.exists
    assert marker.mode == 0o644
    distro = host.system_info.distribution.lower()
    assert marker.content_string == "smoke: %s-%s\n" % (distro, host.system_info.release.split(".")[0])
