#!/bin/sh
# Restart or stop Postfix without cutting a delivery in half (mailhost.mail:
# the postfix role's "Restart postfix" handler, and mta_switch when it takes
# Postfix out of service).
#
# A restart or stop SIGTERMs every Postfix process. A delivery agent that has
# handed a message to Dovecot's LMTP (or to a mailbox) but has not yet marked
# the recipient done in the queue file dies there, and the next queue manager
# (or the MTA the host switches to) delivers the message again. So the queue
# manager is paused first (SIGSTOP): it hands out no new deliveries, the
# running ones finish and mark their recipients done, and the restart or stop
# then cuts no delivery. SMTP intake goes on meanwhile; new mail waits in the
# incoming queue.
#
# Usage: graceful.sh restart|stop SERVICE DRAIN_SECONDS
# The wait is bounded by the clock: after DRAIN_SECONDS the restart or stop
# goes ahead and says which deliveries were still running.
set -u
action=$1
service=$2
drain=${3:-30}

case $action in
    restart | stop) ;;
    *) echo "usage: graceful.sh restart|stop SERVICE DRAIN_SECONDS" >&2; exit 2 ;;
esac

queue_dir=$(postconf -h queue_directory) || exit 1

# To stdout for the play, and to the mail log where admins look.
say() {
    echo "$1"
    postlog -t postfix/mailhost-$action -p "$2" "$1" 2>/dev/null || true
}
master=$(sed -n '1s/[^0-9]//gp' "$queue_dir/pid/master.pid" 2>/dev/null)

# "PID NAME" of a process whose parent is the master, or nothing.
child_of_master() {
    read -r pid comm _state ppid _rest 2>/dev/null < "/proc/$1/stat" || return 0
    [ "$ppid" = "$master" ] && echo "$pid $comm"
}

# A delivery agent that has finished still holds its queue file open: it
# sends its final status to the queue manager and then waits for the queue
# manager to close the connection (deliver_request_final), which a paused
# queue manager never does. Its recipients are marked done or deferred by
# then, so stopping it delivers nothing twice. Such an agent is the one whose
# connection from the queue manager (local address private/<service>) has
# unread data in its send queue; ss(8) shows it. Without ss every agent that
# holds a file counts as running, and the wait ends at the bound.
finished_agents() {
    ss -xpnH state established 2>/dev/null \
        | awk '$3 > 0 && $4 ~ /^private\// { print }' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# The deliveries in progress: the master's children other than the queue
# manager that hold a file of the active queue open and have not sent their
# final status, one "PID NAME" each. One find over /proc's fd links: cheap
# even with hundreds of smtpd running.
deliveries() {
    finished=$(finished_agents)
    find /proc/[0-9]*/fd -maxdepth 1 -lname "$queue_dir/active/*" 2>/dev/null \
        | sed -n 's|^/proc/\([0-9]*\)/fd/.*|\1|p' | sort -u \
        | while read -r pid; do
            echo "$finished" | grep -qx "$pid" || child_of_master "$pid"
        done | grep -v ' (qmgr)$'
}

qmgr=
if [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
    qmgr=$(for proc in /proc/[0-9]*; do child_of_master "${proc#/proc/}"; done \
        | sed -n 's/^\([0-9]*\) (qmgr)$/\1/p' | head -n 1)
fi

if [ -n "$qmgr" ]; then
    # Whatever happens below, the queue manager does not stay paused: the
    # restart or stop ends it, and if that fails it goes on delivering.
    trap 'kill -CONT "$qmgr" 2>/dev/null' EXIT
    kill -STOP "$qmgr"
    start=$(date +%s)
    running=$(deliveries)
    [ -z "$running" ] || say "queue manager paused, waiting at most ${drain}s for the deliveries in progress" info
    while [ -n "$running" ] && [ $(($(date +%s) - start)) -lt "$drain" ]; do
        sleep 0.2
        running=$(deliveries)
    done
    waited=$(($(date +%s) - start))
    if [ -n "$running" ]; then
        say "deliveries still running after ${waited}s: $(echo "$running" | tr '\n' ' ')- ${action}ing anyway" warning
    else
        say "no delivery in progress after ${waited}s; ${action}ing" info
    fi
fi

systemctl "$action" "$service"
