#!/usr/bin/env bash
# Map modules benchmark: ours vs lineinfile loop + handler vs makemap/postmap alone.
# Starts (or reuses) two test containers, one with sendmail-bin and one with postfix,
# and removes the ones it started unless KEEP=1. Env: SMALL_N (1000), BIG_N (100000), LINEINFILE_TARGETS (postfix sendmail), LINEINFILE_RERUN (0),
# BENCH_TARGETS (sendmail postfix issue20; issue20 is issue 20's virtusertable case, on the sendmail container), ISSUE20_ATTEMPTS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
IMAGE=${MOLECULE_IMAGE:-mailhost-testbed:debian12}
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections:$VENV/lib/python3.11/site-packages"
export BENCH_SENDMAIL=${BENCH_SENDMAIL:-mh-bench-maps-sendmail}
export BENCH_POSTFIX=${BENCH_POSTFIX:-mh-bench-maps-postfix}
mkdir -p "$ROOT/.cache/collections/ansible_collections/mailhost"
ln -sfn "$ROOT" "$ROOT/.cache/collections/ansible_collections/mailhost/mail"

started=()
cleanup() { [ "${KEEP:-0}" = 1 ] || for c in "${started[@]}"; do docker rm -f "$c" >/dev/null; done; }
trap cleanup EXIT

start() {  # name packages...
  local name=$1; shift
  if docker inspect "$name" >/dev/null 2>&1; then return 0; fi
  docker run -d --name "$name" --hostname mail.example.com --cap-add SYS_ADMIN --cap-add SYS_PTRACE --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock --tmpfs /tmp "$IMAGE" /lib/systemd/systemd >/dev/null
  started+=("$name")
  # apt's signature check needs a booted system (/tmp, gpgv); wait, bounded.
  timeout 120 docker exec "$name" systemctl is-system-running --wait >/dev/null 2>&1 || true
  local proxy
  proxy=$(bash tests/testbed/testbed.sh proxy 2>/dev/null || true)
  docker exec -e DEBIAN_FRONTEND=noninteractive -e "P=$proxy" "$name" bash -c '
    [ -z "$P" ] || echo "Acquire::http::Proxy \"$P\";" > /etc/apt/apt.conf.d/01proxy
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$@" >/dev/null' _ "$@"
}
export BENCH_TARGETS=${BENCH_TARGETS:-sendmail postfix issue20}
case " $BENCH_TARGETS " in *" sendmail "*|*" issue20 "*) start "$BENCH_SENDMAIL" sendmail-bin ;; esac
case " $BENCH_TARGETS " in *" postfix "*) start "$BENCH_POSTFIX" postfix ;; esac
"$VENV/bin/python" bench/maps/bench.py
