# Private to mailhost.mail: not a public API, may change without notice.
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for moving queued mail between Postfix and Sendmail.

Reading queues: ``postqueue -j`` lines (Postfix) and qf control files
(Sendmail). Holding: one directory per message with ``envelope.json`` and
``message.eml``. Re-injection: the argv for ``sendmail -f SENDER -- RCPT...``.
"""

from __future__ import annotations

import json
import re

ENVELOPE_FILE = "envelope.json"
MESSAGE_FILE = "message.eml"
FORMAT_VERSION = 1

# Sendmail stores macro references in qf header values as \201 followed by the
# macro name; such headers are expanded per delivery and are not message content.
_SENDMAIL_MACRO = b"\x81"
# Conditional qf headers (H?flags?Name:) are written when the delivering mailer
# has all of the flags; these are the ones Sendmail's SMTP mailers carry
# (D: Date, F: From, M: Message-Id), i.e. what would have left the host.
_RELAY_MAILER_FLAGS = frozenset("DFMmuX")
_QF_RECIPIENT = re.compile(rb"^R([A-Za-z]*):(.*)$")
_QUEUE_ID = re.compile(r"^[A-Za-z0-9]+$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class QueueFormatError(ValueError):
    """A queue file or listing could not be understood."""


def strip_angle(address: str) -> str:
    """Return an envelope address without surrounding angle brackets."""
    address = address.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1]
    return address


def parse_postqueue_json(text: str) -> list[dict]:
    """Parse ``postqueue -j`` output into envelopes (one JSON object per line)."""
    messages = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise QueueFormatError(f"postqueue -j line {number} is not JSON: {exc}") from exc
        queue_id = record.get("queue_id", "")
        if not isinstance(queue_id, str) or not _QUEUE_ID.match(queue_id):
            raise QueueFormatError(f"postqueue -j line {number} has no valid queue_id")
        recipients = [r["address"] for r in record.get("recipients", []) if r.get("address")]
        messages.append({
            "queue_id": queue_id,
            "queue_name": record.get("queue_name", ""),
            "sender": record.get("sender", ""),
            "recipients": recipients,
        })
    return messages


def parse_postcat_sender(text: str) -> str:
    """The envelope sender from ``postcat -e`` output ('' for the null sender).

    ``postqueue -j`` shows the null sender as MAILER-DAEMON, which would turn a
    bounce into mail from a real address; the queue file's own record does not.
    """
    for line in text.splitlines():
        if line.startswith("sender:"):
            return line[len("sender:"):].strip()
    raise QueueFormatError("postcat -e shows no sender record")


def _qf_logical_lines(data: bytes) -> list[bytes]:
    """Join qf continuation lines (leading space or tab) onto their record."""
    lines: list[bytes] = []
    for raw in data.split(b"\n"):
        if raw[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\n" + raw
        else:
            lines.append(raw)
    return lines


def _qf_header(record: bytes) -> bytes | None:
    """Turn an H record into a header line, or None when it is delivery-time only."""
    body = record[1:]
    flags = b""
    if body.startswith(b"?"):
        end = body.find(b"?", 1)
        if end < 0:
            raise QueueFormatError("unterminated conditional header in qf file")
        flags, body = body[1:end], body[end + 1:]
    if _SENDMAIL_MACRO in body:
        return None
    if flags:
        if flags.startswith(b"$") or not set(flags.decode("latin-1")) <= _RELAY_MAILER_FLAGS:
            return None
    return body


def parse_sendmail_qf(data: bytes) -> dict:
    """Parse a Sendmail qf control file.

    Returns the envelope sender, the recipients still to be delivered, and the
    header block (bytes, without the blank separator line) as it would be sent
    to the next hop. The body is in the matching df file.
    """
    sender = None
    recipients: list[str] = []
    headers: list[bytes] = []
    version = None
    for record in _qf_logical_lines(data):
        if record == b".":
            break
        kind = record[:1]
        if kind == b"V":
            version = record[1:].decode("ascii", "replace")
        elif kind == b"S":
            sender = strip_angle(record[1:].decode("utf-8", "surrogateescape"))
        elif kind == b"R":
            match = _QF_RECIPIENT.match(record)
            address = match.group(2) if match else record[1:]
            recipients.append(strip_angle(address.decode("utf-8", "surrogateescape")))
        elif kind == b"H":
            header = _qf_header(record)
            if header is not None:
                headers.append(header)
    if sender is None:
        raise QueueFormatError("qf file has no S (sender) record")
    if not recipients:
        raise QueueFormatError("qf file has no R (recipient) records")
    return {"version": version, "sender": sender, "recipients": recipients,
            "headers": b"\n".join(headers) + b"\n" if headers else b""}


def sendmail_message(qf: dict, body: bytes) -> bytes:
    """Rebuild the RFC 5322 message from parsed qf headers and the df body."""
    return qf["headers"] + b"\n" + body


def holding_name(source: str, queue_id: str) -> str:
    """Directory name for one held message."""
    return _SAFE_NAME.sub("_", f"{source}-{queue_id}")


def envelope_document(source: str, queue_id: str, sender: str, recipients: list[str],
                      queue_name: str = "", message_id: str | None = None) -> dict:
    """The envelope stored beside a held message."""
    return {
        "format": FORMAT_VERSION,
        "source": source,
        "queue_id": queue_id,
        "queue_name": queue_name,
        "sender": sender,
        "recipients": list(recipients),
        "message_id": message_id,
    }


def load_envelope(text: str) -> dict:
    """Validate a stored envelope document."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise QueueFormatError(f"envelope is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_VERSION:
        raise QueueFormatError("envelope has an unknown format")
    if not isinstance(document.get("sender"), str):
        raise QueueFormatError("envelope has no sender")
    recipients = document.get("recipients")
    if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) and r for r in recipients):
        raise QueueFormatError("envelope has no recipients")
    return document


def message_id(message: bytes) -> str | None:
    """The Message-ID header of a message, if any (first header block only)."""
    head = message.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
    unfolded = re.sub(rb"\n[ \t]+", b" ", head)
    for line in unfolded.split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"message-id":
            return value.strip().decode("utf-8", "replace")
    return None


# Sendmail's command line normally submits through the MSP, which relays to
# the MTA over SMTP and its relay checks; -Am queues straight into the MTA,
# as Postfix's sendmail does through postdrop. The mail was accepted once.
SUBMIT_OPTIONS = {"postfix": (), "sendmail": ("-Am",)}


def reinject_argv(command: str, sender: str, recipients: list[str], mta: str = "postfix") -> list[str]:
    """argv for handing one message to the local MTA with its envelope unchanged.

    ``-i`` keeps lines with a single dot; ``--`` ends options so recipients are
    never read as flags. The null sender is passed as ``<>``, which both
    Postfix's and Sendmail's sendmail understand.
    """
    if not recipients:
        raise QueueFormatError("a message needs at least one recipient")
    return [command, *SUBMIT_OPTIONS[mta], "-i", "-f", sender or "<>", "--", *recipients]
