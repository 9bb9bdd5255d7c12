#!/bin/bash
# epoll watches by the watched file, not just by fd number: a watch added
# through an fd closed since, one through an fd that holds another file
# now, two watches on one fd number, EPOLLET / EPOLLONESHOT /
# EPOLLEXCLUSIVE with their data, and an epoll watching an epoll.
# tests/progs/miscfd checks them itself after restart.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
need_prog miscfd

start_bg "$PROGS/miscfd" epoll > "$T/m.log" 2> "$T/m.err"
pid=$BG_PID
wait_for_line "$T/m.log" '^ready$' 5
ckpt_ok "$pid" "$T/m.tar.zst" --kill
wait_gone "$pid"
restart_detach "$T/m.tar.zst"
kill -USR1 "$pid"
wait_for_line "$T/m.log" '^ok$' 5
pass
