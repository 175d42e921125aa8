"""Unit tests for the queue-moving core (_mta_queue)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.mailhost.mail.plugins.module_utils._mta_queue import (
    QueueFormatError,
    envelope_document,
    holding_name,
    load_envelope,
    message_id,
    parse_postcat_sender,
    parse_postqueue_json,
    parse_sendmail_qf,
    reinject_argv,
    sendmail_message,
)

POSTQUEUE_J = (
    '{"queue_name": "deferred", "queue_id": "B315F18C9AA", "arrival_time": 1795573988, "message_size": 239,'
    ' "forced_expire": false, "sender": "s1@example.com", "recipients": [{"address": "r1@remote.example",'
    ' "delay_reason": "connect to 127.0.0.1[127.0.0.1]:2525: Connection refused"},'
    ' {"address": "r1b@remote.example"}]}\n'
    '{"queue_name": "hold", "queue_id": "E86AD18C2E8", "sender": "MAILER-DAEMON",'
    ' "recipients": [{"address": "n1@remote.example"}]}\n'
)

# A real Debian sendmail 8.17 qf file (two recipients, relay deferred).
QF = (
    b"V8\nT1795574272\nK1795574272\nN1\nP60245\nMDeferred: Connection refused by [127.0.0.2]\nFbs\n"
    b"$_localhost [127.0.0.1]\n$rESMTP\n$smail.example.com\n${daemon_flags}\n"
    b"Ssnd1@example.net\nrRFC822; snd1@example.net\n"
    b"RPFD:<y1@remote.example>\nRPFD:<x1@remote.example>\n"
    b"H?P?Return-Path: <\x81g>\n"
    b"H??Received: from mail.example.com (localhost [127.0.0.1])\n"
    b"\tby mail.example.com (8.17.1.9/8.17.1.9/Debian-2+deb12u2) with ESMTP id 6AP2bqdd003590;\n"
    b"\tWed, 25 Nov 2026 02:37:52 GMT\n"
    b"H?D?Date: Wed, 25 Nov 2026 02:37:52 GMT\n"
    b"H?F?From: snd1@example.net\n"
    b"H?x?Full-Name: Root\n"
    b"H??Subject: s1\n"
    b"H??Message-ID: <s1@example.com>\n"
    b".\n"
)


def test_postqueue_json_gives_queue_ids_and_pending_recipients():
    messages = parse_postqueue_json(POSTQUEUE_J)
    assert [m["queue_id"] for m in messages] == ["B315F18C9AA", "E86AD18C2E8"]
    assert messages[0]["recipients"] == ["r1@remote.example", "r1b@remote.example"]
    assert messages[0]["queue_name"] == "deferred"
    assert messages[1]["queue_name"] == "hold"


@pytest.mark.parametrize("text", ["not json\n", '{"queue_id": "../etc"}\n', '{"sender": "a"}\n'])
def test_postqueue_json_rejects_garbage(text):
    with pytest.raises(QueueFormatError):
        parse_postqueue_json(text)


def test_postqueue_json_empty_queue():
    assert parse_postqueue_json("") == []


@pytest.mark.parametrize(("text", "sender"), [
    ("*** ENVELOPE RECORDS deferred/E/E86 ***\nsender_fullname: root\nsender: \nrecipient: a@b\n", ""),
    ("named_attribute: rewrite_context=local\nsender: alice@example.net\n", "alice@example.net"),
])
def test_postcat_sender_keeps_the_null_sender(text, sender):
    # postqueue -j shows the null sender as MAILER-DAEMON; postcat -e does not.
    assert parse_postcat_sender(text) == sender


def test_postcat_without_sender_record():
    with pytest.raises(QueueFormatError):
        parse_postcat_sender("recipient: a@b\n")


def test_qf_envelope():
    parsed = parse_sendmail_qf(QF)
    assert parsed["sender"] == "snd1@example.net"
    assert parsed["recipients"] == ["y1@remote.example", "x1@remote.example"]
    assert parsed["version"] == "8"


def test_qf_headers_as_an_smtp_mailer_would_send_them():
    headers = parse_sendmail_qf(QF)["headers"]
    # Per-delivery macros and mailer flags SMTP lacks are not message content.
    assert b"Return-Path" not in headers
    assert b"Full-Name" not in headers
    assert headers.startswith(b"Received: from mail.example.com (localhost [127.0.0.1])\n\tby mail.example.com")
    assert b"\nDate: Wed, 25 Nov 2026 02:37:52 GMT\n" in headers
    assert b"\nFrom: snd1@example.net\n" in headers
    assert headers.endswith(b"Message-ID: <s1@example.com>\n")


def test_qf_null_sender_and_plain_recipient_records():
    parsed = parse_sendmail_qf(b"V8\nS<>\nRroot\nH??Subject: x\n.\n")
    assert parsed["sender"] == ""
    assert parsed["recipients"] == ["root"]


@pytest.mark.parametrize("data", [b"V8\nRPFD:<a@b>\n.\n", b"V8\nSa@b\n.\n", b"V8\nSa@b\nRa@c\nH?D\n.\n"])
def test_qf_incomplete(data):
    with pytest.raises(QueueFormatError):
        parse_sendmail_qf(data)


def test_sendmail_message_joins_headers_and_body():
    message = sendmail_message(parse_sendmail_qf(QF), b"body 1\n.\nlast\n")
    head, body = message.split(b"\n\n", 1)
    assert body == b"body 1\n.\nlast\n"
    assert message_id(message) == "<s1@example.com>"


@pytest.mark.parametrize(("message", "expected"), [
    (b"Subject: a\nMessage-ID: <x@y>\n\nMessage-ID: <body@y>\n", "<x@y>"),
    (b"Message-Id:\n <folded@y>\nSubject: a\n\nbody\n", "<folded@y>"),
    (b"Subject: a\r\nMESSAGE-ID: <crlf@y>\r\n\r\nbody\r\n", "<crlf@y>"),
    (b"Subject: a\n\nMessage-ID: <only-in-body@y>\n", None),
])
def test_message_id(message, expected):
    assert message_id(message) == expected


def test_holding_name_is_a_safe_directory_name():
    assert holding_name("postfix", "B315F18C9AA") == "postfix-B315F18C9AA"
    assert "/" not in holding_name("sendmail", "../../etc")


def test_envelope_round_trip():
    document = envelope_document("postfix", "ABC", "", ["a@b", "c@d"], queue_name="deferred", message_id="<m@x>")
    loaded = load_envelope(json.dumps(document))
    assert loaded["sender"] == ""
    assert loaded["recipients"] == ["a@b", "c@d"]
    assert loaded["source"] == "postfix"


@pytest.mark.parametrize("text", [
    "nope",
    json.dumps({"format": 99, "sender": "a", "recipients": ["b"]}),
    json.dumps({"format": 1, "sender": "a", "recipients": []}),
    json.dumps({"format": 1, "recipients": ["b"]}),
    json.dumps({"format": 1, "sender": "a", "recipients": [""]}),
])
def test_load_envelope_refuses_what_it_cannot_deliver(text):
    with pytest.raises(QueueFormatError):
        load_envelope(text)


def test_reinject_argv_keeps_the_envelope():
    assert reinject_argv("/usr/sbin/sendmail", "alice@example.net", ["-oi@x", "b@y"]) == [
        "/usr/sbin/sendmail", "-i", "-f", "alice@example.net", "--", "-oi@x", "b@y"]


def test_reinject_argv_sendmail_queues_in_the_mta():
    assert reinject_argv("/usr/sbin/sendmail", "a@b", ["c@d"], "sendmail") == [
        "/usr/sbin/sendmail", "-Am", "-i", "-f", "a@b", "--", "c@d"]


def test_reinject_argv_null_sender():
    assert reinject_argv("/usr/sbin/sendmail", "", ["b@y"])[2:4] == ["-f", "<>"]


def test_reinject_argv_needs_recipients():
    with pytest.raises(QueueFormatError):
        reinject_argv("/usr/sbin/sendmail", "a@b", [])
