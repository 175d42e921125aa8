#!/usr/bin/env bash
# All benchmarks (`make bench`): the map modules' (bench/maps, when present),
# then the fleet benchmark of playbooks/site.yml (bench/fleet). Slow; not part
# of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
if [ -f bench/maps/run.sh ]; then
  echo "== bench/maps"
  bash bench/maps/run.sh || { echo "[bench] bench/maps failed" >&2; status=1; }
fi
echo "== bench/fleet"
bash bench/fleet/fleet.sh || { echo "[bench] bench/fleet failed" >&2; status=1; }
exit "$status"
