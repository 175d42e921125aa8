#!/usr/bin/env bash
# The mailhost.mail execution environment, built and used without a registry.
#
#   tests/ee/run.sh build   base image from the test bed, collection tarball, ansible-builder build
#   tests/ee/run.sh demo    run the demo (demo/demo.sh) with site.yml inside the EE via ansible-runner
#   tests/ee/run.sh all     both (what `make ee` runs)
#
# The tools (ansible-builder, ansible-runner) live in .cache/ee-venv (tests/ee/requirements.txt).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv="$repo/.cache/ee-venv"
req="$repo/tests/ee/requirements.txt"
BASE_IMAGE=mailhost-ee-base:debian13
EE_IMAGE="${MAILHOST_EE_IMAGE:-mailhost-mail-ee:local}"
BASE_RECIPE=1
deps="$repo/.venv/lib/python3.11/site-packages/ansible_collections"
# The collections the EE carries beside mailhost.mail (see ee/local/execution-environment.yml).
DEP_COLLECTIONS="community/general community/crypto ansible/posix community/docker community/library_inventory_filtering_v1"

log() { printf '[ee] %s\n' "$*" >&2; }

tools() {
  if [ ! -x "$venv/bin/ansible-builder" ] || [ "$req" -nt "$venv/.installed" ]; then
    log "installing ansible-builder and ansible-runner into ${venv#"$repo"/}"
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$req" 2>&1 | grep -v '^WARNING: Location' || true
    touch "$venv/.installed"
  fi
}

# Debian 13 from the test bed plus what ansible-builder expects of a base:
# python3 with pip and venv, a package manager it can call like dnf
# (`install -y PKG...`, `clean all`), and for this collection the docker CLI
# (the demo fleet's connection) and an SSH client (everyone else's).
base_image() {
  local testbed name="mh-ee-bake-$$" proxy
  if [ "$(docker image inspect -f '{{ index .Config.Labels "mailhost.ee-base" }}' "$BASE_IMAGE" 2>/dev/null)" = "$BASE_RECIPE" ]; then
    log "reusing $BASE_IMAGE"; return 0
  fi
  testbed=$(bash "$repo/tests/testbed/testbed.sh" image-for debian13)
  proxy=$(bash "$repo/tests/testbed/testbed.sh" proxy || true)
  log "making $BASE_IMAGE from $testbed"
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run --name "$name" -e "P=$proxy" -v /etc/ssl/certs/ca-certificates.crt:/tmp/host-ca.crt:ro "$testbed" bash -c '
    set -e
    [ -z "$P" ] || echo "Acquire::http::Proxy \"$P\";" >/etc/apt/apt.conf.d/01proxy
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends python3-pip python3-venv docker-cli openssh-client >/dev/null ||
      { apt-get update -q >/dev/null; apt-get install -y -q --no-install-recommends python3-pip python3-venv docker-cli openssh-client >/dev/null; }
    # This machine reaches PyPI through a TLS-inspecting proxy: its CA bundle.
    cp /tmp/host-ca.crt /etc/ssl/certs/mailhost-build-ca.crt
    cat >/usr/local/bin/ee-pkg <<'"'SH'"'
#!/bin/sh
# dnf-style calls from ansible-builder, done with apt-get.
cmd="$1"; shift
case "$cmd" in
  install) [ "${1:-}" = -y ] && shift
    [ "$#" = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" ;;
  clean) apt-get clean; rm -rf /var/lib/apt/lists/* ;;
  *) exec apt-get "$cmd" "$@" ;;
esac
SH
    chmod +x /usr/local/bin/ee-pkg
    rm -f /etc/apt/apt.conf.d/01proxy; apt-get clean' >&2
  docker commit --change 'CMD ["/bin/bash"]' --change 'ENV container=' \
    --change 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' --change 'ENV PIP_CERT=/etc/ssl/certs/mailhost-build-ca.crt' \
    --change "LABEL mailhost.ee-base=$BASE_RECIPE" "$name" "$BASE_IMAGE" >/dev/null
  docker rm -f "$name" >/dev/null
}

cmd_build() {
  local t0 files version
  t0=$(date +%s)
  tools
  base_image
  files="$repo/build/ee-files"
  rm -rf "$files"; mkdir -p "$files/ansible_collections"
  version=$("$repo/.venv/bin/python" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$repo/galaxy.yml")
  "$repo/.venv/bin/ansible-galaxy" collection build --force --output-path "$repo/build" "$repo" >/dev/null
  cp "$repo/build/mailhost-mail-$version.tar.gz" "$files/mailhost-mail.tar.gz"
  for c in $DEP_COLLECTIONS; do
    mkdir -p "$files/ansible_collections/${c%/*}"
    cp -rL "$deps/$c" "$files/ansible_collections/$c"
  done
  find "$files" -name __pycache__ -prune -exec rm -rf {} +
  log "ansible-builder build -> $EE_IMAGE (log: build/ee-build.log)"
  (cd "$repo/ee/local" && "$venv/bin/ansible-builder" build --container-runtime docker -v 2 \
    -f execution-environment.yml -c "$repo/build/ee-context" -t "$EE_IMAGE") >"$repo/build/ee-build.log" 2>&1 ||
    { tail -40 "$repo/build/ee-build.log" >&2; log "ansible-builder build failed"; return 1; }
  log "built $EE_IMAGE: $(docker image inspect -f '{{.Size}}' "$EE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'), $(( $(date +%s) - t0 ))s"
  docker run --rm "$EE_IMAGE" ansible --version | head -1 >&2
}

cmd_demo() {
  tools
  docker image inspect "$EE_IMAGE" >/dev/null 2>&1 || { log "no $EE_IMAGE; run '$0 build'"; return 1; }
  # demo.sh runs prepare.yml and check.yml (its own harness) on the host and
  # playbooks/site.yml in the EE through tests/ee/runner.sh.
  MAILHOST_DEMO_EE="$EE_IMAGE" flock /tmp/mh-demo.lock bash "$repo/demo/demo.sh" up
}

case "${1:-all}" in
  build) cmd_build ;;
  demo) cmd_demo ;;
  all) cmd_build; cmd_demo ;;
  *) echo "usage: $0 {build|demo|all}" >&2; exit 2 ;;
esac
