#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A server whose interface is enslaved to a VRF. Its packets pass the
# netfilter hooks twice (on the slave and on the VRF device going in; on the
# VRF device and on the slave going out): synguard must translate each of
# them once, and route its SYN+ACK in the VRF's table. With mode=2, over
# IPv4 and IPv6, a connection to a listener in the VRF is handed off and
# echoes 64 KiB intact, and the counters agree; with tcp_l3mdev_accept=0 a
# listener outside the VRF gets no connection, with or without synguard.
#
# timeout: 120

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
SRV6=fd00:10:0:1::2
PORT=8080
VRF=vrf-blue

checktool "python3 -c pass" "run test without python3"
modprobe vrf 2>/dev/null || skip_test "no vrf module"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
in_s() { ip netns exec "$server" "$@"; }
# The server's veth goes into the VRF, with its addresses and routes; a
# listener bound to no device accepts connections from any VRF.
in_s sysctl -qw "net.ipv6.conf.$VETH2.keep_addr_on_down=1"
in_s ip link add $VRF type vrf table 10 && in_s ip link set $VRF up &&
	in_s ip link set "$VETH2" master $VRF ||
	skip_test "cannot make a VRF"
in_s sysctl -qw net.ipv4.tcp_l3mdev_accept=1
slowwait 10 eval '[ -n "$(in_s ip -6 addr show dev "$VETH2" scope global)" ]'
load_synguard mode=2 msl=30 || exit
dmesg_mark

echo_server_start "$server" :: $PORT ||
	{ ksft_fail "echo server listens"; exit "$ksft_fail"; }

sg_snap "$server"
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "IPv4 through the VRF: a connection echoes 64 KiB intact"
echo_roundtrip "$client" $SRV6 $PORT
ksft_check $? "IPv6 through the VRF: a connection echoes 64 KiB intact"
expect_delta "$server" handoff_ok -ge 2 "both were handed off by synguard"
[ "$(sg_delta "$server" send_fail)" = 0 ] && [ "$(sg_delta "$server" malformed)" = 0 ] &&
	[ "$(sg_delta "$server" handoff_fail)" = 0 ]
ksft_check $? "no SYN+ACK failed to route, nothing malformed, no hand-off failed"

# A listener bound to no device serves a VRF only with tcp_l3mdev_accept=1:
# without it, the kernel refuses the connection, and so must synguard (no
# cookie for a listener the kernel would not give the connection to).
in_s sysctl -qw net.ipv4.tcp_l3mdev_accept=0
sg_snap "$server"
! echo_roundtrip "$client" $SRV $PORT 2>/dev/null
ksft_check $? "tcp_l3mdev_accept=0: the connection is refused, as without synguard"
[ "$(sg_delta "$server" cookie_sent)" = 0 ] && [ "$(sg_delta "$server" pass_no_listener)" -ge 1 ]
ksft_check $? "tcp_l3mdev_accept=0: no cookie, the SYN passed (no listener)"

cleanup_bg
check_dmesg_clean
ksft_exit
