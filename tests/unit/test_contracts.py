"""The collection's cross-role contracts: one handler bus and one TLS vocabulary.

The roles talk to each other through handler topics named "mailhost.mail : <what> changed"
and through certificate variables named <role>_tls_certificate_path, _private_key_path and
_chain_path. These tests read the roles' YAML and keep both contracts whole: every topic a
role notifies has a listener in the collection, no task fakes a change to reach a handler,
and every TLS role offers the shared names, falling back to its deprecated ones and to the
tls_cert facts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
TOPIC = re.compile(r"^mailhost\.mail : [a-z]+( [a-z]+)* changed$")
# Topics named for a role whose name has an underscore: the role's own name, as it is.
ROLE_TOPICS = {"mailhost.mail : mail_auth changed"}


def _is_topic(name: str) -> bool:
    return bool(TOPIC.match(name)) or name in ROLE_TOPICS


def _tasks(path: Path):
    """Every task in a task or handler file, blocks unrolled."""
    stack = list(yaml.safe_load(path.read_text()) or [])
    while stack:
        task = stack.pop()
        yield task
        for key in ("block", "rescue", "always"):
            stack.extend(task.get(key) or [])


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _files(kind: str):
    return sorted(ROLES.glob("*/%s/*.yml" % kind))


def _listeners() -> dict[str, set[str]]:
    topics: dict[str, set[str]] = {}
    for path in _files("handlers"):
        for handler in _tasks(path):
            for topic in _as_list(handler.get("listen")):
                topics.setdefault(topic, set()).add(path.parts[-3])
    return topics


def _notifications():
    for path in _files("tasks"):
        for task in _tasks(path):
            for name in _as_list(task.get("notify")):
                yield path.relative_to(ROOT), task.get("name"), name


def _handler_names(role: str) -> set[str]:
    path = ROLES / role / "handlers" / "main.yml"
    return {h.get("name") for h in _tasks(path)} if path.is_file() else set()


def test_cross_role_notifications_use_a_bus_topic_with_a_listener():
    listeners = _listeners()
    for path, task, name in _notifications():
        role = path.parts[1]
        if name in _handler_names(role):
            continue  # the role's own handler, by name
        assert _is_topic(name), f"{path}: '{task}' notifies {name!r}, which is no 'mailhost.mail : ... changed' topic"
        assert name in listeners, f"{path}: '{task}' notifies {name!r}, which no role's handler listens to"


def test_every_listen_topic_is_a_bus_topic():
    for topic, roles in _listeners().items():
        assert _is_topic(topic), f"handlers of {sorted(roles)} listen to {topic!r}, outside the bus's names"


def test_certificate_topic_reaches_every_service_and_tls_cert_listens_itself():
    listeners = _listeners()["mailhost.mail : certificate changed"]
    assert {"tls_cert", "postfix", "dovecot", "sendmail"} <= listeners
    notifiers = {str(p) for p, _task, n in _notifications() if n == "mailhost.mail : certificate changed"}
    assert notifiers and all(p.startswith("roles/tls_cert/") for p in notifiers), notifiers


def test_mail_auth_topic_belongs_to_mail_auth():
    """The milters' topic: mail_auth notifies it and mail_auth alone listens (it checks opendkim -n, restarts)."""
    topic = "mailhost.mail : mail_auth changed"
    assert _listeners()[topic] == {"mail_auth"}
    notifiers = {str(p) for p, _task, n in _notifications() if n == topic}
    assert notifiers and all(p.startswith("roles/mail_auth/") for p in notifiers), notifiers


def test_no_task_fakes_a_change_to_reach_a_handler():
    for path in _files("tasks"):
        for task in _tasks(path):
            if "ansible.builtin.debug" in task or "debug" in task:
                assert task.get("changed_when") is not True, f"{path}: '{task.get('name')}' is a debug shim"
                assert "notify" not in task, f"{path}: '{task.get('name')}' notifies from a debug task"


def test_service_roles_do_not_flush_other_roles_handlers():
    """A role that flushes mid-play runs the bus's handlers before later roles could listen."""
    for role in ("postfix", "dovecot", "sendmail", "tls_cert", "ldap_aliases", "mail_auth"):
        for path in sorted((ROLES / role / "tasks").glob("*.yml")):
            for task in _tasks(path):
                assert task.get("ansible.builtin.meta") != "flush_handlers", f"{path}: '{task.get('name')}' flushes"


# role -> the deprecated names of its certificate, key and chain variables
TLS_ROLES = {
    "postfix": ("postfix_tls_cert_file", "postfix_tls_key_file", "postfix_tls_chain_file"),
    "dovecot": ("dovecot_ssl_cert_file", "dovecot_ssl_key_file", "dovecot_ssl_chain_file"),
}
SHARED = ("tls_certificate_path", "tls_private_key_path", "tls_chain_path")
FACTS = ("tls_cert_certificate_path", "tls_cert_private_key_path", "tls_cert_chain_path")


@pytest.mark.parametrize("role", sorted(TLS_ROLES))
def test_tls_roles_share_the_certificate_vocabulary(role):
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())
    options = specs["argument_specs"]["main"]["options"]
    for suffix, old, fact in zip(SHARED, TLS_ROLES[role], FACTS):
        name = f"{role}_{suffix}"
        assert name in defaults, f"{role} has no {name}"
        assert defaults[name] == "{{ %s | default(%s | default('')) }}" % (old, fact), (
            f"{role}: {name} must fall back to the deprecated {old}, then to the tls_cert fact {fact}")
        assert options[name]["default"] == defaults[name]
        assert old not in defaults and old not in options, f"{role} still documents {old} as its own"
        word = re.compile(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % old)
        used = [p for p in (ROLES / role).rglob("*") if p.is_file() and p.suffix in (".yml", ".j2")
                and word.search(p.read_text()) and p.parts[-2] not in ("defaults", "meta")]
        deprecations = [p for p in used if "mailhost.mail.renamed_variables" in p.read_text()]
        assert used == deprecations, f"{role}: {[str(p.relative_to(ROOT)) for p in used]} still read {old}"


def test_sendmail_uses_the_shared_certificate_and_key_names():
    defaults = yaml.safe_load((ROLES / "sendmail" / "defaults" / "main.yml").read_text())
    assert defaults["sendmail_tls_certificate_path"] == "{{ tls_cert_certificate_path | default('') }}"
    assert defaults["sendmail_tls_private_key_path"] == "{{ tls_cert_private_key_path | default('') }}"


def _play(tmp_path: Path, tasks: list) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    env = dict(os.environ, ANSIBLE_DEPRECATION_WARNINGS="true", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    return subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-c", "local", str(playbook)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_renamed_variables_warns_through_ansibles_deprecation_channel(tmp_path):
    task = {"mailhost.mail.renamed_variables": {"names": {"postfix_tls_cert_file": "postfix_tls_certificate_path",
                                                          "postfix_tls_key_file": "postfix_tls_private_key_path"},
                                                "removed_in": "2.0.0"},
            "vars": {"postfix_tls_cert_file": "/etc/ssl/certs/old.pem"}}
    run = _play(tmp_path, [task])
    assert run.returncode == 0, run.stdout + run.stderr
    out = " ".join((run.stdout + run.stderr).split())
    assert ("[DEPRECATION WARNING]: The variable postfix_tls_cert_file is now postfix_tls_certificate_path" in out), out
    assert "version 2.0.0" in out
    assert "postfix_tls_key_file is now" not in out  # not set, so no warning


@pytest.mark.parametrize("args", [{"names": ["postfix_tls_cert_file"], "removed_in": "2.0.0"},
                                  {"names": {"a": "b"}, "removed_in": ""}])
def test_renamed_variables_refuses_bad_arguments(tmp_path, args):
    run = _play(tmp_path, [{"mailhost.mail.renamed_variables": args}])
    assert run.returncode != 0
    assert "names must be a dict" in run.stdout or "removed_in must be" in run.stdout, run.stdout


# Task files with these names mean the same in every role; a role may add
# files of its own (a provider, a step of a switch), but not other words for these.
TASK_FILES = {
    "set_vars.yml": "the platform loader",
    "validate_vars.yml": "checks of the variables alone, before the host changes",
    "install.yml": "the packages",
    "configure.yml": "the files",
    "verify.yml": "checks that ask the host or a server",
    "service.yml": "the service's state",
}
SYNONYMS = {"validate.yml", "check.yml", "checks.yml", "vars.yml", "packages.yml", "config.yml", "services.yml",
            "test.yml", "assert.yml"}


@pytest.mark.parametrize("role", sorted(p.name for p in ROLES.iterdir() if p.is_dir()))
def test_task_files_share_one_vocabulary(role):
    names = {p.name for p in (ROLES / role / "tasks").glob("*.yml")}
    assert not names & SYNONYMS, f"{role} has {sorted(names & SYNONYMS)}: use one of {sorted(TASK_FILES)}"
    validate = ROLES / role / "tasks" / "validate_vars.yml"
    if validate.is_file():
        modules = {key for task in _tasks(validate) for key in task if "." in key}
        allowed = {"ansible.builtin.assert", "ansible.builtin.fail", "ansible.builtin.debug",
                   "ansible.builtin.set_fact", "mailhost.mail.renamed_variables"}
        assert modules <= allowed, f"{role}: validate_vars.yml must only read variables, not run {modules - allowed}"


@pytest.mark.parametrize("role", ["postfix", "dovecot", "sendmail", "ldap_aliases", "mail_auth"])
def test_one_check_mode_idiom_for_not_installed_yet(role):
    """Each role that installs packages says once whether they are there, in the same words."""
    facts = {}
    for path in (ROLES / role / "tasks").glob("*.yml"):
        for task in _tasks(path):
            facts.update((task.get("ansible.builtin.set_fact") or {}))
    name = f"__{role}_installed"
    assert name in facts, f"{role} does not set {name}"
    dry_run = "__sendmail_dry_run" if role == "sendmail" else "ansible_check_mode"
    assert facts[name] == "{{ not (%s and __%s_install is changed) }}" % (dry_run, role)
    text = "".join(p.read_text() for p in (ROLES / role).glob("*/*.yml"))
    assert f"__{role}_install is changed" not in text.replace(facts[name], ""), (
        f"{role} tests '__{role}_install is changed' itself instead of {name}")
