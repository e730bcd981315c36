#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo, inside the guest: an attacker floods a web server with spoofed
# SYNs while a legitimate client tries to fetch a page every 100 ms. Round 1
# without protection (the kernel's own syncookies off, as on a server whose
# operator turned them off or whose listener queue is tiny), round 2 with
# synguard loaded. Live counters every second, a summary at the end.
#
#   client 10.0.1.1 --veth-- 10.0.1.2 server 10.0.2.2 --veth-- 10.0.2.1 attacker
#                                                      (spoofs 10.99.0.0/16)
set -u
source "$(dirname "$0")/../selftests/lib.sh"

ROUND=12		# seconds per round
# Far more than a backlog-5 listener survives, far less than the guest can
# absorb: the demo is about the queue, `make bench` about the CPU.
RATE=5000
PORT=80
PY=/usr/bin/python3
FLOOD=selftests/tools/synflood
tmpd=$(mktemp -d)
cleanup() {
	cleanup_all
	rm -rf "$tmpd"
}
trap cleanup EXIT

[ -x "$FLOOD" ] || { echo "demo: build $FLOOD first (make tools)"; exit 1; }

setup_ns client server attacker || exit 1
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 >/dev/null || exit 1
veth_pair "$attacker" "$server" 10.0.2.1/24 10.0.2.2/24 >/dev/null || exit 1
# Replies to the spoofed sources go back towards the attacker.
ip -n "$server" route add 10.99.0.0/16 via 10.0.2.1
ip netns exec "$server" sysctl -qw net.ipv4.tcp_syncookies=0 \
	net.ipv4.tcp_max_syn_backlog=512

mkdir "$tmpd/www"
echo "<h1>hello from the server</h1>" >"$tmpd/www/index.html"
ip netns exec "$server" "$PY" -m http.server --bind 10.0.1.2 \
	--directory "$tmpd/www" $PORT >/dev/null 2>&1 &
bg_track $!
wait_port_listen "$server" $PORT || { echo "demo: no web server"; exit 1; }
RXDEV=$(veth_name "$attacker")

# The legitimate client: one GET every 100 ms, 3 s timeout (one SYN
# retransmission); one
# line per attempt ("ok MS" or "fail") in $1.
legit() {
	ip netns exec "$client" "$PY" - "$1" "$ROUND" <<'PYEOF'
import socket, sys, time
out, dur = open(sys.argv[1], "w", buffering=1), float(sys.argv[2])
end = time.monotonic() + dur
while time.monotonic() < end:
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("10.0.1.2", 80), timeout=3)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        body = b"".join(iter(lambda: s.recv(4096), b""))
        s.close()
        ok = b"hello from the server" in body
        out.write("ok %.1f\n" % ((time.monotonic() - t0) * 1000) if ok else "fail\n")
    except OSError:
        out.write("fail\n")
    time.sleep(max(0, 0.1 - (time.monotonic() - t0)))
PYEOF
}

# snapshot: one read of the server's counters into the array SG (synguard
# counters summed over CPUs, 0 while the module is not loaded) and RX (the
# packets received from the attacker). One fork a second: the guest is busy.
declare -A SG
snapshot() {
	local line names=() vals i
	SG=()
	RX=0
	while read -r line; do
		case "$line" in
		rx\ *) RX=${line#rx } ;;
		flows\ *) read -ra names <<<"$line" ;;
		*)
			read -ra vals <<<"$line"
			for i in "${!names[@]}"; do
				SG[${names[$i]}]=$((${SG[${names[$i]}]:-0} + 16#${vals[$i]}))
			done ;;
		esac
	done < <(ip netns exec "$server" sh -c "echo rx \$(cat /sys/class/net/$RXDEV/statistics/rx_packets); cat /proc/net/stat/synguard 2>/dev/null")
}
stat() { echo "${SG[$1]:-0}"; }

# round NAME: flood + legit client for $ROUND s, a status line a second.
round() {
	local name=$1 log=$tmpd/$1.legit t0 now prev ok fail dt
	local rx0 cookies0
	echo
	echo "=== $name ==="
	snapshot
	rx0=$RX cookies0=$(stat cookie_sent)
	t0=$(date +%s) prev=$t0
	ip netns exec "$attacker" "$FLOOD" --dst 10.0.1.2 --dport $PORT \
		--src-prefix 10.99.0.0/16 --rate $RATE --duration "$ROUND" --quiet \
		>"$tmpd/$name.flood" 2>&1 &
	bg_track $!
	legit "$log" &
	bg_track $!
	printf '%5s %12s %10s %10s %12s %8s\n' time "flood pkt/s" "legit ok" \
		"legit fail" "cookies/s" flows
	while sleep 1; do
		now=$(date +%s)
		[ $((now - t0)) -le "$ROUND" ] || break
		snapshot
		ok=$(grep -c '^ok' "$log" 2>/dev/null)
		fail=$(grep -c '^fail' "$log" 2>/dev/null)
		# Rows come slower than once a second when the flood hogs the CPU.
		dt=$((now > prev ? now - prev : 1))
		printf '%4ss %12s %10s %10s %12s %8s\n' $((now - t0)) \
			$(((RX - rx0) / dt)) "$ok" "$fail" \
			$((($(stat cookie_sent) - cookies0) / dt)) "$(stat flows)"
		rx0=$RX cookies0=$(stat cookie_sent) prev=$now
	done
	cleanup_bg
}

summary() {
	local log=$tmpd/$1.legit ok fail p50
	ok=$(grep -c '^ok' "$log")
	fail=$(grep -c '^fail' "$log")
	p50=$(awk '/^ok/ { print $2 }' "$log" | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }')
	printf '%-28s %6s of %-4s connections ok   median %s ms\n' "$2" \
		"$ok" $((ok + fail)) "$p50"
}

echo "synguard demo on Linux $(uname -r)"
echo "A web server (listen backlog 5, kernel syncookies off) is flooded"
echo "with $RATE spoofed SYNs/s from 10.99.0.0/16; a legitimate client fetches a"
echo "page every 100 ms and gives up after 3 s."

round "without-protection"
ip netns exec "$server" "$PY" -m http.server --bind 10.0.1.2 \
	--directory "$tmpd/www" $PORT >/dev/null 2>&1 &
bg_track $!
wait_port_listen "$server" $PORT
# Give the flood's half-open connections time to expire from the queue.
slowwait 30 eval '[ -z "$(ip netns exec "$server" ss -Htn state syn-recv)" ]'

load_synguard mode=2 msl=2 || { echo "demo: cannot load synguard"; exit 1; }
echo
echo "synguard loaded (mode=2: every SYN answered with a SipHash cookie)"
round "with-synguard"

echo
echo "=== summary ==="
summary without-protection "without protection:"
summary with-synguard "with synguard:"
snapshot
echo "synguard counters (server namespace):"
for c in syn_seen cookie_sent cookie_valid cookie_bad_mac handoff_ok \
	 handoff_fail relay_in relay_out; do
	printf '  %-16s %s\n' "$c" "$(stat $c)"
done
printf '  %-16s %s (closed ones linger 2 * MSL)\n' "flows now" "$(stat flows)"
echo "Each legitimate connection was answered with a cookie, validated on"
echo "its ACK, handed off to the real web server and relayed; the flood's"
echo "SYNs were answered and forgotten, so nothing filled the queue."
