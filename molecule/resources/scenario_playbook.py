"""Run a scenario's own playbook from its testinfra tests (check mode, side runs).

Shared by the scenarios' tests: the same venv, collections path and plain
output that `make molecule` gives converge, so tests can parse the recap.
"""

import os
import subprocess


def run_playbook(tests_file: str, playbook: str, *args: str, timeout: int = 300) -> tuple:
    """Run <scenario>/<playbook> against the scenario's inventory; return (rc, stdout + stderr)."""
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=f"{project}/.cache/collections:{project}/.venv/lib/python3.11/site-packages",
        ANSIBLE_PIPELINING="true",
        ANSIBLE_FORCE_COLOR="false",
        ANSIBLE_STDOUT_CALLBACK="default",
    )
    run = subprocess.run(
        [
            f"{project}/.venv/bin/ansible-playbook",
            "-i", os.environ["MOLECULE_INVENTORY_FILE"],
            *args,
            os.path.join(os.path.dirname(os.path.abspath(tests_file)), "..", playbook),
        ],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    return run.returncode, run.stdout + run.stderr
