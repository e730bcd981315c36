#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Adaptive mode (mode=1, the default): synguard stays out of the way until a
# flood comes, then answers SYNs, and lets go a hold time after it ends.
#
#  1. No flood: connections are the kernel's own (pass_off moves, no cookie,
#     no hand-off, not engaged).
#  2. The rate trigger, syn_rate "LOW HIGH" = "50 5000", hold 3 s, the
#     queue trigger out of reach: a flood of 300 SYN/s (between low and
#     high) does not engage it, and the syn_rate gauge shows the flood; a
#     full-speed flood engages it (engage_on +1, cookies sent, a legitimate
#     connection is handed off); back at 300 SYN/s it stays engaged for
#     more than twice the hold time without flapping (hysteresis); once the
#     flood stops it disengages. The connection opened while engaged still
#     moves data both ways after that, and a new connection is the kernel's
#     again.
#  3. The queue trigger, syn_rate "0 0" (off), queue_fill "25 50": a slow
#     flood that fills a small listener's SYN queue engages it; it
#     disengages after the flood.
#
# Those rates fit Debian's kernels, whose guests flood at thousands of SYN/s;
# on a slower guest (the debug kernel: a few hundred) they are scaled down
# from the full-speed rate measured first: HIGH at half of it, 300 at an
# eighth, LOW at a sixth of that.
#
# timeout: 300

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CLI=10.0.1.1
SRV=10.0.1.2
SPOOF=10.99.0.0/16
PORT=7000	# backlog 65535: even a full-speed flood cannot fill its queue
QPORT=7001	# backlog 16: a slow flood fills its queue
HOLD=3
MID=300		# SYN/s: between the low and the high rate threshold
LOW=50
HIGH=5000
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
# SYN-RECV entries of the spoofed flood expire after one second, so the big
# listener's queue only holds about a second of flood.
ip netns exec "$server" sysctl -qw net.ipv4.tcp_synack_retries=0 \
	net.core.somaxconn=65535 || skip_test "cannot set the server's sysctls"
load_synguard mode=1 msl=30 || exit
dmesg_mark
tmpd=$(mktemp -d)
in_s() { ip netns exec "$server" "$@"; }
stat_is() { [ "$(sg_stat "$server" "$1")" = "$2" ]; }

# echo_conn NAME [hold]: a connection echoes 64 KiB ($tmpd/NAME.out); with
# hold, it then waits for $tmpd/NAME.go and echoes 64 KiB again.
echo_conn() {
	echo_client "$client" $SRV $PORT "$tmpd/$1.out" ${2:+"$tmpd/$1.go"}
}

# flood_start TAG PORT RATE (0: full speed): pid in $flood.
flood_start() {
	ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport "$2" --mode syn \
		--opts mix --src-prefix $SPOOF --rate "$3" --duration 120 --quiet \
		>"$tmpd/flood-$1.out" 2>&1 &
	flood=$!
	bg_track $flood
}
flood_stop() {
	kill -INT "$flood"
	wait "$flood" 2>/dev/null
	ksft_info "$1 flood: $(cat "$tmpd/flood-$1.out")"
}

# somaxconn caps listen()'s backlog (4096 by default): a slow flood
# would fill even PORT's queue in 14 s and engage the queue trigger.
in_s sysctl -qw net.core.somaxconn=65535
echo_server_start "$server" $SRV $PORT 65535 && echo_server_start "$server" $SRV $QPORT 16 ||
	{ ksft_fail "echo servers listen"; exit "$ksft_fail"; }

# ---- 1. no flood: the kernel's own connections
sg_snap "$server"
echo_conn quiet
ksft_check $? "no flood: a connection echoes 64 KiB intact"
stat_is engaged 0 && [ "$(sg_delta "$server" cookie_sent)" = 0 ] &&
	[ "$(sg_delta "$server" handoff_ok)" = 0 ] &&
	[ "$(sg_delta "$server" pass_off)" -ge 1 ]
ksft_check $? "no flood: not engaged, the SYN passed to the kernel, no cookie"

# ---- 2. the rate trigger and its hysteresis
# How fast can this guest flood? The gauge measures in every mode.
in_s sysctl -qw net.synguard.syn_rate="0 0" net.synguard.queue_fill="100 100"
flood_start calibrate $PORT 0
full=0
# (The gauge is refreshed every 100 ms: sample it for 3 s, keep the best.)
for _ in $(seq 15); do
	r=$(sg_stat "$server" syn_rate)
	[ "$r" -gt "$full" ] && full=$r
	sleep 0.2
done
flood_stop calibrate
ksft_info "full-speed flood: $full SYN/s"
[ "$full" -ge 60 ] || skip_test "this guest floods at $full SYN/s only"
if [ "$full" -lt $((2 * HIGH)) ]; then
	HIGH=$((full / 2)) MID=$((full / 8))
	LOW=$((MID / 6 > 0 ? MID / 6 : 1))
	ksft_info "a slow guest: thresholds $LOW $HIGH, between them $MID SYN/s"
fi
# The next rate sample spans the pause since the last one, and with it the
# calibration flood's last SYNs (up to a tenth of a second of them): wait
# until the gauge, which averages over the same span, is well below HIGH,
# or the first SYN of the slow flood engages synguard on the fast one.
rate_below() { [ "$(sg_stat "$server" syn_rate)" -lt "$1" ]; }
slowwait 30 rate_below $((HIGH / 4))
ksft_check $? "after the calibration flood the syn_rate gauge falls below $((HIGH / 4)) ($(sg_stat "$server" syn_rate))"
in_s sysctl -qw net.synguard.syn_rate="$LOW $HIGH" net.synguard.queue_fill="100 100" \
	net.synguard.hold=$HOLD
sg_snap "$server"
flood_start mid $PORT $MID
slowwait 10 eval '[ "$(sg_stat "$server" syn_rate)" -ge $((MID / 2)) ]'
ksft_check $? "a flood of $MID SYN/s: the syn_rate gauge shows it ($(sg_stat "$server" syn_rate))"
# Three hold times of SYNs between the thresholds: nothing engages.
t0=$(date +%s)
slowwait $((3 * HOLD)) eval '! stat_is engage_on 0 || ! stat_is engaged 0'
[ "$(sg_delta "$server" engage_on)" = 0 ] && stat_is engaged 0 &&
	[ "$(sg_delta "$server" cookie_sent)" = 0 ]
ksft_check $? "$MID SYN/s (between low and high) for $(($(date +%s) - t0)) s: not engaged"
flood_stop mid

sg_snap "$server"
flood_start full $PORT 0
slowwait 10 stat_is engaged 1
ksft_check $? "a full-speed flood engages synguard (syn_rate $(sg_stat "$server" syn_rate))"
expect_delta "$server" engage_on = 1 "engaged once"
slowwait 10 eval '[ "$(sg_delta "$server" cookie_sent)" -ge 100 ]'
ksft_check $? "the flood is answered with cookies ($(sg_delta "$server" cookie_sent))"
echo_conn held hold &
held=$!
bg_track $held
slowwait 30 grep -q ok "$tmpd/held.out"
ksft_check $? "engaged: a connection echoes 64 KiB intact"
expect_delta "$server" handoff_ok -ge 1 "engaged: that connection was handed off"
# The slower flood starts before the full one stops: on a slow guest the
# steps between them could outlast the hold time.
full_pid=$flood
flood_start mid2 $PORT $MID
mid2_pid=$flood
flood=$full_pid
flood_stop full
flood=$mid2_pid

sg_snap "$server"
t0=$(date +%s)
slowwait $((2 * HOLD + 2)) eval '! stat_is engaged 1'
stat_is engaged 1 && [ "$(sg_delta "$server" engage_on)" = 0 ]
ksft_check $? "back at $MID SYN/s: still engaged after $(($(date +%s) - t0)) s, no flapping"
expect_delta "$server" cookie_sent -gt 0 "back at $MID SYN/s: still answered with cookies"
flood_stop mid2
t0=$(date +%s%3N)
slowwait $((HOLD + 15)) stat_is engaged 0
ksft_check $? "the flood stopped: disengaged after $(($(date +%s%3N) - t0)) ms (hold ${HOLD} s)"
[ "$(sg_stat "$server" flows)" -ge 1 ]
ksft_check $? "the flow opened while engaged lives on ($(sg_stat "$server" flows) flows)"
touch "$tmpd/held.go"
wait $held
[ "$(sed -n 3p "$tmpd/held.out")" = ok ]
ksft_check $? "after disengaging: the connection opened while engaged echoes 64 KiB again"
sg_snap "$server"
echo_conn after &&
	[ "$(sg_delta "$server" handoff_ok)" = 0 ] && [ "$(sg_delta "$server" pass_off)" -ge 1 ]
ksft_check $? "after disengaging: a new connection is the kernel's again"

# ---- 3. the queue trigger
in_s sysctl -qw net.synguard.syn_rate="0 0" net.synguard.queue_fill="25 50" \
	net.ipv4.tcp_synack_retries=5
sg_snap "$server"
flood_start queue $QPORT 100
slowwait 20 stat_is engaged 1
ksft_check $? "a slow flood filling a backlog-16 SYN queue engages synguard"
expect_delta "$server" engage_on = 1 "queue trigger: engaged once"
slowwait 10 eval '[ "$(sg_delta "$server" cookie_sent)" -ge 10 ]'
ksft_check $? "queue trigger: the flood is answered with cookies"
flood_stop queue
slowwait $((HOLD + 15)) stat_is engaged 0
ksft_check $? "queue trigger: disengaged after the flood"

cleanup_bg
check_dmesg_clean
ksft_exit
