#!/usr/bin/env bash
# ansible-test sanity and the unit tests on newer ansible-core releases than the
# venv's, which need Python 3.12+: inside a Debian 13 container from the test bed
# (Python 3.13), one container per release, side by side.
#
#   tests/versions/run.sh [SERIES...]    default: $MAILHOST_VERSIONS or "2.20 2.21"
#
# Each SERIES (e.g. 2.21) gets the newest ansible-core of that series from PyPI
# (pip install 'ansible-core~=2.21.0') in a venv in the container. The work tree
# (tracked and new files) is copied in as ansible_collections/mailhost/mail; the
# collections it depends on come read-only from the host venv's `ansible` package.
#
# With MAILHOST_VERSIONS_MOLECULE=SCENARIO (e.g. full_stack; default: none,
# and so not part of `make test` yet) one Molecule scenario then runs with the
# newest of the SERIES as its controller: molecule,
# ansible-playbook and testinfra inside such a container, driving the
# scenario's containers through the host's Docker engine (its socket is
# mounted). It holds the scenario's lock, as the host's run of it does.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC2206 # one word per series
series=(${@:-${MAILHOST_VERSIONS:-2.20 2.21}})
image="${MAILHOST_VERSIONS_IMAGE:-$(bash "$repo/tests/testbed/testbed.sh" image-for debian13)}"
deps="$repo/.venv/lib/python3.11/site-packages/ansible_collections"
ca=/etc/ssl/certs/ca-certificates.crt
proxy="${MAILHOST_APT_PROXY-$(bash "$repo/tests/testbed/testbed.sh" proxy)}"
logs="$repo/.cache/versions-logs"
molecule_scenario="${MAILHOST_VERSIONS_MOLECULE:-}"
molecule_locks="$repo/.cache/molecule-logs"
TIMEOUT_SECONDS="${MAILHOST_VERSIONS_TIMEOUT:-900}"
mkdir -p "$logs"
[ -d "$deps/community/general" ] || { echo "[versions] no $deps; run 'make venv'" >&2; exit 1; }
docker image inspect "$image" >/dev/null 2>&1 || { echo "[versions] image $image is missing; run 'make testbed'" >&2; exit 1; }

# The start of both runs inside a container: the venv of the series ($1) in the
# cache volume, with ansible-core and the packages given as the arguments after it.
venv_setup() {
  cat <<'SH'
set -euo pipefail
series="$1"; shift
t0=$(date +%s)
# The cache volume keeps the venv, pip's cache and ansible-test's sanity venvs between runs.
mkdir -p /cache/ansible-test /cache/pip /root/.ansible
ln -sfn /cache/ansible-test /root/.ansible/test
# ansible-test passes pip no environment: the CA bundle and cache go in pip's global config.
printf '[global]\ncert = /etc/ssl/certs/host-ca.crt\ncache-dir = /cache/pip\ntimeout = 120\ndisable-pip-version-check = true\n' >/etc/pip.conf
[ -x /cache/venv/bin/pip ] || python3 -m venv /cache/venv
# -U: the newest release of the series, also when the cached venv holds an older one.
/cache/venv/bin/pip install -q -U "ansible-core~=${series}.0" 'pytest>=8,<9' 'jmespath>=1,<2' 'passlib>=1.7,<2' "$@"
SH
}

# What runs inside the container, as root; $1 is the series.
inner() {
  venv_setup
  cat <<'SH'
echo "[versions] $series: $(/cache/venv/bin/ansible --version | head -1), $(/cache/venv/bin/python -V) ($(( $(date +%s) - t0 ))s setup)"
# ansible-test fetches get-pip from a host that can't be reached; same shim as tests/sanity/run.sh.
for ver in 24.2 24.3 25.0 25.1 25.2 25.3; do
  shim="/root/.ansible/test/cache/get_pip_${ver//./_}.py"
  mkdir -p "$(dirname "$shim")"
  printf '%s\n' 'import subprocess, sys' \
    'subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])' \
    'args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]' \
    'subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])' >"$shim"
done
cd /work/ansible_collections/mailhost/mail
export PATH=/cache/venv/bin:$PATH
t1=$(date +%s)
available=$(ansible-test sanity --list-tests 2>/dev/null)
args=()
for t in $SANITY_TESTS; do grep -qx "$t" <<<"$available" && args+=(--test "$t"); done
rc=0
ansible-test sanity --python 3.13 --color no "${args[@]}" || rc=1
echo "[versions] $series: sanity rc=$rc ($(( $(date +%s) - t1 ))s)"
t2=$(date +%s)
mkdir -p .cache/collections/ansible_collections/mailhost
ln -sfn "$PWD" .cache/collections/ansible_collections/mailhost/mail
ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections:/deps" python -m pytest -q -p no:cacheprovider tests/unit || rc=1
echo "[versions] $series: unit rc=$rc ($(( $(date +%s) - t2 ))s)"
exit $rc
SH
}

# The Molecule run inside the container. Arguments: the series, the scenario, then the ranges of requirements-dev.txt
# for molecule and testinfra, which the venv gets besides ansible-core.
molecule_inner() {
  # shellcheck disable=SC2016 # expanded in the container
  echo 'scenario="$2"; set -- "$1" "${@:3}"'
  venv_setup
  cat <<'SH'
export PATH=/cache/venv/bin:$PATH
cd /work/ansible_collections/mailhost/mail
# What `make collection` makes on the host: the collection on the path, the
# docker driver's playbooks where molecule/resources/create.yml imports them,
# and the dependencies where .config/molecule/config.yml looks (the venv's
# site-packages there).
mkdir -p .cache/collections/ansible_collections/mailhost .venv/lib/python3.11/site-packages
ln -sfn "$PWD" .cache/collections/ansible_collections/mailhost/mail
ln -sfn /deps .venv/lib/python3.11/site-packages/ansible_collections
ln -sfn "$(python -c 'import os, molecule_plugins.docker as d; print(os.path.join(os.path.dirname(d.__file__), "playbooks"))')" \
  .cache/molecule-docker
# As the Makefile exports it on the host; molecule checks its prerequisites there.
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections:$PWD/.venv/lib/python3.11/site-packages"
echo "[versions] molecule $scenario, controller: $(ansible --version | head -1), $(python -V), molecule $(pip show molecule 2>/dev/null | sed -n 's/^Version: //p') ($(( $(date +%s) - t0 ))s setup)"
rc=0
# The tree has no .git here, from which molecule finds the shared base config.
molecule -c .config/molecule/config.yml test -s "$scenario" || rc=$?
echo "[versions] molecule $scenario with ansible-core $series: rc=$rc ($(( $(date +%s) - t0 ))s)"
exit $rc
SH
}

# One Molecule scenario with ansible-core SERIES as the controller.
run_molecule() {
  local s="$1" scenario="$2" name="mh-versions-$$-molecule" log="$logs/molecule-$2-$1.log" rc=0 distro=debian12
  exec 9>"/tmp/mh-versions-$s.lock"
  flock 9
  # The scenario's containers, network and state carry its name: never two runs at once.
  mkdir -p "$molecule_locks"
  exec 8>"$molecule_locks/$scenario.lock"
  flock 8
  start_container "$name" "$s" -v /var/run/docker.sock:/var/run/docker.sock -e MOLECULE_DISTRO="$distro" \
    -e MOLECULE_IMAGE="$(bash "$repo/tests/testbed/testbed.sh" image-for "$distro")" -e MAILHOST_APT_PROXY="$proxy"
  docker exec "$name" timeout "$TIMEOUT_SECONDS" bash -c "$(molecule_inner)" inner "$s" "$scenario" \
    'molecule>=25.1,<27' 'molecule-plugins[docker]>=23.5,<27' 'pytest-testinfra>=10,<11' >"$log" 2>&1 || rc=$?
  docker rm -f "$name" >/dev/null 2>&1 || true
  exec 8>&- 9>&-
  return "$rc"
}

# The sanity tests tests/sanity/run.sh runs.
sanity_tests=$(sed -n '/^tests=(/,/)$/p' "$repo/tests/sanity/run.sh" | tr -d '()' | sed 's/^tests=//' | tr -s ' \n' ' ')

# The test bed's Debian 13 image plus python3-venv (ensurepip) and the docker
# CLI (the Molecule run's connection to its containers), made once.
base_image() {
  local tag="$image-versions" name="mh-versions-bake-$$"
  if [ "$(docker image inspect -f '{{ index .Config.Labels "mailhost.versions" }}' "$tag" 2>/dev/null)" = "$IMAGE_RECIPE" ]; then
    echo "$tag"; return 0
  fi
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run --name "$name" -e "P=$proxy" "$image" sh -c '
    [ -z "$P" ] || echo "Acquire::http::Proxy \"$P\";" >/etc/apt/apt.conf.d/01proxy
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends python3-venv docker-cli >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends python3-venv docker-cli >/dev/null; }
    rc=$?; rm -f /etc/apt/apt.conf.d/01proxy; exit $rc' >&2 ||
    { docker rm -f "$name" >/dev/null 2>&1; echo "[versions] could not install python3-venv and docker-cli in $image" >&2; return 1; }
  docker commit --change 'CMD ["/bin/bash"]' --change "LABEL mailhost.versions=$IMAGE_RECIPE" "$name" "$tag" >/dev/null
  docker rm -f "$name" >/dev/null
  echo "$tag"
}

# Start the container NAME for series $2 (cache volume, dependencies, CA
# bundle; further docker-run arguments after it) and copy the work tree in.
start_container() {
  local name="$1" s="$2"; shift 2
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" --label mailhost.versions=1 \
    -v "mh-versions-cache-$s:/cache" \
    -v "$deps:/deps:ro" -v "$ca:/etc/ssl/certs/host-ca.crt:ro" \
    -e PIP_CERT=/etc/ssl/certs/host-ca.crt -e SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt \
    -e PIP_DEFAULT_TIMEOUT=120 "$@" \
    "$run_image" sleep "$TIMEOUT_SECONDS" >/dev/null
  docker exec "$name" mkdir -p /work/ansible_collections/mailhost/mail
  # .venv is a symlink here (.gitignore's ".venv/" does not match it), broken in the container.
  (cd "$repo" && git ls-files -co --exclude-standard -z | grep -zv '^\.venv$' | tar --null -T - -c 2>/dev/null) |
    docker exec -i "$name" tar -x -C /work/ansible_collections/mailhost/mail
}

run_one() {
  local s="$1" name="mh-versions-$$-${1//./-}" log="$logs/$1.log" rc=0
  # One run per series at a time: its cache volume holds a venv.
  exec 9>"/tmp/mh-versions-$s.lock"
  flock 9
  start_container "$name" "$s" -e APT_PROXY="$proxy" -e SANITY_TESTS="$sanity_tests" -e ANSIBLE_COLLECTIONS_PATH=/deps
  docker exec "$name" timeout "$TIMEOUT_SECONDS" bash -c "$(inner)" inner "$s" >"$log" 2>&1 || rc=$?
  docker rm -f "$name" >/dev/null 2>&1 || true
  return "$rc"
}

t0=$(date +%s)
IMAGE_RECIPE=2
run_image=$(base_image)
pids=()
for s in "${series[@]}"; do
  run_one "$s" & pids+=($!)
done
fail=0
for i in "${!series[@]}"; do
  s=${series[$i]}
  if wait "${pids[$i]}"; then res=PASS; else res=FAIL; fail=1; fi
  grep '^\[versions\]' "$logs/$s.log" || true
  [ "$res" = PASS ] || tail -60 "$logs/$s.log"
  echo "[versions] ansible-core $s on Debian 13: $res (log: .cache/versions-logs/$s.log)"
done
if [ -n "$molecule_scenario" ]; then
  newest=$(printf '%s\n' "${series[@]}" | sort -V | tail -n 1)
  t1=$(date +%s)
  if run_molecule "$newest" "$molecule_scenario"; then res=PASS; else res=FAIL; fail=1; fi
  grep -E '^\[versions\]|[0-9]+ passed' "$logs/molecule-$molecule_scenario-$newest.log" || true
  [ "$res" = PASS ] || tail -150 "$logs/molecule-$molecule_scenario-$newest.log"
  echo "[versions] molecule $molecule_scenario with ansible-core $newest as controller: $res ($(( $(date +%s) - t1 ))s," \
    "log: .cache/versions-logs/molecule-$molecule_scenario-$newest.log)"
fi
echo "[stage] versions ${series[*]}: $(( $(date +%s) - t0 ))s"
exit $fail
