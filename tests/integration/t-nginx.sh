#!/bin/bash
# nginx: Debian's nginx, a master and two pre-forked workers sharing the
# listening socket, with a client (outside the image) holding a keep-alive
# connection opened before the checkpoint.  First a live checkpoint: the
# server goes on, the old connection answers, and the master saw no
# child of its die (the copy-on-write copies of the workers must not look
# like workers killed by SIGKILL: nginx logs each as an alert).  Then
# ckpt --kill and restart: the old connection answers again (the worker
# holding it is back with its TCP connection), new connections are served
# by the shared listener, and nginx stops cleanly on SIGQUIT.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
need_ckpt
command -v nginx > /dev/null || skip "nginx is not installed (nginx-light)"

port=$(free_port)
mkdir -p "$T/www" "$T/logs" "$T/tmp"
echo "hello from nginx" > "$T/www/index.html"
cat > "$T/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $T/nginx.pid;
error_log $T/logs/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	keepalive_timeout 600;
	keepalive_requests 100000;
	client_body_temp_path $T/tmp/body;
	proxy_temp_path $T/tmp/proxy;
	fastcgi_temp_path $T/tmp/fastcgi;
	uwsgi_temp_path $T/tmp/uwsgi;
	scgi_temp_path $T/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		root $T/www;
	}
}
EOF
chmod 755 "$T" "$T/www"
start_bg nginx -p "$T" -c "$T/nginx.conf" < /dev/null > "$T/nginx.out" 2>&1
master=$BG_PID
workers() { cat /proc/"$master"/task/*/children 2>/dev/null; }
have_workers() { [ "$(workers | wc -w)" -ge 2 ]; }
wait_until 20 have_workers || fail "nginx did not start its workers: $(cat "$T/nginx.out" "$T/logs/error.log")"

# The client: one keep-alive connection; a request each time DIR/ask-N
# appears, the answer in the log as "answer N <status> <body>".
cat > "$T/client.py" <<'PY'
import http.client, os, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
n = 0
while True:
    if not os.path.exists(os.path.join(d, "ask-%d" % n)):
        time.sleep(0.02)
        continue
    try:
        c.request("GET", "/index.html")
        r = c.getresponse()
        print("answer %d %d %s" % (n, r.status, r.read().decode().strip()), flush=True)
    except Exception as e:
        print("CORRUPT request %d on the old connection: %r" % (n, e), flush=True)
        sys.exit(3)
    n += 1
PY
start_bg python3 "$T/client.py" "$port" "$T" < /dev/null > "$T/client.out" 2>&1
ask() {
	touch "$T/ask-$1"
	wait_for_line "$T/client.out" "^answer $1 200 hello from nginx$" 20
}
get_new() {
	python3 - "$port" <<'PY' || fail "a new connection is not served"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/index.html")
r = c.getresponse()
sys.exit(0 if r.status == 200 and r.read().strip() == b"hello from nginx" else 1)
PY
}
ask 0
wait_tcp_acked "$port"
all="$master $(workers)"
say "tree: $all"

ckpt_ok "$master" "$T/live.tar.zst"
ask 1
for _ in 1 2 3; do get_new; done
if grep -E "exited on signal|exited with code" "$T/logs/error.log"; then
	fail "a live checkpoint made the master reap a child it did not make"
fi
for p in $(workers); do
	[ -z "$(cat /proc/"$p"/task/*/children)" ] || fail "worker $p keeps a child"
done
say "ok: live checkpoint, nginx went on"

wait_tcp_acked "$port"
ckpt_ok "$master" "$T/nginx.tar.zst" --kill
for p in $all; do wait_gone "$p"; done
restart_detach "$T/nginx.tar.zst"
ask 2
ask 3
for _ in 1 2 3 4; do get_new; done
[ "$(workers | wc -w)" = 2 ] || fail "the restored master has $(workers | wc -w) workers"
kill -QUIT "$master"
wait_until 20 proc_dead "$master" || fail "the restored nginx does not stop on SIGQUIT"
pass
