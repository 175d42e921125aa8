#!/usr/bin/env bash
# mailhost.mail demo: a local fleet of four containers, playbooks/site.yml run
# on it, and end-to-end mail checks with real clients.
#
#   demo.sh up      start (or reuse) the fleet, converge it, prove mail flows
#   demo.sh clean   remove the fleet's containers and network
#
# MAILHOST_DEMO_EE=IMAGE runs site.yml inside that execution environment with
# ansible-runner (tests/ee/runner.sh; `make ee` builds and uses one).
#
# `make demo` runs `up` after it made the venv, the collection symlink and the
# test bed. Running `up` again re-converges the same fleet and reports whether
# the run changed anything (it should not).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO="$ROOT/demo"
STATE="$DEMO/.state"
NETWORK="mailhost-demo"
PREFIX="mailhost-demo"
IMAGE="${MAILHOST_DEMO_IMAGE:-mailhost-testbed:debian12}"
BIN="$ROOT/.venv/bin"
# container-name:hostname:role, in the order they are shown in the summary.
FLEET=(
  "mail:mail.example.com:Postfix + Dovecot (IMAPS, LMTP, SASL), TLS certificate, LDAP aliases"
  "gw:gw.example.com:Sendmail gateway masquerading as example.com"
  "ldap:ldap.example.com:OpenLDAP (slapd) with alias entries, not managed by the collection"
  "client:client.example.com:Postfix null client relaying to mail.example.com"
)
BOOT_WAIT_SECONDS=90

export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.cache/collections:$ROOT/.venv/lib/python3.11/site-packages}"
export ANSIBLE_PIPELINING=true
export ANSIBLE_FORCE_COLOR=false
export ANSIBLE_NOCOLOR=true
export ANSIBLE_STDOUT_CALLBACK=default
export ANSIBLE_INTERPRETER_PYTHON=auto_silent
export ANSIBLE_RETRY_FILES_ENABLED=false
# mail_auth writes the DNS records an admin must publish here; check.yml
# verifies the DKIM signature against them (the demo has no DNS server).
export MAILHOST_DEMO_DNS_RECORDS="$STATE/dns-records.json"

log() { printf '[demo] %s\n' "$*" >&2; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }

container_name() { printf '%s-%s' "$PREFIX" "$1"; }

ensure_network() {
  docker network inspect "$NETWORK" >/dev/null 2>&1 && return 0
  log "creating docker network $NETWORK"
  docker network create --label mailhost.demo=1 "$NETWORK" >/dev/null
}

ensure_container() {
  local short="$1" fqdn="$2" name state
  name=$(container_name "$short")
  state=$(docker inspect -f '{{.State.Status}}' "$name" 2>/dev/null || true)
  case "$state" in
    running) log "reusing $name ($fqdn)"; return 0 ;;
    exited|created) log "starting $name"; docker start "$name" >/dev/null; return 0 ;;
    "") ;;
    *) die "$name is in state '$state'; run 'make demo-clean' first" ;;
  esac
  log "creating $name ($fqdn) from $IMAGE"
  # The same settings as the Molecule platforms: --privileged fails on these
  # machines, SYS_ADMIN with the host cgroup namespace is enough for systemd.
  docker run -d --name "$name" --hostname "$fqdn" \
    --network "$NETWORK" --network-alias "$fqdn" \
    --label mailhost.demo=1 \
    --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -e container=docker \
    "$IMAGE" /lib/systemd/systemd >/dev/null
}

wait_for_systemd() {
  local name="$1" out deadline=$((SECONDS + BOOT_WAIT_SECONDS))
  # systemctl answers nothing until systemd is PID 1 and its bus is up.
  while :; do
    out=$(timeout 20 docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$out" in running|degraded) return 0 ;; esac
    [ "$SECONDS" -lt "$deadline" ] ||
      die "$name: systemd did not finish booting within ${BOOT_WAIT_SECONDS}s (state: ${out:-no answer})"
    sleep 1
  done
}

# The apt proxy for the fleet: MAILHOST_APT_PROXY, the test bed's answer, or
# the test bed's cache through this network's gateway; each one only if a
# container can really fetch the archive's Release file through it.
pick_proxy() {
  local probe candidates=() gw c mirror suite
  probe=$(container_name mail)
  [ -n "${MAILHOST_APT_PROXY:-}" ] && candidates+=("$MAILHOST_APT_PROXY")
  c=$(bash "$ROOT/tests/testbed/testbed.sh" proxy 2>/dev/null || true)
  [ -n "$c" ] && candidates+=("$c")
  if timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3142' 2>/dev/null; then
    gw=$(docker network inspect "$NETWORK" --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
    [ -n "$gw" ] && candidates+=("http://$gw:3142")
  fi
  mirror=$(docker exec "$probe" sh -c "awk '\$1 == \"deb\" { print \$2; exit }' /etc/apt/sources.list 2>/dev/null")
  suite=$(docker exec "$probe" sh -c '. /etc/os-release; echo "$VERSION_CODENAME"')
  [ -n "$mirror" ] && [ -n "$suite" ] || return 0
  for c in "${candidates[@]}"; do
    if docker exec "$probe" timeout 15 python3 -c '
import sys, urllib.request as u
opener = u.build_opener(u.ProxyHandler({"http": sys.argv[1]}))
opener.open(sys.argv[2], timeout=10).read(64)
' "$c" "$mirror/dists/$suite/Release" >/dev/null 2>&1; then
      printf '%s\n' "$c"
      return 0
    fi
    log "apt proxy $c does not serve $mirror; trying the next"
  done
}

# Sum one counter (changed=, failed=, ...) over every host of a PLAY RECAP.
recap_sum() {
  local key="$1" log="$2"
  awk -v k="$key" '/^PLAY RECAP/ { in_recap = 1; next }
    in_recap && NF == 0 { in_recap = 0 }
    in_recap { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { split($i, a, "="); s += a[2] } }
    END { print s + 0 }' "$log"
}

run_playbook() {
  local label="$1" log="$2" cmd=("$BIN/ansible-playbook"); shift 2
  # --in-ee: the collection's site playbook inside the execution environment
  # MAILHOST_DEMO_EE (tests/ee/runner.sh), instead of the host venv.
  if [ "${1:-}" = --in-ee ]; then
    shift; cmd=(bash "$ROOT/tests/ee/runner.sh" "$MAILHOST_DEMO_EE")
  fi
  log "$label (log: ${log#"$ROOT"/})"
  if ! "${cmd[@]}" "$@" >"$log" 2>&1; then
    tail -40 "$log" >&2
    die "$label failed; full log in ${log#"$ROOT"/}"
  fi
}

cmd_up() {
  local t0 t_fleet t_prepare t_site t_check proxy first_run entry short fqdn name
  t0=$(date +%s)
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 ||
    die "no Docker engine; run 'make testbed' (or 'make demo', which runs it)"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE is missing; run 'make testbed'"
  [ -x "$BIN/ansible-playbook" ] || die "no venv at .venv; run 'make demo' rather than this script"
  mkdir -p "$STATE"

  first_run=yes
  docker inspect "$(container_name mail)" >/dev/null 2>&1 && first_run=no

  ensure_network
  for entry in "${FLEET[@]}"; do
    IFS=: read -r short fqdn _ <<<"$entry"
    ensure_container "$short" "$fqdn"
  done
  for entry in "${FLEET[@]}"; do
    IFS=: read -r short _ _ <<<"$entry"
    wait_for_systemd "$(container_name "$short")"
  done
  t_fleet=$(date +%s)

  proxy=$(pick_proxy)
  log "apt for the fleet: ${proxy:-direct to the archive (no working cache)}"
  export MAILHOST_APT_PROXY="$proxy"
  local inv=(-i "$ROOT/inventory" -i "$DEMO/inventory")
  run_playbook "preparing the fleet: apt cache, slapd seeded from LDIF" "$STATE/prepare.log" \
    "${inv[@]}" "$DEMO/prepare.yml"
  t_prepare=$(date +%s)

  if [ -n "${MAILHOST_DEMO_EE:-}" ]; then
    run_playbook "running mailhost.mail.site in the execution environment $MAILHOST_DEMO_EE" "$STATE/site.log" --in-ee
  else
    run_playbook "running playbooks/site.yml on the fleet" "$STATE/site.log" \
      "${inv[@]}" "$ROOT/playbooks/site.yml"
  fi
  t_site=$(date +%s)
  local changed failed unreachable ok
  changed=$(recap_sum changed "$STATE/site.log")
  failed=$(recap_sum failed "$STATE/site.log")
  unreachable=$(recap_sum unreachable "$STATE/site.log")
  ok=$(recap_sum ok "$STATE/site.log")

  run_playbook "checking mail flow with real clients" "$STATE/check.log" \
    "${inv[@]}" "$DEMO/check.yml"
  t_check=$(date +%s)

  {
    echo
    echo "================ mailhost.mail demo ================"
    echo "Fleet (docker network $NETWORK, image $IMAGE, apt via ${proxy:-the archive directly}):"
    for entry in "${FLEET[@]}"; do
      IFS=: read -r short fqdn what <<<"$entry"
      printf '  %-22s %-20s %s\n' "$(container_name "$short")" "$fqdn" "$what"
    done
    echo
    [ -z "${MAILHOST_DEMO_EE:-}" ] || echo "site.yml ran inside the execution environment $MAILHOST_DEMO_EE (ansible-runner)"
    echo "playbooks/site.yml PLAY RECAP: ok=$ok changed=$changed failed=$failed unreachable=$unreachable"
    if [ "$first_run" = yes ]; then
      echo "  first converge of a fresh fleet (run 'make demo' again: it should report changed=0)"
    elif [ "$changed" = 0 ]; then
      echo "  re-run on the converged fleet: changed=0, the fleet is idempotent"
    else
      echo "  re-run on the converged fleet reported changed=$changed: NOT idempotent, see demo/.state/site.log"
    fi
    echo
    echo "Checks:"
    sed -n 's/^.*"DEMO-CHECK \(.*\)".*$/  \1/p' "$STATE/check.log"
    echo
    printf 'Time: %ss total (containers %ss, prepare %ss, site.yml %ss, checks %ss)\n' \
      "$((t_check - t0))" "$((t_fleet - t0))" "$((t_prepare - t_fleet))" "$((t_site - t_prepare))" "$((t_check - t_site))"
    echo "Logs: demo/.state/{prepare,site,check}.log   Remove the fleet: make demo-clean"
    echo "===================================================="
  } | tee "$STATE/summary.txt"
  # Every check is a promise: a FAIL fails `make demo`, after the summary.
  if grep -q '"DEMO-CHECK FAIL' "$STATE/check.log"; then
    die "a demo check failed (see Checks above and demo/.state/check.log)"
  fi
  [ "$first_run" = yes ] || [ "$changed" = 0 ] || exit 2
}

cmd_clean() {
  local entry short name
  for entry in "${FLEET[@]}"; do
    IFS=: read -r short _ _ <<<"$entry"
    name=$(container_name "$short")
    if docker inspect "$name" >/dev/null 2>&1; then
      log "removing $name"
      docker rm -f "$name" >/dev/null
    fi
  done
  if docker network inspect "$NETWORK" >/dev/null 2>&1; then
    log "removing network $NETWORK"
    docker network rm "$NETWORK" >/dev/null
  fi
  rm -rf "$STATE"
  log "demo fleet removed"
}

case "${1:-up}" in
  up) cmd_up ;;
  clean) cmd_clean ;;
  *) die "usage: $0 {up|clean}" ;;
esac
