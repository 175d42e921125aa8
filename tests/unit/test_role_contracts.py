"""Every role keeps its contract: argument specs exist, match defaults, and the README is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()) if (ROOT / "roles").is_dir() else []


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_argument_specs(role):
    assert (role / "meta" / "argument_specs.yml").is_file(), f"{role.name} has no meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_spec_defaults_equal_role_defaults(role):
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    options = spec.get("options", {})
    defaults_file = role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    public = {k: v for k, v in defaults.items() if not k.startswith("__")}
    assert set(public) <= set(options), f"undocumented defaults: {sorted(set(public) - set(options))}"
    for name, value in public.items():
        if "default" in options[name]:
            assert options[name]["default"] == value, f"{role.name}: {name} spec default differs from defaults/main.yml"
    for name in public:
        assert name.startswith(f"{role.name}_"), f"{name} is not prefixed {role.name}_"


def test_readme_role_tables_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "hacking" / "role_docs.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
