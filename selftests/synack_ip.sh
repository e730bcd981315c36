#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Our SYN+ACK leaves as the listener's own would. The same connection once
# with mode=0 (the kernel answers) and once with mode=2 (synguard's cookie
# SYN+ACK), and the client must see the same: whether a SYN+ACK came at
# all, its hop limit and TOS or traffic class, whether it connected. IPv4
# and IPv6.
#
#  1. the listener's IP_TTL / IPV6_UNICAST_HOPS and IP_TOS / IPV6_TCLASS;
#  2. tcp_reflect_tos: the client's DSCP comes back;
#  3. policy routing by the listener's SO_MARK (ip rule fwmark) and by its
#     owner (ip rule uidrange): tables whose route to the client sets its
#     own hop limit; the SYN+ACK's skb mark and SO_PRIORITY in POSTROUTING;
#  4. a listener bound to its interface (SO_BINDTODEVICE) while the main
#     table sends the client's address elsewhere;
#  5. IP_MINTTL / IPV6_MINHOPCOUNT (GTSM): a SYN below it is the kernel's to
#     drop, no cookie answers it; at 255 it connects;
#  6. IPv6 flow labels: there unless the listener turned them off, the
#     client's own with flowlabel_reflect.
#
# timeout: 300

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
CLI6=fd00:10:0:1::1
SRV6=fd00:10:0:1::2
PROBE=$(realpath "$(dirname "$0")")/synack_probe.py
UID_ROUTED=4242

checktool "python3 -c pass" "run test without python3"
checktool "nft --version" "run test without nft"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }
load_synguard mode=2 || exit
dmesg_mark
tmpd=$(mktemp -d)

# Routes chosen by the listener's mark and owner, each with its own hop
# limit; a more specific route to the client elsewhere, for bound sockets.
for f in -4 -6; do
	in_s ip "$f" rule add fwmark 0x42 lookup 142 prio 100
	in_s ip "$f" rule add uidrange $UID_ROUTED-$UID_ROUTED lookup 143 prio 101
done
in_s ip route add 10.0.1.0/24 dev "$VETH2" table 142 hoplimit 33
in_s ip route add 10.0.1.0/24 dev "$VETH2" table 143 hoplimit 44
in_s ip -6 route add fd00:10:0:1::/64 dev "$VETH2" table 142 hoplimit 33
in_s ip -6 route add fd00:10:0:1::/64 dev "$VETH2" table 143 hoplimit 44
in_s ip link add sgdummy type dummy
in_s ip link set sgdummy up
# The SYN+ACKs that leave with the listener's mark and priority.
in_s nft -f - <<EOF || { ksft_fail "nft counter"; exit 1; }
table inet synack_ip {
	counter marked { }
	chain post {
		type filter hook postrouting priority 0;
		tcp flags & (syn | ack) == syn | ack meta mark 0x42 meta priority 0:6 counter name marked
	}
}
EOF

marked() {
	in_s nft list counter inet synack_ip marked |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# One listener maker in the server namespace and one prober in the
# client's, each a single Python process for the whole test, talking over
# FIFOs (synack_probe.py servers, clients).
mkfifo "$tmpd/srv.in" "$tmpd/srv.out" "$tmpd/cli.in" "$tmpd/cli.out" ||
	{ ksft_fail "FIFOs"; exit "$ksft_fail"; }
in_s python3 "$PROBE" servers <"$tmpd/srv.in" >"$tmpd/srv.out" 2>>"$tmpd/server.err" &
bg_track $!
exec {srv_in}>"$tmpd/srv.in" {srv_out}<"$tmpd/srv.out"
in_c python3 "$PROBE" clients <"$tmpd/cli.in" >"$tmpd/cli.out" 2>>"$tmpd/client.err" &
bg_track $!
exec {cli_in}>"$tmpd/cli.in" {cli_out}<"$tmpd/cli.out"

# listen ADDR PORT OPTS: a listener with those options; fails unless it
# listens within 30 s.
listen() {
	local reply
	echo "$1 $2 $3" >&"$srv_in"
	read -r -t $((30 * SG_SLOW)) reply <&"$srv_out"
	[ "$reply" = "listening $2" ] ||
		{ ksft_info "listener on $2: ${reply:-no answer} ($(tail -n 3 "$tmpd/server.err"))"; return 1; }
}

# probe ADDR PORT SPORT OPTS: the probe's line for one connection.
probe() {
	local out
	echo "$VETH1 $1 $2 $3 $4" >&"$cli_in"
	read -r -t $((30 * SG_SLOW)) out <&"$cli_out" ||
		out="no answer from the prober ($(tail -n 3 "$tmpd/client.err"))"
	echo "$out"
}

port=8100 sport=20000
# run_case NAME ADDR "SERVER OPTS" "CLIENT OPTS" [EXPECT]: the probe once
# per mode against a fresh listener; both lines must be the same, and EXPECT
# (an ERE) must match them. Connected in mode 2: by a cookie.
run_case() {
	local name=$1 addr=$2 sopts=$3 copts=$4 expect=${5:-}
	local mode out out0='' out2='' cookies
	port=$((port + 1))
	listen "$addr" $port "$sopts" || { ksft_fail "$name: listens"; return; }
	for mode in 0 2; do
		in_s sysctl -qw net.synguard.mode=$mode
		sport=$((sport + 1))
		sg_snap "$server"
		out=$(probe "$addr" $port $sport "$copts")
		cookies=$(sg_delta "$server" cookie_sent)
		ksft_info "$name, mode=$mode: $out (cookies $cookies)"
		if [ $mode = 0 ]; then
			out0=$out
		else
			out2=$out
			if [[ "$out" == connected* ]] && [ "$cookies" -lt 1 ]; then
				ksft_fail "$name: mode=2 connected without a cookie"
				out2="(no cookie) $out"
			fi
		fi
	done
	if [ "$out0" = "$out2" ] && [[ "$out0" =~ $expect ]]; then
		ksft_pass "$name: $out2, as with mode=0"
	else
		ksft_fail "$name: mode=2 \"$out2\", mode=0 \"$out0\" (expected /$expect/)"
	fi
}

for a in $SRV $SRV6; do
	v=IPv4 ttl=ttl tos=tos minttl=minttl lab=''
	[ "$a" = $SRV6 ] && v=IPv6 ttl=hops tos=tclass minttl=minhops lab=' label=yes'
	run_case "$v: a plain listener" "$a" "" "" "^connected ttl=64 tos=0x00$lab$"
	run_case "$v: the listener's $ttl 200" "$a" "$ttl=200" "" \
		"^connected ttl=200 tos=0x00$lab$"
	run_case "$v: the listener's $tos 0x28" "$a" "$tos=0x28" "" \
		"^connected ttl=64 tos=0x28$lab$"
	in_s sysctl -qw net.ipv4.tcp_reflect_tos=1
	run_case "$v: tcp_reflect_tos, a client's $tos 0x48" "$a" "$tos=0x20" \
		"tos=0x48" "^connected ttl=64 tos=0x48$lab$"
	in_s sysctl -qw net.ipv4.tcp_reflect_tos=0
	before=$(marked)
	run_case "$v: the listener's SO_MARK routes by fwmark" "$a" \
		"mark=0x42 prio=6" "" "^connected ttl=33 tos=0x00$lab$"
	after=$(marked)
	# mode=0's, ours, and the listener's to the hand-off SYN, which
	# synguard takes after every other POSTROUTING hook.
	[ $((after - before)) = 3 ]
	ksft_check $? "$v: the SYN+ACKs left with the listener's mark and priority ($((after - before)) of 3)"
	run_case "$v: the listener's owner routes by uidrange" "$a" \
		"uid=$UID_ROUTED" "" "^connected ttl=44 tos=0x00$lab$"
	# The client's address is elsewhere, but for sockets bound to $VETH2.
	in_s ip route add $CLI/32 dev sgdummy
	in_s ip -6 route add $CLI6/128 dev sgdummy
	run_case "$v: a listener bound to its interface" "$a" "dev=$VETH2" "" \
		"^connected ttl=64 tos=0x00$lab$"
	in_s ip route del $CLI/32 dev sgdummy
	in_s ip -6 route del $CLI6/128 dev sgdummy
	run_case "$v: $minttl 255, a SYN at 64" "$a" "$minttl=255" "timeout=2" \
		"no-synack$"
	run_case "$v: $minttl 255, a SYN at 255" "$a" "$minttl=255" "ttl=255" \
		"^connected ttl=64"
done
run_case "IPv6: a listener without flow labels (IPV6_AUTOFLOWLABEL 0)" \
	$SRV6 "autolabel=0" "" "^connected ttl=64 tos=0x00 label=no$"
# Sockets made now reflect their peer's label (the client's SYN has one).
in_s sysctl -qw net.ipv6.flowlabel_reflect=1
run_case "IPv6: flowlabel_reflect: the client's label comes back" $SRV6 "" "" \
	"^connected ttl=64 tos=0x00 label=reflected$"
in_s sysctl -qw net.ipv6.flowlabel_reflect=0

# End of input: the listeners stop, the prober exits.
exec {srv_in}>&- {cli_in}>&- {srv_out}<&- {cli_out}<&-
check_dmesg_clean "dmesg is free of kernel warnings"
ksft_exit
