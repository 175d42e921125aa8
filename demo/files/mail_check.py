"""Send a message over SMTP and wait for it over IMAPS, as a mail user would.

    mail_check.py send HOST PORT FROM TO SUBJECT
    mail_check.py fetch HOST USER SUBJECT [--cafile PEM] [--timeout SECONDS]
    mail_check.py banner HOST PORT
    mail_check.py dkim HOST USER SUBJECT RECORD_FILE [--cafile PEM] [--timeout SECONDS]

dkim fetches the whole message over IMAPS and verifies its DKIM signature with
dkimpy against the TXT record in RECORD_FILE (the one the admin publishes, as
mail_auth returned it: the demo has no DNS), then verifies a copy with an
altered body, which must fail.

fetch reads the password from MAIL_CHECK_PASSWORD, never from argv. It prints
one JSON line and exits 0 on success, 1 otherwise. Waits are bounded.
"""

import email
import imaplib
import json
import os
import smtplib
import socket
import ssl
import sys
import time
from email.message import EmailMessage


def send(host: str, port: int, sender: str, recipient: str, subject: str) -> dict:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(f"mailhost.mail check message: {subject}\n")
    with smtplib.SMTP(host, port, timeout=20) as smtp:
        smtp.ehlo("client.example.com")
        refused = smtp.send_message(msg)
    return {"sent": not refused, "to": recipient, "subject": subject}


def _imap_message(host: str, user: str, subject: str, cafile: str | None, timeout: float,
                  part: str = "BODY.PEEK[]") -> dict:
    """The newest message with this subject (its ``part``), waiting at most timeout seconds."""
    password = os.environ["MAIL_CHECK_PASSWORD"]
    context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    deadline = time.monotonic() + timeout
    attempts = 0
    last_error = ""
    while True:
        attempts += 1
        try:
            with imaplib.IMAP4_SSL(host, 993, ssl_context=context, timeout=10) as imap:
                imap.login(user, password)
                imap.select("INBOX", readonly=True)
                _status, data = imap.search(None, "SUBJECT", f'"{subject}"')
                ids = data[0].split()
                if ids:
                    _status, parts = imap.fetch(ids[-1], f"({part})")
                    return {"found": True, "data": parts[0][1], "tls": imap.sock.version(), "attempts": attempts}
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            return {"found": False, "attempts": attempts, "error": last_error or "no such message"}
        time.sleep(1)


def fetch(host: str, user: str, subject: str, cafile: str | None, timeout: float) -> dict:
    got = _imap_message(host, user, subject, cafile, timeout, "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT TO)]")
    result = {"found": got["found"], "user": user, "attempts": got["attempts"]}
    if got["found"]:
        result.update(tls=got["tls"], header=got["data"].decode(errors="replace").strip())
    else:
        result["error"] = got["error"]
    return result


def dkim_check(host: str, user: str, subject: str, record_file: str, cafile: str | None, timeout: float) -> dict:
    import dkim  # dkimpy (python3-dkim), installed on the demo client only

    with open(record_file, encoding="utf-8") as handle:
        record = json.load(handle)
    got = _imap_message(host, user, subject, cafile, timeout)
    if not got["found"]:
        return {"found": False, "verified": False, "error": got["error"]}
    raw = got["data"]
    asked = []

    def dnsfunc(name, timeout=5):  # the published record stands in for DNS
        name = name.decode() if isinstance(name, bytes) else name
        asked.append(name)
        return record["value"] if name.rstrip(".").lower() == record["name"].rstrip(".").lower() else ""

    signature = dkim.DKIM(raw)
    verified = bool(signature.verify(dnsfunc=dnsfunc))
    head, _sep, body = raw.partition(b"\r\n\r\n")
    tampered = head + b"\r\n\r\n" + body.replace(b"signed", b"altered", 1) + b"altered line\r\n"
    tampered_verified = bool(dkim.verify(tampered, dnsfunc=dnsfunc))
    header = email.message_from_bytes(raw).get("DKIM-Signature", "")
    tags = dict(part.strip().split("=", 1) for part in " ".join(header.split()).split(";") if "=" in part)
    return {"found": True, "verified": verified, "tampered_verified": tampered_verified,
            "d": tags.get("d", ""), "s": tags.get("s", ""), "a": tags.get("a", ""), "asked": asked}


def banner(host: str, port: int) -> dict:
    with socket.create_connection((host, port), timeout=10) as sock:
        line = sock.makefile("rb").readline().decode(errors="replace").strip()
    return {"banner": line}


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "send" and len(argv) == 7:
        result = send(argv[2], int(argv[3]), argv[4], argv[5], argv[6])
        ok = result["sent"]
    elif cmd == "fetch" and len(argv) >= 5:
        opts = dict(zip(argv[5::2], argv[6::2]))
        result = fetch(argv[2], argv[3], argv[4], opts.get("--cafile"), float(opts.get("--timeout", "60")))
        ok = result["found"]
    elif cmd == "dkim" and len(argv) >= 6:
        opts = dict(zip(argv[6::2], argv[7::2]))
        timeout = float(opts.get("--timeout", "60"))
        result = dkim_check(argv[2], argv[3], argv[4], argv[5], opts.get("--cafile"), timeout)
        ok = result["verified"] and not result.get("tampered_verified", True)
    elif cmd == "banner" and len(argv) == 4:
        result = banner(argv[2], int(argv[3]))
        ok = result["banner"].startswith("220")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
