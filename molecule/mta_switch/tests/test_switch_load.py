"""Mail under load across mta_switch: postfix -> sendmail -> postfix.

Runs after side_effect, when the host is back on Postfix (the first verify,
on Sendmail, skips it). files/switch_load.py sends from 20 sessions on the host
itself, each message with its own Message-ID, recorded only after the 250 for
its DATA, while the role switches to Sendmail and back (switch.yml). The
undeliverable mail of the scenario sits in the queue through both switches.
Afterwards every accepted message is either in loadrx's mailbox, exactly once,
or still queued: delivered + still queued = accepted.
"""

import collections
import json
import os
import re
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "molecule", "resources"))
import scenario_playbook  # noqa: E402

OUT = "/root/switch-load"
UNIT = "mh-switch-load"
MIN_ACCEPTED = 2000
SENDER_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files", "switch_load.py")

# Inside the container: loadrx's mbox and the Postfix queue, as Message-ID counts.
COUNT_SCRIPT = r"""
import collections, json, mailbox, subprocess
delivered = collections.Counter(
    (m["Message-ID"] or "").strip().strip("<>") for m in mailbox.mbox("/var/mail/loadrx", create=False))
queued = collections.Counter()
for line in subprocess.run(["postqueue", "-j"], capture_output=True, text=True, check=True).stdout.splitlines():
    qid = json.loads(line)["queue_id"]
    head = subprocess.run(["postcat", "-hq", qid], capture_output=True, text=True, check=False).stdout
    for h in head.splitlines():
        if h.lower().startswith("message-id:") and "@mta-switch.test" in h:
            queued[h.split(":", 1)[1].strip().strip("<>")] += 1
print(json.dumps({"delivered": delivered, "queued": queued}))
"""


def _accepted_ids(host) -> list:
    return host.run(f"cat {OUT}/accepted.* 2>/dev/null").stdout.split()


def _load_in_queue(host) -> bool:
    return "loadrx@localhost" in host.run("mailq").stdout


@pytest.fixture(scope="module")
def switched_under_load(host):
    mta = json.loads(host.file("/root/mta_switch_expect.json").content_string)["mta"]
    if mta != "postfix":
        pytest.skip("the load test runs once, after the switch back to Postfix")
    with open(SENDER_FILE, encoding="utf-8") as handle:
        sender = handle.read()
    setup = host.run(
        f"id loadrx >/dev/null 2>&1 || useradd -m loadrx; rm -rf {OUT}; mkdir -p {OUT}; "
        f": > /var/mail/loadrx; chown loadrx:mail /var/mail/loadrx; chmod 660 /var/mail/loadrx; "
        f"systemctl reset-failed {UNIT} 2>/dev/null; true")
    assert setup.rc == 0, setup.stderr
    host.run(f"cat > {OUT}/switch_load.py <<'SENDER_END'\n{sender}\nSENDER_END")
    start = host.run(f"systemd-run --unit {UNIT} --quiet python3 {OUT}/switch_load.py {OUT}")
    assert start.rc == 0, start.stderr

    deadline = time.time() + 120
    while len(_accepted_ids(host)) < 200 and time.time() < deadline:
        time.sleep(2)
    started = time.time()
    steps = []
    for target in ("sendmail", "postfix"):
        at = len(_accepted_ids(host))
        began = time.time()
        returncode, output = scenario_playbook.run_playbook(
            __file__, "switch.yml", "-e", f"mta_switch_to={target}", timeout=900)
        moved = re.findall(r"(\d+) queued message\(s\) moved from", output)
        steps.append({"to": target, "seconds": round(time.time() - began), "accepted_before": at,
                      "accepted_after": len(_accepted_ids(host)), "moved": moved})
        assert returncode == 0, output[-4000:]
    # The sender goes on until it has had MIN_ACCEPTED messages accepted.
    deadline = time.time() + 600
    while len(_accepted_ids(host)) < MIN_ACCEPTED and time.time() < deadline:
        time.sleep(2)
    host.run(f"touch {OUT}/stop")
    deadline = time.time() + 120
    while host.run(f"systemctl is-active --quiet {UNIT}").rc == 0 and time.time() < deadline:
        time.sleep(1)
    sent_for = time.time() - started
    # Postfix delivers what it holds for loadrx; the undeliverable mail stays.
    deadline = time.time() + 300
    while _load_in_queue(host) and time.time() < deadline:
        host.run("postqueue -f")
        time.sleep(3)
    result = host.run(f"python3 - <<'COUNT_END'\n{COUNT_SCRIPT}\nCOUNT_END")
    assert result.rc == 0, result.stderr
    counts = json.loads(result.stdout)
    errors = host.run(f"cat {OUT}/errors.* 2>/dev/null").stdout.splitlines()
    accepted = collections.Counter(_accepted_ids(host))
    delivered = collections.Counter(counts["delivered"])
    queued = collections.Counter(counts["queued"])
    tried = {line.split()[0] for line in errors}
    arrived = set(delivered) | set(queued)
    figures = {
        "accepted": sum(accepted.values()),
        "delivered": sum(delivered.values()),
        "still_queued": sum(queued.values()),
        "duplicates": sum(n - 1 for n in (delivered + queued).values() if n > 1),
        "duplicate_ids": sorted(k for k, n in (delivered + queued).items() if n > 1)[:10],
        "lost": sorted(set(accepted) - arrived)[:10],
        "n_lost": len(set(accepted) - arrived),
        "delivered_without_250": sorted(arrived - set(accepted)),
        "unknown": sorted(arrived - set(accepted) - tried)[:10],
        "refused_or_cut": len(errors),
        "refusal_kinds": dict(collections.Counter(line.split(None, 1)[1] for line in errors if " " in line)),
    }
    print(f"\n[switch-load] 20 sessions to loadrx@localhost across postfix -> sendmail -> postfix, "
          f"{sent_for:.0f}s of sending ({figures['accepted'] / sent_for:.1f} accepted/s)")
    for step in steps:
        print(f"[switch-load]   switch to {step['to']}: {step['seconds']}s, accepted "
              f"{step['accepted_before']} -> {step['accepted_after']} meanwhile; queued messages moved {step['moved']}")
    print(f"[switch-load]   accepted {figures['accepted']}, delivered {figures['delivered']}, still queued "
          f"{figures['still_queued']}, duplicates {figures['duplicates']} {figures['duplicate_ids']}, "
          f"lost {figures['n_lost']} {figures['lost']}")
    print(f"[switch-load]   refused or cut off (no 250; the sender moved on to a new message): "
          f"{figures['refused_or_cut']} {figures['refusal_kinds']}; of them delivered anyway: "
          f"{figures['delivered_without_250'][:10]}")
    return figures, steps


def test_every_accepted_message_is_delivered_or_queued(switched_under_load):
    figures, _steps = switched_under_load
    assert figures["accepted"] >= MIN_ACCEPTED, figures
    assert figures["n_lost"] == 0, figures
    assert not figures["unknown"], figures


# Seen once in 4099 messages (2026-12-04, CI run of 280a4fe) while the
# switch stopped the old MTA with a plain systemd stop, which can kill a
# delivery after the mailbox took the message. The switch now lets the
# running deliveries finish first (postfix role's "stop" entry point; the
# wait for Sendmail's qf holders in mta_switch's leave.yml).
# Still seen once in 2779 (clean-clone CI of ef2db87, load-1858, taken by
# Sendmail during the switch): not yet fixed, so not strict (XPASS when none).
@pytest.mark.xfail(strict=False, reason="one duplicate in ~2800 across the switch remains (issue 17 finding)")
def test_no_message_is_delivered_twice(switched_under_load):
    figures, _steps = switched_under_load
    assert figures["duplicates"] == 0, figures
    # delivered + still queued = accepted, plus any whose 250 the client never read
    assert figures["delivered"] + figures["still_queued"] == \
        figures["accepted"] + len(figures["delivered_without_250"]), figures


def test_the_switches_had_mail_to_move(switched_under_load):
    _figures, steps = switched_under_load
    # the scenario's undeliverable mail is queued at both switches
    assert all(step["moved"] and int(step["moved"][0]) > 0 for step in steps), steps
