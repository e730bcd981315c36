#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What synguard tells operators: the synguard:* tracepoints (through a
# tracefs instance of the test's own, filtered on the server namespace) and
# its kernel log lines ("synguard: netns N: ...", one per event).
#
#  1. mode=2, msl=1: one IPv4 and one IPv6 connection echo 64 KiB and close.
#     Each has its events in order: synguard_cookie_sent, then
#     synguard_handoff_ok (with the client's MSS), and its flow's states
#     handoff, established, fin_client, closing, time_wait, freed.
#  2. msl=30: an ACK whose cookie's MAC is wrong (after a real SYN+ACK)
#     gives one synguard_ack_reject with reason=bad_mac, kernel=0, and that
#     cookie. (msl=1 again from here.)
#  3. max_flows=2: two connections held, three more refused. The log says
#     "flow table full" once, then, after the two close and linger, "has room
#     again ...: 3 hand-offs refused"; three synguard_handoff_fail with
#     reason=flows_full. A second fill is a second episode: one more line
#     each way, "1 hand-offs refused".
#  4. Adaptive mode, the rate trigger (syn_rate "1 50", hold 2 s): a flood
#     of 200 SYN/s for three hold times, then silence. The log has exactly
#     one "engaged by SYN rate" line (rate at or above 50) and one
#     "disengaged after T s: N cookies sent" line, N being what cookie_sent
#     moved by and T between the hold time and the flood's length plus the
#     hold (and some slack); the tracepoints say the same.
#  5. The queue trigger (syn_rate "0 0", queue_fill "25 50"): a slow flood
#     filling a backlog-16 SYN queue gives exactly one "engaged by SYN queue
#     of port ..." line (fill at or above 50 %) and one "disengaged" line.
#  6. Engaged again, the server namespace is deleted and the module
#     unloaded before the episode ends (its end work pending, the events
#     on in the tracefs instance): nothing in dmesg.
#
# timeout: 300

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CLI=10.0.1.1
SRV=10.0.1.2
CLI6=fd00:10:0:1::1
SRV6=fd00:10:0:1::2
SPOOF=10.0.1.100
FLOODNET=10.99.0.0/16
PORT=8080	# echo server, backlog 4096: the rate trigger's listener
QPORT=8081	# echo server, backlog 16: the queue trigger's
HOLD=2
SEQ=7000000
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
TRACEFS=/sys/kernel/tracing
tfs_mounted_here=0
inst=''

cleanup() {
	cleanup_bg
	if [ -n "$inst" ] && [ -d "$inst" ]; then
		# (Gone with the module, if the test unloaded it.)
		[ -e "$inst/events/synguard/enable" ] &&
			echo 0 >"$inst/events/synguard/enable"
		rmdir "$inst"
	fi
	[ "$tfs_mounted_here" = 1 ] && umount "$TRACEFS"
	cleanup_all
}
trap cleanup EXIT

if [ ! -d "$TRACEFS/instances" ]; then
	mount -t tracefs nodev "$TRACEFS" 2>/dev/null ||
		skip_test "no tracefs at $TRACEFS"
	tfs_mounted_here=1
fi

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
raw_peer "$client" "$server" $SPOOF || skip_test "cannot add a neighbour entry"
load_synguard mode=2 msl=1 || exit
dmesg_mark
tmpd=$(mktemp -d)
in_s() { ip netns exec "$server" "$@"; }
# SYN-RECV entries of the queue trigger's flood stay (5 SYN+ACK retries).
in_s sysctl -qw net.ipv4.tcp_synack_retries=5 ||
	skip_test "cannot set the server's sysctls"
echo_server_start "$server" :: $PORT 4096 && echo_server_start "$server" $SRV $QPORT 16 ||
	{ ksft_fail "echo servers listen"; exit "$ksft_fail"; }

# The server namespace's inode number: the netns of every line and event.
netns=$(in_s stat -L -c %i /proc/self/ns/net)
ksft_info "server netns $netns"

# A tracefs instance of our own, so that nothing else's tracing is touched,
# and only the server namespace's events.
inst=$TRACEFS/instances/synguard-selftest-$$
mkdir "$inst" || skip_test "cannot make a tracefs instance"
if [ ! -d "$inst/events/synguard" ]; then
	ksft_fail "the synguard events exist in tracefs"
	exit "$ksft_fail"
fi
if echo "netns == $netns" >"$inst/events/synguard/filter"; then
	ksft_pass "filter the synguard events on netns $netns"
else
	ksft_fail "filter the synguard events on netns $netns"
fi

# trace_on EVENT...: record only these synguard events (all: "synguard"),
# from an empty buffer.
trace_on() {
	local e
	echo 0 >"$inst/events/synguard/enable"
	: >"$inst/trace"
	for e in "$@"; do
		if [ "$e" = synguard ]; then
			echo 1 >"$inst/events/synguard/enable"
		else
			echo 1 >"$inst/events/synguard/$e/enable"
		fi
	done
}
# trace_lines ERE: the recorded events matching ERE, "name: fields" only.
trace_lines() {
	sed -nE 's/^.* (synguard_[a-z_]+: )/\1/p' "$inst/trace" | grep -E -- "$1"
}
trace_has() { trace_lines "$1" >/dev/null; }
# show_trace TAG: the recorded events, as comments.
show_trace() { trace_lines . | head -40 | sed "s/^/# $1: /"; }

# log_lines ERE: our namespace's synguard lines since dmesg_mark matching ERE.
log_lines() {
	dmesg_since | grep -F "synguard: netns $netns: " |
		sed 's/^\[[^]]*\] //' | grep -E -- "$1"
}
log_count() { log_lines "$1" | wc -l; }
log_count_is() { [ "$(log_count "$1")" = "$2" ]; }

# ---- 1. one connection's events, IPv4 and IPv6

# conn_events TAG ADDR CLIENT_ERE MSS: a connection echoes 64 KiB; check
# its events.
conn_events() {
	local tag=$1 addr=$2 caddr=$3 mss=$4 cport who states want
	trace_on synguard
	echo_client "$client" "$addr" $PORT "$tmpd/$tag.out"
	ksft_check $? "$tag: a connection echoes 64 KiB intact" || return
	cport=$(head -n1 "$tmpd/$tag.out")
	who="client=$caddr:$cport local="
	# The close is done once the flow is freed (2 * MSL after the FINs).
	slowwait 15 trace_has "^synguard_flow_state: .*$who.* state=freed"
	show_trace "$tag"
	[ "$(trace_lines "^synguard_cookie_sent: .*$who" | wc -l)" = 1 ]
	ksft_check $? "$tag: one synguard_cookie_sent for $caddr:$cport"
	trace_has "^synguard_handoff_ok: .*$who.* mss=$mss "
	ksft_check $? "$tag: synguard_handoff_ok with mss=$mss"
	trace_lines "^synguard_(cookie_sent|handoff_ok): .*$who" | cut -d: -f1 |
		tr '\n' ' ' | grep -qx "synguard_cookie_sent synguard_handoff_ok "
	ksft_check $? "$tag: the cookie came before the hand-off"
	states=$(trace_lines "^synguard_flow_state: .*$who" |
		sed -nE 's/.* state=([a-z_]+) .*/\1/p' | uniq | tr '\n' ' ')
	want="handoff established fin_client closing time_wait freed "
	[ "$states" = "$want" ]
	ksft_check $? "$tag: flow states: $states(want $want)"
}
conn_events IPv4 $SRV $CLI 1460
conn_events IPv6 $SRV6 "\\[$CLI6\\]" 1440

# ---- 2. a bogus ACK

# ACKs are looked at for 2 * MSL after the last cookie: more than the two
# python starts between the SYN and the ACK take on a slow guest.
in_s sysctl -qw net.synguard.msl=30
trace_on synguard_ack_reject synguard_cookie_sent
sg_snap "$server"
read -r _ sport cookie tsval <<<"$(rawtcp --src $SPOOF --dst $SRV --sport 40000 \
	--dport $PORT syn --seq $SEQ | grep '^synack ')"
[ -n "$cookie" ]
ksft_check $? "bogus ACK: a SYN+ACK to $SPOOF:40000 (cookie $cookie)" || exit
# The top bit is MAC: the key generation and the options stay as they were.
bogus=$(((cookie ^ 0x80000000) & 0xffffffff))
rawtcp --src $SPOOF --dst $SRV --sport "$sport" --dport $PORT \
	ack --seq $((SEQ + 1)) --ack $(((bogus + 1) & 0xffffffff)) --tsecr "$tsval"
bad_mac_seen() { [ "$(sg_delta "$server" cookie_bad_mac)" -ge 1 ]; }
busywait 5000 bad_mac_seen
show_trace "bogus ACK"
trace_has "^synguard_ack_reject: .*client=$SPOOF:$sport .* cookie=$(printf %08x "$bogus") reason=bad_mac kernel=0$"
ksft_check $? "bogus ACK: synguard_ack_reject reason=bad_mac kernel=0, cookie $(printf %08x "$bogus")"
expect_delta "$server" cookie_bad_mac -eq 1 "bogus ACK: counted once"

# ---- 3. the flow table full, twice

in_s sysctl -qw net.synguard.msl=1
in_s sysctl -qw net.synguard.max_flows=2 || { ksft_fail "max_flows=2"; exit "$ksft_fail"; }
flows_are() { [ "$(sg_stat "$server" flows)" = "$1" ]; }
all_ok() { [ "$(grep -c ok "$tmpd/$1.a")$(grep -c ok "$tmpd/$1.b")" = 11 ]; }

# full_episode TAG N K: hold two connections, N more are refused; release
# them and wait for the K-th "has room again" line.
full_episode() {
	local tag=$1 n=$2 i ok=0
	trace_on synguard_handoff_fail
	slowwait 15 flows_are 0
	sg_snap "$server"
	echo_client "$client" $SRV $PORT "$tmpd/$tag.a" "$tmpd/$tag.go" & bg_track $!
	echo_client "$client" $SRV $PORT "$tmpd/$tag.b" "$tmpd/$tag.go" & bg_track $!
	slowwait 30 all_ok "$tag"
	ksft_check $? "$tag: two connections hold the table ($(sg_stat "$server" flows) flows)"
	for i in $(seq "$n"); do
		echo_client "$client" $SRV $PORT "$tmpd/$tag.refused$i" 2>/dev/null || ok=$((ok + 1))
	done
	[ "$ok" = "$n" ]
	ksft_check $? "$tag: $ok of $n more connections refused"
	expect_delta "$server" flows_full -eq "$n" "$tag: flows_full"
	[ "$(trace_lines "^synguard_handoff_fail: .* reason=flows_full$" | wc -l)" = "$n" ]
	ksft_check $? "$tag: $n synguard_handoff_fail reason=flows_full"
	touch "$tmpd/$tag.go"
	slowwait 20 log_count_is "has room again" "$3"
	ksft_check $? "$tag: the table has room again after the linger"
}
full_episode "table full 1" 3 1
full_episode "table full 2" 1 2
log_lines "flow table" | sed 's/^/# log: /'
log_count_is "flow table full \(max_flows 2\): refusing hand-offs with RST\.$" 2
ksft_check $? "one 'flow table full' line per episode, two in all"
log_lines "has room again after [0-9]+\.[0-9]{3} s: " | sed -E 's/.*: ([0-9]+) hand-offs refused\.$/\1/' |
	tr '\n' ' ' | grep -qx "3 1 "
ksft_check $? "'has room again' lines: 3, then 1 hand-offs refused"
in_s sysctl -qw net.synguard.max_flows=65536

# ---- 4./5. adaptive mode's episodes

# episode TAG PORT RATE: flood PORT at RATE SYN/s for three hold times,
# then wait for the end. Checks the one engaged line (matching $EXPECT,
# whose captured number must be at or above $HIGH), the one disengaged
# line, and the tracepoints (synguard_engage with trigger $TRIGGER).
episode() {
	local tag=$1 port=$2 rate=$3 e0 d0 t0 t1 v line ms n cookies
	trace_on synguard_engage synguard_disengage
	e0=$(log_count "engaged by")
	d0=$(log_count "disengaged after")
	[ "$e0" = "$d0" ]
	ksft_check $? "$tag: no episode open before ($e0 engaged, $d0 disengaged)"
	sg_snap "$server"
	t0=$(date +%s%3N)
	ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport "$port" --mode syn \
		--opts mix --src-prefix $FLOODNET --rate "$rate" \
		--duration $((3 * HOLD)) --quiet >"$tmpd/flood-$tag.out" 2>&1
	t1=$(date +%s%3N)
	ksft_info "$tag flood: $(cat "$tmpd/flood-$tag.out")"
	slowwait $((HOLD + 15)) log_count_is "disengaged after" $((d0 + 1))
	log_lines "engaged by|disengaged after" | tail -n +$((e0 + d0 + 1)) |
		sed "s/^/# $tag log: /"
	show_trace "$tag"
	expect_delta "$server" engage_on -eq 1 "$tag: engaged once"
	log_count_is "engaged by" $((e0 + 1)) && log_count_is "$EXPECT" 1
	ksft_check $? "$tag: one 'engaged by' line, as expected"
	v=$(log_lines "$EXPECT" | sed -E "s|.*$EXPECT|\\1|")
	[ -n "$v" ] && [ "$v" -ge "$HIGH" ]
	ksft_check $? "$tag: it says ${v:-?}, at or above $HIGH"
	line=$(log_lines "disengaged after" | tail -n 1)
	log_count_is "disengaged after" $((d0 + 1))
	ksft_check $? "$tag: one 'disengaged' line"
	ms=$(sed -nE 's/.*disengaged after ([0-9]+)\.([0-9]{3}) s: .*/\1\2/p' <<<"$line")
	ms=$((10#${ms:-0}))
	n=$(sed -nE 's/.*: ([0-9]+) cookies sent\.$/\1/p' <<<"$line")
	cookies=$(sg_delta "$server" cookie_sent)
	[ -n "$n" ] && [ "$n" = "$cookies" ] && [ "$n" -gt 0 ]
	ksft_check $? "$tag: it counts ${n:-?} cookies, what cookie_sent moved by ($cookies)"
	[ "$ms" -ge $((HOLD * 1000)) ] && [ "$ms" -le $((t1 - t0 + HOLD * 1000 + 5000)) ]
	ksft_check $? "$tag: engaged for $ms ms (hold $HOLD s, flood $((t1 - t0)) ms)"
	[ "$(trace_lines "^synguard_engage: netns=$netns trigger=$TRIGGER value=$v high=$HIGH port=$port$" | wc -l)" = 1 ] &&
		[ "$(trace_lines "^synguard_disengage: netns=$netns ms=$ms cookies=$n$" | wc -l)" = 1 ]
	ksft_check $? "$tag: synguard_engage and synguard_disengage say the same, once"
}

in_s sysctl -qw net.synguard.mode=1 net.synguard.hold=$HOLD \
	net.synguard.syn_rate="1 50" net.synguard.queue_fill="100 100" ||
	{ ksft_fail "adaptive mode's sysctls"; exit "$ksft_fail"; }
HIGH=50 TRIGGER=syn_rate EXPECT="engaged by SYN rate ([0-9]+)/s \(high 50\) on port $PORT\. Sending cookies\.$"
episode "rate trigger" $PORT 200

in_s sysctl -qw net.synguard.syn_rate="0 0" net.synguard.queue_fill="25 50"
HIGH=50 TRIGGER=queue_fill EXPECT="engaged by SYN queue of port $QPORT: [0-9]+ of 16 \(([0-9]+)%, high 50%\)\. Sending cookies\.$"
episode "queue trigger" $QPORT 50

# ---- 6. the namespace and the module go while an episode is open
engaged_now() { [ "$(sg_stat "$server" engaged)" = 1 ]; }
# The flood goes on while the check polls (a 1 s flood could engage and
# let go again between two polls of a slow guest).
ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport $QPORT --mode syn \
	--opts mix --src-prefix $FLOODNET --rate 50 --duration 60 --quiet >/dev/null &
bg_track $!
slowwait 30 engaged_now
ksft_check $? "engaged again, the episode's end pending"
cleanup_bg
cleanup_ns "$server"
unload_synguard
ksft_check $? "netns deleted and rmmod with the episode open and its events on"
check_dmesg_clean
ksft_exit
