"""The restart handler's drain (roles/postfix/files/graceful.sh), with a delivery held open on purpose.

A local user's .forward pipes each message through `sleep`, so local(8) holds the message's active queue file
open for DELIVERY_SECONDS. The script then has to wait for that delivery (and say so) before it restarts, and the
message is delivered once; with a drain shorter than the delivery, it must restart at the bound, by the clock.
The load tests of the audit and mta_switch scenarios show the same end to end, but only when a delivery happens
to be in flight at the instant of the pause; here it always is.
Runs after test_postfix.py (file order): it restarts Postfix twice.
"""

from __future__ import annotations

import pathlib
import re
import time
import uuid

import pytest

testinfra_hosts = ["mh-postfix-mail"]

SCRIPT = pathlib.Path(__file__).resolve().parents[3] / "roles" / "postfix" / "files" / "graceful.sh"
USER = "mhslowsink"
DELIVERY_SECONDS = 8


@pytest.fixture(scope="module")
def slow_sink(host):
    """A local user whose deliveries take DELIVERY_SECONDS, and graceful.sh copied into the container."""
    setup = host.run(
        f"id {USER} >/dev/null 2>&1 || useradd -m {USER}; "
        f"printf '%s\\n' '\"|sleep {DELIVERY_SECONDS}; cat >> /home/{USER}/got\"' > /home/{USER}/.forward; "
        f"chown {USER}: /home/{USER}/.forward; chmod 600 /home/{USER}/.forward; : > /home/{USER}/got; "
        f"chown {USER}: /home/{USER}/got")
    assert setup.rc == 0, setup.stderr
    copy = host.run(f"cat > /root/mh-graceful.sh <<'GRACEFUL_END'\n{SCRIPT.read_text()}GRACEFUL_END\n")
    assert copy.rc == 0, copy.stderr
    yield
    # Whatever a test left queued for the sink goes, the user too.
    host.run(f"postqueue -j | python3 -c \"import json, sys\n"
             f"for line in sys.stdin:\n"
             f"    m = json.loads(line)\n"
             f"    if any(r['address'].startswith('{USER}@') for r in m['recipients']): print(m['queue_id'])\n"
             f"\" | postsuper -d - >/dev/null 2>&1; userdel -r {USER} >/dev/null 2>&1; rm -f /root/mh-graceful.sh")


def _held_open(host) -> bool:
    """Whether a local(8) delivery agent holds a file of the active queue open (read through /proc, as the script)."""
    return host.run("find /proc/[0-9]*/fd -maxdepth 1 -lname '/var/spool/postfix/active/*' 2>/dev/null "
                    "| cut -d/ -f3 | sort -u | while read -r pid; do "
                    "[ \"$(cat /proc/$pid/comm 2>/dev/null)\" = local ] && echo $pid; done | grep -q .").rc == 0


def _send_and_wait_for_delivery(host) -> str:
    marker = f"drain-{uuid.uuid4().hex}"
    sent = host.run(f"printf 'Subject: {marker}\\nMessage-ID: <{marker}@mailhost.test>\\n\\n{marker}\\n' "
                    f"| sendmail -f root@localhost {USER}@localhost")
    assert sent.rc == 0, sent.stderr
    deadline = time.monotonic() + 30
    while not _held_open(host):
        assert time.monotonic() < deadline, "local(8) never started the slow delivery"
        time.sleep(0.5)
    return marker


def _got(host, marker: str) -> int:
    return int(host.run(f"grep -c 'Message-ID: <{marker}@' /home/{USER}/got || true").stdout.strip() or 0)


def _restart_during_a_delivery(host, drain: int):
    """Start a slow delivery, restart through graceful.sh with this drain; (marker, result, seconds taken)."""
    marker = _send_and_wait_for_delivery(host)
    started = time.monotonic()
    run = host.run(f"sh /root/mh-graceful.sh restart postfix {drain}")
    took = time.monotonic() - started
    assert run.rc == 0, run.stdout + run.stderr
    return marker, run, took


def test_restart_waits_for_the_delivery_in_progress(host, slow_sink):
    marker, run, took = _restart_during_a_delivery(host, 30)
    assert "queue manager paused, waiting at most 30s for the deliveries in progress" in run.stdout, run.stdout
    waited = re.search(r"no delivery in progress after (\d+)s; restarting", run.stdout)
    assert waited, run.stdout
    # It waited for the pipe to finish (it had started before the pause), and no longer than that.
    assert 1 <= int(waited.group(1)) <= DELIVERY_SECONDS + 2, run.stdout
    assert took < 30, run.stdout
    assert host.service("postfix").is_running
    # Delivered, once: the restart cut nothing, so nothing is left to deliver again.
    assert _got(host, marker) == 1
    time.sleep(3)
    assert _got(host, marker) == 1
    assert USER not in host.run("postqueue -p").stdout


def test_the_drain_is_bounded_by_the_clock(host, slow_sink):
    marker, run, took = _restart_during_a_delivery(host, 2)
    assert re.search(r"deliveries still running after [23]s: \d+ \(local\) - restarting anyway", run.stdout), \
        run.stdout
    # 2 s of drain plus the restart itself; the old loop counted ticks and took minutes under load.
    assert took < 2 + 15, (took, run.stdout)
    assert host.service("postfix").is_running
    # The cut delivery is not lost: the new queue manager delivers the message again.
    deadline = time.monotonic() + 60
    while _got(host, marker) == 0:
        assert time.monotonic() < deadline, host.run("postqueue -p").stdout
        time.sleep(1)
