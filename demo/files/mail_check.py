"""Send a message over SMTP and wait for it over IMAPS, as a mail user would.

    mail_check.py send HOST PORT FROM TO SUBJECT
    mail_check.py fetch HOST USER SUBJECT [--cafile PEM] [--timeout SECONDS]
    mail_check.py banner HOST PORT

fetch reads the password from MAIL_CHECK_PASSWORD, never from argv. It prints
one JSON line and exits 0 on success, 1 otherwise. Waits are bounded.
"""

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


def fetch(host: str, user: str, subject: str, cafile: str | None, timeout: float) -> dict:
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
                    _status, parts = imap.fetch(ids[-1], "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT TO)])")
                    header = parts[0][1].decode(errors="replace").strip()
                    tls = imap.sock.version()
                    return {"found": True, "user": user, "tls": tls, "attempts": attempts, "header": header}
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            return {"found": False, "user": user, "attempts": attempts, "error": last_error or "no such message"}
        time.sleep(1)


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
