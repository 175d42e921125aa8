"""After each switch: the mail queued in the old MTA sits in the new one's queue,
envelope and content unchanged; only the new MTA runs and answers on port 25.

Runs twice: after converge (postfix -> sendmail) and after side_effect
(sendmail -> postfix). /root/mta_switch_expect.json says which MTA should run
and which messages were queued before the switch.
"""

import json

import pytest

OTHER = {"postfix": "sendmail", "sendmail": "postfix"}
CONFIG = {"postfix": "/etc/postfix/main.cf", "sendmail": "/etc/mail/sendmail.mc"}
PACKAGE = {"postfix": "postfix", "sendmail": "sendmail"}
BANNER = {"postfix": "Postfix", "sendmail": "Sendmail"}

# Runs inside the container: lists the queue of one MTA as JSON with envelope
# and content, reading Postfix through postqueue/postcat and Sendmail from its
# qf/df files directly.
QUEUE_SCRIPT = r"""
import glob, json, subprocess, sys
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
        sender, rcpts, headers = None, [], []
        for line in open(qf, "rb").read().decode("latin-1").split("\n"):
            if line.startswith("S"):
                sender = line[1:].strip("<>")
            elif line.startswith("R"):
                rcpts.append(line.split(":", 1)[1].strip("<>"))
            elif line.startswith("H"):
                headers.append(line)
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
        found = [q for q in queue if message["message_id"] in q["content"]]
        assert len(found) == 1, f"{message['message_id']} is in the new queue {len(found)} times"
        held = found[0]
        assert held["sender"] == message["sender"]
        assert sorted(held["recipients"]) == sorted(message["recipients"])
        for line in message["body"].split("\n"):
            assert f"\n{line}\n" in held["content"] + "\n", f"body line {line!r} of {message['message_id']} changed"


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
