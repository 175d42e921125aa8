"""The mta_switch load test's sender, run inside the container by systemd-run.

SESSIONS threads, one SMTP session per message, each message with its own
Message-ID. The ID goes to accepted.<thread> only after the server's 250 to
the end of DATA, so the files list exactly what the MTAs took on. Refusals and
dropped connections (the MTA is down during the switch) go to errors.<thread>
and the thread tries again with a new message after PAUSE seconds. It stops
at the stop file, after MAX_MESSAGES, or after MAX_SECONDS.
"""

import itertools
import os
import smtplib
import sys
import threading
import time

OUT = sys.argv[1]
SESSIONS, PAUSE, MAX_MESSAGES, MAX_SECONDS = 20, 0.5, 8000, 900
SENDER, RCPT = "load@example.net", "loadrx@localhost"
START = time.time()
NUMBERS = itertools.count()


def worker(thread: int) -> None:
    with open(f"{OUT}/accepted.{thread}", "a", encoding="ascii") as accepted, \
            open(f"{OUT}/errors.{thread}", "a", encoding="ascii") as errors:
        while not os.path.exists(f"{OUT}/stop") and time.time() - START < MAX_SECONDS:
            number = next(NUMBERS)
            if number >= MAX_MESSAGES:
                return
            mid = f"load-{number}@mta-switch.test"
            message = (f"From: {SENDER}\r\nTo: {RCPT}\r\nSubject: switch load {number}\r\n"
                       f"Message-ID: <{mid}>\r\n\r\nmessage {number}\r\n")
            try:
                smtp = smtplib.SMTP("127.0.0.1", 25, timeout=30)
            except OSError as err:
                errors.write(f"{mid} connect {type(err).__name__}\n")
                errors.flush()
                time.sleep(PAUSE)
                continue
            try:
                smtp.sendmail(SENDER, [RCPT], message)
                accepted.write(mid + "\n")
                accepted.flush()
            except smtplib.SMTPResponseException as err:
                errors.write(f"{mid} {err.smtp_code}\n")
            except (OSError, smtplib.SMTPException) as err:
                errors.write(f"{mid} {type(err).__name__}\n")
            finally:
                errors.flush()
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
            time.sleep(PAUSE)


threads = [threading.Thread(target=worker, args=(n,)) for n in range(SESSIONS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
