"""mta_queue against stub Postfix/Sendmail tools and temporary queue directories."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.mailhost.mail.plugins.modules import mta_queue

from .conftest import run_module

# postqueue/postcat/postsuper read a fake queue under $STUB_QUEUE (one dir per
# queue id: sender, recipients, content); sendmail records each injection.
STUB = r"""#!/bin/sh
name=$(basename "$0")
echo "$name $*" >> "$STUB_LOG"
case "$name" in
  postqueue)
    [ "$1" = -j ] || exit 0
    for d in "$STUB_QUEUE"/*; do
      [ -d "$d" ] || continue
      id=$(basename "$d")
      rcpts=$(sed 's/.*/{"address": "&"}/' "$d/recipients" | paste -sd, -)
      printf '{"queue_name": "deferred", "queue_id": "%s", ' "$id"
      printf '"sender": "MAILER-DAEMON", "recipients": [%s]}\n' "$rcpts"
    done ;;
  postcat)
    id=$3; d="$STUB_QUEUE/$id"; [ -d "$d" ] || { echo "postcat: fatal: $id not found" >&2; exit 1; }
    # "gone": delivered by the running Postfix after postqueue listed it
    [ -e "$d/gone" ] && { echo "postcat: fatal: open queue file $id: No such file or directory" >&2; exit 1; }
    [ -e "$d/corrupt" ] && { echo "postcat: fatal: $id: bad record type" >&2; exit 1; }
    case "$1" in
      -e) printf 'sender: %s\n' "$(cat "$d/sender")" ;;
      -bh) cat "$d/content" ;;
    esac ;;
  postsuper) rm -rf "$STUB_QUEUE/$2"; echo "postsuper: $2: removed" >&2 ;;
  sendmail)
    n=$(ls "$STUB_OUT" | grep -c eml)
    cat > "$STUB_OUT/$n.eml"
    if grep -q REFUSE "$STUB_OUT/$n.eml"; then rm "$STUB_OUT/$n.eml"; echo "sendmail: refused" >&2; exit 75; fi
    echo "$*" > "$STUB_OUT/$n.argv" ;;
esac
"""

QF = (b"V8\nT1795574272\nSsnd1@example.net\nRPFD:<y1@remote.example>\nRPFD:<x1@remote.example>\n"
      b"H?P?Return-Path: <\x81g>\nH??Subject: s1\nH??Message-ID: <s1@example.com>\n.\n")
DF = b"body 1\n.\nlast\n"


@pytest.fixture
def tools(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("postqueue", "postcat", "postsuper", "sendmail"):
        path = bindir / tool
        path.write_text(STUB)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    for name in ("queue", "out"):
        (tmp_path / name).mkdir()
    log = tmp_path / "stub.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ.get('PATH', '')}")
    monkeypatch.setenv("STUB_LOG", str(log))
    monkeypatch.setenv("STUB_QUEUE", str(tmp_path / "queue"))
    monkeypatch.setenv("STUB_OUT", str(tmp_path / "out"))
    return tmp_path


def postfix_message(tools, queue_id, sender, recipients, content):
    d = tools / "queue" / queue_id
    d.mkdir()
    (d / "sender").write_text(sender)
    (d / "recipients").write_text("\n".join(recipients) + "\n")
    (d / "content").write_bytes(content)


def args(tools, **extra):
    return dict({"holding_dir": str(tools / "hold"), "sendmail_command": str(tools / "bin" / "sendmail"),
                 "queue_directories": [str(tools / "mqueue")]}, **extra)


def test_postfix_export_then_import_keeps_envelope_and_content(tools, capsys):
    content = b"Subject: a\nMessage-ID: <a@x>\n\nline\n.\nFrom here\n"
    postfix_message(tools, "AAA111", "", ["bounce@remote.example"], content)
    postfix_message(tools, "BBB222", "alice@example.net", ["x@remote.example", "y@remote.example"], b"S: b\n\nb\n")

    dry = run_module(mta_queue, args(tools, mta="postfix", state="exported"), capsys, check_mode=True)
    assert (dry["changed"], dry["count"]) == (True, 2)
    assert not (tools / "hold").exists()
    assert sorted(os.listdir(tools / "queue")) == ["AAA111", "BBB222"]

    real = run_module(mta_queue, args(tools, mta="postfix", state="exported"), capsys)
    assert (real["changed"], real["count"]) == (True, 2)
    assert os.listdir(tools / "queue") == []
    held = tools / "hold" / "postfix-AAA111"
    assert (held / "message.eml").read_bytes() == content
    envelope = json.loads((held / "envelope.json").read_text())
    assert (envelope["sender"], envelope["recipients"], envelope["message_id"]) == (
        "", ["bounce@remote.example"], "<a@x>")

    again = run_module(mta_queue, args(tools, mta="postfix", state="exported"), capsys)
    assert (again["changed"], again["count"]) == (False, 0)

    dry = run_module(mta_queue, args(tools, mta="sendmail", state="imported"), capsys, check_mode=True)
    assert (dry["changed"], dry["count"]) == (True, 2)
    assert os.listdir(tools / "out") == []

    real = run_module(mta_queue, args(tools, mta="sendmail", state="imported"), capsys)
    assert (real["changed"], real["count"]) == (True, 2)
    assert os.listdir(tools / "hold") == []
    assert (tools / "out" / "0.eml").read_bytes() == content
    assert (tools / "out" / "0.argv").read_text().split() == ["-Am", "-i", "-f", "<>", "--", "bounce@remote.example"]
    assert (tools / "out" / "1.argv").read_text().split() == [
        "-Am", "-i", "-f", "alice@example.net", "--", "x@remote.example", "y@remote.example"]

    again = run_module(mta_queue, args(tools, mta="sendmail", state="imported"), capsys)
    assert (again["changed"], again["count"]) == (False, 0)


def test_sendmail_export_reads_qf_and_df(tools, capsys):
    mqueue = tools / "mqueue"
    mqueue.mkdir()
    (mqueue / "qf6AP2bqdd003590").write_bytes(QF)
    (mqueue / "df6AP2bqdd003590").write_bytes(DF)

    real = run_module(mta_queue, args(tools, mta="sendmail", state="exported"), capsys)
    assert real["count"] == 1
    assert real["messages"][0]["recipients"] == ["y1@remote.example", "x1@remote.example"]
    assert os.listdir(mqueue) == []
    message = (tools / "hold" / "sendmail-6AP2bqdd003590" / "message.eml").read_bytes()
    assert message == b"Subject: s1\nMessage-ID: <s1@example.com>\n\n" + DF


def test_sendmail_qf_without_df_stays_queued(tools, capsys):
    mqueue = tools / "mqueue"
    mqueue.mkdir()
    (mqueue / "qfLOST").write_bytes(QF)
    result = run_module(mta_queue, args(tools, mta="sendmail", state="exported"), capsys)
    assert result["failed"]
    assert os.listdir(mqueue) == ["qfLOST"]
    assert not any(not n.startswith(".") for n in os.listdir(tools / "hold"))


def test_refused_message_stays_held_and_the_module_fails(tools, capsys):
    postfix_message(tools, "AAA111", "a@example.net", ["x@remote.example"], b"S: ok\n\nfine\n")
    postfix_message(tools, "BBB222", "b@example.net", ["y@remote.example"], b"S: no\n\nREFUSE\n")
    postfix_message(tools, "CCC333", "c@example.net", ["z@remote.example"], b"S: later\n\nfine\n")
    run_module(mta_queue, args(tools, mta="postfix", state="exported"), capsys)

    result = run_module(mta_queue, args(tools, mta="sendmail", state="imported"), capsys)
    assert result["failed"]
    assert result["count"] == 1
    assert "postfix-BBB222" in result["msg"]
    assert sorted(os.listdir(tools / "hold")) == ["postfix-BBB222", "postfix-CCC333"]


def test_flush_reports_what_is_left(tools, capsys):
    postfix_message(tools, "AAA111", "a@example.net", ["x@remote.example"], b"S: ok\n\nfine\n")
    result = run_module(mta_queue, args(tools, mta="postfix", state="flushed", timeout=1), capsys)
    assert result["count"] == 1
    assert "postqueue -f" in (tools / "stub.log").read_text()
    empty = run_module(mta_queue, args(tools, mta="sendmail", state="flushed", timeout=1), capsys)
    assert (empty["changed"], empty["count"]) == (False, 0)


def test_flush_skips_a_message_delivered_after_the_listing(tools, capsys):
    postfix_message(tools, "AAA111", "a@example.net", ["x@remote.example"], b"S: ok\n\nfine\n")
    postfix_message(tools, "BBB222", "b@example.net", ["y@remote.example"], b"S: gone\n\nbye\n")
    (tools / "queue" / "BBB222" / "gone").write_text("")
    result = run_module(mta_queue, args(tools, mta="postfix", state="flushed", timeout=1), capsys)
    assert not result.get("failed"), result
    assert result["count"] == 1
    assert [m["id"] for m in result["messages"]] == ["postfix-AAA111"]


def test_postcat_failing_otherwise_still_fails(tools, capsys):
    postfix_message(tools, "AAA111", "a@example.net", ["x@remote.example"], b"S: ok\n\nfine\n")
    (tools / "queue" / "AAA111" / "corrupt").write_text("")
    result = run_module(mta_queue, args(tools, mta="postfix", state="flushed", timeout=1), capsys)
    assert result["failed"]
    assert "bad record type" in result["msg"]


def test_sendmail_export_waits_for_a_locked_qf_and_fails_clearly(tools, capsys):
    import fcntl

    mqueue = tools / "mqueue"
    mqueue.mkdir()
    (mqueue / "qfLOCKED").write_bytes(QF)
    (mqueue / "dfLOCKED").write_bytes(DF)
    # A sendmail process delivering the message holds this lock (flock on Linux).
    with open(mqueue / "qfLOCKED", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_module(mta_queue, args(tools, mta="sendmail", state="exported", timeout=1), capsys)
    assert result["failed"]
    assert "still locked by a running sendmail" in result["msg"]
    assert sorted(os.listdir(mqueue)) == ["dfLOCKED", "qfLOCKED"]
    # Unlocked, the same export moves it.
    result = run_module(mta_queue, args(tools, mta="sendmail", state="exported", timeout=1), capsys)
    assert result["count"] == 1
    assert os.listdir(mqueue) == []
