"""Write the bench/peers section of bench/RESULTS.md from .cache/bench-peers/results.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## Controller cost per host (bench/peers/peers.py)"
LABELS = {
    "null_client": "null client (site.yml)",
    "mail_server": "full mail server: tls_cert + postfix + dovecot (site.yml)",
    "sendmail_gateway": "sendmail gateway (site.yml, example group_vars)",
    "floor": "hand floor: apt + postconf -e + service (4 settings)",
    "ours_postfix": "mailhost.mail.postfix (4 settings)",
    "geerlingguy": "geerlingguy.postfix (2 of the 4: all it has)",
    "foundata": "foundata.postfix.run (4 settings)",
}


def fmt(value, digits=2):
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def main():
    data = json.loads((ROOT / ".cache" / "bench-peers" / "results.json").read_text())
    meta = data.pop("_meta")
    n = meta["n"]
    lines = [
        HEADING,
        "",
        f"Measured {meta['started']} (load average at the end: {meta.get('loadavg_end', '?')}), "
        f"code of commit {meta['commit']}, image {meta['image']}, community.docker.docker connection, "
        f"pipelining on, forks {meta['forks']}, fleet of N = {n} plus one host alone, all fresh containers per "
        "case. CPU-s per host = (controller CPU of the N-host run - of the 1-host run) / (N - 1); controller "
        "CPU = user+sys of ansible-playbook and every process it waited for (workers, docker CLI). Tasks and "
        "remote module invocations per host: bench/peers/callback_plugins/bench_count.py (a remote module "
        "invocation = one module run on the host, including those an action plugin runs for its task, e.g. "
        "template = stat + copy; set_fact/assert/debug/include_*/meta run on the controller and count none), "
        f"from the N-host run.",
        "",
        "| case | converge CPU-s/host | re-run CPU-s/host | converge tasks/host | converge modules/host "
        "| re-run tasks/host | re-run modules/host | re-run changed | mitogen re-run CPU-s/host |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, r in data.items():
        conv, rerun = r.get(f"converge_{n}", {}), r.get(f"rerun_{n}", {})
        lines.append(
            f"| {LABELS.get(case, case)} | {fmt(r.get('converge_cpu_per_host'), 3)} "
            f"| {fmt(r.get('rerun_cpu_per_host'), 3)} "
            f"| {conv.get('tasks_per_host', 'n/a')} | {conv.get('modules_per_host', 'n/a')} "
            f"| {rerun.get('tasks_per_host', 'n/a')} | {rerun.get('modules_per_host', 'n/a')} "
            f"| {rerun.get('changed', 'n/a')} + {r.get('rerun_1', {}).get('changed', 'n/a')} "
            f"| {fmt(r.get('mitogen_cpu_per_host'), 3)} |"
        )
    lines += [
        "",
        "Wall seconds and whole-run controller CPU-s (1 host / N hosts):",
        "",
        "| case | converge s | converge CPU-s | re-run s | re-run CPU-s | mitogen re-run s | mitogen re-run CPU-s |",
        "|---|---|---|---|---|---|---|",
    ]

    def pair(r, phase, key):
        a, b = r.get(f"{phase}_1", {}).get(key), r.get(f"{phase}_{n}", {}).get(key)
        return "n/a" if a is None else f"{a} / {b}"

    for case, r in data.items():
        lines.append(
            f"| {case} | {pair(r, 'converge', 'seconds')} | {pair(r, 'converge', 'cpu')} "
            f"| {pair(r, 'rerun', 'seconds')} "
            f"| {pair(r, 'rerun', 'cpu')} | {pair(r, 'mitogen', 'seconds')} | {pair(r, 'mitogen', 'cpu')} |"
        )

    def cpu(case, key="rerun_cpu_per_host"):
        return data.get(case, {}).get(key)

    ours_g = ratio(cpu("ours_postfix"), cpu("geerlingguy"))
    ours_f = ratio(cpu("ours_postfix"), cpu("foundata"))
    conv_floor = ratio(cpu("ours_postfix", "converge_cpu_per_host"), cpu("floor", "converge_cpu_per_host"))
    mail_mods = data.get("mail_server", {}).get(f"rerun_{n}", {}).get("modules_per_host")
    lines += [
        "",
        "Ratios (targets of issue 18 in brackets):",
        "",
        f"- re-run CPU per host, ours / geerlingguy: **{fmt(ours_g)}** (<= 1)",
        f"- re-run CPU per host, ours / foundata: **{fmt(ours_f)}** (<= 0.5)",
        f"- converge CPU per host, ours / hand floor: **{fmt(conv_floor)}** (<= 1.1)",
    ]
    for case in ("ours_postfix", "floor"):
        s1 = data.get(case, {}).get("converge_1", {}).get("seconds")
        if s1:
            lines.append(f"  (converge wall time of one host, {case}: {s1} s)")
    lines.append(f"- full mail server re-run, remote module invocations per host: **{mail_mods}** (<= 12)")
    for case, r in data.items():
        m = ratio(r.get("rerun_cpu_per_host"), r.get("mitogen_cpu_per_host"))
        if m is not None:
            lines.append(f"- mitogen, re-run CPU per host plain / mitogen_linear, {case}: **{fmt(m)}** (>= 2)")
    changed = {
        c: (r.get(f"rerun_{n}", {}).get("changed"), r.get("rerun_1", {}).get("changed")) for c, r in data.items()
    }
    lines.append(
        "- changed on the re-runs (N hosts, 1 host): " + ", ".join(f"{c} {a}/{b}" for c, (a, b) in changed.items())
    )
    mail = data.get("mail_server", {}).get(f"rerun_{n}", {}).get("modules")
    if mail:
        lines.append(
            f"- full mail server re-run, modules run on the {n} hosts: "
            + ", ".join(f"{k} {v}" for k, v in mail.items())
        )
    lines += [
        "",
        "Reproduce: `make bench` (all benchmarks), or only this one:",
        "`BENCH_N=3 .venv/bin/python bench/peers/peers.py` (BENCH_CASES to pick cases, BENCH_MITOGEN=0 to leave",
        "mitogen out). The peer roles are unpacked by bench/peers/prepare_peers.sh from git snapshots of",
        "github.com/geerlingguy/ansible-role-postfix and github.com/foundata/ansible-collection-postfix into the",
        "ignored bench/.cache/peers (never committed); their commits are printed at the start of a run.",
        "Logs, inventories and per-run counts: .cache/bench-peers/.",
        "",
        f"Skipped or bent: fleets of {n} (not 20): the 2 cores were shared with four other helpers' Molecule runs "
        "(load average 8-14), where one 20-host converge alone takes minutes; per-host CPU is therefore the difference "
        f"of two runs over {n - 1} host(s) and carries their noise (compare the whole-run CPU columns). "
        "geerlingguy.postfix can set only inet_interfaces and inet_protocols, so it does half the work of the others. "
        "The mail servers' play runs with mailhost_serial=100% (extra var) instead of its default serial 1, as every "
        "play here takes the whole fleet at once.",
    ]
    section = "\n".join(lines) + "\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text)
    else:
        text = text.replace("# Benchmarks\n\n", "# Benchmarks\n\n" + section + "\n", 1)
    RESULTS.write_text(text.rstrip("\n") + "\n")
    print(section)


if __name__ == "__main__":
    main()
