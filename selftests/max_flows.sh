#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The flow table is bounded: mode=2, msl=1, max_flows=3.
#
#  1. Three connections to a python echo server are held open: each echoes,
#     the flows gauge says 3, three flows are listed "established".
#  2. A 4th connection is refused by synguard. Its client still completes
#     the handshake (the SYN+ACK is a stateless cookie), but the ACK that
#     would hand it off finds the table full (flows_full) and is answered
#     with a RST: the listener never sees the connection, and the client
#     learns at once instead of sending into the void. The test checks that
#     no echo arrives, the client saw the reset, flows_full moved, the gauge
#     stays 3 and the listener has only 3 connections. The client set a
#     DSCP (IP_TOS 0x28), and the server reflects marks (fwmark_reflect,
#     the client's segments marked by nft): the RST carries the TOS and the
#     mark that the kernel's own RST to a closed port carries.
#  3. The 3 are closed: after the 2*MSL linger the flows are gone (gauge 0,
#     no sooner than 2*MSL - 0.5 s after the close was requested, and no
#     later than 2*MSL + 5 s: a loaded TCG guest runs late) and a new
#     connection succeeds and echoes 64 KiB intact.
#
# timeout: 120

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
MSL=1
MAX=3

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"

tmpd=''
trap cleanup_all EXIT

# flow_state NS CLIENT_PORT: the state of the flow from that client port
# in /proc/net/synguard_flows of NS, or nothing if there is none.
# shellcheck disable=SC2016 # awk programs
flow_state() {
	ip netns exec "$1" awk -v p=":$2" \
		'NR > 1 && substr($2, length($2) - length(p) + 1) == p { print $4; exit }' \
		/proc/net/synguard_flows
}

# flows_listed NS [STATE]: how many flows NS lists (in STATE).
# shellcheck disable=SC2016 # awk programs
flows_listed() {
	ip netns exec "$1" awk -v s="${2:-}" 'NR > 1 && (s == "" || $4 == s) { n++ }
		END { print n + 0 }' /proc/net/synguard_flows
}
flows_gauge_is() { [ "$(sg_stat "$1" flows)" = "$2" ]; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=$MSL max_flows=$MAX || exit
dmesg_mark
tmpd=$(mktemp -d)
ip netns exec "$server" sysctl -q net.synguard.max_flows | grep -qw $MAX
ksft_check $? "max_flows is $MAX in the server namespace"

echo_server_start "$server" $SRV $PORT ||
	{ ksft_fail "echo server listens"; exit "$ksft_fail"; }

# The client: open N connections from ports BASE.., check each echoes a
# line, write "ready" (or "fail: ..."), hold them until the file "close"
# exists, then close them all.
HOLD='
import os, socket, sys, time
host, port, n, base, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
conns = []
try:
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", base + i)); s.settimeout(10); s.connect((host, port))
        s.sendall(b"hello %d\n" % i)
        if s.recv(100) != b"hello %d\n" % i: raise Exception("bad echo on %d" % i)
        conns.append(s)
    msg = "ready"
except Exception as e:
    msg = "fail: %r" % e
open(os.path.join(d, "held"), "w").write(msg)
while not os.path.exists(os.path.join(d, "close")): time.sleep(0.02)
for s in conns: s.close()
'
ip netns exec "$client" "$PY" -c "$HOLD" $SRV $PORT $MAX 42000 "$tmpd" &
held=$!
bg_track $held
slowwait 30 test -e "$tmpd/held"
[ "$(cat "$tmpd/held" 2>/dev/null)" = ready ]
ksft_check $? "$MAX connections open and echo ($(cat "$tmpd/held" 2>/dev/null))"
flows_gauge_is "$server" $MAX && [ "$(flows_listed "$server" established)" = $MAX ]
ksft_check $? "flows gauge $(sg_stat "$server" flows), $(flows_listed "$server" established) listed established"

# ---- the 4th: what does its client see?
# rst_tos NAME: the TOS of the first RST in capture NAME.
rst_tos() {
	tcpdump -nn -v -r "$tmpd/$1.pcap" 2>/dev/null |
		grep -B1 "Flags \[R" | sed -n 's/.*(tos \(0x[0-9a-f]*\),.*/\1/p' | head -n1
}
capture "$client" "$VETH1" rst "src host $SRV and tcp[tcpflags] & tcp-rst != 0"
# With fwmark_reflect the kernel's RST carries the mark of the segment it
# answers: the client's segments are marked before synguard's hook, RSTs
# with that mark counted on their way out.
ip netns exec "$server" sysctl -qw net.ipv4.fwmark_reflect=1
ip netns exec "$server" nft -f - <<EOF
table inet sg_mark {
	chain pre {
		type filter hook prerouting priority -450;
		ip saddr $CLI meta mark set 0x42
	}
	chain out {
		type filter hook output priority 0;
		tcp flags & rst != 0 meta mark 0x42 counter
	}
}
EOF
ksft_check $? "nft marks the client's segments in the server namespace"
# marked_rsts: RSTs that left the server with the client's mark.
marked_rsts() {
	ip netns exec "$server" nft list chain inet sg_mark out |
		sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}
full0=$(sg_stat "$server" flows_full)
exp0=$(sg_stat "$server" cookie_expired)
ip netns exec "$client" "$PY" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
s.bind(("", 42100)); s.settimeout(5)
t0 = time.time()
def say(m): print("%.2fs %s" % (time.time() - t0, m), flush=True)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    say("connect() succeeded")
    s.sendall(b"ping\n")
    s.settimeout(4)
    b = s.recv(100)
    say("echo %r" % b if b else "EOF")
except socket.timeout:
    say("no answer (timeout)")
except OSError as e:
    say("error %s" % e)
s.settimeout(10)
try:
    b = s.recv(100)
    say("later: %r" % b if b else "later: EOF")
except socket.timeout:
    say("later: still no answer")
except OSError as e:
    say("later: error %s" % e)
' $SRV $PORT >"$tmpd/fourth.log" 2>&1 &
fourth=$!
bg_track $fourth
slowwait 10 grep -qE "echo|EOF|timeout|error" "$tmpd/fourth.log"
ip netns exec "$client" ss -tnio "( sport = :42100 )" >"$tmpd/fourth.ss"
sed 's/^/# 4th client: /' "$tmpd/fourth.log"
sed 's/^/# 4th client ss: /' "$tmpd/fourth.ss"
! grep -q "echo b'ping" "$tmpd/fourth.log"
ksft_check $? "the 4th connection gets no working connection (no echo within 4 s)"
grep -q "Errno 104\|reset" "$tmpd/fourth.log"
ksft_check $? "the 4th client is told at once with a RST"
# The kernel's own RST, to a closed port, reflects the client's DSCP and
# (fwmark_reflect) its mark: so must synguard's.
m_sg=$(marked_rsts)
capture "$client" "$VETH1" krst "src host $SRV and tcp[tcpflags] & tcp-rst != 0"
ip netns exec "$client" "$PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
try:
    s.connect((sys.argv[1], 9))
except ConnectionRefusedError:
    pass
' $SRV
slowwait 5 pcap_seen krst "Flags \\[R"
sg_tos=$(rst_tos rst) k_tos=$(rst_tos krst)
[ -n "$k_tos" ] && [ "$sg_tos" = "$k_tos" ]
ksft_check $? "its RST has the TOS of the kernel's own RST (synguard ${sg_tos:-none}, kernel ${k_tos:-none})"
m_k=$(($(marked_rsts) - m_sg))
[ "${m_sg:-0}" -ge 1 ] && [ "$m_k" -ge 1 ]
ksft_check $? "with fwmark_reflect it carries the ACK's mark, as the kernel's RST does (marked RSTs: synguard ${m_sg:-0}, kernel $m_k)"
ip netns exec "$server" nft delete table inet sg_mark
full=$(sg_stat "$server" flows_full)
[ "$full" -gt "$full0" ]
ksft_check $? "flows_full moved by $((full - full0))"
flows_gauge_is "$server" $MAX && [ -z "$(flow_state "$server" 42100)" ]
ksft_check $? "flows gauge stays $MAX ($(sg_stat "$server" flows)), no flow for the 4th"
n=$(ip netns exec "$server" ss -Htn state established "( sport = :$PORT )" | wc -l)
[ "$n" = $MAX ]
ksft_check $? "the listener has $n established connections (want $MAX)"

# ---- close the 3: the flows linger 2*MSL, then a new connection works.
# The lower bound is the point (the linger is real); the upper one only says
# "freed at all": the GC runs every 100 ms, but a loaded TCG guest runs late.
# Timed from the request to close: the close itself can come no earlier.
t_close=$(now_ms)
touch "$tmpd/close"
busywait 10000 pids_gone $held
slowwait $((2 * MSL + 5)) flows_gauge_is "$server" 0
ok=$?
t_gone=$(now_ms)
[ $ok = 0 ] && [ $((t_gone - t_close)) -ge $((2 * MSL * 1000 - 500)) ] &&
	[ $((t_gone - t_close)) -le $((2 * MSL * 1000 + 5000)) ]
ksft_check $? "the flows are gone $((t_gone - t_close)) ms after the close (linger $((2 * MSL)) s)"
slowwait 15 grep -q "later" "$tmpd/fourth.log"
sed -n 's/^/# 4th client: /; /later/p' "$tmpd/fourth.log"
ksft_info "4th client, all told: flows_full +$(($(sg_stat "$server" flows_full) - full0))," \
	"cookie_expired +$(($(sg_stat "$server" cookie_expired) - exp0))"

echo_roundtrip "$client" $SRV $PORT
ksft_check $? "a new connection after the linger echoes 64 KiB intact"

sed 's/^/# server: /' "$tmpd/echo-$PORT.err"
cleanup_bg
check_dmesg_clean
ksft_exit
