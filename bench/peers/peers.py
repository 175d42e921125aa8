"""Controller cost per host: our playbooks and the peer Postfix roles.

For each case, fresh containers (mh-bench18-<case>-<i>): one host alone and a
fleet of N (BENCH_N, default 5) are converged, then re-run unchanged. Per case:

  controller CPU-s per host = (CPU(fleet of N) - CPU(1 host)) / (N - 1)

CPU is user+sys of ansible-playbook and every process it waited for (workers,
docker CLI calls): getrusage(RUSAGE_CHILDREN) of this wrapper around one run.
Tasks and remote module invocations per host come from the bench_count callback
(bench/peers/callback_plugins/bench_count.py, which defines them), taken from
the fleet run and divided by N.

Cases: null client, full mail server (tls_cert + postfix + dovecot), sendmail
gateway (playbooks/site.yml); the hand-written floor, our postfix role,
geerlingguy.postfix and foundata.postfix's run role (bench/peers/playbooks/,
four main.cf settings). Re-runs with mitogen's mitogen_linear strategy are
added when mitogen is installed (BENCH_MITOGEN=0 leaves them out).
BENCH_CASES selects cases, BENCH_PREFIX names the containers (default
mh-bench18). Writes .cache/bench-peers/results.json and the section of
bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
STATE = ROOT / ".cache" / "bench-peers"
PEERS = ROOT / "bench" / ".cache" / "peers"
HERE = ROOT / "bench" / "peers"
IMAGE = os.environ.get("MOLECULE_IMAGE", "mailhost-testbed:debian12")
PREFIX = os.environ.get("BENCH_PREFIX", "mh-bench18")
NETWORK = PREFIX + "-net"
N = int(os.environ.get("BENCH_N", "5"))
FORKS = os.environ.get("BENCH_FORKS", "20")
RUN_TIMEOUT = int(os.environ.get("BENCH_RUN_TIMEOUT", "900"))
BOOT_TIMEOUT = 120
FAILURES: list = []
# Every play's batch size: the whole fleet at once (site.yml's mail servers
# default to serial 1, which only extra vars can change).
EXTRA = ("-e", "mailhost_serial=100%")

SETTINGS = {  # order matters for floor.yml (postconf -h prints in this order)
    "myhostname": "{{ inventory_hostname }}",
    "mydomain": "example.com",
    "inet_interfaces": "loopback-only",
    "inet_protocols": "ipv4",
}
SITE_VARS = {
    "postfix_mydomain": "example.com",
    "postfix_relayhost": "[mail.example.com]",
    "demo_users": {},
}


def example_vars(*names):
    merged = {}
    for name in names:
        merged.update(yaml.safe_load((ROOT / "inventory" / "group_vars" / f"{name}.yml").read_text()) or {})
    return merged


CASES = {
    "null_client": ("playbooks/site.yml", "null_clients", SITE_VARS),
    "mail_server": ("playbooks/site.yml", "mail_servers", SITE_VARS),
    "sendmail_gateway": (
        "playbooks/site.yml",
        "sendmail_servers",
        {**SITE_VARS, **example_vars("all", "sendmail_servers")},
    ),
    "floor": ("bench/peers/playbooks/floor.yml", "bench", {"bench_settings": SETTINGS}),
    "ours_postfix": ("bench/peers/playbooks/ours.yml", "bench", {"bench_settings": SETTINGS}),
    "geerlingguy": ("bench/peers/playbooks/geerlingguy.yml", "bench", {"bench_settings": SETTINGS}),
    "foundata": ("bench/peers/playbooks/foundata.yml", "bench", {"bench_settings": SETTINGS}),
}


def log(msg):
    print(f"[bench/peers] {msg}", file=sys.stderr, flush=True)


def docker(*args, check=True, timeout=120):
    return subprocess.run(["docker", *args], check=check, timeout=timeout, capture_output=True, text=True)


def start(names):
    for name in names:
        docker("rm", "-f", name, check=False)
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            f"{name}.example.com",
            "--network",
            NETWORK,
            "--label",
            "mailhost.bench=1",
            "--cap-add",
            "SYS_ADMIN",
            "--cap-add",
            "SYS_PTRACE",
            "--cgroupns",
            "host",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "--tmpfs",
            "/tmp",
            "-e",
            "container=docker",
            IMAGE,
            "/lib/systemd/systemd",
        )
    deadline = time.monotonic() + BOOT_TIMEOUT
    for name in names:
        while True:
            out = docker("exec", name, "systemctl", "is-system-running", check=False, timeout=30).stdout.strip()
            if out in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not boot within {BOOT_TIMEOUT}s ({out or 'no answer'})")
            time.sleep(1)


def remove(names):
    for name in names:
        docker("rm", "-f", name, check=False)


def inventory(path, group, names, group_vars, connection="community.docker.docker"):
    hosts = {f"{n}.example.com": {"ansible_host": n} for n in names}
    inv = {
        "all": {"vars": {"ansible_connection": connection}, "children": {group: {"hosts": hosts, "vars": group_vars}}}
    }
    path.write_text(yaml.safe_dump(inv, sort_keys=False))


def env(mitogen=False):
    e = dict(os.environ)
    e.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": f"{PEERS}/collections:{ROOT}/.cache/collections:"
            f"{ROOT}/.venv/lib/python3.11/site-packages",
            "ANSIBLE_ROLES_PATH": f"{PEERS}/roles",
            "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "bench_count",
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "ANSIBLE_NOCOLOR": "true",
            "ANSIBLE_FORCE_COLOR": "false",
            "ANSIBLE_INTERPRETER_PYTHON": "auto_silent",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_PIPELINING": "true",
        }
    )
    if mitogen:
        import ansible_mitogen  # noqa: PLC0415 -- optional

        e["ANSIBLE_STRATEGY_PLUGINS"] = str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")
        e["ANSIBLE_STRATEGY"] = "mitogen_linear"
    return e


def recap(logtext, key):
    total, inside = 0, False
    for line in logtext.splitlines():
        if line.startswith("PLAY RECAP"):
            inside = True
            continue
        if inside and not line.strip():
            inside = False
        if inside:
            for field in line.split():
                if field.startswith(key + "="):
                    total += int(field.split("=", 1)[1])
    return total


def run(label, inv, playbook, mitogen=False, extra=()):
    """One timed ansible-playbook run in a child wrapper: its own RUSAGE_CHILDREN."""
    logf = STATE / f"{label}.log"
    count = STATE / f"{label}.count"
    for f in (count, Path(str(count) + ".json")):
        f.unlink(missing_ok=True)
    e = env(mitogen)
    e["BENCH_COUNT_FILE"] = str(count)
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "rc = subprocess.call(sys.argv[2:], timeout=%d)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "open(sys.argv[1], 'w').write(json.dumps(u.ru_utime + u.ru_stime))\n"
        "sys.exit(rc)\n"
    ) % RUN_TIMEOUT
    cpu_file = STATE / f"{label}.cpu"
    log(label)
    t0 = time.monotonic()
    with open(logf, "w") as out:
        rc = subprocess.call(
            [
                str(BIN / "python"),
                "-c",
                wrapper,
                str(cpu_file),
                str(BIN / "ansible-playbook"),
                "-i",
                str(inv),
                str(ROOT / playbook),
                "-f",
                FORKS,
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=e,
            cwd=ROOT,
        )
    wall = time.monotonic() - t0
    text = logf.read_text()
    res = {
        "rc": rc,
        "seconds": round(wall, 1),
        "cpu": round(json.loads(cpu_file.read_text()), 2) if cpu_file.exists() else None,
        "changed": recap(text, "changed"),
        "failed": recap(text, "failed") + recap(text, "unreachable"),
    }
    modules, per_module = 0, {}
    if count.exists():
        for line in count.read_text().splitlines():
            modules += 1
            mod = line.split("\t", 1)[1]
            per_module[mod] = per_module.get(mod, 0) + 1
    hosts = json.loads(Path(str(count) + ".json").read_text()) if Path(str(count) + ".json").exists() else {}
    nhosts = max(len(hosts), 1)
    res.update(
        {
            "hosts": len(hosts),
            "tasks_per_host": round(sum(h["tasks"] for h in hosts.values()) / nhosts, 1),
            "skipped_per_host": round(sum(h["skipped"] for h in hosts.values()) / nhosts, 1),
            "modules_per_host": round(modules / nhosts, 1),
            "modules": dict(sorted(per_module.items(), key=lambda kv: -kv[1])),
        }
    )
    log(
        f"  {res['seconds']}s cpu {res['cpu']}s changed={res['changed']} failed={res['failed']} "
        f"tasks/host {res['tasks_per_host']} modules/host {res['modules_per_host']}"
    )
    if rc != 0 or res["failed"]:
        FAILURES.append(label)
        log(f"  FAILED (rc {rc}), log: {logf.relative_to(ROOT)}")
        log("\n".join(text.splitlines()[-25:]))
    return res


def per_host(fleet, solo):
    if fleet.get("cpu") is None or solo.get("cpu") is None:
        return None
    return round((fleet["cpu"] - solo["cpu"]) / (N - 1), 3)


def bench_case(case, results, mitogen):
    playbook, group, gvars = CASES[case]
    solo = [f"{PREFIX}-{case.replace('_', '')}-0"]
    fleet = [f"{PREFIX}-{case.replace('_', '')}-{i}" for i in range(1, N + 1)]
    names = solo + fleet
    try:
        start(names)
        inv_all, inv_solo, inv_fleet = (STATE / f"{case}-{k}.yml" for k in ("all", "solo", "fleet"))
        inventory(inv_all, group, names, gvars)
        inventory(inv_solo, group, solo, gvars)
        inventory(inv_fleet, group, fleet, gvars)
        proxy = subprocess.run(
            ["bash", "tests/testbed/testbed.sh", "proxy"], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip()
        prep = run(f"{case}-prepare", inv_all, "demo/prepare.yml", extra=("-e", f"demo_apt_proxy={proxy}"))
        if prep["rc"]:
            raise RuntimeError("prepare failed")
        r = {}
        for phase in ("converge", "rerun"):
            r[f"{phase}_1"] = run(f"{case}-{phase}-1", inv_solo, playbook, extra=EXTRA)
            r[f"{phase}_{N}"] = run(f"{case}-{phase}-{N}", inv_fleet, playbook, extra=EXTRA)
            r[f"{phase}_cpu_per_host"] = per_host(r[f"{phase}_{N}"], r[f"{phase}_1"])
        if mitogen:
            m_solo, m_fleet = STATE / f"{case}-msolo.yml", STATE / f"{case}-mfleet.yml"
            inventory(m_solo, group, solo, gvars, connection="docker")
            inventory(m_fleet, group, fleet, gvars, connection="docker")
            r["mitogen_1"] = run(f"{case}-mitogen-1", m_solo, playbook, mitogen=True, extra=EXTRA)
            r[f"mitogen_{N}"] = run(f"{case}-mitogen-{N}", m_fleet, playbook, mitogen=True, extra=EXTRA)
            r["mitogen_cpu_per_host"] = per_host(r[f"mitogen_{N}"], r["mitogen_1"])
        results[case] = r
    finally:
        if os.environ.get("KEEP") != "1":
            remove(names)


def main():
    STATE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", str(HERE / "prepare_peers.sh")], check=True, cwd=ROOT)
    (ROOT / ".cache/collections/ansible_collections/mailhost").mkdir(parents=True, exist_ok=True)
    link = ROOT / ".cache/collections/ansible_collections/mailhost/mail"
    if not link.exists():
        link.symlink_to(ROOT)
    if docker("network", "inspect", NETWORK, check=False).returncode:
        docker("network", "create", "--label", "mailhost.bench=1", NETWORK)
    cases = os.environ.get("BENCH_CASES", " ".join(CASES)).split()
    mitogen = os.environ.get("BENCH_MITOGEN", "auto")
    if mitogen == "auto":
        try:
            import ansible_mitogen  # noqa: F401, PLC0415 -- optional

            mitogen = "1"
        except ImportError:
            mitogen = "0"
    mitogen = mitogen == "1"
    out = STATE / "results.json"
    results = json.loads(out.read_text()) if out.exists() and os.environ.get("BENCH_KEEP_RESULTS") == "1" else {}
    results["_meta"] = {
        "n": N,
        "forks": FORKS,
        "image": IMAGE,
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
        ).stdout.strip(),
    }
    try:
        for case in cases:
            bench_case(case, results, mitogen)
            out.write_text(json.dumps(results, indent=1))
    finally:
        docker("network", "rm", NETWORK, check=False)
        results["_meta"]["loadavg_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        out.write_text(json.dumps(results, indent=1))
    subprocess.run([str(BIN / "python"), str(HERE / "report.py")], check=False, cwd=ROOT)
    if FAILURES:
        sys.exit("[bench/peers] failed runs: " + ", ".join(FAILURES))


if __name__ == "__main__":
    if not shutil.which("docker"):
        sys.exit("docker not found")
    main()
