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
# A listener bound to the slave device (SO_BINDTODEVICE) gets its
# connections, which live on past the flow GC's looks. A second VRF with
# the same addresses, reached from a second client namespace: two
# connections with identical tuples, one per VRF, both echo.
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

# ---- a listener bound to the slave device
in_s sysctl -qw net.ipv4.tcp_l3mdev_accept=1
in_s python3 -c '
import socket, sys
ls = socket.socket(socket.AF_INET6)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
ls.bind(("::", 8081))
ls.listen(8)
while True:
    c = ls.accept()[0]
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
' "$VETH2" &
bg_track $!
wait_port_listen "$server" 8081
tmpd=$(mktemp -d)
sg_snap "$server"
echo_client "$client" $SRV 8081 "$tmpd/bound.out" "$tmpd/bound.go" &
bound=$!
bg_track $bound
slowwait 20 eval '[ "$(sed -n 2p "$tmpd/bound.out")" = ok ]'
ksft_check $? "a listener bound to the slave $VETH2 gets its connection through synguard"
# The GC looks at every flow each 100 ms: give it several looks.
! slowwait 2 eval '[ "$(sg_delta "$server" gc_reaped)" -gt 0 ]'
ksft_check $? "its flow is not reaped: the GC finds the slave-bound socket"
touch "$tmpd/bound.go"
wait $bound
ksft_check $? "the connection still echoes afterwards"

# ---- a second VRF with the same addresses
setup_ns client2 || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client2" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a second veth pair"
in_s sysctl -qw "net.ipv6.conf.$VETH2.keep_addr_on_down=1"
in_s ip link add vrf-red type vrf table 20 && in_s ip link set vrf-red up &&
	in_s ip link set "$VETH2" master vrf-red || skip_test "cannot make a second VRF"
# same_port NS OUT GO: from port 40000, echo, wait for GO, echo again.
same_port() {
	ip netns exec "$1" python3 -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("", 40000))
s.settimeout(20)
s.connect((sys.argv[1], int(sys.argv[2])))
def rt(n):
    d = os.urandom(n)
    s.sendall(d)
    got = b""
    while len(got) < n:
        b = s.recv(65536)
        if not b:
            break
        got += b
    print("ok" if got == d else "bad", flush=True)
rt(20000)
while not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
rt(20000)
' $SRV $PORT "$3" >"$2" 2>&1
}
sg_snap "$server"
same_port "$client" "$tmpd/blue.out" "$tmpd/same.go" &
bg_track $!
slowwait 20 grep -q ok "$tmpd/blue.out"
same_port "$client2" "$tmpd/red.out" "$tmpd/same.go" &
bg_track $!
slowwait 20 grep -q ok "$tmpd/red.out"
ksft_check $? "identical tuples in two VRFs: the second connection echoes too"
touch "$tmpd/same.go"
slowwait 20 eval '[ "$(grep -c ok "$tmpd/blue.out")" = 2 ] && [ "$(grep -c ok "$tmpd/red.out")" = 2 ]'
ksft_check $? "both go on echoing, each in its own VRF"
[ "$(sg_delta "$server" handoff_ok)" = 2 ] && [ "$(sg_stat "$server" flows)" -ge 2 ]
ksft_check $? "two hand-offs, two flows"

cleanup_bg
check_dmesg_clean
ksft_exit
