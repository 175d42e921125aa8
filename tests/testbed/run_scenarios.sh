#!/usr/bin/env bash
# Run Molecule scenarios, JOBS at a time, each "scenario:distro" pair once.
#   run_scenarios.sh JOBS PAIR...        e.g. run_scenarios.sh 2 smoke:debian12 dovecot:debian13
# A scenario never runs twice at once (its containers, network and Molecule
# state share its name), so each run holds a per-scenario lock. Each run's
# output goes to a log that is printed when the run ends, so logs don't interleave.
# A pair whose scenario is a make target named in PSEUDO_TARGETS (versions:debian13:
# `make versions`) runs beside the pool, not in one of its JOBS slots, so the
# Molecule jobs keep their parallelism.
set -uo pipefail
jobs="$1"; shift
PSEUDO_TARGETS="versions ee"
repo=$(cd "$(dirname "$0")/../.." && pwd)
logs="$repo/.cache/molecule-logs"
mkdir -p "$logs"
rm -f "$logs"/*.log "$logs"/*.result

run_one() {
  local pair="$1" scenario distro log t0 rc
  scenario="${pair%%:*}"; distro="${pair##*:}"
  log="$logs/$scenario-$distro.log"
  t0=$(date +%s)
  if [[ " $PSEUDO_TARGETS " == *" $scenario "* ]]; then
    make --no-print-directory -C "$repo" "$scenario" >"$log" 2>&1
  else
    flock "$logs/$scenario.lock" make --no-print-directory -C "$repo" molecule SCENARIO="$scenario" MOLECULE_DISTRO="$distro" >"$log" 2>&1
  fi
  rc=$?
  {
    echo "===== $([[ " $PSEUDO_TARGETS " == *" $scenario "* ]] && echo make || echo molecule) $scenario on $distro: rc=$rc, $(( $(date +%s) - t0 ))s ====="
    if [ "$rc" = 0 ]; then grep -E '[0-9]+ passed|\[stage\]' "$log" | tail -3; else tail -150 "$log"; fi
  }
  echo "$scenario $distro $rc $(( $(date +%s) - t0 ))" >"$logs/$scenario-$distro.result"
  return 0
}
export -f run_one
export logs repo PSEUDO_TARGETS

pseudo=() pool=()
for pair in "$@"; do
  if [[ " $PSEUDO_TARGETS " == *" ${pair%%:*} "* ]]; then pseudo+=("$pair"); else pool+=("$pair"); fi
done
pids=()
for pair in ${pseudo[@]+"${pseudo[@]}"}; do
  run_one "$pair" & pids+=($!)
done

[ "${#pool[@]}" = 0 ] || printf '%s\n' "${pool[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid"; done

echo "===== Molecule summary ====="
fail=0
for pair in "$@"; do
  f="$logs/${pair%%:*}-${pair##*:}.result"
  if [ -f "$f" ]; then
    read -r s d rc secs <"$f"
    printf '%-14s %-9s %-5s %5ss\n' "$s" "$d" "$([ "$rc" = 0 ] && echo PASS || echo FAIL)" "$secs"
    [ "$rc" = 0 ] || fail=1
  else
    printf '%-14s %-9s %-5s\n' "${pair%%:*}" "${pair##*:}" "NOT RUN"; fail=1
  fi
done
exit $fail
