#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The relay is invisible: the same connection, once with mode=0 (the bare
# kernel) and once with mode=2 (every connection handed off), must look the
# same at the listener and at the client.
#
#  1. MSS: clients announcing 536 ... 8960 (with timestamps, on a 9000-byte
#     MTU link): the listener's TCP_MAXSEG, snd_mss and rcv_mss, the client's
#     rcv_mss and the largest segment on the wire are equal. IPv4 and IPv6.
#  2. RTT on a 40 ms path: the listener's first RTT sample (tcpi_rtt,
#     tcpi_min_rtt right after accept) is within 20 % of mode=0's for a
#     client with timestamps; a client without gets no false sample.
#  3. ECN asked for by the client is agreed at the listener.
#  4. tcp_rmem changed between our SYN+ACK and the client's ACK: the window
#     the client sees is the listener's, not 2^k off.
#
# timeout: 420

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
CLI6=fd00:10:0:1::1
SRV6=fd00:10:0:1::2
PORT=8080
PEER=$(realpath "$(dirname "$0")")/tcp_peer.py

checktool "python3 -c pass" "run test without python3"
checktool "tcpdump --version" "run test without tcpdump"
checktool "tc -V" "run test without tc"
modprobe -q sch_netem 2>/dev/null
tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }
ip -n "$client" link set "$VETH1" mtu 9000
ip -n "$server" link set "$VETH2" mtu 9000
# Real segments on the wire: no segmentation offload, no GRO on capture.
in_s ethtool -K "$VETH2" tso off gso off >/dev/null 2>&1
in_c ethtool -K "$VETH1" gro off >/dev/null 2>&1
load_synguard mode=2 || exit
dmesg_mark

for a in $SRV $SRV6; do
	in_s python3 "$PEER" server "$a" $PORT 65536 "$tmpd/srv.json" \
		2>>"$tmpd/srv.err" &
	bg_track $!
done
wait_port_listen "$server" $PORT || { ksft_fail "servers listen"; exit 1; }
in_c tcpdump --immediate-mode -U -nn -i "$VETH1" -w "$tmpd/wire.pcap" "tcp port $PORT" \
	2>"$tmpd/tcpdump.log" &
bg_track $!
slowwait 10 grep -q "listening on" "$tmpd/tcpdump.log"

# conn MODE ADDR [MSS]: one connection with mode MODE; prints the listener's
# and the client's observations as "key=value" words (see report()), wire=0
# (the capture is read once, for all connections: see wire_sizes()).
conn() {
	local mode=$1 addr=$2 mss=${3:-} out
	in_s sysctl -qw net.synguard.mode="$mode"
	out=$(in_c python3 "$PEER" client "$addr" $PORT $mss) || return 1
	slowwait 10 grep -q "\"peer_port\": $(port_of "$out")," "$tmpd/srv.json" ||
		return 1
	report "$out"
}

# port_of CLIENT_JSON: the client's port (in bash: a python start per call
# costs a second under TCG).
port_of() { [[ $1 =~ \"port\":\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"; }

# report CLIENT_JSON: the fields compared, from both ends.
report() {
	python3 - "$1" "$tmpd/srv.json" <<-'EOF'
	import json, sys
	c = json.loads(sys.argv[1])
	s = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
	s = [r for r in s if r["peer_port"] == c["port"]][-1]
	print("port=%d maxseg=%d snd_mss=%d rcv_mss=%d cli_rcv_mss=%d wire=0 "
	      "bytes=%d rtt=%d min_rtt=%d ecn=%d snd_wnd=%d" %
	      (c["port"], s["maxseg"], s["snd_mss"], s["rcv_mss"],
	       c["last"]["rcv_mss"], c["bytes"], s["rtt"], s["min_rtt"],
	       (s["options"] >> 3) & 1, c["first"]["snd_wnd"]))
	EOF
}

# field NAME "k=v ...": one value.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# within PCT A B: |A - B| <= PCT % of B.
within() { [ $(( ($1 - $2) * ($1 - $2) * 10000 )) -le $(( $3 * $3 * $2 * $2 )) ]; }

# wire_sizes LAST_PORT: "PORT SIZE" lines, the largest segment the listener
# sent to each client port, from one read of the capture (tcpdump starts
# slowly under TCG). The listener's FIN ends each 64 KiB: once the capture
# has LAST_PORT's, it has every segment before it (captures lag under load).
wire_sizes() {
	# shellcheck disable=SC2034 # read by the eval
	local last=$1
	slowwait 10 eval 'tcpdump -nn -r "$tmpd/wire.pcap" "tcp src port $PORT and dst port $last and tcp[tcpflags] & tcp-fin != 0" 2>/dev/null | grep -q .'
	tcpdump -nn -r "$tmpd/wire.pcap" "tcp src port $PORT" 2>/dev/null |
		sed -n 's/.* > .*\.\([0-9]*\): .* length \([0-9]*\).*/\1 \2/p' |
		sort -n -k1,1 -k2,2 | awk '{ m[$1] = $2 } END { for (p in m) print p, m[p] }'
}

# ---- 1. MSS: each pair of connections first, then the capture's sizes.
mss_round() {
	local addr=$1 mss=$2 a b h
	sg_snap "$server"
	a=$(conn 0 "$addr" "$mss") && b=$(conn 2 "$addr" "$mss")
	h=$(sg_delta "$server" handoff_ok)
	echo "$addr|$mss|$h|$a|$b" >>"$tmpd/mss.rounds"
}
# The smallest MSS, values off the cookie's MSS table (1000, 1100: the exact
# value rides in the timestamp), Ethernet's, and jumbo; IPv6's own sizes.
for mss in 536 1000 1460 8960; do
	mss_round $SRV $mss
done
for mss in 1100 1440 8940; do
	mss_round $SRV6 $mss
done
declare -A wire=()
while read -r p n; do wire[$p]=$n; done < <(wire_sizes "$(field port "$(tail -n1 "$tmpd/mss.rounds" | cut -d'|' -f5)")")
while IFS='|' read -r addr mss h a b; do
	a=${a/wire=0/wire=${wire[$(field port "$a")]:-0}}
	b=${b/wire=0/wire=${wire[$(field port "$b")]:-0}}
	ksft_info "MSS $mss to $addr: mode=0: $a"
	ksft_info "MSS $mss to $addr: mode=2: $b"
	# (everything but the port and the RTT alike)
	[ -n "$a" ] && [ "$h" = 1 ] && [ "$(field wire "$b")" != 0 ] &&
		[ "$(field bytes "$b")" = 65536 ] &&
		[ "$(cut -d' ' -f2- <<<"${a%% rtt=*}")" = "$(cut -d' ' -f2- <<<"${b%% rtt=*}")" ]
	ksft_check $? "client MSS $mss to $addr: maxseg, snd_mss, rcv_mss, client rcv_mss, wire size as with mode=0"
done <"$tmpd/mss.rounds"

# ---- 2. RTT on a 40 ms path
in_c tc qdisc add dev "$VETH1" root netem delay 20ms ||
	skip_test "no netem"
in_s tc qdisc add dev "$VETH2" root netem delay 20ms
# rtt_alike ADDR: one pair of connections, the listener's RTT samples alike.
rtt_alike() {
	local a b
	a=$(conn 0 "$1") && b=$(conn 2 "$1")
	ksft_info "40 ms path, $1: mode=0: $a"
	ksft_info "40 ms path, $1: mode=2: $b"
	within "$(field rtt "$b")" "$(field rtt "$a")" 20 &&
		within "$(field min_rtt "$b")" "$(field min_rtt "$a")" 20
}
# Up to three pairs: a guest's own delays (the debug kernel hands off in
# tens of ms) only add to a sample, while a wrong one stays wrong.
for addr in $SRV $SRV6; do
	rtt_alike "$addr" || rtt_alike "$addr" || rtt_alike "$addr"
	ksft_check $? "timestamps, $addr: the listener's first RTT sample is the path's (within 20 % of mode=0)"
done
in_c sysctl -qw net.ipv4.tcp_timestamps=0
a=$(conn 0 $SRV) && b=$(conn 2 $SRV)
ksft_info "no timestamps: mode=0: $a"
ksft_info "no timestamps: mode=2: $b"
[ -n "$b" ] && [ "$(field min_rtt "$b")" -ge $(( $(field min_rtt "$a") * 8 / 10 )) ]
ksft_check $? "no timestamps: no false RTT sample at the listener (none, or the path's)"
in_c sysctl -qw net.ipv4.tcp_timestamps=1

# ---- 3. ECN
in_c sysctl -qw net.ipv4.tcp_ecn=1
for addr in $SRV $SRV6; do
	a=$(conn 0 "$addr") && b=$(conn 2 "$addr")
	[ "$(field ecn "$a")" = 1 ] && [ "$(field ecn "$b")" = 1 ]
	ksft_check $? "ECN, $addr: negotiated at the listener as with mode=0"
done
in_c sysctl -qw net.ipv4.tcp_ecn=2

# ---- 4. tcp_rmem grows between the SYN+ACK and the ACK (which netem
# holds back for a second): the scale announced is the one the relay keeps.
in_c tc qdisc change dev "$VETH1" root netem delay 1000ms
in_s tc qdisc del dev "$VETH2" root
rmem=$(in_s sysctl -n net.ipv4.tcp_rmem)
synacks() { tcpdump -nn -r "$tmpd/wire.pcap" "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)" 2>/dev/null | wc -l; }
slow_ack_conn() {
	local mode=$1 n out
	in_s sysctl -qw net.ipv4.tcp_rmem="$rmem"
	n=$(synacks)
	in_s sysctl -qw net.synguard.mode="$mode"
	in_c python3 "$PEER" client $SRV $PORT >"$tmpd/slow.out" &
	slowwait 30 eval '[ "$(synacks)" -gt "$n" ]' ||
		{ ksft_info "mode=$mode: no SYN+ACK captured" >&2; return 1; }
	in_s sysctl -qw net.ipv4.tcp_rmem="4096 131072 67108864"
	wait $! || { ksft_info "mode=$mode: client failed: $(cat "$tmpd/slow.out")" >&2; return 1; }
	out=$(cat "$tmpd/slow.out")
	slowwait 30 grep -q "\"peer_port\": $(port_of "$out")," "$tmpd/srv.json" ||
		{ ksft_info "mode=$mode: the listener did not report the connection" >&2; return 1; }
	report "$out"
}
a=$(slow_ack_conn 0) && b=$(slow_ack_conn 2)
in_s sysctl -qw net.ipv4.tcp_rmem="$rmem"
ksft_info "tcp_rmem grown before the ACK: mode=0: $a"
ksft_info "tcp_rmem grown before the ACK: mode=2: $b"
[ -n "$b" ] && within "$(field snd_wnd "$b")" "$(field snd_wnd "$a")" 50
ksft_check $? "the client sees the listener's window, as with mode=0 (not 2^k off)"

cleanup_bg
check_dmesg_clean
ksft_exit
