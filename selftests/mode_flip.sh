#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turning protection on and off under load loses nothing.
#
#  a. mode=0 from the start: a fetch works, and synguard is not even hooked
#     into the namespace (no hook in `nft list hooks`, pass_off and
#     cookie_sent stay 0).
#  b. Two iperf3 runs in parallel: a download (-R -t 40) opened while
#     mode=2, so handed off and relayed, and an upload (-t 15) opened while
#     mode=0, so plain; plus a loop of curl fetches (IPv4 and IPv6 in turn,
#     each sha256-checked). Meanwhile `mode` flips between 2 and 0 every
#     0.5 s, 20 times (10 s), in the server namespace, ending on 0 with the
#     relayed download still running: the client's ACKs of a relayed
#     download must be translated whatever the mode (the download runs
#     40 s so that it outlives the flips). Every fetch arrives intact, both
#     iperf3 exit 0, some connections were handed off (handoff_ok) and some
#     were opened while mode=0 (pass_off), and no hand-off failed.
#  c. Afterwards the flows drain: with msl=2, once every connection has
#     closed, /proc/net/synguard_flows empties (2 * MSL linger, then GC).
#
# timeout: 300

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

# Set by setup_ns.
client=''
server=''

HTTP=8080
IPERF_UP=5201
IPERF_DOWN=5202
PY=/usr/bin/python3
SRV4=10.0.1.2
SRV6=fd00:10:0:1::2
MSL=2

checktool "curl --version" "run test without curl"
checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "iperf3 --version" "run test without iperf3"
checktool "nft --version" "run test without nft"

tmpd=''
trap cleanup_all EXIT

# stat_col TEXT NAME: column NAME of /proc/net/stat/synguard's TEXT (a
# header row, one hex row per CPU), summed over the rows. Prints nothing
# and fails if there is no such column.
stat_col() {
	local name=$2 i col=-1 sum=0
	local -a h f
	{
		read -r -a h || return 1
		for i in "${!h[@]}"; do
			[ "${h[$i]}" = "$name" ] && col=$i
		done
		[ "$col" -ge 0 ] || return 1
		while read -r -a f; do
			sum=$((sum + 16#${f[$col]}))
		done
	} <<<"$1"
	echo "$sum"
}

stat_text() { ip netns exec "$1" cat /proc/net/stat/synguard; }

# sg_stat NS NAME: synguard's counter NAME in NS, summed over the CPUs.
sg_stat() {
	local t
	t=$(stat_text "$1") && stat_col "$t" "$2"
}

# snap [VAR]: remember all counters (one read: the guest is slow under
# load) in SNAP, or in VAR.
SNAP=''
snap() { printf -v "${1:-SNAP}" '%s' "$(stat_text "$server")"; }

# delta NAME [SINCE]: how much NAME moved since the last snap (or the
# snapshot text SINCE).
delta() {
	local now old
	if ! now=$(sg_stat "$server" "$1") || ! old=$(stat_col "${2:-$SNAP}" "$1"); then
		echo "?"
		return 1
	fi
	echo $((now - old))
}

# expect_delta NAME OP N MSG: check "delta OP N" (OP as for test(1)).
expect_delta() {
	local name=$1 op=$2 n=$3 d
	shift 3
	d=$(delta "$name")
	if [ "$d" != "?" ] && test "$d" "$op" "$n"; then
		ksft_pass "$* ($name moved by $d)"
	else
		ksft_fail "$* ($name moved by $d, expected $op $n)"
	fi
}

set_mode() {
	ip netns exec "$server" sh -c "echo $1 >/proc/sys/net/synguard/mode"
}

n_estab() {
	ip netns exec "$server" ss -Htn state established "( sport = :$1 )" | wc -l
}
estab_ge() { [ "$(n_estab "$1")" -ge "$2" ]; }

n_flows() {
	ip netns exec "$server" tail -n +2 /proc/net/synguard_flows | wc -l
}
no_flows() { [ "$(n_flows)" = 0 ]; }

# diag: what a failure report needs.
diag() {
	ksft_info "counters:"
	ip netns exec "$server" cat /proc/net/stat/synguard | sed 's/^/#   /'
	ksft_info "server sockets:"
	ip netns exec "$server" ss -tan | sed 's/^/#   /'
	ksft_info "flows:"
	ip netns exec "$server" cat /proc/net/synguard_flows | sed 's/^/#   /'
	tail -n 5 "$tmpd"/*.log 2>/dev/null | sed 's/^/#   /'
}

setup_ns client server || exit
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "cannot make a veth pair"

load_synguard_or_exit mode=0 msl=$MSL
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 1M /dev/urandom >"$tmpd/www/blob"
want=$(sha256sum <"$tmpd/www/blob")

ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	"$HTTP" >"$tmpd/http.log" 2>&1 &
bg_track $!
for p in "$IPERF_UP" "$IPERF_DOWN"; do
	ip netns exec "$server" iperf3 -s -p "$p" >"$tmpd/iperf3-s-$p.log" 2>&1 &
	bg_track $!
done
for p in "$HTTP" "$IPERF_UP" "$IPERF_DOWN"; do
	if ! wait_port_listen "$server" "$p" tcp 60; then
		ksft_fail "server listens on port $p"
		cat "$tmpd"/*.log | sed 's/^/#   /'
		exit "$ksft_fail"
	fi
done

# fetch URL: 0 if the blob arrived intact.
fetch() {
	local out=$tmpd/got.$BASHPID got
	rm -f "$out"
	ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 20 \
		--max-time 60 -o "$out" "$1" || return 1
	got=$(sha256sum <"$out")
	rm -f "$out"
	[ "$got" = "$want" ]
}

# ------------------------------------------------------------ a. mode=0

snap
fetch "http://$SRV4:$HTTP/blob"
ksft_check $? "a: mode=0: fetch intact"
n=$(sg_stat "$server" cookie_sent)
[ "$n" = 0 ]
ksft_check $? "a: mode=0: cookie_sent stays 0 ($n)"
expect_hooks "$server" 0 0 "a: mode=0 from the start: synguard has no hook in the namespace"
expect_delta pass_off -eq 0 "a: mode=0: no hook counted the SYN"
expect_delta handoff_ok -eq 0 "a: mode=0: no hand-off"

# ------------------------------------------------------ b. flipping mode

snap

# iperf_bg PORT NAME SECONDS ARGS...: iperf3 in the background; its exit
# status lands in NAME.rc.
iperf_bg() {
	local port=$1 name=$2 secs=$3
	shift 3
	(
		ip netns exec "$client" timeout 120 iperf3 -c "$SRV4" -p "$port" \
			--connect-timeout 20000 -t "$secs" "$@" \
			>"$tmpd/$name.log" 2>&1
		echo $? >"$tmpd/$name.rc"
	) &
	bg_track $!
}

# Download opened through synguard: control and data connections handed
# off; its client sends nothing but ACKs, which the relay must translate.
# It runs 40 s so that it is still going when the flips end. The checks
# come later: everything until the flips end is timing, and the guest is
# slow under iperf3.
set_mode 2
iperf_bg "$IPERF_DOWN" down 40 -R --rcv-timeout 20000
if ! slowwait 30 estab_ge "$IPERF_DOWN" 2; then
	ksft_fail "b: iperf3 download connected (mode=2)"
	diag
	exit "$ksft_fail"
fi
# Upload opened plain.
snap SNAP_UP
set_mode 0
iperf_bg "$IPERF_UP" up 15
if ! slowwait 30 estab_ge "$IPERF_UP" 2; then
	ksft_fail "b: iperf3 upload connected (mode=0)"
	diag
	exit "$ksft_fail"
fi
snap SNAP_FLIP

# A loop of fetches until told to stop; "ok bad" counts in loop.res.
(
	ok=0 bad=0 i=0
	while [ ! -e "$tmpd/stop" ]; do
		i=$((i + 1))
		if [ $((i % 2)) = 0 ]; then
			url="http://[$SRV6]:$HTTP/blob"
		else
			url="http://$SRV4:$HTTP/blob"
		fi
		if fetch "$url"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "fetch $i ($url) failed" >>"$tmpd/loop.log"
		fi
		echo "$ok $bad" >"$tmpd/loop.res"
	done
	echo "done" >>"$tmpd/loop.res"
) &
loop_pid=$!
bg_track "$loop_pid"

# Time itself is the subject: 20 flips, 2, 0, 2, ... 0, 0.5 s apart (10 s,
# more if the guest is starved). One bash in the server namespace does it
# with builtins only (echo, read -t as the sleep): with iperf3 saturating
# the guest, every fork takes long enough to spoil the timing.
mkfifo "$tmpd/never"
t_flip=$(date +%s%3N)
# shellcheck disable=SC2016 # expanded by that bash
ip netns exec "$server" bash -c '
	exec 9<>"$1"
	for ((n = 0; n < 20; n++)); do
		echo $(( n % 2 ? 0 : 2 )) >/proc/sys/net/synguard/mode || break
		read -r -t 0.5 -u 9
	done
	echo "$n"
' flipper "$tmpd/never" >"$tmpd/flips"
flips=$(cat "$tmpd/flips")
t_flip=$(( $(date +%s%3N) - t_flip ))
m=$(ip netns exec "$server" cat /proc/sys/net/synguard/mode)
[ "$flips" = 20 ] && [ "$m" = 0 ]
ksft_check $? "b: flipped mode ${flips:-?} times in $t_flip ms, now mode=$m"
iperf_rc() { [ -e "$tmpd/$1.rc" ]; }
# The download must outlive the flips for the last check to mean
# something; if the guest was too slow for that, say so.
if iperf_rc down; then
	ksft_skip "b: the relayed download ended before mode settled on 0 (guest too slow)"
else
	ksft_pass "b: the relayed download was still running when mode settled on 0"
fi

# What the two iperf3 runs opened.
down_ho=$(( $(stat_col "$SNAP_UP" handoff_ok) - $(stat_col "$SNAP" handoff_ok) ))
[ "$down_ho" -ge 2 ]
ksft_check $? "b: iperf3 download was handed off (opened while mode=2; handoff_ok +$down_ho)"
up_ho=$(( $(stat_col "$SNAP_FLIP" handoff_ok) - $(stat_col "$SNAP_UP" handoff_ok) ))
up_po=$(( $(stat_col "$SNAP_FLIP" pass_off) - $(stat_col "$SNAP_UP" pass_off) ))
[ "$up_po" -ge 2 ]
ksft_check $? "b: iperf3 upload passed untouched (opened while mode=0; pass_off +$up_po)"
[ "$up_ho" = 0 ]
ksft_check $? "b: iperf3 upload was not handed off (handoff_ok +$up_ho)"

for name in down up; do
	slowwait 120 iperf_rc "$name"
done
touch "$tmpd/stop"
loop_done() { grep -q "done" "$tmpd/loop.res" 2>/dev/null; }
slowwait 90 loop_done
read -r ok bad <"$tmpd/loop.res" 2>/dev/null
if [ "${bad:-1}" = 0 ] && [ "${ok:-0}" -ge 2 ]; then
	ksft_pass "b: every fetch during the flips arrived intact ($ok)"
else
	ksft_fail "b: every fetch during the flips arrived intact (ok=${ok:-?} bad=${bad:-?})"
	sed 's/^/#   /' "$tmpd/loop.log" 2>/dev/null
fi

for name in down up; do
	rc=$(cat "$tmpd/$name.rc" 2>/dev/null)
	if [ "$rc" = 0 ]; then
		ksft_pass "b: iperf3 $name exited 0 ($(grep -E 'receiver$' "$tmpd/$name.log" | awk '{print $5, $6, $7, $8}'))"
	else
		ksft_fail "b: iperf3 $name exited 0 (rc=${rc:-none})"
		tail -5 "$tmpd/$name.log" | sed 's/^/#   /'
	fi
done

expect_delta handoff_ok -ge 2 "b: connections opened while mode=2 were handed off"
expect_delta pass_off -ge 2 "b: connections opened while mode=0 passed untouched"
expect_delta handoff_fail -eq 0 "b: no hand-off failed"
expect_delta relay_in -ge 1000 "b: the relay carried the download's client ACKs"
expect_delta relay_out -ge 1000 "b: the relay carried the download's data"

# ------------------------------------------------------------ c. drain

cleanup_bg
if slowwait $((4 * MSL + 30)) no_flows; then
	ksft_pass "c: all flows gone after the connections closed"
else
	ksft_fail "c: all flows gone after the connections closed ($(n_flows) left)"
	ip netns exec "$server" head -20 /proc/net/synguard_flows | sed 's/^/#   /'
	ip netns exec "$server" ss -tan | head -20 | sed 's/^/#   /'
fi

unload_synguard
ksft_check $? "rmmod synguard"
check_dmesg_clean
ksft_exit
