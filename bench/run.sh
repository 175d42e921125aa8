#!/usr/bin/env bash
# All benchmarks (`make bench`): the map modules' (bench/maps, when present),
# the controller cost per host against the peer roles (bench/peers), then the
# fleet benchmark of playbooks/site.yml (bench/fleet). Slow; not part of
# `make test`. BENCH_SKIP="fleet peers maps" skips some.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
skip() { case " ${BENCH_SKIP:-} " in *" $1 "*) return 0 ;; esac; return 1; }
if [ -f bench/maps/run.sh ] && ! skip maps; then
  echo "== bench/maps"
  bash bench/maps/run.sh || { echo "[bench] bench/maps failed" >&2; status=1; }
fi
if ! skip peers; then
  echo "== bench/peers"
  .venv/bin/python bench/peers/peers.py || { echo "[bench] bench/peers failed" >&2; status=1; }
fi
if ! skip fleet; then
  echo "== bench/fleet"
  bash bench/fleet/fleet.sh || { echo "[bench] bench/fleet failed" >&2; status=1; }
fi
exit "$status"
