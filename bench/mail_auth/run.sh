#!/usr/bin/env bash
# Signing cost per message: smtp-source through Postfix's smtpd on the mail_auth
# scenario's signing host, with the milters (OpenDKIM signs, OpenDMARC looks) and
# without them, in the same run, alternating, so machine load hits both alike.
#
#   bash bench/mail_auth/run.sh        # converges molecule/mail_auth first if its signer is not running
#
# Mail is discarded after the queue (default_transport = discard) so that only
# reception, cleanup and the milters are timed. The bench changes main.cf with
# postconf -e in the throwaway container and puts it back at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
HOST=${MH_BENCH_HOST:-mh-mail_auth-signer}
MESSAGES=${MH_BENCH_MESSAGES:-300}
SESSIONS=${MH_BENCH_SESSIONS:-4}
ROUNDS=${MH_BENCH_ROUNDS:-3}

if ! docker inspect -f '{{.State.Running}}' "$HOST" 2>/dev/null | grep -q true; then
  export PATH=$PWD/.venv/bin:$PATH
  export MOLECULE_IMAGE=${MOLECULE_IMAGE:-mailhost-testbed:debian12}
  export MAILHOST_APT_PROXY=${MAILHOST_APT_PROXY-$(bash tests/testbed/testbed.sh proxy)}
  molecule converge -s mail_auth
fi

in_host() { docker exec "$HOST" sh -c "$1"; }
milters=$(in_host 'postconf -h smtpd_milters')
transport=$(in_host 'postconf -h default_transport')
restore() {
  in_host "postconf -e 'smtpd_milters=$milters' 'default_transport=$transport' && postfix reload >/dev/null 2>&1" || true
}
trap restore EXIT
in_host "postconf -e default_transport=discard && postfix reload >/dev/null 2>&1"

# One timed smtp-source run; prints messages per second.
run() {
  in_host "postconf -e 'smtpd_milters=$1' && postfix reload >/dev/null 2>&1 && sleep 1
           start=\$(date +%s.%N)
           smtp-source -s $SESSIONS -m $MESSAGES -l 2048 -f alice@example.com -t bob@example.net 127.0.0.1:25
           end=\$(date +%s.%N)
           echo \"$MESSAGES \$start \$end\"" | awk '{printf "%.1f\n", $1 / ($3 - $2)}'
}

with=() without=()
for round in $(seq "$ROUNDS"); do
  with+=("$(run "$milters")")
  without+=("$(run "")")
  echo "round $round: with milters ${with[-1]} msg/s, without ${without[-1]} msg/s"
done
signed=$(in_host 'journalctl -u opendkim --no-pager -o cat | grep -c "DKIM-Signature field added"' || true)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mw=$(median "${with[@]}"); mo=$(median "${without[@]}")
echo "median: with milters $mw msg/s, without $mo msg/s, ratio $(awk -v a="$mw" -v b="$mo" 'BEGIN {printf "%.2f", a / b}')"
echo "OpenDKIM signatures logged so far: $signed; load: $(cut -d' ' -f1-3 /proc/loadavg)"
