"""After each switch: the mail queued in the old MTA sits in the new one's queue,
envelope and content unchanged; only the new MTA runs and answers on port 25;
the aliases added to /etc/aliases under the old MTA resolve in the new one.

Runs twice: after converge (postfix -> sendmail) and after side_effect
(sendmail -> postfix). /root/mta_switch_expect.json says which MTA should run
and which messages were queued before the switch.
"""

import json
import re
from email.parser import Parser
from email.policy import compat32

import pytest

OTHER = {"postfix": "sendmail", "sendmail": "postfix"}
CONFIG = {"postfix": "/etc/postfix/main.cf", "sendmail": "/etc/mail/sendmail.mc"}
PACKAGE = {"postfix": "postfix", "sendmail": "sendmail"}
BANNER = {"postfix": "Postfix", "sendmail": "Sendmail"}
# The systemd unit (cgroup) of every process of the MTA: master and the smtpd
# it spawned share the port 25 socket.
UNIT = {"postfix": r"/postfix(@[^/]*)?\.service(/|$)", "sendmail": r"/sendmail\.service(/|$)"}
# Headers the test writes and the switch must keep as they were. The MTAs add
# others (Received, Return-Path), which are not compared.
KEPT_HEADERS = ("From", "To", "Subject", "Date", "Message-ID")

# Runs inside the container: lists the queue of one MTA as JSON with envelope
# and content, reading Postfix through postqueue/postcat and Sendmail from its
# qf/df files directly (header lines "H?flags?Name: value" and the lines
# continuing them, without the qf prefix).
QUEUE_SCRIPT = r"""
import glob, json, re, subprocess, sys
mta = sys.argv[1]
out = []
if mta == "postfix":
    for line in subprocess.run(["postqueue", "-j"], capture_output=True, text=True, check=True).stdout.splitlines():
        entry = json.loads(line)
        qid = entry["queue_id"]
        env = subprocess.run(["postcat", "-e", "-q", qid], capture_output=True, text=True, check=True).stdout
        sender = [l[7:].strip() for l in env.splitlines() if l.startswith("sender:")][0]
        content = subprocess.run(["postcat", "-bh", "-q", qid], capture_output=True, text=True, check=True).stdout
        out.append({"id": qid, "sender": sender,
                    "recipients": [r["address"] for r in entry["recipients"]], "content": content})
else:
    for qf in glob.glob("/var/spool/mqueue*/qf*"):
        sender, rcpts, headers, in_header = None, [], [], False
        for line in open(qf, "rb").read().decode("latin-1").split("\n"):
            if in_header and line[:1] in (" ", "\t"):
                headers.append(line)
                continue
            in_header = False
            if line.startswith("S"):
                sender = line[1:].strip("<>")
            elif line.startswith("R"):
                rcpts.append(line.split(":", 1)[1].strip("<>"))
            elif line.startswith("H"):
                headers.append(re.sub(r"^H(\?[^?]*\?)?", "", line))
                in_header = True
        body = open(qf.replace("/qf", "/df"), encoding="latin-1").read()
        out.append({"id": qf, "sender": sender, "recipients": rcpts, "content": "\n".join(headers) + "\n\n" + body})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def expected(host):
    return json.loads(host.file("/root/mta_switch_expect.json").content_string)


@pytest.fixture(scope="module")
def mta(expected):
    return expected["mta"]


@pytest.fixture(scope="module")
def queue(host, mta):
    result = host.run(f"python3 - {mta} <<'EOF'\n{QUEUE_SCRIPT}\nEOF")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_role_reports_every_message_moved(host, expected):
    report = json.loads(host.file("/root/mta_switch_moved.json").content_string)
    assert report["to"] == expected["mta"]
    assert report["from"] == OTHER[expected["mta"]]
    # The three messages queued before this switch, plus the three the
    # previous switch moved into this MTA (still undeliverable).
    assert report["moved"] == len(expected["messages"])
    assert len(expected["messages"]) == (3 if expected["from"] == "postfix" else 6)


def test_every_message_is_in_the_new_queue_unchanged(expected, queue):
    for message in expected["messages"]:
        message_id = message["headers"]["Message-ID"]
        found = [q for q in queue if message_id in q["content"]]
        assert len(found) == 1, f"{message_id} is in the new queue {len(found)} times"
        held = found[0]
        assert held["sender"] == message["sender"]
        assert sorted(held["recipients"]) == sorted(message["recipients"])
        headers = Parser(policy=compat32).parsestr(held["content"], headersonly=True)
        for name in KEPT_HEADERS:
            assert headers.get_all(name) == [message["headers"][name]], (
                f"{name} of {message_id} changed: {held['content']!r}"
            )
        for line in message["body"].split("\n"):
            assert f"\n{line}\n" in held["content"] + "\n", f"body line {line!r} of {message_id} changed"


def test_mailq_lists_the_moved_messages(host, expected):
    listing = host.run("mailq").stdout
    for message in expected["messages"]:
        for recipient in message["recipients"]:
            assert recipient in listing


def test_holding_directory_is_empty(host):
    assert host.run("find /var/lib/mailhost/mta_switch -mindepth 1 -maxdepth 1").stdout.strip() == ""


@pytest.mark.parametrize("program", ["/usr/sbin/sendmail", "/usr/bin/mailq", "newaliases"])
def test_mail_programs_belong_to_the_new_mta(host, mta, program):
    path = host.run(f"realpath -e $(command -v {program})")
    assert path.rc == 0, path.stderr
    owner = host.run(f"dpkg-query -S {path.stdout.strip()}")
    assert owner.rc == 0, owner.stderr
    assert owner.stdout.split(":")[0].startswith(PACKAGE[mta]), owner.stdout


def test_only_the_new_service_runs(host, mta):
    assert host.service(mta).is_running
    assert not host.service(OTHER[mta]).is_running
    # No daemon of the old MTA survived the switch.
    daemon = {"postfix": "pgrep -x master", "sendmail": "pgrep -f '^sendmail: MTA'"}[OTHER[mta]]
    assert host.run(daemon).rc == 1


def test_every_port_25_listener_is_the_new_mta(host, mta):
    sockets = host.run("ss -Hltn 'sport = :25'").stdout.splitlines()
    addresses = [line.split()[3].rsplit(":", 1)[0] for line in sockets if line.strip()]
    assert addresses
    for address in addresses:
        # Wildcard sockets are reached over loopback.
        target = {"0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "[::]": "::1"}.get(address, address.strip("[]"))  # noqa: S104
        greeting = host.run(f"""python3 - <<'EOF'
import errno, socket
try:
    with socket.create_connection(("{target}", 25), timeout=10) as sock:
        print(sock.recv(512).decode())
except OSError as exc:
    # Docker without IPv6 has no ::1; a [::] socket is then unreachable.
    if exc.errno != errno.EADDRNOTAVAIL or ":" not in "{target}":
        raise
    print("no-ipv6")
EOF""")
        assert greeting.rc == 0, greeting.stderr
        if greeting.stdout.strip() == "no-ipv6":
            continue
        assert BANNER[mta] in greeting.stdout, f"{address}:25 answers {greeting.stdout!r}"


def test_only_the_new_mta_listens_on_port_25(host, mta):
    # Every address, IPv4 and IPv6: each process holding a socket on port 25
    # runs in the new MTA's service.
    sockets = [line for line in host.run("ss -Hltnp 'sport = :25'").stdout.splitlines() if line.strip()]
    assert sockets
    for socket in sockets:
        pids = re.findall(r",pid=([0-9]+),", socket)
        assert pids, f"no process for {socket!r}"
        cgroups = [host.run(f"cat /proc/{pid}/cgroup") for pid in pids]
        # A child that exited since ss looked (an idle smtpd) is no listener.
        units = [cgroup.stdout.strip() for cgroup in cgroups if cgroup.rc == 0]
        assert units, socket
        assert all(re.search(UNIT[mta], unit) for unit in units), f"{socket}: {units}"


def test_new_mta_accepts_mail(host, mta):
    result = host.run(f"""python3 - <<'EOF'
import smtplib
from email.message import EmailMessage
msg = EmailMessage()
msg["From"] = "tester@example.net"
msg["To"] = "root@localhost"
msg["Subject"] = "accepted by {mta}"
msg["Message-ID"] = "<accept-{mta}@example.net>"
msg.set_content("hello")
with smtplib.SMTP("127.0.0.1", 25, timeout=30) as smtp:
    refused = smtp.send_message(msg)
print("refused", refused)
EOF""")
    assert result.rc == 0, result.stderr
    assert "refused {}" in result.stdout


def test_old_configuration_is_kept(host, mta):
    assert host.file(CONFIG[OTHER[mta]]).exists


def test_old_configuration_was_archived(host, mta):
    archives = host.run(f"ls /var/backups/mailhost/{OTHER[mta]}-config-*.tar.gz").stdout.split()
    assert archives
    listing = host.run(f"tar -tzf {archives[-1]}").stdout
    assert CONFIG[OTHER[mta]].lstrip("/").split("/", 1)[1] in listing


def test_debian_sendmail_alternatives_are_consistent(host, mta):
    query = host.run("update-alternatives --query sendmail-mta")
    if mta == "sendmail":
        assert query.rc == 0
        value = [line for line in query.stdout.splitlines() if line.startswith("Value:")][0].split()[1]
        assert host.file(value).exists
        assert host.file("/usr/sbin/sendmail-mta").linked_to == value
    else:
        # Removing sendmail-bin removed its alternatives: no dangling links.
        assert query.rc != 0
        assert not host.file("/usr/sbin/sendmail-mta").exists


def test_aliases_database_is_built_for_the_new_mta(host, mta):
    database = {"postfix": "/etc/aliases.db", "sendmail": "/etc/mail/aliases.db"}[mta]
    assert host.file(database).exists
    assert host.file(database).mtime >= host.file("/etc/aliases").mtime


def test_aliases_carry_over(host, mta, expected):
    # The alias added to /etc/aliases before each switch is still in the file
    # and resolves through the new MTA's own alias database; so does
    # postmaster, and a name that was never added does not.
    aliases = host.file("/etc/aliases").content_string
    assert re.search(r"(?mi)^postmaster[ \t]*:", aliases)
    assert len(expected["aliases"]) == (1 if expected["from"] == "postfix" else 2)
    for alias in expected["aliases"]:
        assert re.search(rf"(?m)^{re.escape(alias)}:[ \t]*root[ \t]*$", aliases), f"{alias} is gone from /etc/aliases"
    if mta == "sendmail":
        for alias in [*expected["aliases"], "postmaster"]:
            result = host.run(f"sendmail -bv {alias}")
            assert result.rc == 0, result.stdout + result.stderr
            assert "root... deliverable" in result.stdout, result.stdout
        assert "root... deliverable" not in host.run("sendmail -bv mtaswitch-never-added").stdout
    else:
        db_type = host.run("postconf -h default_database_type").stdout.strip()
        assert f"{db_type}:/etc/aliases" in host.run("postconf -h alias_maps").stdout
        for alias in [*expected["aliases"], "postmaster"]:
            result = host.run(f"postalias -q {alias} {db_type}:/etc/aliases")
            assert result.rc == 0, result.stderr
            assert result.stdout.strip() == "root"
        assert host.run(f"postalias -q mtaswitch-never-added {db_type}:/etc/aliases").rc == 1
