#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A relaying gateway (gateway=2) whose two interfaces, the client's and the
# server's, are enslaved to one VRF: forwarded packets pass PRE_ROUTING on
# the slave and again on the VRF device, and the routes back to the client
# (our SYN+ACK) and on to the server are in the VRF's table. The server
# runs no synguard.
#
#  1. gateway=0: a connection through the gateway echoes 64 KiB, IPv4 and
#     IPv6 (the topology forwards; the control).
#  2. gateway=2: the same echoes intact; the gateway answered the SYNs
#     (cookie_sent) and handed the connections off (handoff_ok: the
#     server's SYN+ACK came in on the VRF, by which the route to the server
#     leaves), nothing failed to route (send_fail), no hand-off failed; a
#     held connection: the server's socket has the client's address, its
#     flow is established (the client's held segments were fed back on
#     the slave, translated once), and idle for 2 MSL + 2 s it echoes on.
#  2b. A hand-off the server does not answer: a SYN+ACK forged by the
#     client (ack = its ISN + 1) sent into the gateway on the client's link
#     does not end it (the VRF makes every slave's packets come in by the
#     VRF device: the check must look at the slave).
#  3. After the linger (2 MSL and a GC pass) the gateway holds no flow;
#     dmesg clean.
#
# timeout: 120

# Functions run by the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

PORT=8080
MSL=2
CLI=10.0.1.1
SRV=10.0.2.1
SRV6=fd00:10:0:2::1
PREFIXES="10.0.2.0/24,fd00:10:0:2::/64"
SILENT=8081
RAW=10.0.1.100
RSEQ=1000
VRF=vrf-gw

checktool "python3 -c pass" "run test without python3"
checktool "ss -V" "run test without ss"
modprobe vrf 2>/dev/null || skip_test "no vrf module"

tmpd=''
trap cleanup_all EXIT

setup_ns client gateway server || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$gateway" $CLI/24 10.0.1.254/24 &&
		gw_cli_dev=$VETH2 && cli_dev=$VETH1 &&
		veth_pair "$gateway" "$server" 10.0.2.254/24 $SRV/24 &&
		gw_srv_dev=$VETH1 &&
		ip netns exec "$gateway" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 \
			"net.ipv6.conf.$gw_cli_dev.keep_addr_on_down=1" \
			"net.ipv6.conf.$gw_srv_dev.keep_addr_on_down=1" \
			net.ipv4.conf.all.rp_filter=0 \
			"net.ipv4.conf.$gw_cli_dev.rp_filter=0"
} || skip_test "cannot build the topology"
in_g() { ip netns exec "$gateway" "$@"; }
# Both of the gateway's interfaces into the VRF: their connected routes go
# to its table, and the main table has none to either side.
{
	in_g ip link add $VRF type vrf table 10 && in_g ip link set $VRF up &&
		in_g ip link set "$gw_cli_dev" master $VRF &&
		in_g ip link set "$gw_srv_dev" master $VRF
} || skip_test "cannot make a VRF"
# A raw peer on the client's link (rawtcp), after the move, which flushes
# the gateway's neighbours on its interfaces.
VETH1=$cli_dev VETH2=$gw_cli_dev
raw_peer "$client" "$gateway" $RAW || skip_test "cannot set up the raw peer"
v6_back() { [ -n "$(in_g ip -6 addr show dev "$1" scope global)" ]; }
slowwait 10 v6_back "$gw_srv_dev" && slowwait 10 v6_back "$gw_cli_dev"
ksft_check $? "the gateway's IPv6 addresses survive the move into the VRF" || exit
[ -z "$(in_g ip -4 route show 10.0.2.0/24)" ] &&
	[ -n "$(in_g ip -4 route show vrf $VRF 10.0.2.0/24)" ]
ksft_check $? "the gateway's routes are in the VRF's table only" || exit

load_synguard_or_exit mode=2 msl=$MSL
dmesg_mark
tmpd=$(mktemp -d)
ip netns exec "$server" sysctl -qw net.synguard.mode=0
gwset() { in_g sysctl -qw "net.synguard.$1=$2"; }
gwset gateway_prefixes "$PREFIXES"
ksft_check $? "gateway_prefixes=$PREFIXES" || exit
echo_server_start "$server" :: $PORT || { ksft_fail "echo server"; exit "$ksft_fail"; }

# --------------------------------------------------------- 1. the control
gwset gateway 0
sg_snap "$gateway"
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "1: gateway=0: IPv4 through the VRF echoes 64 KiB"
echo_roundtrip "$client" $SRV6 $PORT
ksft_check $? "1: gateway=0: IPv6 through the VRF echoes 64 KiB"
expect_delta "$gateway" cookie_sent -eq 0 "1: gateway=0 answers no SYN"

# --------------------------------------------------------- 2. relayed
gwset gateway 2
sg_snap "$gateway"
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "2: gateway=2: IPv4 through the VRF echoes 64 KiB"
echo_roundtrip "$client" $SRV6 $PORT
ksft_check $? "2: gateway=2: IPv6 through the VRF echoes 64 KiB"
expect_delta "$gateway" cookie_sent -ge 2 "2: the gateway answered the SYNs"
expect_delta "$gateway" handoff_ok -ge 2 "2: the gateway handed both off"
[ "$(sg_delta "$gateway" send_fail)" = 0 ] && [ "$(sg_delta "$gateway" handoff_fail)" = 0 ] &&
	[ "$(sg_delta "$gateway" malformed)" = 0 ]
ksft_check $? "2: no SYN+ACK failed to route, no hand-off failed, nothing malformed"

# The server's view of a relayed connection: the client's own address
# (the listener is IPv6: [::ffff:10.0.1.1]:PORT).
peer_seen() {
	ip netns exec "$server" ss -Htn state established "( sport = :$PORT )" |
		grep -qF "$1]:"
}
ECHO_CLIENT_TIMEOUT=10 echo_client "$client" $SRV $PORT "$tmpd/held.out" \
	"$tmpd/go-held" &
held=$!
bg_track $held
slowwait 10 peer_seen "$CLI"
ksft_check $? "2: the server's socket has the client's address ($CLI)"
# Its flow is open: nothing (a held segment translated twice, which the
# server answers with a RST) closed it.
in_g grep -q " established " /proc/net/synguard_flows
ksft_check $? "2: its flow on the gateway is established"
# Idle past the linger of a closed flow and a few GC passes: an open one
# stays.
sleep $((2 * MSL + 2))
touch "$tmpd/go-held"
wait $held
ksft_check $? "2: idle for 2 MSL + 2 s, that connection echoes on" ||
	sed 's/^/#   client: /' "$tmpd/held.out"

# ----------------------------------- 2b. a forged answer from the client side
# A hand-off the server does not answer (its SYNs to SILENT dropped): the
# flow waits for the SYN+ACK. A client that knows the ack number (its own
# ISN + 1) sends a "server's" SYN+ACK into the gateway on the client's
# link, which routes it back to the client: it came in by the client's
# slave, not the server's, and must not end the hand-off.
ip netns exec "$server" nft -f - <<-EOF
	table inet silent {
		chain in {
			type filter hook input priority 0;
			tcp dport $SILENT tcp flags syn drop
		}
	}
EOF
sg_snap "$gateway"
out=$(rawtcp --src $RAW --dst $SRV --sport 41000 --dport $SILENT \
	syn --seq $RSEQ --ack-after 0.1)
in_handoff() { in_g grep -q "$RAW:41000 .* handoff " /proc/net/synguard_flows; }
grep -q '^acked ' <<<"$out" && slowwait 5 in_handoff
ksft_check $? "2b: a hand-off the server does not answer waits ($(tr '\n' ' ' <<<"$out"))"
rawtcp --src $SRV --dst $RAW --sport $SILENT --dport 41000 \
	ack --seq 5555 --ack $((RSEQ + 1)) --synack
# Give it time to reach the hook (nothing to wait for: it must not move).
# Not established, and no hand-off completed. (The flow itself may be gone
# by now on a slow guest: the gateway gives a silent server up after 7 s.)
sleep 0.5
! in_g grep -q "$RAW:41000 .* established " /proc/net/synguard_flows &&
	[ "$(sg_delta "$gateway" handoff_ok)" = 0 ]
ksft_check $? "2b: the forged SYN+ACK did not end it (handoff_ok moved by $(sg_delta "$gateway" handoff_ok))"

# --------------------------------------------------------- 3. cleanup
flows_none() { [ "$(in_g tail -n +2 /proc/net/synguard_flows | wc -l)" = 0 ]; }
slowwait $((4 * MSL + 10)) flows_none
ksft_check $? "3: no flow left on the gateway after the linger"
sg_dump "$gateway"
check_dmesg_clean
ksft_exit
