#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ACKs that claim to complete a cookie handshake, with synguard mode=2:
#
#  a. 1000 ACKs with random seq/ack from a spoofed prefix (synflood --mode
#     ack) open nothing: no ESTABLISHED socket on the server, no flow, and
#     cookie_bad_mac + cookie_expired grew by at least 990.
#  b. A valid cookie made from outside: hping3 sends one SYN without options
#     and tcpdump in the client namespace reads the SYN+ACK. Its low byte
#     follows module/cookie.c's layout (MSS index 0 = 536, wscale 15 = none,
#     no SACK, key bit either) and the server holds no SYN-RECV socket (the
#     cookie is stateless). The client's kernel RSTs that unexpected SYN+ACK;
#     once the RST has gone, synflood replays the ACK the client would have
#     sent: the server then has exactly one ESTABLISHED socket from that
#     client port, handoff_ok moved by 1 and the flow is listed. Three more
#     copies of the ACK reach the relay (relay_in) and open nothing more.
#  c. Expiry: a fresh cookie, replayed once it is older than 2 * MSL, opens
#     nothing and counts as cookie_expired.
#
# About timing: the keys rotate every MSL, and a write to the msl sysctl
# makes the next rotation due one (new) MSL after the current key was born
# (module/netns.c, keys_schedule): at once if that is past. The test sets
# the key clock before each SYN (restart_keys) so that the key generation
# of every replay is known.
# And synguard only checks ACKs for cookies while it has sent one in the
# last 2 * MSL (hooks.c, cookies_sent), so the test keeps that window open
# with a SYN from a spoofed, unreachable source where needed.
#
# timeout: 300

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

# Set by setup_ns.
client=''
server=''

PORT=8080
PY=/usr/bin/python3
CLI=10.0.1.1
SRV=10.0.1.2
MSL=4
SYNFLOOD=$(dirname "$0")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "tcpdump --version" "run test without tcpdump"
checktool "hping3 --version" "run test without hping3"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

# n_estab [SPORT]: ESTABLISHED sockets of the listener port in the server
# namespace, from client port SPORT if given.
n_estab() {
	local filter="sport = :$PORT"
	[ -n "${1:-}" ] && filter="$filter and dport = :$1"
	ip netns exec "$server" ss -Htn state established "( $filter )" | wc -l
}

n_synrecv() {
	ip netns exec "$server" ss -Htn state syn-recv "( sport = :$PORT )" | wc -l
}

# n_flows: entries in the server's /proc/net/synguard_flows.
n_flows() {
	ip netns exec "$server" tail -n +2 /proc/net/synguard_flows | wc -l
}

# set_msl N: write the sysctl.
set_msl() {
	ip netns exec "$server" sh -c "echo $1 >/proc/sys/net/synguard/msl"
}

# restart_keys N: a key born less than RESTART_MS ago, then msl N: the
# next rotations are N, 2N, ... seconds after that birth. msl=1 rotates
# at once (a key older than 1 s is overdue) and then every second.
RESTART_MS=1500
restart_keys() {
	set_msl 1 && sleep 1.2 && set_msl "$1"
}

# keep_cookies_open: one cookie for a spoofed, unreachable source, so that
# synguard keeps checking ACKs for another 2 * MSL (its reply is dropped
# by the client namespace, which does not forward).
keep_cookies_open() {
	local before
	before=$(sg_stat "$server" cookie_sent)
	ip netns exec "$client" "$SYNFLOOD" --quiet --dst "$SRV" --dport "$PORT" \
		--mode syn --src-prefix 10.98.0.0/24 --opts none --count 1 >/dev/null &&
		busywait 5000 stat_above "$server" cookie_sent "$before"
}

stat_above() { [ "$(sg_stat "$1" "$2")" -gt "$3" ]; }

setup_ns client server || exit
veth_pair "$client" "$server" "$CLI/24" "$SRV/24" || skip_test "cannot make a veth pair"
cli_dev=$VETH1

load_synguard_or_exit mode=2 msl=$MSL
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
echo hello >"$tmpd/www/index.html"
ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	"$PORT" >"$tmpd/server.log" 2>&1 &
bg_track $!
if ! wait_port_listen "$server" "$PORT" tcp 60; then
	ksft_fail "http.server listens on port $PORT"
	sed 's/^/#   /' "$tmpd/server.log"
	exit "$ksft_fail"
fi

# ------------------------------------------------- a. random ACK flood

keep_cookies_open
ksft_check $? "a: a cookie was sent (ACKs are checked from now on)"
sg_snap "$server"
ip netns exec "$client" "$SYNFLOOD" --quiet --dst "$SRV" --dport "$PORT" \
	--mode ack --src-prefix 10.99.0.0/16 --opts mix --count 1000 \
	--rate 20000 >"$tmpd/flood.out"
rc=$?
ksft_check "$rc" "a: synflood --mode ack sent 1000 ACKs ($(cat "$tmpd/flood.out"))"

# Each ACK is counted as soon as it is dropped; wait for the last ones.
rejected() {
	local b e
	b=$(sg_delta "$server" cookie_bad_mac) && e=$(sg_delta "$server" cookie_expired) &&
		echo $((b + e))
}
rejected_ge() { [ "$(rejected)" -ge "$1" ]; }
busywait 10000 rejected_ge 1000
n=$(rejected)
if [ "$n" -ge 990 ] && [ "$n" -le 1000 ]; then
	ksft_pass "a: $n of 1000 ACKs rejected (bad_mac $(sg_delta "$server" cookie_bad_mac), expired $(sg_delta "$server" cookie_expired))"
else
	ksft_fail "a: $n of 1000 ACKs rejected, want 990..1000 (bad_mac $(sg_delta "$server" cookie_bad_mac), expired $(sg_delta "$server" cookie_expired))"
fi
expect_delta "$server" cookie_valid -eq 0 "a: no random ACK had a valid cookie"
expect_delta "$server" handoff_ok -eq 0 "a: no hand-off"
n=$(n_estab)
[ "$n" = 0 ]
ksft_check $? "a: no ESTABLISHED socket on the server ($n)"
nflows=$(sg_stat "$server" flows)
[ "$nflows" = 0 ] && [ "$(n_flows)" = 0 ]
ksft_check $? "a: no flow (flows=$nflows, listed $(n_flows))"

# --------------------------------------------------- cookie from outside

# get_cookie SPORT SEQ NAME [CMD...]: start a capture in the client
# namespace, run CMD (if any; T_CMD0/T_CMD1 are the wall clock in ms just
# before and after it), send one option-less SYN from CLI:SPORT with ISN SEQ,
# and set COOKIE to the ISN of the SYN+ACK the client sees and COOKIE_MS to
# the time it was captured. Also waits for the client kernel's RST to that
# SYN+ACK, so that it has reached the server before anything else is sent.
get_cookie() {
	local sport=$1 seq=$2 name=$3 pcap="$tmpd/$3.pcap" tdpid line ack ts
	shift 3

	COOKIE='' COOKIE_MS=''
	ip netns exec "$client" tcpdump --immediate-mode -Z root -U -nn -S -i "$cli_dev" -w "$pcap" \
		"tcp port $PORT and tcp port $sport" 2>"$tmpd/$name.tcpdump" &
	tdpid=$!
	bg_track "$tdpid"
	slowwait 20 grep -q "listening on" "$tmpd/$name.tcpdump" || return 1
	T_CMD0=$(date +%s%3N)
	if [ $# -gt 0 ]; then "$@" || return 1; fi
	T_CMD1=$(date +%s%3N)
	# hping3 lingers a second for replies: let it, in the background.
	ip netns exec "$client" timeout 10 hping3 -q -S -p "$PORT" -s "$sport" -k \
		-M "$seq" -c 1 "$SRV" >"$tmpd/$name.hping" 2>&1 &
	bg_track $!
	busywait 10000 pcap_has "$pcap" "^[0-9.]+ IP $CLI\\.$sport > $SRV\\.$PORT: Flags \\[R" || {
		tcpdump -tt -nn -S -r "$pcap" 2>/dev/null | sed "s/^/# $name: /"
		return 1
	}
	kill "$tdpid" 2>/dev/null
	wait "$tdpid" 2>/dev/null
	tcpdump -tt -nn -S -r "$pcap" 2>/dev/null | sed "s/^/# $name: /"
	line=$(tcpdump -tt -nn -S -r "$pcap" 2>/dev/null |
		grep -E "^[0-9.]+ IP $SRV\\.$PORT > $CLI\\.$sport: Flags \\[S\\.\\]" | head -1)
	read -r ts COOKIE ack <<<"$(sed -nE \
		's/^([0-9]+)\.([0-9]{3}).* Flags \[S\.\], seq ([0-9]+), ack ([0-9]+),.*/\1\2 \3 \4/p' <<<"$line")"
	COOKIE_MS=$ts
	[ -n "$COOKIE" ] && [ "$ack" = $(((seq + 1) & 0xffffffff)) ]
}

pcap_has() { tcpdump -tt -nn -S -r "$1" 2>/dev/null | grep -Eq "$2"; }

# replay SPORT SEQ COOKIE N: send the client's third ACK N times.
replay() {
	ip netns exec "$client" "$SYNFLOOD" --quiet --dst "$SRV" --dport "$PORT" \
		--mode replay --replay-src "$CLI" --replay-sport "$1" \
		--replay-seq $((($2 + 1) & 0xffffffff)) \
		--replay-ack $((($3 + 1) & 0xffffffff)) --count "$4" >/dev/null
}

# ------------------------------------------------- b. valid cookie ACK

SPORT=40001
SEQ=1000000
sg_snap "$server"
# A long MSL for this part (from a fresh key): the cookie
# stays valid however slow the guest is.
if ! get_cookie "$SPORT" "$SEQ" b restart_keys 30; then
	ksft_fail "b: SYN+ACK with a cookie captured in the client namespace"
	exit "$ksft_fail"
fi
cookie=$COOKIE
ksft_pass "b: SYN+ACK with a cookie captured in the client namespace"
low=$((cookie & 0xff))
ksft_info "b: cookie $(printf '%08x' "$cookie"), low byte $(printf '%02x' "$low")"
# key bit 0x80 either way; SACK 0x40 off; wscale bits 5..2 = 15; MSS index 0.
[ $((low & 0x7f)) = $(((15 << 2) | 0)) ]
ksft_check $? "b: cookie low byte $(printf '0x%02x' "$low") says MSS 536, no wscale, no SACK"
expect_delta "$server" cookie_sent -eq 1 "b: one cookie sent"
n=$(n_synrecv)
[ "$n" = 0 ]
ksft_check $? "b: no SYN-RECV socket on the server: the cookie is stateless ($n)"
n=$(n_estab "$SPORT")
[ "$n" = 0 ]
ksft_check $? "b: the client's RST opened nothing ($n ESTABLISHED)"

replay "$SPORT" "$SEQ" "$cookie" 1
ksft_check $? "b: replayed the valid ACK once"
estab_ge() { [ "$(n_estab "$1")" -ge "$2" ]; }
slowwait 10 estab_ge "$SPORT" 1
n=$(n_estab "$SPORT")
[ "$n" = 1 ]
ksft_check $? "b: exactly one ESTABLISHED socket from $CLI:$SPORT ($n)"
expect_delta "$server" cookie_valid -eq 1 "b: the cookie checked out"
expect_delta "$server" handoff_ok -eq 1 "b: handed off once"
ip netns exec "$server" cat /proc/net/synguard_flows | sed 's/^/# b: /'
ip netns exec "$server" grep -q "^ipv4 $CLI:$SPORT $SRV:$PORT established " \
	/proc/net/synguard_flows
ksft_check $? "b: /proc/net/synguard_flows lists the flow as established"

relay0=$(sg_stat "$server" relay_in)
replay "$SPORT" "$SEQ" "$cookie" 3
ksft_check $? "b: replayed the valid ACK 3 more times"
# Each copy goes through the flow: wait until the relay has seen all three.
busywait 10000 stat_above "$server" relay_in $((relay0 + 2))
d=$(( $(sg_stat "$server" relay_in) - relay0 ))
[ "$d" -ge 3 ]
ksft_check $? "b: the 3 copies reached the relay (relay_in +$d)"
n=$(n_estab "$SPORT")
[ "$n" = 1 ]
ksft_check $? "b: still exactly one ESTABLISHED socket from $CLI:$SPORT ($n)"
expect_delta "$server" handoff_ok -eq 1 "b: a retransmitted valid ACK opens no second connection"
expect_delta "$server" handoff_fail -eq 0 "b: no failed hand-off"

# ------------------------------------------------- c. expired cookie

# Keys rotate at b + MSL, + 2 MSL, + 3 MSL, where b, the birth of the key
# current at t1 (the msl write), is at most RESTART_MS before t1. A cookie
# made before b + MSL is valid until b + 2 MSL, expired (made by the key
# before the previous one) until b + 3 MSL, then just unknown (bad MAC).
# The replay aims at t1 + 2.5 MSL. Part c uses a longer MSL than a and b
# (the window is one MSL wide) and retries when the guest was too slow to
# hit the window; a replay that did hit it must count as expired.
MSL_C=6

# sleep_until MS: time itself is the subject here.
sleep_until() {
	local ms=$(($1 - $(date +%s%3N)))
	[ "$ms" -gt 0 ] && sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}

rej_ge1() { [ "$(rejected)" -ge 1 ]; }

# expired_try NAME SPORT: 0 if the replay counted as cookie_expired and
# opened nothing, 1 if it hit the window and was not counted as expired
# (or opened something), 2 if the guest was too slow to judge.
expired_try() {
	local name=$1 sport=$2 seq=2000000 t0 t1 t2 t3 rc n

	get_cookie "$sport" "$seq" "$name" restart_keys "$MSL_C"
	rc=$?
	t0=$T_CMD0 t1=$T_CMD1
	# It must have been made by the first key after the write.
	if [ "$rc" != 0 ] || [ $((COOKIE_MS - t1)) -ge $((MSL_C * 1000 - RESTART_MS)) ]; then
		ksft_info "$name: no cookie within one MSL of the msl write (rc=$rc, $((COOKIE_MS - t0)) ms)"
		return 2
	fi
	ksft_info "$name: cookie $(printf %08x "$COOKIE") made $((COOKIE_MS - t1)) ms after the msl write"

	# Keep synguard checking ACKs past t0 + 2 MSL: one more cookie after
	# t0 + MSL. (It does anyway after part b's 2 * 30 s; this is so that
	# part c does not depend on part b.)
	sleep_until $((t1 + MSL_C * 1000 + 200))
	if ! keep_cookies_open; then
		ksft_info "$name: no cookie sent after t0 + MSL"
		return 2
	fi

	sg_snap "$server"
	sleep_until $((t1 + MSL_C * 2500))
	t2=$(date +%s%3N)
	replay "$sport" "$seq" "$COOKIE" 1
	rc=$?
	t3=$(date +%s%3N)
	ksft_info "$name: replayed $((t2 - t1))..$((t3 - t0)) ms after the msl write (rc=$rc), window $((2 * MSL_C * 1000))..$((3 * MSL_C * 1000))"
	busywait 5000 rej_ge1
	ksft_info "$name: cookie_expired +$(sg_delta "$server" cookie_expired), bad_mac +$(sg_delta "$server" cookie_bad_mac), valid +$(sg_delta "$server" cookie_valid), handoff_ok +$(sg_delta "$server" handoff_ok)"
	n=$(n_estab "$sport")
	if [ "$(sg_delta "$server" cookie_valid)" != 0 ] || [ "$n" != 0 ]; then
		ksft_fail "c: an expired cookie opened a connection ($n ESTABLISHED)"
		return 1
	fi
	[ "$(sg_delta "$server" cookie_expired)" = 1 ] && return 0
	if [ "$rc" != 0 ] || [ "$t2" -lt $((t1 + 2 * MSL_C * 1000)) ] ||
		[ "$t3" -ge $((t1 + 3 * MSL_C * 1000 - RESTART_MS)) ]; then
		ksft_info "$name: the replay missed the window: the guest was too slow"
		return 2
	fi
	return 1
}

res=2
for try in 1 2 3; do
	expired_try "c$try" $((40001 + try))
	res=$?
	[ "$res" = 2 ] || break
done
case "$res" in
0) ksft_pass "c: a cookie 2.5 MSL old is rejected as cookie_expired, opens nothing" ;;
1) ksft_fail "c: a cookie 2.5 MSL old is rejected as cookie_expired, opens nothing" ;;
*) ksft_skip "c: the guest was too slow to replay within [2 MSL, 3 MSL) in 3 tries" ;;
esac
n=$(n_estab)
[ "$n" = 1 ]
ksft_check $? "c: the server still has just part b's connection ($n ESTABLISHED)"

cleanup_bg
unload_synguard
ksft_check $? "rmmod synguard"
check_dmesg_clean
ksft_exit
