#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SYNs decided in PRE_ROUTING (module/early.c): where nothing lies between
# PRE_ROUTING and LOCAL_IN, a SYN is decided before the input route,
# with the outcome it would have in LOCAL_IN. mode=2; a client and a server
# namespace; the server also has a dummy link with a route to 10.77.0.0/16
# (no IPv6 on it: its packets count what synguard sends there).
#
#  1. Nothing in between: a connection echoes 64 KiB; syn_early and
#     cookie_sent moved. One raw SYN to a port nothing listens on gets the
#     kernel's RST, and pass_no_listener and syn_seen move by exactly one
#     (decided once, not again in LOCAL_IN); one to a port `ports` leaves
#     out: pass_port by exactly one, the kernel's SYN+ACK. An address of
#     the dummy link, not of the one the SYN comes in by: LOCAL_IN decides.
#  2. What only the input route knows: a spoofed SYN from 10.77.0.1 on the
#     client's link. With rp_filter=0 the kernel takes it, and so does
#     synguard, in PRE_ROUTING: a SYN+ACK leaves by the dummy link (the
#     control). With rp_filter=1 the input route drops it (the route back
#     leaves by another link): no SYN+ACK, no cookie. A SYN whose source
#     is the server's own address is a martian: no cookie either.
#  3. Each thing in between turns it off, and the connection echoes just
#     the same through LOCAL_IN (syn_early still, cookie_sent moved): an
#     INPUT chain (nft, accepting all), rp_filter=2, a policy routing rule
#     (last: the namespace's FIB keeps its rules' lookup once it had one).
#  4. IPv6: a connection's SYN decided in PRE_ROUTING; one raw SYN to a
#     closed port passes once; with an INPUT chain, in LOCAL_IN.
#  5. A bridge (the server's addresses on it, the veth its port) and a
#     listener bound to the bridge: its connection gets a cookie, decided
#     in PRE_ROUTING on the bridge; and so with br_netfilter, which runs
#     PRE_ROUTING in the bridge's own path (its input device the bridge,
#     the port remembered): a cookie, no pass_no_listener.
#  dmesg clean.
#
# timeout: 180

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLOSED=8081
OTHER=8082
BOUND=8083
CLI=10.0.1.1
SRV=10.0.1.2
SRV6=fd00:10:0:1::2
RAW=10.0.1.100
RAW6=fd00:10:0:1::100
SPOOF=10.77.0.1
OTHER_IF=10.88.0.1

checktool "$PY -c pass" "run test without $PY"
checktool "nft --version" "run test without nft"
checktool "ss -V" "run test without ss"

tmpd=''
trap cleanup_all EXIT

srvset() { ip netns exec "$server" sysctl -qw "$1=$2"; }

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$server" $CLI/24 $SRV/24 &&
		srv_dev=$VETH2 &&
		raw_peer "$client" "$server" $RAW $RAW6 $SPOOF &&
		ip -n "$server" link add sgdummy type dummy &&
		srvset net.ipv6.conf.sgdummy.disable_ipv6 1 &&
		ip -n "$server" link set sgdummy up &&
		ip -n "$server" route add 10.77.0.0/16 dev sgdummy &&
		ip -n "$server" addr add $OTHER_IF/32 dev sgdummy &&
		ip -n "$client" route add $OTHER_IF/32 via $SRV
} || skip_test "cannot build the topology"

for v in all default "$srv_dev"; do srvset "net.ipv4.conf.$v.rp_filter" 0; done
load_synguard_or_exit mode=2
dmesg_mark
tmpd=$(mktemp -d)
echo_server_start "$server" :: $PORT || { ksft_fail "echo server"; exit "$ksft_fail"; }
# A listener synguard is told to leave alone (`ports` below).
echo_server_start "$server" :: $OTHER || { ksft_fail "echo server"; exit "$ksft_fail"; }

# echo_ok ADDR: a connection to ADDR echoes 64 KiB intact.
echo_ok() {
	ECHO_CLIENT_TIMEOUT=10 echo_client "$client" "$1" $PORT /dev/null "" 65536
}
dummy_tx() { ip netns exec "$server" cat /sys/class/net/sgdummy/statistics/tx_packets; }
# raw_syn SRC DPORT SPORT [DST]: one SYN, what came back (rawtcp's lines).
raw_syn() {
	rawtcp --src "$1" --dst "${4:-$SRV}" --sport "$3" --dport "$2" syn \
		--seq 1000 --timeout 1 2>&1 | tr '\n' ' '
}

# via NAME ADDR WHERE: a connection to ADDR echoes 64 KiB, its SYN answered
# with a cookie in PRE_ROUTING (WHERE "pre") or in LOCAL_IN.
via() {
	sg_snap "$server"
	echo_ok "$2"
	ksft_check $? "$1: a connection echoes 64 KiB"
	if [ "$3" = pre ]; then
		expect_delta "$server" syn_early -ge 1 "$1: its SYN was decided in PRE_ROUTING"
	else
		expect_delta "$server" syn_early -eq 0 "$1: its SYN went on to LOCAL_IN"
	fi
	expect_delta "$server" cookie_sent -ge 1 "$1: and answered with a cookie"
}
# input_chain FAMILY add|delete: an INPUT chain that accepts everything.
input_chain() {
	if [ "$2" = delete ]; then
		ip netns exec "$server" nft delete table "$1" sg_early_fw
		return
	fi
	ip netns exec "$server" nft -f - <<EOF
table $1 sg_early_fw {
	chain input {
		type filter hook input priority filter; policy accept;
	}
}
EOF
}

# -------------------------------------------------- 1. nothing in between

via 1 $SRV pre

sg_snap "$server"
out=$(raw_syn $RAW $CLOSED 40001)
expect_delta "$server" pass_no_listener -eq 1 "1: a SYN to a closed port passed once ($out)"
expect_delta "$server" syn_early -eq 1 "1: decided in PRE_ROUTING"
expect_delta "$server" cookie_sent -eq 0 "1: no cookie for it"

ports=/proc/sys/net/synguard/ports
ip netns exec "$server" sh -c "echo $PORT >$ports"
sg_snap "$server"
out=$(raw_syn $RAW $OTHER 40002)
[[ "$out" == *"synack 40002"* ]]
ksft_check $? "1: a SYN to a port ports leaves out gets the kernel's SYN+ACK ($out)"
expect_delta "$server" pass_port -eq 1 "1: it passed once"
expect_delta "$server" cookie_sent -eq 0 "1: no cookie for it"
ip netns exec "$server" sh -c "echo >$ports"
via "1 another link's address" $OTHER_IF local

# ------------------------------------ 2. what only the input route knows

# spoofed RP SPORT N: a SYN from $SPOOF on the client's link with rp_filter
# RP: N SYN+ACKs (cookies, decided in PRE_ROUTING) by the dummy link.
spoofed() {
	local tx0 tx v
	for v in all.rp_filter "$srv_dev.rp_filter"; do srvset "net.ipv4.conf.$v" "$1"; done
	tx0=$(dummy_tx)
	sg_snap "$server"
	raw_syn $SPOOF $PORT "$2" >/dev/null
	tx=$(($(dummy_tx) - tx0))
	expect_delta "$server" cookie_sent -eq "$3" "2: rp_filter=$1: a SYN from $SPOOF, $3 cookie(s)"
	expect_delta "$server" syn_early -eq "$3" "2: rp_filter=$1: $3 decided in PRE_ROUTING"
	[ "$tx" -eq "$3" ]
	ksft_check $? "2: rp_filter=$1: $tx SYN+ACK(s) by the dummy link"
}
# The control: with rp_filter=0, the kernel takes it, and synguard answers
# it by the route back; with rp_filter=1 the input route drops it.
spoofed 0 40003 1
spoofed 1 40004 0
for v in all.rp_filter "$srv_dev.rp_filter"; do srvset "net.ipv4.conf.$v" 0; done
sg_snap "$server"
raw_syn $SRV $PORT 40005 >/dev/null
expect_delta "$server" cookie_sent -eq 0 "2: a SYN from the server's own address: no cookie"

# ------------------------------------------- 3. something in between

input_chain inet add
via "3 an INPUT chain" $SRV local
input_chain inet delete
srvset "net.ipv4.conf.$srv_dev.rp_filter" 2
via "3 rp_filter=2" $SRV local
srvset "net.ipv4.conf.$srv_dev.rp_filter" 0
ip -n "$server" rule add from 10.66.0.0/16 lookup 100 pref 1000
via "3 a policy routing rule" $SRV local

# ------------------------------------------------------------- 4. IPv6

# (The policy rule of IPv4 above leaves IPv6's FIB as it was.)
via "4 IPv6" $SRV6 pre
sg_snap "$server"
out=$(raw_syn $RAW6 $CLOSED 40006 $SRV6)
expect_delta "$server" pass_no_listener -eq 1 "4: an IPv6 SYN to a closed port passed once ($out)"
expect_delta "$server" syn_early -eq 1 "4: decided in PRE_ROUTING"
input_chain ip6 add
via "4 an IPv6 INPUT chain" $SRV6 local
input_chain ip6 delete

# ------------------------------------------------------------ 5. a bridge

{
	ip -n "$server" link add sgbr type bridge &&
		ip -n "$server" addr flush dev "$srv_dev" &&
		ip -n "$server" link set "$srv_dev" master sgbr &&
		ip -n "$server" link set sgbr up &&
		ip -n "$server" addr add $SRV/24 dev sgbr &&
		ip -n "$server" addr add $SRV6/64 dev sgbr nodad &&
		ip -n "$client" neigh flush all
} || skip_test "cannot move the server's addresses to a bridge"
# An echo of one message, by a listener bound to the bridge.
ip netns exec "$server" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"sgbr")
s.bind(("::", int(sys.argv[1])))
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(c.recv(100))
    c.close()
' $BOUND &
bg_track $!
wait_port_listen "$server" $BOUND
# bound NAME: an IPv6 connection (IPv4's FIB has had a rule since 3) to
# the bound listener, with a cookie, never passed for want of a listener.
bound() {
	local r
	sg_snap "$server"
	r=$(tcp_probe "$client" $SRV6 $BOUND)
	[ "$r" = data ]
	ksft_check $? "5 $1: a listener bound to the bridge echoes ($r)"
	expect_delta "$server" cookie_sent -ge 1 "5 $1: its SYN got a cookie"
	expect_delta "$server" pass_no_listener -eq 0 "5 $1: not decided where the listener is not found"
}
bound "bridge"
expect_delta "$server" syn_early -eq 1 "5 bridge: decided in PRE_ROUTING, on the bridge"
if modprobe br_netfilter 2>/dev/null &&
	ip netns exec "$server" sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1; then
	bound "br_netfilter"
else
	ksft_skip "5: no br_netfilter"
fi

cleanup_bg
check_dmesg_clean
ksft_exit
