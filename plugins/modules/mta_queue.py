#!/usr/bin/python
# Copyright (c) mailhost.mail contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mta_queue
short_description: Flush, export and re-inject the mail queue of Postfix or Sendmail
version_added: 0.1.0
description:
  - Moves queued mail from one MTA to another without losing a message.
  - O(state=flushed) asks the MTA to deliver its queue now and waits, at most O(timeout) seconds, until the queue is
    empty. It does not fail when mail is still queued; RV(count) says how many messages are left.
  - O(state=exported) copies every queued message into O(holding_dir), one directory per message with
    C(envelope.json) (sender, recipients, Message-ID) and C(message.eml) (the message as queued), and removes it from
    the queue only after both files are written and synced. Postfix queues are read with C(postqueue -j) and
    C(postcat -bh -q); Sendmail queues from the qf/df files. Run it with the MTA stopped.
  - O(state=imported) hands every held message to the running MTA with C(sendmail -i -f SENDER -- RECIPIENT...)
    (for Sendmail with C(-Am), straight into the MTA queue rather than through the submission program's SMTP relay
    checks) and removes it from O(holding_dir) only when the MTA accepted it.
  - A message that cannot be exported or re-injected stops the module with an error and stays where it was; the
    module never deletes a message it has not safely stored elsewhere.
author:
  - mailhost.mail maintainers (@mailhost)
extends_documentation_fragment:
  - mailhost.mail._attributes
  - mailhost.mail._attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details: Reports in RV(count) how many messages would be flushed, exported or re-injected, and changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  mta:
    description:
      - The MTA whose queue is flushed or exported. With O(state=imported) it names the receiving MTA and is only
        reported back.
    type: str
    required: true
    choices: [postfix, sendmail]
  state:
    description: What to do with the queue.
    type: str
    required: true
    choices: [flushed, exported, imported]
  holding_dir:
    description: Where exported messages wait for re-injection. Created with mode C(0700).
    type: path
    default: /var/lib/mailhost/mta_switch
  timeout:
    description:
      - Seconds O(state=flushed) waits for the queue to drain.
      - With O(state=exported), seconds to wait for a Sendmail queue file that a running sendmail process still holds
        locked (it is delivering that message). The export takes the same lock, so that no sendmail process can
        deliver a message while it is copied and removed; a file still locked after the wait stops the module with
        an error, and the message stays queued.
    type: int
    default: 30
  sendmail_command:
    description:
      - The sendmail-compatible submission program used to re-inject (O(state=imported)) and, for Sendmail, to run
        the queue (O(state=flushed)).
    type: path
    default: /usr/sbin/sendmail
  queue_directories:
    description:
      - Sendmail queue directories to read, the MTA queue and the submission (MSP) queue.
    type: list
    elements: path
    default: [/var/spool/mqueue, /var/spool/mqueue-client]
notes:
  - Sendmail qf headers that are computed per delivery (those with macros, such as C(Return-Path)) are not part of the
    exported message; conditional headers are kept when an SMTP mailer would have sent them.
  - The receiving MTA adds its own trace header (C(Received)) on re-injection; envelope, other headers and body are
    unchanged.
seealso:
  - module: mailhost.mail.aliases
requirements:
  - C(postqueue), C(postcat) and C(postsuper) for Postfix queues.
"""

EXAMPLES = r"""
- name: Ask Postfix to deliver what it can, for at most a minute
  mailhost.mail.mta_queue:
    mta: postfix
    state: flushed
    timeout: 60

- name: Move what is still queued into the holding directory (Postfix stopped)
  mailhost.mail.mta_queue:
    mta: postfix
    state: exported
  register: exported

- name: Hand the held messages to Sendmail once it runs
  mailhost.mail.mta_queue:
    mta: sendmail
    state: imported
"""

RETURN = r"""
count:
  description:
    - O(state=flushed) - messages still queued after the wait.
    - O(state=exported) - messages moved (or, in check mode, that would be moved) into O(holding_dir).
    - O(state=imported) - messages re-injected (or that would be).
  returned: always
  type: int
  sample: 3
messages:
  description: The messages handled, with their envelope.
  returned: always
  type: list
  elements: dict
  sample:
    - id: postfix-B315F18C9AA
      sender: alice@example.com
      recipients: [bob@example.net]
      message_id: <t1@example.com>
"""

import errno  # noqa: E402
import fcntl  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.mailhost.mail.plugins.module_utils._mta_queue import (  # noqa: E402
    ENVELOPE_FILE,
    MESSAGE_FILE,
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


class Queue:
    """One MTA's queue: list, claim, read, remove, release, flush."""

    def __init__(self, module):
        self.module = module

    def claim(self, entry, deadline):  # pylint: disable=unused-argument
        """The entry, made safe to export; None when the message left the queue meanwhile."""
        return entry

    def release(self, entry):
        """Undo what claim() took."""

    def _run(self, argv, what, gone_ok=False, **kwargs):
        """The command's output; None when gone_ok and it says a queue file no longer exists."""
        rc, out, err = self.module.run_command(argv, **kwargs)
        if rc != 0:
            err_text = err if isinstance(err, str) else err.decode("utf-8", "replace")
            if gone_ok and "No such file or directory" in err_text:
                return None
            self.module.fail_json(msg=f"{what} failed (rc={rc}): {err_text.strip()}", cmd=argv)
        return out


class PostfixQueue(Queue):
    def __init__(self, module):
        super().__init__(module)
        self.postqueue = module.get_bin_path("postqueue", opt_dirs=["/usr/sbin"])

    def installed(self):
        return self.postqueue is not None

    def list(self):
        if not self.installed():
            return []
        # Works with Postfix stopped too: postqueue then reads the queue directly.
        entries = parse_postqueue_json(self._run([self.postqueue, "-j"], "postqueue -j"))
        postcat = self.module.get_bin_path("postcat", required=True, opt_dirs=["/usr/sbin"])
        listed = []
        for entry in entries:
            entry["key"] = entry["queue_id"]
            envelope = self._run([postcat, "-e", "-q", entry["queue_id"]], "postcat -e", gone_ok=True)
            if envelope is None:
                # A running Postfix delivered it since postqueue listed it.
                continue
            entry["sender"] = parse_postcat_sender(envelope)
            listed.append(entry)
        return listed

    def read(self, entry):
        postcat = self.module.get_bin_path("postcat", required=True, opt_dirs=["/usr/sbin"])
        content = self._run([postcat, "-bh", "-q", entry["queue_id"]], "postcat", encoding=None)
        if not content:
            self.module.fail_json(msg=f"postcat returned no content for queue id {entry['queue_id']}")
        return content

    def remove(self, entry):
        postsuper = self.module.get_bin_path("postsuper", required=True, opt_dirs=["/usr/sbin"])
        self._run([postsuper, "-d", entry["queue_id"]], "postsuper -d")

    def flush(self, timeout):
        rc, _out, err = self.module.run_command([self.postqueue, "-f"])
        if rc != 0:
            self.module.warn(f"postqueue -f failed, is Postfix running? {err.strip()}")


class SendmailQueue(Queue):
    def __init__(self, module):
        super().__init__(module)
        self.directories = module.params["queue_directories"]
        self.command = module.params["sendmail_command"]

    def _files(self):
        for directory in self.directories:
            for pattern in (os.path.join(directory, "qf*"), os.path.join(directory, "qf", "qf*")):
                yield from sorted(glob.glob(pattern))

    def installed(self):
        return any(os.path.isdir(d) for d in self.directories)

    def list(self):
        entries = []
        for qf_path in self._files():
            queue_id = os.path.basename(qf_path)[2:]
            directory = os.path.dirname(qf_path)
            df_dir = directory
            if os.path.basename(directory) == "qf":
                df_dir = os.path.join(os.path.dirname(directory), "df")
            try:
                with open(qf_path, "rb") as handle:
                    parsed = parse_sendmail_qf(handle.read())
            except FileNotFoundError:
                # A running Sendmail delivered it since the directory was read.
                continue
            except (OSError, QueueFormatError) as exc:
                self.module.fail_json(msg=f"cannot read Sendmail queue file {qf_path}: {exc}")
            entries.append({"key": queue_id, "queue_id": queue_id, "queue_name": directory,
                            "sender": parsed["sender"], "recipients": parsed["recipients"],
                            "qf": qf_path, "df": os.path.join(df_dir, "df" + queue_id), "parsed": parsed})
        return entries

    def claim(self, entry, deadline):
        """Lock the qf file as Sendmail does, waiting until deadline for a sendmail process that delivers it.

        Sendmail holds an exclusive lock on a qf file while it works on the message (flock(2) on Linux; fcntl
        locks elsewhere, so both are taken). Holding it, no sendmail process can start a delivery of the message
        while it is copied and removed. A delivery that ends meanwhile removes the file or replaces it (tf renamed
        over qf), so the lock is taken again on what the path names then, and the message is read afresh.
        """
        path = entry["qf"]
        while True:
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    self.module.fail_json(msg=f"cannot lock Sendmail queue file {path}: {exc}")
                if time.monotonic() >= deadline:
                    self.module.fail_json(msg=f"Sendmail queue file {path} is still locked by a running sendmail "
                                              f"process (it is delivering the message); it stays queued")
                time.sleep(0.1)
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                os.close(fd)
                return None
            if not same:
                os.close(fd)
                continue
            with os.fdopen(os.dup(fd), "rb") as handle:
                parsed = parse_sendmail_qf(handle.read())
            return dict(entry, sender=parsed["sender"], recipients=parsed["recipients"], parsed=parsed, lock_fd=fd)

    def release(self, entry):
        if entry.get("lock_fd") is not None:
            os.close(entry.pop("lock_fd"))

    def read(self, entry):
        try:
            with open(entry["df"], "rb") as handle:
                body = handle.read()
        except OSError as exc:
            self.module.fail_json(msg=f"cannot read Sendmail data file {entry['df']}: {exc}")
        return sendmail_message(entry["parsed"], body)

    def remove(self, entry):
        # qf first: without it the message no longer exists for Sendmail.
        for path in (entry["qf"], entry["df"], os.path.join(os.path.dirname(entry["qf"]), "xf" + entry["queue_id"])):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.module.fail_json(msg=f"cannot remove {path} after exporting it: {exc}")

    def flush(self, timeout):
        timeout_bin = self.module.get_bin_path("timeout")
        prefix = [timeout_bin, str(max(timeout, 1))] if timeout_bin else []
        # The submission queue first: it hands its mail to the MTA queue.
        for argv in ([self.command, "-Ac", "-q"], [self.command, "-q"]):
            rc, _out, err = self.module.run_command(prefix + argv)
            if rc not in (0, 124):
                self.module.warn(f"{' '.join(argv)} failed (rc={rc}): {err.strip()}")


def _fsync_write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _summary(name, entry, content):
    return {"id": name, "sender": entry["sender"], "recipients": entry["recipients"],
            "message_id": message_id(content) if content is not None else None}


def export(module, queue, holding_dir):
    entries = queue.list()
    if module.check_mode or not entries:
        summaries = [_summary(holding_name(module.params["mta"], e["key"]), e, queue.read(e)) for e in entries]
        return len(entries), summaries
    os.makedirs(holding_dir, mode=0o700, exist_ok=True)
    done = []
    deadline = time.monotonic() + module.params["timeout"]
    for listed in entries:
        entry = queue.claim(listed, deadline)
        if entry is None:
            # Delivered by a sendmail process that was still running.
            continue
        try:
            _export_one(module, queue, holding_dir, entry, done)
        finally:
            queue.release(entry)
    return len(done), done


def _export_one(module, queue, holding_dir, entry, done):
    """Copy one claimed message into holding_dir, then remove it from the queue."""
    content = queue.read(entry)
    base = holding_name(module.params["mta"], entry["key"])
    name, suffix = base, 1
    while os.path.exists(os.path.join(holding_dir, name)):
        suffix += 1
        name = f"{base}.{suffix}"
    final = os.path.join(holding_dir, name)
    staging = os.path.join(holding_dir, f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    os.mkdir(staging, 0o700)
    document = envelope_document(module.params["mta"], entry["queue_id"], entry["sender"], entry["recipients"],
                                 queue_name=entry.get("queue_name", ""), message_id=message_id(content))
    _fsync_write(os.path.join(staging, MESSAGE_FILE), content)
    _fsync_write(os.path.join(staging, ENVELOPE_FILE), json.dumps(document, indent=2).encode() + b"\n")
    with open(os.path.join(staging, MESSAGE_FILE), "rb") as handle:
        if handle.read() != content:
            module.fail_json(msg=f"held copy of {entry['queue_id']} does not match the queue; it stays queued",
                             count=len(done), messages=done)
    os.rename(staging, final)
    _fsync_dir(holding_dir)
    queue.remove(entry)
    done.append(_summary(name, entry, content))


def held_messages(module, holding_dir):
    if not os.path.isdir(holding_dir):
        return []
    held = []
    for name in sorted(os.listdir(holding_dir)):
        path = os.path.join(holding_dir, name)
        if name.startswith(".") or not os.path.isdir(path):
            continue
        try:
            with open(os.path.join(path, ENVELOPE_FILE), encoding="utf-8") as handle:
                envelope = load_envelope(handle.read())
            with open(os.path.join(path, MESSAGE_FILE), "rb") as handle:
                content = handle.read()
        except (OSError, QueueFormatError) as exc:
            module.fail_json(msg=f"held message {path} is unreadable, left in place: {exc}")
        held.append((name, path, envelope, content))
    return held


def import_held(module, holding_dir):
    held = held_messages(module, holding_dir)
    done = []
    for name, path, envelope, content in held:
        summary = {"id": name, "sender": envelope["sender"], "recipients": envelope["recipients"],
                   "message_id": envelope.get("message_id")}
        if module.check_mode:
            done.append(summary)
            continue
        argv = reinject_argv(module.params["sendmail_command"], envelope["sender"], envelope["recipients"],
                             module.params["mta"])
        rc, out, err = module.run_command(argv, data=content, binary_data=True)
        if rc != 0:
            module.fail_json(msg=f"the MTA refused held message {name} (rc={rc}): {(err + out).strip()}; "
                                 f"it stays in {path}",
                             count=len(done), messages=done, cmd=argv, stdout=out, stderr=err)
        shutil.rmtree(path)
        done.append(summary)
    if done and not module.check_mode:
        _fsync_dir(holding_dir)
    return len(done), done


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mta": {"type": "str", "required": True, "choices": ["postfix", "sendmail"]},
            "state": {"type": "str", "required": True, "choices": ["flushed", "exported", "imported"]},
            "holding_dir": {"type": "path", "default": "/var/lib/mailhost/mta_switch"},
            "timeout": {"type": "int", "default": 30},
            "sendmail_command": {"type": "path", "default": "/usr/sbin/sendmail"},
            "queue_directories": {"type": "list", "elements": "path",
                                  "default": ["/var/spool/mqueue", "/var/spool/mqueue-client"]},
        },
        supports_check_mode=True,
    )
    try:
        run(module)
    except QueueFormatError as exc:
        module.fail_json(msg=f"cannot read the {module.params['mta']} queue: {exc}")


def run(module) -> None:
    state = module.params["state"]
    holding_dir = module.params["holding_dir"]

    if state == "imported":
        count, messages = import_held(module, holding_dir)
        module.exit_json(changed=count > 0, count=count, messages=messages)

    queue = PostfixQueue(module) if module.params["mta"] == "postfix" else SendmailQueue(module)
    if state == "exported":
        count, messages = export(module, queue, holding_dir)
        module.exit_json(changed=count > 0, count=count, messages=messages)

    entries = queue.list()
    if not entries or module.check_mode:
        module.exit_json(changed=False, count=len(entries), messages=[])
    queue.flush(module.params["timeout"])
    deadline = time.monotonic() + module.params["timeout"]
    while entries and time.monotonic() < deadline:
        time.sleep(1)
        entries = queue.list()
    module.exit_json(changed=True, count=len(entries),
                     messages=[_summary(holding_name(module.params["mta"], e["key"]), e, None) for e in entries])


if __name__ == "__main__":
    main()
