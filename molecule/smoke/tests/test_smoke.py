"""Smoke tests: the container is a systemd host that Ansible manages, and the postfix role with its
defaults keeps local mail (issue 20)."""

import time


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


def _mailbox_with(host, path, token, seconds=60):
    """The mailbox text once it holds token, polling for at most seconds."""
    for _attempt in range(seconds):
        text = host.run("cat %s 2>/dev/null" % path).stdout
        if token in text:
            return text
        time.sleep(1)
    queue = host.run("postqueue -p").stdout
    log = host.run("journalctl -u postfix* --no-pager -n 30").stdout
    raise AssertionError("%s never arrived in %s; queue:\n%s\nlog:\n%s" % (token, path, queue, log))


def test_default_postfix_delivers_to_a_local_user_without_a_domain(host):
    """sendmail bob: myorigin qualifies it with this host's name, which mydestination holds."""
    token = "smoke-local-%d" % time.time_ns()
    host.check_output("printf 'Subject: %s\\n\\nhi\\n' | /usr/sbin/sendmail bob" % token)
    _mailbox_with(host, "/var/mail/bob", token)


def test_default_postfix_returns_undeliverable_mail_to_root(host):
    """Mail to a user that does not exist bounces to root's mailbox; nothing is dropped."""
    token = "smoke-nouser-%d" % time.time_ns()
    host.check_output("printf 'Subject: %s\\n\\nhi\\n' | /usr/sbin/sendmail -f root nosuchuser" % token)
    bounce = _mailbox_with(host, "/var/mail/root", token)
    assert "Undelivered Mail Returned to Sender" in bounce


def test_default_postfix_sends_double_bounces_to_postmaster(host):
    assert "2bounce" in host.check_output("postconf -h notify_classes")
    assert host.check_output("postalias -q postmaster /etc/aliases") == "root"
