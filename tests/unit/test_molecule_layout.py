"""Molecule: one shared container definition, and every scenario built on it.

The container settings (image, systemd as PID 1, capabilities, cgroups, tmpfs)
live once, in molecule/resources/create.yml; a scenario's molecule.yml lists only
what is its own. These tests fail when a scenario copies the definition again or
bypasses the shared create playbook.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent for p in (ROOT / "molecule").glob("*/molecule.yml"))
SHARED_KEYS = {"image", "pre_build_image", "command", "capabilities", "cgroupns_mode", "volumes", "tmpfs", "env"}


def _create_play() -> dict:
    return yaml.safe_load((ROOT / "molecule" / "resources" / "create.yml").read_text())[0]


def test_the_shared_definition_has_every_container_setting():
    container = _create_play()["vars"]["__mailhost_container"]
    assert set(container) == SHARED_KEYS
    assert container["command"] == "/lib/systemd/systemd"
    assert {"SYS_ADMIN", "SYS_PTRACE"} <= set(container["capabilities"])
    assert "MOLECULE_IMAGE" in container["image"]


def test_the_base_config_uses_the_shared_create_playbook():
    base = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
    assert base["provisioner"]["playbooks"]["create"] == "../resources/create.yml"
    for platform in base["platforms"]:
        assert not SHARED_KEYS & set(platform), platform["name"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_scenarios_list_only_their_own_platform_settings(scenario):
    config = yaml.safe_load((scenario / "molecule.yml").read_text()) or {}
    for platform in config.get("platforms", []):
        copied = sorted(SHARED_KEYS & set(platform))
        assert not copied, f"{scenario.name}: {platform['name']} repeats {copied} from molecule/resources/create.yml"
    create = (config.get("provisioner") or {}).get("playbooks", {}).get("create")
    assert create in (None, "../resources/create.yml"), f"{scenario.name} bypasses the shared create playbook"
