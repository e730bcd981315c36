#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Closed ports stay closed, and `ports` selects what is protected.
#
# synguard is loaded with mode=2 (always engaged); a server namespace runs
# python3's http.server on one port only.
#
#  1. Control: a fetch from the listening port goes through a cookie
#     (cookie_sent and handoff_ok move), so "did not move" below means
#     something.
#  2. A connection to a port nothing listens on (IPv4, then IPv6) is refused
#     at once: curl exits 7 with "Connection refused" well before any SYN
#     retransmission; pass_no_listener moved, cookie_sent did not; on the
#     client's side of the veth tcpdump sees a RST from that port and no
#     SYN+ACK.
#  3. ports=9999 (not the listener's port): a fetch still works, but plain:
#     pass_port moved, cookie_sent did not.
#  4. ports="" again (every listener): cookie_sent and handoff_ok move.
#
# timeout: 240

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

# Set by setup_ns.
client=''
server=''

PORT=8080
CLOSED=8081
PY=/usr/bin/python3
SRV4=10.0.1.2
SRV6=fd00:10:0:1::2

checktool "curl --version" "run test without curl"
checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "tcpdump --version" "run test without tcpdump"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "cannot make a veth pair"
cli_dev=$VETH1

load_synguard_or_exit mode=2
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 64K /dev/urandom >"$tmpd/www/blob"
want=$(sha256sum <"$tmpd/www/blob")

ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	"$PORT" >"$tmpd/server.log" 2>&1 &
bg_track $!
if ! wait_port_listen "$server" "$PORT" tcp 60; then
	ksft_fail "http.server listens on port $PORT"
	sed 's/^/#   /' "$tmpd/server.log"
	exit "$ksft_fail"
fi
if port_listening "$server" "$CLOSED"; then
	ksft_fail "port $CLOSED is closed in the server namespace"
	exit "$ksft_fail"
fi

# fetch URL: fetch the blob, 0 if it arrived intact.
fetch() {
	local got
	rm -f "$tmpd/got"
	ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 20 \
		--max-time 60 -o "$tmpd/got" "$1" || return 1
	got=$(sha256sum <"$tmpd/got")
	[ "$got" = "$want" ]
}

# ---------------------------------------------------------- 1. control

sg_snap "$server"
fetch "http://$SRV4:$PORT/blob"
ksft_check $? "control: fetch from the listening port $PORT"
expect_delta "$server" cookie_sent -ge 1 "control: the listening port's SYN got a cookie"
expect_delta "$server" handoff_ok -ge 1 "control: the connection was handed off"

# ------------------------------------------------------- 2. closed port

# pcap_has FILE ERE: does tcpdump's text of the capture match ERE?
# (Text, not a BPF filter: "tcp[tcpflags]" does not work for IPv6.)
pcap_has() {
	tcpdump -nn -r "$1" 2>/dev/null | grep -Eq "$2"
}

# closed_port NAME ADDR URL_HOST
closed_port() {
	local name=$1 addr=$2 host=$3 pcap="$tmpd/$1.pcap" tdpid rc ms rst synack syn n

	ip netns exec "$client" tcpdump --immediate-mode -Z root -U -nn -i "$cli_dev" -w "$pcap" \
		"tcp port $CLOSED" 2>"$tmpd/$name.tcpdump" &
	tdpid=$!
	bg_track "$tdpid"
	if ! slowwait 20 grep -q "listening on" "$tmpd/$name.tcpdump"; then
		ksft_fail "$name: tcpdump starts on the client side"
		return
	fi

	sg_snap "$server"
	ip netns exec "$client" curl -v -sS --noproxy '*' --connect-timeout 10 \
		--max-time 20 -o /dev/null "http://$host:$CLOSED/" 2>"$tmpd/$name.curl"
	rc=$?
	# curl -v says "connect to ADDR port P failed: Connection refused";
	# the error line "Failed to connect ... after N ms" has its timing.
	if [ "$rc" = 7 ] && grep -q "failed: Connection refused" "$tmpd/$name.curl"; then
		ksft_pass "$name: connection to closed port $CLOSED refused (curl rc 7)"
	else
		ksft_fail "$name: connection to closed port $CLOSED refused (curl rc=$rc)"
		grep -v '^[<>{}]' "$tmpd/$name.curl" | sed "s/^/# /"
	fi
	ms=$(sed -nE 's/.*Failed to connect .* after ([0-9]+) ms.*/\1/p' "$tmpd/$name.curl" | head -1)
	expect_delta "$server" pass_no_listener -ge 1 "$name: SYN passed to the kernel for lack of a listener"
	expect_delta "$server" cookie_sent -eq 0 "$name: no cookie for a closed port"

	# The RST is on the wire before curl returns; -U writes it at once.
	rst="^[0-9:.]+ IP6? ${addr//./\\.}\\.$CLOSED > .*Flags \\[R"
	synack="^[0-9:.]+ IP6? ${addr//./\\.}\\.$CLOSED > .*Flags \\[S"
	syn="^[0-9:.]+ IP6? .* > ${addr//./\\.}\\.$CLOSED: Flags \\[S\\]"
	busywait 3000 pcap_has "$pcap" "$rst"
	kill "$tdpid" 2>/dev/null
	wait "$tdpid" 2>/dev/null
	if pcap_has "$pcap" "$rst"; then
		ksft_pass "$name: client saw a RST from port $CLOSED"
	else
		ksft_fail "$name: client saw a RST from port $CLOSED"
	fi
	# "At once": the first SYN was answered, the client never had to
	# retransmit it (the guest may be too loaded for a wall-clock bound).
	n=$(tcpdump -nn -r "$pcap" 2>/dev/null | grep -Ec "$syn")
	if [ "$n" = 1 ]; then
		ksft_pass "$name: refused at once: one SYN, no retransmission (curl: ${ms:-?} ms)"
	else
		ksft_fail "$name: refused at once: $n SYNs sent (curl: ${ms:-?} ms)"
	fi
	if pcap_has "$pcap" "$synack"; then
		ksft_fail "$name: client saw no SYN+ACK from port $CLOSED"
	else
		ksft_pass "$name: client saw no SYN+ACK from port $CLOSED"
	fi
	tcpdump -nn -r "$pcap" 2>/dev/null | sed "s/^/# $name: /"
}

closed_port IPv4 "$SRV4" "$SRV4"
closed_port IPv6 "$SRV6" "[$SRV6]"

# ----------------------------------------------------- 3. ports=9999

sysctl_ports=/proc/sys/net/synguard/ports
ip netns exec "$server" sh -c "echo 9999 >$sysctl_ports"
ksft_check $? "ports=9999 accepted"
got=$(ip netns exec "$server" cat "$sysctl_ports")
[ "$got" = 9999 ]
ksft_check $? "ports reads back as 9999 (got '$got')"

sg_snap "$server"
fetch "http://$SRV4:$PORT/blob"
ksft_check $? "ports=9999: fetch from port $PORT works"
expect_delta "$server" pass_port -ge 1 "ports=9999: SYN to $PORT passed as unselected"
expect_delta "$server" cookie_sent -eq 0 "ports=9999: no cookie for port $PORT"
expect_delta "$server" handoff_ok -eq 0 "ports=9999: no hand-off for port $PORT"

# ------------------------------------------------------ 4. ports=""

ip netns exec "$server" sh -c "echo >$sysctl_ports"
ksft_check $? "ports='' accepted"
got=$(ip netns exec "$server" cat "$sysctl_ports")
[ -z "$got" ]
ksft_check $? "ports reads back empty (got '$got')"

sg_snap "$server"
fetch "http://$SRV4:$PORT/blob"
ksft_check $? "ports='': fetch from port $PORT works"
expect_delta "$server" cookie_sent -ge 1 "ports='': port $PORT is protected again"
expect_delta "$server" handoff_ok -ge 1 "ports='': the connection was handed off"
expect_delta "$server" pass_port -eq 0 "ports='': nothing passed as unselected"

cleanup_bg
unload_synguard
ksft_check $? "rmmod synguard"
check_dmesg_clean
ksft_exit
