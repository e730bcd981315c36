#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Gateway mode, relay (net.synguard.gateway=2): a client, a forwarding
# gateway and a server behind it that runs no synguard (mode=0 in its
# namespace, tcp_syncookies=0). The gateway answers SYNs to the server's
# prefixes, opens the connection to the server itself when the client's ACK
# proves the cookie, and relays it. mode=2 msl=2 on the gateway.
#
#  1. IPv4 and IPv6: 64 KiB echoed intact; the gateway sent the cookie and
#     handed off; the server's socket has the client's address; the
#     server's connection has the options a direct one has (wscale, SACK,
#     timestamps, the client's MSS); the flow is gone 2 MSL after the close.
#     A connection opened while the gateway did not engage (mode=0) still
#     works once it answers SYNs again.
#  1b. A connection opened while the gateway did not relay, whose tuple
#     then completes a cookie handshake (rawtcp): the server answers the
#     hand-off SYN with a challenge ACK, the gateway stops the hand-off
#     (handoff_fail) and the open connection echoes on at once.
#  2. 50 ms between gateway and server (netem): a client that writes as
#     soon as connect() returns gets its answer within 190 ms and without a
#     retransmission timeout (its data waited in the flow for the server's
#     SYN+ACK, no RTO of 200 ms or more; a tail loss probe may come).
#  2b. The server drops each client's first SYN (the hand-off SYN): the
#     gateway sends it again after 1 s, and a server that speaks first
#     (the client sends nothing) is heard, IPv4 and IPv6 (handoff_resent).
#  3. A closed port on the server: its RST reaches the client (reset), and
#     the hand-off is counted failed at once. max_flows=1 with a relayed
#     connection open: the next client is reset (flows_full).
#  4. A stateful FORWARD firewall on the gateway (policy drop, new
#     connections only by SYN, invalid dropped) with be_liberal=0: 1 MiB
#     echoed intact, IPv4 and IPv6, nothing counted invalid.
#  4b. The server changes its MSS (advmss 1200), window scale (tcp_rmem)
#     and turns SACK off: after one hand-off the client of a relayed
#     connection sees the options a direct client sees. Timestamps off
#     too: the same but for the window scale, the gateway's own (a compact
#     cookie cannot carry the scale the hand-off must work out again). And
#     again when the server goes back to its defaults (what no answer
#     could tell, timestamps, after an MSL).
#  4c. A SYN and a third ACK in IPv4 fragments or IPv6 fragment headers
#     (raw packets): handed off, the server has the connection.
#  5. A full-speed spoofed SYN flood through the gateway: 16 fetches
#     intact, the server's SYN queue empty; rmmod under the flood with a
#     relayed connection open, insmod again (now the server's synguard
#     answers the hand-off SYN with its own cookie: the gateway echoes it
#     unchanged and the connection works), the gateway's namespace deleted
#     under the flood; dmesg clean.
#
# timeout: 300

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
HTTP=8090
CLOSED=8081
GREET=8082
MSL=2
CLI=10.0.1.1
SRV=10.0.2.1
SRV6=fd00:10:0:2::1
PREFIXES="10.0.2.0/24,fd00:10:0:2::/64"
RAW=10.0.1.100
RAW6=fd00:10:0:1::100
SPOOF=10.99.0.0/16
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood
PARAMS="mode=2 msl=$MSL"

checktool "$PY -c pass" "run test without $PY"
checktool "curl --version" "run test without curl"
checktool "nft --version" "run test without nft"
checktool "ss -V" "run test without ss"
checktool "tc -V" "run test without tc"
checktool "sha256sum --version" "run test without sha256sum"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

tcp_opts_on() {
	ip netns exec "$1" sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 \
		net.ipv4.tcp_window_scaling=1
}

setup_ns client gateway server || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$gateway" $CLI/24 10.0.1.254/24 &&
		raw_peer "$client" "$gateway" $RAW $RAW6 &&
		veth_pair "$gateway" "$server" 10.0.2.254/24 $SRV/24 &&
		gw_srv_dev=$VETH1 &&
		ip netns exec "$gateway" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 &&
		ip netns exec "$server" sysctl -qw net.ipv4.tcp_syncookies=0 \
			net.ipv4.tcp_max_syn_backlog=1024 &&
		tcp_opts_on "$client" && tcp_opts_on "$server"
} || skip_test "cannot build the topology"

# shellcheck disable=SC2086 # the parameters, one word each
load_synguard_or_exit $PARAMS
dmesg_mark
tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 4K /dev/urandom >"$tmpd/www/small"
want=$(sha256sum <"$tmpd/www/small" | cut -d' ' -f1)

gwset() {
	ip netns exec "$gateway" sysctl -qw "net.synguard.$1=$2"
}
ip netns exec "$server" sysctl -qw net.synguard.mode=0 &&
	gwset gateway_prefixes "$PREFIXES" && gwset gateway 2
ksft_check $? "gateway=2 with gateway_prefixes=$PREFIXES" || exit
echo_server_start "$server" :: $PORT || { ksft_fail "echo server"; exit "$ksft_fail"; }

# opts NS: the options ss shows for the server's one connection on PORT.
opts() {
	# (iproute2 6.1 prints the option flags only together with -e.)
	ip netns exec "$server" ss -Htine state established "( sport = :$PORT )" 2>/dev/null |
		grep -oE '\b(ts|sack|wscale:[0-9,]+|mss:[0-9]+)\b' | sort | tr '\n' ' '
}
# held ADDR NAME: a connection kept open (64 KiB now, 64 KiB when
# $tmpd/go-NAME appears), its pid in $held_pid.
held() {
	ECHO_CLIENT_TIMEOUT=$((10 * SG_SLOW)) echo_client "$client" "$1" $PORT "$tmpd/$2.out" \
		"$tmpd/go-$2" &
	held_pid=$!
	bg_track $held_pid
}
first_ok() { grep -q ok "$tmpd/$1.out" 2>/dev/null; }
stat_is() { [ "$(sg_stat "$1" "$2")" = "$3" ]; }

# --------------------------------------------------------- 1. relayed echoes

for a in $SRV $SRV6; do
	# The options of a direct connection (gateway=0, mode=0 there).
	gwset gateway 0
	held "$a" direct
	slowwait $((10 * SG_SLOW)) first_ok direct
	direct=$(opts)
	touch "$tmpd/go-direct"
	wait $held_pid
	gwset gateway 2
	sg_snap "$gateway"
	held "$a" relayed
	slowwait $((10 * SG_SLOW)) first_ok relayed
	ksft_check $? "1 $a: 64 KiB echoed through the relaying gateway"
	relayed=$(opts)
	peer=$(ip netns exec "$server" ss -Htn state established "( sport = :$PORT )" |
		awk '{ print $4 }')
	[[ "$peer" == *"${CLI}"* || "$peer" == *"fd00:10:0:1::1"* ]]
	ksft_check $? "1 $a: the server's socket has the client's address ($peer)"
	[[ "$relayed" == *"sack ts wscale"* ]] && [ "$relayed" = "$direct" ]
	ksft_check $? "1 $a: the server's options are a direct connection's ($relayed| direct: $direct)"
	[ "$(sg_stat "$gateway" flows)" -ge 1 ]
	ksft_check $? "1 $a: the gateway relays it ($(sg_stat "$gateway" flows) flow)"
	touch "$tmpd/go-relayed"
	wait $held_pid
	ksft_check $? "1 $a: 64 KiB more, intact"
	rm -f "$tmpd/go-direct" "$tmpd/go-relayed"
	expect_delta "$gateway" cookie_sent -ge 1 "1 $a: the gateway sent the cookie"
	expect_delta "$gateway" handoff_ok -ge 1 "1 $a: and handed off to the server"
	slowwait $((2 * MSL + 5)) stat_is "$gateway" flows 0
	ksft_check $? "1 $a: no flow left after the $((2 * MSL)) s linger" ||
		ip netns exec "$gateway" cat /proc/net/synguard_flows | sed 's/^/#   /'
	sg_dump "$gateway"
done

# A connection opened while the gateway did not answer SYNs (mode=0) lives
# on once it does: its segments carry no cookie, and are not dropped.
gwset mode 0
held $SRV before
slowwait $((10 * SG_SLOW)) first_ok before
ksft_check $? "1: a connection opened with mode=0 on the gateway"
gwset mode 2
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "1: mode=2, a relayed connection meanwhile"
touch "$tmpd/go-before"
wait $held_pid
ksft_check $? "1: the first connection echoes 64 KiB more, intact"

# A connection the gateway did not open (gateway=0 then) one of whose
# segments passes the cookie check: here by construction, rawtcp completes
# a cookie handshake on its tuple, with the sequence number the server
# expects next (read with TCP_REPAIR). The server answers the hand-off SYN
# with a challenge ACK of that number, and the gateway lets the
# connection be, at once.
SPORT_OPEN=41000
ip netns exec "$client" "$PY" -c '
import os, socket, sys, time
d, addr, port, sport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", sport))
s.settimeout(10)
s.connect((addr, port))
def rt():
    t = time.monotonic()
    s.sendall(b"x" * 1000)
    got = b""
    while len(got) < 1000:
        b = s.recv(4096)
        if not b:
            break
        got += b
    return len(got), int((time.monotonic() - t) * 1000)
print("first %d %d" % rt(), flush=True)
# TCP_REPAIR, TCP_REPAIR_QUEUE = TCP_SEND_QUEUE, TCP_QUEUE_SEQ: snd_nxt.
s.setsockopt(socket.IPPROTO_TCP, 19, 1)
s.setsockopt(socket.IPPROTO_TCP, 20, 2)
seq = s.getsockopt(socket.IPPROTO_TCP, 21) & 0xffffffff
s.setsockopt(socket.IPPROTO_TCP, 19, 0)
with open(d + "/open-ready.tmp", "w") as f:
    f.write("%d\n" % seq)
os.rename(d + "/open-ready.tmp", d + "/open-ready")
while not os.path.exists(d + "/open-go"):
    time.sleep(0.05)
print("second %d %d" % rt(), flush=True)
' "$tmpd" $SRV $PORT $SPORT_OPEN >"$tmpd/open.out" 2>&1 &
open_pid=$!
bg_track $open_pid
gwset gateway 0
slowwait $((10 * SG_SLOW)) test -e "$tmpd/open-ready"
ksft_check $? "1b: a connection opened while the gateway did not relay ($(cat "$tmpd/open.out"))"
gwset gateway 2
sg_snap "$gateway"
nxt=$(cat "$tmpd/open-ready")
out=$(rawtcp --src $CLI --dst $SRV --sport $SPORT_OPEN --dport $PORT \
	syn --seq $(((nxt + 4294967295) % 4294967296)) --ack-after 0)
# At once: the client's data must not wait in a hand-off the server
# never completes (7 s).
touch "$tmpd/open-go"
wait $open_pid
expect_delta "$gateway" handoff_fail -ge 1 "1b: the server's challenge ACK ends the hand-off of its open connection ($(tr '\n' ' ' <<<"$out"))"
read -r _ n ms <<<"$(grep '^second' "$tmpd/open.out")"
[ "${n:-0}" = 1000 ] && [ "${ms:-9999}" -lt 1000 ]
ksft_check $? "1b: the open connection echoes on at once (${ms:-?} ms < 1000)" ||
	{ cat "$tmpd/open.out"; sg_dump "$gateway"; }

# ------------------------------------------- 2. data while the server is far

# rtos: the client's retransmission timeouts (a tail loss probe, which may
# fire while the data waits in the flow, is no timeout).
rtos() { nstat_val "$client" TcpExtTCPTimeouts; }
if ip netns exec "$gateway" tc qdisc add dev "$gw_srv_dev" root netem delay 50ms; then
	r0=$(rtos)
	# shellcheck disable=SC2016 # a python script
	out=$(ip netns exec "$client" "$PY" -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
t = time.monotonic()
s.sendall(b"x" * 1000)
got = b""
while len(got) < 1000:
    b = s.recv(4096)
    if not b:
        break
    got += b
print(int((time.monotonic() - t) * 1000), len(got))
' $SRV $PORT)
	rto=$(($(rtos) - r0))
	read -r ms n <<<"$out"
	[ "${n:-0}" = 1000 ] && [ "${ms:-999}" -lt 190 ] && [ "$rto" = 0 ]
	ksft_check $? "2: data sent as connect() returns is answered in ${ms:-?} ms (< 190), no retransmission timeout ($rto)"
	ip netns exec "$gateway" tc qdisc del dev "$gw_srv_dev" root
else
	ksft_skip "2: no netem"
fi

# -------------------------------- 2b. the hand-off SYN lost on its way

# A server that speaks first (the client sends nothing), and a server
# namespace that drops the first SYN of each client to it: the gateway
# sends its hand-off SYN again after 1 s, and the greeting arrives.
ip netns exec "$server" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\n")
    c.close()
' $GREET &
bg_track $!
ip netns exec "$server" nft -f - <<EOF
table inet sg_first_syn {
	set seen4 { type ipv4_addr; flags dynamic; }
	set seen6 { type ipv6_addr; flags dynamic; }
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport $GREET tcp flags & (syn | ack) == syn ip saddr @seen4 accept
		tcp dport $GREET tcp flags & (syn | ack) == syn ip6 saddr @seen6 accept
		tcp dport $GREET tcp flags & (syn | ack) == syn ip saddr 0.0.0.0/0 add @seen4 { ip saddr } counter drop
		tcp dport $GREET tcp flags & (syn | ack) == syn ip6 saddr ::/0 add @seen6 { ip6 saddr } counter drop
	}
}
EOF
ksft_check $? "2b: the server drops each client's first SYN" &&
	wait_port_listen "$server" $GREET
for a in $SRV $SRV6; do
	sg_snap "$gateway"
	# shellcheck disable=SC2016 # a python script
	out=$(ip netns exec "$client" "$PY" -c '
import socket, sys, time
t = time.monotonic()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=6)
print(s.recv(100).decode().strip() or "eof", int((time.monotonic() - t) * 1000))
' "$a" $GREET 2>&1 | tail -1)
	[[ "$out" == "hello "* ]]
	ksft_check $? "2b $a: the greeting of a server whose first SYN was lost ($out ms)"
	expect_delta "$gateway" handoff_resent -ge 1 "2b $a: the gateway sent the hand-off SYN again"
	expect_delta "$gateway" handoff_ok -ge 1 "2b $a: the hand-off completed"
done
ip netns exec "$server" nft delete table inet sg_first_syn

# ------------------------------------------------ 3. a closed port

for a in $SRV $SRV6; do
	sg_snap "$gateway"
	r=$(tcp_probe "$client" "$a" $CLOSED)
	[ "$r" = reset ]
	ksft_check $? "3: a closed port on $a: the server's RST reaches the client ($r)"
	# At once, with the RST: not a second later, as a hand-off nobody answers.
	expect_delta "$gateway" handoff_fail -eq 1 "3: a closed port on $a: the hand-off failed with the RST"
done

# A full table: the refused client gets a RST in the server's name. (The
# connections before linger 2 MSL first.)
slowwait $((2 * MSL + 5)) stat_is "$gateway" flows 0
gwset max_flows 1
held $SRV full
slowwait $((10 * SG_SLOW)) first_ok full
ksft_check $? "3: max_flows=1, one relayed connection"
sg_snap "$gateway"
r=$(tcp_probe "$client" $SRV $PORT)
[ "$r" = reset ]
ksft_check $? "3: the next one is reset ($r)"
expect_delta "$gateway" flows_full -ge 1 "3: and counted in flows_full"
touch "$tmpd/go-full"
wait $held_pid
ksft_check $? "3: the open one is intact"
gwset max_flows 65536

# --------------------------------- 4. a stateful firewall, be_liberal=0

ip netns exec "$gateway" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0 2>/dev/null
ip netns exec "$gateway" nft -f - <<EOF || skip_test "cannot load the firewall"
table inet gwfw {
	counter invalid { }
	chain forward_filter {
		type filter hook forward priority filter; policy drop;
		ct state invalid counter name "invalid" drop
		ct state established,related accept
		tcp flags & (syn | ack | rst | fin) == syn ct state new accept
		meta l4proto { icmp, ipv6-icmp } accept
	}
}
EOF
ip netns exec "$gateway" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0
for a in $SRV $SRV6; do
	ECHO_CLIENT_TIMEOUT=$((10 * SG_SLOW)) echo_client "$client" "$a" $PORT /dev/null "" 1048576
	ksft_check $? "4 $a: 1 MiB echoed through the firewall"
done
inv=$(ip netns exec "$gateway" nft list counter inet gwfw invalid | grep -oE 'packets [0-9]+')
[ "$inv" = "packets 0" ]
ksft_check $? "4: conntrack found nothing invalid ($inv)"
ip netns exec "$gateway" nft delete table inet gwfw

# ------------------------------- 4b. the server's options, learned

# copts ADDR: the options the client sees on a connection to ADDR (sack,
# ts, wscale:server's,its own, its mss), as ss on the client shows them.
copts() {
	local out=$tmpd/copts.out
	held "$1" copts
	slowwait $((10 * SG_SLOW)) first_ok copts
	ip netns exec "$client" ss -Htine state established "( dport = :$PORT )" 2>/dev/null |
		grep -oE '\b(ts|sack|wscale:[0-9,]+|mss:[0-9]+)\b' | sort | tr '\n' ' '
	touch "$tmpd/go-copts"
	wait $held_pid
	rm -f "$tmpd/go-copts" "$out"
}
srv_dev=$(ip -n "$server" -4 route show default | awk '{ print $5 }')
# The server changes: MSS 1200 (a route's advmss), window scale 5 (a
# smaller tcp_rmem), no SACK.
ip -n "$server" -4 route change default via 10.0.2.254 dev "$srv_dev" advmss 1200 &&
	ip netns exec "$server" sysctl -qw net.ipv4.tcp_rmem="4096 131072 1048576" \
		net.ipv4.tcp_sack=0
ksft_check $? "4b: the server now announces MSS 1200, wscale 5, no SACK"
gwset gateway 0
direct=$(copts $SRV)
gwset gateway 2
first=$(copts $SRV)
learnt=$(copts $SRV)
ksft_info "4b: the client sees: direct: $direct| relayed, first: $first| relayed, next: $learnt"
# (ss shows the MSS less the timestamp option: 1188.)
[ "$learnt" = "$direct" ] && [[ "$direct" == *"mss:1188"* ]] &&
	[[ "$direct" == *"wscale:5,"* ]] && [[ "$direct" != *sack* ]]
ksft_check $? "4b: after one hand-off the client sees what the server announces ($learnt)"
# No timestamps either: learned too, but a SYN+ACK without them carries a
# compact cookie, with no room for the window scale, which the hand-off
# must work out again: it announces the gateway's own (7, its default
# buffers), whatever was learned. The rest is the server's.
ip netns exec "$server" sysctl -qw net.ipv4.tcp_timestamps=0
ksft_check $? "4b: the server now announces no timestamps either"
gwset gateway 0
direct=$(copts $SRV)
gwset gateway 2
copts $SRV >/dev/null
learnt=$(copts $SRV)
ksft_info "4b: no timestamps: direct: $direct| relayed: $learnt"
[[ "$direct" == *"wscale:5,"* ]] && [[ "$learnt" == *"wscale:7,"* ]] &&
	[ "${learnt/wscale:7,/wscale:5,}" = "$direct" ] && [[ "$direct" != *ts* ]]
ksft_check $? "4b: without timestamps the client sees the server's options but the gateway's window scale ($learnt)"
ip -n "$server" -4 route change default via 10.0.2.254 dev "$srv_dev" &&
	tcp_opts_on "$server" &&
	ip netns exec "$server" sysctl -qw net.ipv4.tcp_rmem="4096 131072 6291456"
# What the server's answers could not tell (timestamps, not offered to
# clients while it had them off) is forgotten an MSL after its last full
# answer: one connection asks again, the next sees the defaults.
sleep $((MSL + 1))
copts $SRV >/dev/null
again=$(copts $SRV)
[[ "$again" == *"sack ts wscale:7"* ]] && [[ "$again" != *"mss:1200"* ]]
ksft_check $? "4b: the server back to its defaults: learned again ($again)"

# ------------------------------- 4c. a third ACK in fragments

handoffs_ge() { [ "$(sg_delta "$gateway" handoff_ok)" -ge 1 ]; }
# frag_handoff NAME SRC DST FRAG SPORT: a raw handshake (rawtcp, one
# process: with msl=2 a cookie may live only 2 s) whose SYN and third ACK
# come in FRAG-byte fragments, through the relay.
frag_handoff() {
	local name=$1 src=$2 dst=$3 frag=$4 sport=$5 n out
	sg_snap "$gateway"
	out=$(rawtcp --src "$src" --dst "$dst" --sport "$sport" --dport $PORT \
		--frag "$frag" syn --seq 3000000 --ack-after 0)
	grep -q '^acked ' <<<"$out"
	ksft_check $? "4c $name: a SYN in $frag-byte fragments got the gateway's SYN+ACK, the ACK went too ($(tr '\n' ' ' <<<"$out"))" ||
		return
	busywait $((5000 * SG_SLOW)) handoffs_ge
	expect_delta "$gateway" handoff_ok -eq 1 "4c $name: the third ACK in fragments is handed off" ||
		sg_dump "$gateway"
	n=$(ip netns exec "$server" ss -Htn state established \
		"( sport = :$PORT and dport = :$sport )" | wc -l)
	[ "$n" = 1 ]
	ksft_check $? "4c $name: the server has the connection from port $sport ($n)"
}
frag_handoff IPv4 $RAW $SRV 16 20000
frag_handoff IPv6 $RAW6 $SRV6 24 30000

# --------------------------------------- 5. flood, rmmod, netns deletion

http_server_start "$server" $HTTP "$tmpd/www" ||
	{ ksft_fail "HTTP server listens"; exit "$ksft_fail"; }

flood_start() {
	ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport $HTTP --mode syn \
		--opts mix --src-prefix $SPOOF --threads 2 --duration 120 --quiet \
		--rate "${1:-0}" >"$tmpd/flood.out" 2>&1 &
	flood=$!
	bg_track $flood
}
cookies_ge() { [ "$(sg_stat "$gateway" cookie_sent)" -ge "$1" ]; }
syn_recv() { ip netns exec "$server" ss -Htn state syn-recv | wc -l; }

c0=$(sg_stat "$gateway" cookie_sent)
flood_start
busywait $((10000 * SG_SLOW)) cookies_ge $((c0 + 2000))
ksft_check $? "5: the gateway answers the flood"
args=()
for i in $(seq 16); do args+=(-o "$tmpd/f$i" "http://$SRV:$HTTP/small?$i"); done
ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 10 \
	--max-time 30 "${args[@]}" 2>"$tmpd/curl.err"
ok=$( (cd "$tmpd" && sha256sum -- f* 2>/dev/null) | awk -v w="$want" '$1 == w' | wc -l)
q=$(syn_recv)
[ "$ok" = 16 ]
ksft_check $? "5: $ok of 16 fetches intact through the relay during the flood"
[ "$q" = 0 ]
ksft_check $? "5: the server's SYN queue is empty ($q)"
kill -INT $flood
wait $flood 2>/dev/null
ksft_info "flood: $(cat "$tmpd/flood.out")"

flood_start 5000
held $SRV teardown
slowwait $((10 * SG_SLOW)) first_ok teardown
ksft_check $? "5: a relayed connection is open under the flood"
unload_synguard
ksft_check $? "5: rmmod under the flood, with a relayed connection"
# Every namespace starts from these, the server's too: now its own synguard
# answers the gateway's hand-off SYN with a cookie of its own (which the
# gateway must echo unchanged), and hands the connection off locally.
# shellcheck disable=SC2086 # the parameters, one word each
load_synguard $PARAMS gateway=2 gateway_prefixes=$PREFIXES
ksft_check $? "5: insmod again with gateway=2 (the server's synguard on, mode=2)"
c0=0
busywait $((10000 * SG_SLOW)) cookies_ge 1000
ksft_check $? "5: the gateway answers the flood again"
held $SRV teardown2
slowwait $((10 * SG_SLOW)) first_ok teardown2
ksft_check $? "5: a connection relayed by the gateway, then by the server's own synguard"
cleanup_ns "$gateway"
! ip netns list | grep -q "^$gateway\b"
ksft_check $? "5: the gateway's namespace deleted under the flood, with a relayed connection"
kill -INT $flood 2>/dev/null
wait $flood 2>/dev/null

cleanup_bg
check_dmesg_clean
ksft_exit
