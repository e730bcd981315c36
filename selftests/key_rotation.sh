#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Writes to the msl sysctl do not postpone the key rotation (mode=2, msl=2):
#
#  a. msl=2 is written every 0.3 s. One MSL into that, a cookie is made (a
#     raw SYN from the client namespace, selftests/tools/rawtcp.py). Its
#     third ACK, sent 4 MSL later while the writes go on, is rejected (cookie_expired or cookie_bad_mac: its key is at least two
#     rotations old) and opens nothing. (synflood's SYNs from spoofed
#     sources keep synguard checking ACKs meanwhile.)
#  b. A cookie made then is still good: a connection from the client is
#     handed off.
#
# On the old code every write re-armed the rotation one MSL from then, so
# no rotation happened once the writes began: the key that made the cookie
# stayed current and its ACK was handed off.
#
# timeout: 120

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
SPOOF=10.0.1.100
MSL=2
SEQ=5000000
SYNFLOOD=$(dirname "$0")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
raw_peer "$client" "$server" $SPOOF || skip_test "cannot add a neighbour entry"
load_synguard mode=2 msl=$MSL || exit
dmesg_mark
tmpd=$(mktemp -d)
echo_server_start "$server" $SRV $PORT ||
	{ ksft_fail "listener on $PORT"; exit "$ksft_fail"; }

# syn SPORT: a SYN from SPOOF:SPORT; prints "synack SPORT COOKIE TSVAL".
syn() {
	rawtcp --src $SPOOF --dst $SRV --sport "$1" --dport $PORT \
		syn --seq $SEQ | grep '^synack '
}

# ack SPORT COOKIE TSVAL: the third ACK for that SYN+ACK.
ack() {
	rawtcp --src $SPOOF --dst $SRV --sport "$1" --dport $PORT \
		ack --seq $((SEQ + 1)) --ack $((($2 + 1) & 0xffffffff)) --tsecr "$3"
}

n_estab() {
	ip netns exec "$server" ss -Htn state established \
		"( sport = :$PORT and dport = :$1 )" | wc -l
}

rejected() {
	echo $(($(sg_delta "$server" cookie_expired) + $(sg_delta "$server" cookie_bad_mac)))
}
rejected_ge() { [ "$(rejected)" -ge "$1" ]; }

# ---- a. msl written every 0.3 s; a cookie made 1 MSL in, replayed 4 MSL on
# SYNs from spoofed sources, 4 a second: ACKs are checked for 2 MSL after
# the last cookie sent (their SYN+ACKs die in the client namespace).
ip netns exec "$client" "$SYNFLOOD" --quiet --dst $SRV --dport $PORT \
	--mode syn --src-prefix 10.98.0.0/24 --opts none --rate 4 --duration 60 &
bg_track $!
# The writer counts its writes in $tmpd/writes and stops at $tmpd/stop.
# shellcheck disable=SC2016 # a script for sh -c
ip netns exec "$server" sh -c '
	n=0
	while [ ! -e "$1/stop" ] && [ "$n" -lt 300 ]; do
		echo "$2" >/proc/sys/net/synguard/msl || exit 1
		n=$((n + 1))
		echo "$n" >"$1/writes"
		sleep 0.3
	done' sh "$tmpd" $MSL &
writer=$!
bg_track $writer
start=$(date +%s%3N)
slowwait 10 test -s "$tmpd/writes"
# From here on the old code never rotated: the key current one MSL into the
# writes stays current. The new one rotates every MSL all the same.
sleep $((MSL + 1))
read -r _ sport0 cookie0 tsval0 <<<"$(syn 40000)"
made=$(date +%s%3N)
[ -n "$cookie0" ]
ksft_check $? "a: a cookie $((made - start)) ms into the msl writes ($cookie0)" || exit
sleep $((4 * MSL))
sg_snap "$server"
ack "$sport0" "$cookie0" "$tsval0"
busywait 5000 rejected_ge 1
ksft_info "a: cookie_expired +$(sg_delta "$server" cookie_expired), cookie_bad_mac +$(sg_delta "$server" cookie_bad_mac), cookie_valid +$(sg_delta "$server" cookie_valid)"
[ "$(rejected)" = 1 ] && [ "$(sg_delta "$server" cookie_valid)" = 0 ]
ksft_check $? "a: the cookie, $(($(date +%s%3N) - made)) ms old, is rejected despite the msl writes"
touch "$tmpd/stop"
wait $writer
ksft_check $? "a: msl=$MSL was written $(cat "$tmpd/writes") times in $(($(date +%s%3N) - start)) ms"
expect_delta "$server" handoff_ok -eq 0 "a: it opens nothing"
n=$(n_estab "$sport0")
[ "$n" = 0 ]
ksft_check $? "a: no connection from port $sport0 ($n)"

# ---- b. a fresh cookie is good. A kernel client, not rawtcp: its ACK
# follows the SYN+ACK at once, where two python starts on the debug kernel
# outlast the cookie's 2*MSL.
sg_snap "$server"
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "b: a connection made now echoes 64 KiB"
expect_delta "$server" handoff_ok -eq 1 "b: a fresh cookie is handed off"

cleanup_bg
check_dmesg_clean
ksft_exit
