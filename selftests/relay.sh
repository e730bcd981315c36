#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The core job, mode=2: every connection is answered with a cookie, handed
# off to the real listener and relayed. Checks what a user would: bytes
# intact (curl over IPv4 and IPv6, iperf3 both ways), the options the client
# offered reach the listener (ss -ti: wscale, sack) also without timestamps,
# the SYN+ACK's ISN is the cookie, no retransmission is needed for the first
# request, SACK blocks survive translation under loss, an overridden window
# scale is rescaled, and the counters say what happened.
#
# timeout: 400

source "$(dirname "$0")/lib.sh"

PORT=8080
IPORT=5201
PY=/usr/bin/python3
C4=10.0.1.1 S4=10.0.1.2 S6=fd00:10:0:1::2

for t in curl iperf3 tcpdump nstat tc ss; do
	checktool "command -v $t" "run test without $t"
done

trap cleanup_all EXIT
tmpd=$(mktemp -d)

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $C4/24 $S4/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=30 || exit
dmesg_mark
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }

# paws_where STEP: say which step made the client reject segments as
# PAWS-old, if one did (the verdict is at the end).
paws_last=0
paws_where() {
	local now
	now=$(nstat_val "$client" TcpExtPAWSEstab)
	[ "${now:-0}" = "$paws_last" ] && return
	ksft_info "the client rejected $((now - paws_last)) segment(s) as PAWS-old during: $1"
	paws_last=$now
}

mkdir "$tmpd/www"
head -c 10M /dev/urandom >"$tmpd/www/blob"
echo hello >"$tmpd/www/small"
want=$(sha256sum <"$tmpd/www/blob")
# Background jobs run `ip netns exec` directly, so that $! is the server.
ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	$PORT >"$tmpd/http.log" 2>&1 &
bg_track $!
ip netns exec "$server" iperf3 -s -p $IPORT >"$tmpd/iperf-s.log" 2>&1 &
bg_track $!
wait_port_listen "$server" $PORT && wait_port_listen "$server" $IPORT ||
	{ ksft_fail "servers listen"; exit "$ksft_fail"; }

# fetch NAME URL: the 10 MiB blob arrives intact.
fetch() {
	local got
	rm -f "$tmpd/got"
	in_c curl -sS --fail --noproxy '*' --connect-timeout 10 --max-time 120 \
		-o "$tmpd/got" "$2" || { ksft_fail "$1: curl $2"; return 1; }
	got=$(sha256sum <"$tmpd/got")
	[ "$got" = "$want" ]
	ksft_check $? "$1: 10 MiB intact through synguard"
	paws_where "$1"
}

insegs0=$(nstat_val "$client" TcpInSegs)

# ---- the SYN+ACK carries the cookie, and HTTP works over v4 and v6
ip netns exec "$client" tcpdump -ni "$VETH1" -c 1 -w "$tmpd/synack.pcap" \
	"tcp src port $PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)" \
	2>"$tmpd/tcpdump.log" &
dump=$!
slowwait 10 grep -q "listening on" "$tmpd/tcpdump.log"
fetch "IPv4 curl" "http://$S4:$PORT/blob"
busywait 5000 pids_gone $dump
wait $dump 2>/dev/null
synack=$(tcpdump -nr "$tmpd/synack.pcap" -S 2>/dev/null)
isn=$(sed -nE 's/.*seq ([0-9]+), ack.*/\1/p' <<<"$synack")
tsval=$(sed -nE 's/.*TS val ([0-9]+) .*/\1/p' <<<"$synack")
# A Linux client sends timestamps, so the cookie is the ISN and the tsval:
# SACK in ISN bit 1; tsval bits 16-8 the MSS index (1460: 493), 7-4 the
# client's wscale 7 (see module/cookie.c).
[ -n "$isn" ] && [ -n "$tsval" ] && [ $((isn & 2)) = 2 ] &&
	[ $(((tsval >> 8) & 0x1ff)) = 493 ] && [ $(((tsval >> 4) & 0xf)) = 7 ]
ksft_check $? "SYN+ACK ISN $isn, tsval $tsval encode the client's MSS, SACK and wscale"
fetch "IPv6 curl" "http://[$S6]:$PORT/blob"
[ "$(sg_stat "$server" cookie_sent)" -ge 2 ] && [ "$(sg_stat "$server" handoff_ok)" -ge 2 ] &&
	[ "$(sg_stat "$server" cookie_valid)" -ge 2 ]
ksft_check $? "counters: cookie_sent, cookie_valid, handoff_ok moved"

# ---- no lost first request: small fetches need no retransmission
retrans0=$(nstat_val "$client" TcpRetransSegs)
for i in 1 2 3 4 5; do
	in_c curl -sS --fail --max-time 10 -o /dev/null "http://$S4:$PORT/small" ||
		ksft_fail "small fetch $i"
done
[ "$(nstat_val "$client" TcpRetransSegs)" = "$retrans0" ]
ksft_check $? "first requests reach the server without retransmission"
paws_where "small fetches"

# ---- a client port the listener still holds in TIME_WAIT can be reused:
# the client reads to EOF before it closes, so the server closes first and
# keeps the tuple in TIME_WAIT; the second connection from the same port
# meets that TIME_WAIT socket, as the kernel allows.
fetch_from_40000() {
	in_c "$PY" -c "import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.settimeout(10)
s.bind(('$C4', 40000))
s.connect(('$S4', $PORT))
s.sendall(b'GET /small HTTP/1.0\\r\\n\\r\\n')
got = b''
while True:
    d = s.recv(4096)
    if not d:
        break
    got += d
s.close()
sys.exit(0 if got.endswith(b'hello\\n') else 1)"
}
tw_40000() { [ -n "$(in_s ss -Htn state time-wait "( dport = :40000 )")" ]; }
for i in 1 2; do
	fetch_from_40000
	ksft_check $? "fetch $i from client port 40000"
	slowwait 10 tw_40000
	ksft_check $? "after fetch $i the listener holds that port in TIME_WAIT"
done
paws_where "fetches from port 40000"

# ---- options reach the listener: hold a connection, read ss -ti both ends
# hold_conn: open one connection from the client and keep it open
# until drop_conn, its pid in $held.
hold_conn() {
	ip netns exec "$client" "$PY" -c "import socket, time
s = socket.create_connection(('$S4', $PORT)); s.send(b'GET'); time.sleep(600)" &
	held=$!
	# The listener's ACK of those bytes carries its window to the client.
	slowwait 10 conn_seen && slowwait 10 eval '[ "$(ss_field "$client" $PORT bytes_acked)" = 4 ]'
}
# drop_conn: close the held connection and wait until the listener saw it.
drop_conn() {
	kill "$held"
	wait "$held" 2>/dev/null
	slowwait 10 eval '! conn_seen'
}
conn_seen() { [ -n "$(in_s ss -Htn state established "( sport = :$PORT )")" ]; }
# has_opt NS ts|sack: ss shows the option on the held connection (iproute2
# 6.1 prints the option flags only together with -e).
has_opt() {
	ip netns exec "$1" ss -Htine state established \
		"( sport = :$PORT or dport = :$PORT )" 2>/dev/null | grep -qw "$2"
}

check_options() {
	local tag=$1 cws sws
	hold_conn || { ksft_fail "$tag: held connection established"; return; }
	cws=$(ss_field "$client" $PORT wscale)	# client: snd,rcv
	sws=$(ss_field "$server" $PORT wscale)	# listener: snd,rcv
	[ -n "$cws" ] && [ "${sws%,*}" = "${cws#*,}" ]
	ksft_check $? "$tag: listener uses the client's wscale (client $cws, listener $sws)"
	has_opt "$server" sack && has_opt "$client" sack
	ksft_check $? "$tag: SACK negotiated on both ends"
	if [ "$tag" = timestamps ]; then
		has_opt "$server" ts
	else
		! has_opt "$server" ts
	fi
	ksft_check $? "$tag: timestamps on the listener's socket as the client chose"
	drop_conn
	ksft_check $? "$tag: the held connection closes"
	paws_where "$tag"

}

check_options "timestamps"

# ---- iperf3: 50 MiB each way
iperf() {
	local tag=$1
	shift
	in_c iperf3 -c $S4 -p $IPORT -n 50M "$@" -J >"$tmpd/iperf.json" 2>&1
	ksft_check $? "$tag: iperf3 -n 50M $*"
	paws_where "$tag"
}
iperf "forward"
iperf "reverse" -R

# ---- no timestamps on the client: wscale and SACK must still get through
in_c sysctl -qw net.ipv4.tcp_timestamps=0
check_options "no timestamps"
fetch "no timestamps" "http://$S4:$PORT/blob"
in_c sysctl -qw net.ipv4.tcp_timestamps=1

# ---- SACK under loss: the listener accepts the translated SACK blocks
# nstat_sum NS NAME...: the sum of some absolute SNMP counters.
nstat_sum() {
	local ns=$1 n sum=0
	shift
	for n in "$@"; do
		sum=$((sum + $(nstat_val "$ns" "$n")))
	done
	echo "$sum"
}
# Evidence that the listener used the client's SACK blocks: a recovery
# started from them, or SACKed data it merged or shifted.
SACK_USED="TcpExtTCPSackRecovery TcpExtTCPSackMerged TcpExtTCPSackShifted"
discard0=$(nstat_val "$server" TcpExtTCPSACKDiscard)
used0=$(nstat_sum "$server" $SACK_USED)
# netem drops whole skbs: without segmentation offload each is one MSS
# segment, so 2 % of ~7000 segments are lost, not 2 % of ~160 GSO
# super-packets (none at all in ~4 % of runs).
in_s ethtool -K "$VETH2" tso off gso off >/dev/null 2>&1
in_s tc qdisc add dev "$VETH2" root netem loss 2%
fetch "2% loss" "http://$S4:$PORT/blob"
lost=$(in_s tc -s qdisc show dev "$VETH2" | sed -n 's/.*Sent [0-9]* bytes \([0-9]*\) pkt (dropped \([0-9]*\).*/\2 of \1/p' | head -n1)
in_s tc qdisc del dev "$VETH2" root
in_s ethtool -K "$VETH2" tso on gso on >/dev/null 2>&1
ksft_info "netem dropped ${lost:-?} segments"
discard=$(($(nstat_val "$server" TcpExtTCPSACKDiscard) - discard0))
used=$(($(nstat_sum "$server" $SACK_USED) - used0))
[ "$discard" = 0 ] && [ "$used" -gt 0 ]
ksft_check $? "listener used the translated SACK blocks ($used) and discarded none ($discard)"
[ "$discard" = 0 ] || in_s nstat -az | grep -Ei 'sack|reorder' | sed 's/^/#   /'
paws_where "2% loss"

# ---- an announced wscale unlike the listener's is rescaled by the relay:
# the window the client sees is the one the listener offers (about its
# rcv_ssthresh), not 32 times smaller (scale 2) or 128 times larger (14).
window_ok() {
	local ws=$1 cwnd lwnd
	hold_conn || return 1
	cwnd=$(ss_field "$client" $PORT snd_wnd)
	lwnd=$(ss_field "$server" $PORT rcv_ssthresh)
	ksft_info "wscale=$ws: client sees $cwnd, listener offers ~$lwnd"
	drop_conn
	[ -n "$cwnd" ] && [ -n "$lwnd" ] && [ "$cwnd" -ge $((lwnd / 2)) ] &&
		[ "$cwnd" -le $((lwnd * 2)) ]
}
for ws in 2 14; do
	in_s sysctl -qw net.synguard.wscale=$ws
	window_ok $ws
	ksft_check $? "announced wscale $ws: the client sees the listener's window"
done
paws_where "announced wscale"
in_s sysctl -qw net.synguard.wscale=2
fetch "wscale=2" "http://$S4:$PORT/blob"
iperf "wscale=2 forward"
iperf "wscale=2 reverse" -R
in_s sysctl -qw net.synguard.wscale=0

# A few PAWS rejects happen without synguard too: veth queues each packet on
# the backlog of the CPU that sent it, so two segments the listener sent
# from different CPUs can arrive swapped, the older tsval second. The relay
# adds a constant to tsval, which cannot reorder anything; a wrong offset
# would make the client reject whole connections.
paws=$(nstat_val "$client" TcpExtPAWSEstab)
insegs=$(($(nstat_val "$client" TcpInSegs) - insegs0))
[ "$((${paws:-0} * 200))" -le "$insegs" ]
ksft_check $? "client rejected ${paws:-0} of $insegs segments as PAWS-old (at most 0.5 %: tsval translated)"
[ "$(sg_stat "$server" relay_in)" -gt 0 ] && [ "$(sg_stat "$server" relay_out)" -gt 0 ] &&
	[ "$(sg_stat "$server" handoff_fail)" = 0 ] && [ "$(sg_stat "$server" malformed)" = 0 ] &&
	[ "$(sg_stat "$server" gc_reaped)" = 0 ]
ksft_check $? "relay counters moved; no failed hand-off, nothing malformed, no flow reaped"

cleanup_bg
check_dmesg_clean
ksft_exit
