#!/usr/bin/env bash
# Run the collection's site playbook (mailhost.mail.site, as baked into the
# image) inside an execution environment with ansible-runner, AWX's own runner,
# against the demo fleet: the example inventory plus the demo overlay, whose
# community.docker.docker connection reaches the fleet through the host's
# Docker socket, mounted into the EE.
#
#   tests/ee/runner.sh IMAGE [EXTRA ansible-playbook ARGS...]
# Prints the playbook's output (PLAY RECAP included) and exits with its status.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
image="$1"; shift
runner="$repo/.cache/ee-venv/bin/ansible-runner"
[ -x "$runner" ] || { echo "[ee] no ansible-runner; run 'tests/ee/run.sh build'" >&2; exit 1; }
pdd=$(mktemp -d)
trap 'rm -rf "$pdd"' EXIT
mkdir -p "$pdd/project" "$pdd/env"
cp -r "$repo/inventory" "$pdd/project/inventory"
cp -r "$repo/demo/inventory" "$pdd/project/demo-inventory"
cat >"$pdd/project/site.yml" <<'YML'
---
- name: The estate, from the collection in the execution environment
  ansible.builtin.import_playbook: mailhost.mail.site
YML
# The same settings demo/demo.sh gives ansible-playbook on the host.
cat >"$pdd/env/envvars" <<'YML'
---
ANSIBLE_PIPELINING: "true"
ANSIBLE_FORCE_COLOR: "false"
ANSIBLE_NOCOLOR: "true"
ANSIBLE_STDOUT_CALLBACK: default
ANSIBLE_INTERPRETER_PYTHON: auto_silent
ANSIBLE_RETRY_FILES_ENABLED: "false"
YML
extra=""
[ "$#" = 0 ] || extra=" $*"
"$runner" run "$pdd" -p site.yml \
  --process-isolation --process-isolation-executable docker --container-image "$image" \
  --container-volume-mount /var/run/docker.sock:/var/run/docker.sock \
  "--cmdline=-i /runner/project/inventory -i /runner/project/demo-inventory$extra"
