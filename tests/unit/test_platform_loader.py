"""The platform loader: one tasks/set_vars.yml for every role, and no OS file it would ignore.

The loader lays the vars files named for the os_family, distribution,
distribution_major and distribution_version over vars/default.yml, least
specific first. These tests
keep the loaders identical except for the role prefix, refuse a vars file that
no platform would ever load, and run the real loader with ansible-playbook
against a fake platform to prove that adding one is one file per role.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())
# Names ansible sets as ansible_facts.distribution or os_family for the
# platforms the collection documents (and their clones).
PLATFORM_NAMES = {
    "Debian", "Ubuntu", "RedHat", "Fedora", "CentOS", "Rocky", "AlmaLinux", "OracleLinux",
}
VARS_FILE = re.compile(r"^(?P<name>[A-Za-z]+)(_(?P<version>[0-9]+(\.[0-9]+)*))?\.yml$")


def _generic(role: Path) -> str:
    return (role / "tasks" / "set_vars.yml").read_text().replace(f"__{role.name}_", "__ROLE_")


def test_every_role_has_the_same_loader():
    reference = _generic(ROLES[0])
    for role in ROLES:
        assert (role / "tasks" / "set_vars.yml").is_file(), f"{role.name} has no tasks/set_vars.yml"
        assert _generic(role) == reference, f"{role.name}/tasks/set_vars.yml differs from {ROLES[0].name}'s"
        main = (role / "tasks" / "main.yml").read_text()
        assert "include_tasks: set_vars.yml" in main.split("- name:", 2)[1], (
            f"{role.name}: loading the platform variables is not the first task")
        assert "include_vars" not in main, f"{role.name} loads vars outside set_vars.yml"


FAMILY = {"Debian": "Debian", "Ubuntu": "Debian", "RedHat": "RedHat", "Fedora": "RedHat", "CentOS": "RedHat",
          "Rocky": "RedHat", "AlmaLinux": "RedHat", "OracleLinux": "RedHat"}


def _read(path: Path) -> dict:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_no_vars_file_is_silently_ignored(role):
    vars_dir = role / "vars"
    base = _read(vars_dir / "default.yml")
    assert base, f"{role.name} has no vars/default.yml, the base of its platform variables"
    for path in sorted(vars_dir.glob("*")):
        if path.name in ("main.yml", "default.yml"):
            continue
        match = VARS_FILE.match(path.name)
        assert match and match["name"] in PLATFORM_NAMES, (
            f"{path.relative_to(ROOT)}: the loader never loads this name; use <distribution>[_<version>].yml "
            f"or <os_family>.yml with one of {sorted(PLATFORM_NAMES)}")
        overlay = _read(path)
        assert overlay, f"{path.relative_to(ROOT)} is empty: delete it"
        unknown = sorted(set(overlay) - set(base))
        assert not unknown, f"{path.relative_to(ROOT)} sets {unknown}, which default.yml lacks"
        # What the layers below this file give, in the loader's order.
        name, version = match["name"], match["version"]
        below = dict(base)
        layers = [f"{FAMILY[name]}.yml"]
        if version and name != FAMILY[name]:
            layers.append(f"{FAMILY[name]}_{version.split('.')[0]}.yml")
        if version:
            layers.append(f"{name}.yml")
            if "." in version:
                layers.append(f"{name}_{version.split('.')[0]}.yml")
        for layer in dict.fromkeys(layers):
            if layer != path.name:
                below.update(_read(vars_dir / layer))
        repeated = sorted(k for k, v in overlay.items() if below.get(k) == v)
        assert not repeated, f"{path.relative_to(ROOT)} repeats the layers below it for {repeated}"


PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the role's loader
      ansible.builtin.include_role:
        name: {role}
        tasks_from: set_vars.yml
    - name: Print what it loaded
      ansible.builtin.debug:
        msg: "RESULT {{{{ {{'marker': __fixture_marker | default('base'), 'service': {probe},
          'db': __postfix_database_type_fallback}} | to_json }}}}"
"""


def _load(tmp_path: Path, role: Path, facts: dict) -> dict:
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(tmp_path / "roles"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    play = tmp_path / "play.yml"
    probe = {"postfix": "__postfix_packages"}[role.name]
    play.write_text(PLAY.format(role=role.name, probe=probe))
    facts = dict(facts, fqdn="mail.example.com", domain="example.com")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
         "-e", json.dumps({"ansible_facts": facts})],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = re.search(r"RESULT (\{.*\})", result.stdout)
    assert found, result.stdout[-3000:]
    return json.loads(found.group(1).replace("\\\"", "\""))


@pytest.fixture
def role_copy(tmp_path):
    role = ROOT / "roles" / "postfix"
    copy = tmp_path / "roles" / role.name
    shutil.copytree(role, copy)
    fixture = ROOT / "tests" / "unit" / "fixtures" / "platform_loader" / "Debian_13.yml"
    shutil.copy(fixture, copy / "vars" / "Debian_13.yml")
    return copy


@pytest.mark.parametrize(("facts", "marker", "packages"), [
    # The new file wins for its major version, whatever the point release.
    ({"distribution": "Debian", "distribution_version": "13.2", "distribution_major_version": "13",
      "os_family": "Debian"}, "Debian_13.yml", ["postfix", "ssl-cert", "fixture-package"]),
    # Other Debian releases still get Debian.yml over the base.
    ({"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12",
      "os_family": "Debian"}, "base", ["postfix", "ssl-cert"]),
    # Fedora has no file of its own here: its os_family's.
    ({"distribution": "Fedora", "distribution_version": "43", "distribution_major_version": "43",
      "os_family": "RedHat"}, "base", ["postfix"]),
    # An unknown platform gets the base alone.
    ({"distribution": "Plan9", "distribution_version": "4", "distribution_major_version": "4",
      "os_family": "Plan9"}, "base", ["postfix"]),
], ids=["debian13-fixture", "debian12", "fedora-by-family", "unknown"])
def test_loader_finds_a_new_platform_file(tmp_path, role_copy, facts, marker, packages):
    loaded = _load(tmp_path, role_copy, facts)
    assert (loaded["marker"], loaded["service"]) == (marker, packages)


@pytest.mark.parametrize(("distribution", "version", "db"), [
    # RedHat_9.yml reaches RHEL and every EL9 clone through <os_family>_<major>.
    ("RedHat", "9.4", "hash"),
    ("Rocky", "9.4", "hash"),
    ("AlmaLinux", "9.4", "hash"),
    ("RedHat", "10.0", "lmdb"),
    ("CentOS", "10", "lmdb"),
    ("Fedora", "43", "lmdb"),
])
def test_el_major_files_reach_the_clones(tmp_path, role_copy, distribution, version, db):
    facts = {"distribution": distribution, "distribution_version": version,
             "distribution_major_version": version.split(".")[0], "os_family": "RedHat"}
    assert _load(tmp_path, role_copy, facts)["db"] == db
