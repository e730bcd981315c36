#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# While synguard's cookies are live (2 * MSL after the last one), ACKs for
# no open socket are checked for a cookie, but only where synguard sent
# cookies. What belongs to the kernel stays the kernel's:
#
#  1. The kernel's own syncookies (tcp_syncookies=2 in the server
#     namespace) on a port that `ports` does not select: connections work,
#     and the kernel, not synguard, validated them (SyncookiesRecv moved,
#     cookie_bad_mac did not).
#  2. The same on a selected port after mode=0: the kernel's cookies work.
#  3. An ACK to a closed port gets the kernel's RST, and is not counted.
#  4. A forged RST (any sequence number, which the kernel refuses) and then
#     a SYN on the ports of a relayed connection do not cut it: it still
#     echoes afterwards.
#  5. A SYN from a broadcast source gets no SYN+ACK from synguard.
#
# timeout: 240

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
PORT=8080	# selected by `ports`
OTHER=8081	# not selected
CLOSED=9
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "python3 -c pass" "run test without python3"
checktool "tcpdump --version" "run test without tcpdump"
checktool "hping3 --version" "run test without hping3"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
ip netns exec "$server" sysctl -qw net.ipv4.tcp_syncookies=2 ||
	skip_test "cannot set tcp_syncookies"
load_synguard mode=2 msl=30 ports=$PORT || exit
dmesg_mark
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }

echo_server_start "$server" $SRV $PORT && echo_server_start "$server" $SRV $OTHER ||
	{ ksft_fail "echo servers listen"; exit "$ksft_fail"; }


# ---- synguard's cookies are live from here on
sg_snap "$server"
echo_roundtrip "$client" $SRV $PORT && [ "$(sg_delta "$server" handoff_ok)" = 1 ]
ksft_check $? "a connection to port $PORT is handed off (synguard's cookies now live)"

# ---- 1. the kernel's syncookies on a port synguard leaves alone
sg_snap "$server"
kc0=$(nstat_val "$server" TcpExtSyncookiesRecv)
ok=0
for i in 1 2 3; do echo_roundtrip "$client" $SRV $OTHER && ok=$((ok + 1)); done
[ "$ok" = 3 ]
ksft_check $? "port $OTHER (not in ports), kernel syncookies: $ok of 3 connections echo"
[ $(($(nstat_val "$server" TcpExtSyncookiesRecv) - kc0)) -ge 3 ] &&
	[ "$(sg_delta "$server" cookie_bad_mac)" = 0 ] && [ "$(sg_delta "$server" handoff_ok)" = 0 ]
ksft_check $? "the kernel validated those cookies, synguard counted nothing"

# fresh: a cookie was sent just now, whatever the steps before took.
fresh() {
	echo_roundtrip "$client" $SRV $PORT || ksft_info "a connection to port $PORT failed"
}

# ---- 2. mode=0 with synguard's cookies still live: the kernel's cookies
fresh
in_s sysctl -qw net.synguard.mode=0
sg_snap "$server"
kc0=$(nstat_val "$server" TcpExtSyncookiesRecv)
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "mode=0, port $PORT, kernel syncookies: a connection echoes"
[ $(($(nstat_val "$server" TcpExtSyncookiesRecv) - kc0)) -ge 1 ] &&
	[ "$(sg_delta "$server" cookie_bad_mac)" = 0 ]
ksft_check $? "mode=0: the kernel validated that cookie, synguard counted nothing"
in_s sysctl -qw net.synguard.mode=2

# ---- 3. an ACK to a closed port: the kernel's RST
capture "$client" "$VETH1" closed "tcp port $CLOSED"
fresh
sg_snap "$server"
in_c "$SYNFLOOD" --quiet --dst $SRV --dport $CLOSED --mode replay \
	--replay-src $CLI --replay-sport 45000 --replay-seq 1000 --replay-ack 2000 \
	--count 1 >/dev/null
busywait 10000 pcap_seen closed "IP $SRV\\.$CLOSED > $CLI\\.45000: Flags \\[R"
ksft_check $? "an ACK to closed port $CLOSED is answered with RST"
[ "$(sg_delta "$server" cookie_bad_mac)" = 0 ] && [ "$(sg_delta "$server" malformed)" = 0 ]
ksft_check $? "that ACK was not counted as a bad cookie"

# ---- 4. a forged RST and a SYN do not cut a relayed connection
echo_client "$client" $SRV $PORT "$tmpd/held.out" "$tmpd/go" &
held=$!
bg_track $held
slowwait 20 eval '[ "$(sed -n 2p "$tmpd/held.out")" = ok ]'
ksft_check $? "a relayed connection echoes"
sport=$(sed -n 1p "$tmpd/held.out")
flows=$(sg_stat "$server" flows)
in_c hping3 -q -R -s "$sport" -k -p $PORT -M 12345 -c 1 $SRV >/dev/null 2>&1
in_c hping3 -q -S -s "$sport" -k -p $PORT -M 777 -c 1 $SRV >/dev/null 2>&1
[ "$(sg_stat "$server" flows)" = "$flows" ]
ksft_check $? "after a forged RST and a SYN on its ports, its flow is still there"
touch "$tmpd/go"
wait $held
[ "$(sed -n 3p "$tmpd/held.out")" = ok ]
ksft_check $? "the connection still echoes 64 KiB intact"

# ---- 5. SYNs from broadcast sources: the limited broadcast address, and
# the server subnet's (routing drops both as martians, after our hook)
capture "$client" "$VETH1" bcast "tcp port $PORT and tcp[tcpflags] & tcp-syn != 0"
sg_snap "$server"
for src in 255.255.255.255 10.0.1.255; do
	in_c hping3 -q -S -a $src -p $PORT -c 2 -i u100000 $SRV >/dev/null 2>&1
done
busywait 5000 pcap_seen bcast "IP 10\.0\.1\.255\.[0-9]+ > $SRV\.$PORT: Flags \[S\]" &&
	pcap_seen bcast "IP 255\.255\.255\.255\.[0-9]+ > $SRV\.$PORT: Flags \[S\]"
ksft_check $? "SYNs from 255.255.255.255 and 10.0.1.255 reached the server"
! pcap_seen bcast "Flags \[S\.\]" && [ "$(sg_delta "$server" cookie_sent)" = 0 ]
ksft_check $? "synguard answered none of them"

cleanup_bg
check_dmesg_clean
ksft_exit
