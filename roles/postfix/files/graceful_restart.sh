#!/bin/sh
# Restart Postfix without cutting a delivery in half (mailhost.mail postfix
# role, handler "Restart postfix").
#
# A restart SIGTERMs every Postfix process. A delivery agent that has handed a
# message to Dovecot's LMTP (or to a mailbox) but has not yet marked the
# recipient done in the queue file dies there, and the new queue manager
# delivers the message again. So the queue manager is paused first (SIGSTOP):
# it hands out no new deliveries, the running ones finish and mark their
# recipients done, and the restart then cuts no delivery. SMTP intake goes on
# meanwhile; new mail waits in the incoming queue.
#
# Usage: graceful_restart.sh SERVICE DRAIN_SECONDS
# The wait is bounded: after DRAIN_SECONDS the restart goes ahead and says so.
set -u
service=$1
drain=${2:-30}

queue_dir=$(postconf -h queue_directory) || exit 1

# To stdout for the play, and to the mail log where admins look.
say() {
    echo "$1"
    postlog -t postfix/mailhost-restart -p "$2" "$1" 2>/dev/null || true
}
master=$(sed -n '1s/[^0-9]//gp' "$queue_dir/pid/master.pid" 2>/dev/null)

# The master's children, one "PID NAME" per line, from /proc (no procps needed).
children() {
    for stat in /proc/[0-9]*/stat; do
        read -r pid comm _state ppid _rest < "$stat" 2>/dev/null || continue
        [ "$ppid" = "$master" ] && echo "$pid $comm"
    done
}

# True while a child other than the queue manager holds an active queue file:
# a delivery in progress.
busy() {
    children | while read -r pid comm; do
        [ "$comm" = "(qmgr)" ] && continue
        for fd in /proc/"$pid"/fd/*; do
            case $(readlink "$fd" 2>/dev/null) in
                "$queue_dir"/active/*) echo "$pid"; break 2 ;;
            esac
        done
    done | grep -q .
}

qmgr=
if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
    qmgr=$(children | sed -n 's/^\([0-9]*\) (qmgr)$/\1/p' | head -n 1)
fi

if [ -n "$qmgr" ]; then
    # Whatever happens below, the queue manager does not stay paused: the
    # restart ends it, and if the restart fails it goes on delivering.
    trap 'kill -CONT "$qmgr" 2>/dev/null' EXIT
    kill -STOP "$qmgr"
    ticks=0
    busy && say "queue manager paused, waiting at most ${drain}s for the deliveries in progress" info
    while busy && [ "$ticks" -lt $((drain * 10)) ]; do
        sleep 0.1
        ticks=$((ticks + 1))
    done
    if busy; then
        say "deliveries still running after ${drain}s; restarting anyway" warning
    else
        say "no delivery in progress after $((ticks / 10)).$((ticks % 10))s; restarting" info
    fi
fi

systemctl restart "$service"
