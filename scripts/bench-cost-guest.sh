#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/bench-cost-guest.sh [--count N] [--acks N] [--bogus N] [--mib N] [--seed N]
#                             [--min-reps N] [--max-reps N] [--spread PERMILLE]
#                             [--only CONFIG,...] [--sections LIST] [--no-perf]
#                             [--perf-offsets]
#
# The guest half of `make bench-cost` (scripts/bench-cost.sh boots it through
# scripts/vm-run with VM_RUN_ICOUNT=1 VM_RUN_SMP=1, once per kernel). It
# counts the guest instructions each server configuration spends, in this
# one boot and with the same traffic:
#
#   syn    per answered SYN: synflood --opts full --count N --seed S at each
#          configuration, against the same flood dropped in raw PREROUTING
#          of a server namespace ("drop", the baseline: generating,
#          sending and receiving a SYN). Configurations: kernel
#          (tcp_syncookies=2), kernel-adaptive (tcp_syncookies=1, its SYN
#          queue full: cookies), synproxy (nft SYNPROXY), synguard (mode=2),
#          synguard-adaptive (mode=1, engaged by the flood),
#          synguard-flows (mode=2 with FLOWS relayed connections open
#          through it, idle, as on a server that serves while flooded:
#          every packet is looked up in the flow table). "none"
#          (tcp_syncookies=0) answers nothing once its queue is full: it has
#          no cost per answered SYN and is left out here.
#   ack    per validated cookie ACK and what follows it: scripts/bench-acks.py
#          completes the handshakes of a flood's SYNs (kernel: a child
#          socket in the accept queue; synguard: the check, the hand-off to
#          the listener and its answer; synproxy: the check, the connection
#          to the server through conntrack), against the same ACKs sent to
#          "drop".
#   bogus  per ACK with a random cookie (synflood --mode ack), against
#          "drop": synguard and synproxy drop them, the kernel answers RST.
#   mb     per relayed MiB: iperf3 -n 8 MiB and -n 8+MIB MiB through none
#          and synproxy (without the module) and synguard (mode=2), in both
#          directions; the difference
#          of the two transfers divided by MIB, so that iperf3's start-up
#          and handshakes fall out.
#   perf   perf record -e cpu-clock during the kernel's and synguard's SYN
#          floods and the baseline's (module loaded): under icount its
#          samples are by instructions.
#
# Gateway configurations (syn and mb sections): the client side, a gateway
# namespace that forwards, a server namespace behind it (bench_gw_ns).
# gw-forward: the gateway only forwards and the server answers with its
# own cookies (tcp_syncookies=2); gw-synproxy: nft SYNPROXY in the
# gateway's FORWARD hook; gw-synguard: synguard's relay on the gateway
# (gateway=2). Their baseline, "gw-drop": the same SYNs dropped in the
# gateway's raw PREROUTING.
#
# Counting. QEMU's -icount shift=0,sleep=off advances the guest clock 1 ns
# per guest instruction and jumps over idle time (shared/PLATFORM.md). With
# one vCPU, the instructions of a measurement are the guest's busy time: the
# clock (the "now" of /proc/timer_list) less the CPU's idle and iowait
# sleep time (nohz's own accounting there, in ns; /proc/stat rounds to 10
# ms). Everything the traffic makes the guest do counts: the generator, both
# namespaces' stacks, softirqs, timers. Hence the baselines, measured in the
# same boot: only differences mean something. With more vCPUs busy time
# over-counts (a vCPU waiting for its TCG turn looks busy): the run says so
# in its info record.
#
# Repeats: each section measures its configurations in rounds until the
# spread of every configuration's marginal count, (max - min) / median of
# its three closest repeats, is under --spread (in permille, default 30)
# after at least --min-reps rounds, or --max-reps rounds were done. Under icount a repeat differs
# only where the guest's work differs (timers, slab and hash state).
#
# Synguard's hooks exist in every namespace once it is loaded: the
# configurations without it are measured with the module unloaded, then it
# is loaded for the synguard ones; "drop" is measured in both states (the
# report computes every marginal over the unloaded one, so synguard's are
# charged for its hooks too, and shows the difference).
#
# Records on stdout, for scripts/bench-cost-report.py:
#   R SECTION CONFIG key=value...   a measurement (instr: guest instructions)
#   T NAME text...                  free text (perf profiles)
# Progress on stderr.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../selftests/lib.sh
source "$top/selftests/lib.sh"
# shellcheck source=bench-lib.sh
source "$top/scripts/bench-lib.sh"

ACKS=$top/scripts/bench-acks.py
HTTP=8080			# flood target: backlog 64, so kernel-adaptive's queue fills
HOLD=8081			# handshake target: a listener that never accepts
FLOWS=64			# synguard-flows' open connections
IPERF=5201
BACKLOG=64
FLOOD_SRC=10.99.0.0/16		# spoofed sources, off-link: routed back to the
ACK_SRC=10.98.0.0/16		# root namespace, dropped there in raw PREROUTING
SMALL_MIB=8			# the mb section's short transfer
# Timeouts of waits, in guest seconds. Under icount,sleep=off the guest's
# clock jumps ahead whenever it idles, e.g. while the host serves a 9p read:
# a python start can "take" minutes of guest time. So only generous ones;
# the host's vm-run timeout is the real limit.
WAIT=3600

COUNT=100000
ACKS_N=''			# default: COUNT / 10
BOGUS_N=''			# default: COUNT / 2
MIB=128
SEED=7
MIN_REPS=3
MAX_REPS=8
SPREAD=30			# permille
PERF=1
PERF_OFFSETS=0
ONLY=''
SECTIONS="syn ack bogus mb perf"

while [ $# -gt 0 ]; do
	case "$1" in
	--count) COUNT=$2; shift 2 ;;
	--acks) ACKS_N=$2; shift 2 ;;
	--bogus) BOGUS_N=$2; shift 2 ;;
	--mib) MIB=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--min-reps) MIN_REPS=$2; shift 2 ;;
	--max-reps) MAX_REPS=$2; shift 2 ;;
	--spread) SPREAD=$2; shift 2 ;;
	--only) ONLY=",$2,"; shift 2 ;;
	--sections) SECTIONS=${2//,/ }; shift 2 ;;
	--no-perf) PERF=0; shift ;;
	--perf-offsets) PERF_OFFSETS=1; shift ;;
	*) echo "bench-cost-guest: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$ACKS_N" ] || ACKS_N=$((COUNT / 10))
[ -n "$BOGUS_N" ] || BOGUS_N=$((COUNT / 2))
[ "$PERF" = 1 ] || SECTIONS=${SECTIONS//perf/}

T0=$EPOCHSECONDS
log() { printf '[%5ds] %s\n' $((EPOCHSECONDS - T0)) "$*" >&2; }
rec() { echo "R $*"; }
die() { log "ERROR: $*"; rec error - "msg=${*// /_}"; exit 1; }
want() { [ -z "$ONLY" ] || [[ "$ONLY" == *",$1,"* ]]; }
section() { [[ " $SECTIONS " == *" $1 "* ]]; }

W=$(mktemp -d /tmp/bench-cost.XXXXXX) || exit 1
SRV_PID='' HOLD_PID=''
cleanup() {
	local fd
	for fd in "${SRV_IN:-}" "${HOLD_IN:-}"; do
		if [ -n "$fd" ]; then echo quit 1>&"$fd"; fi
	done 2>/dev/null
	cleanup_all
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------------- counting

# busy VAR: the guest's busy time so far, in ns (instructions under icount):
# the clock less CPU 0's idle and iowait sleep, from /proc/timer_list. Read
# whole, in one go: bash's line-by-line read seeks back after every line,
# and each seek makes the seq_file generate the text anew, so the "now" and
# the sleep times came from different moments, at shifted offsets (torn
# numbers: counts off by minutes, now and then). The first read(2) holds
# the header and CPU 0's record, generated together. No exec: each would
# add its own instructions.
busy() {
	local -n _busy=$1
	local _t _now=0 _idle=0 _iowait=0
	IFS= read -r -d '' _t </proc/timer_list
	[[ "$_t" =~ now\ at\ ([0-9]+) ]] && _now=${BASH_REMATCH[1]}
	[[ "$_t" =~ \.idle_sleeptime\ *:\ *([0-9]+) ]] && _idle=${BASH_REMATCH[1]}
	[[ "$_t" =~ \.iowait_sleeptime\ *:\ *([0-9]+) ]] && _iowait=${BASH_REMATCH[1]}
	_busy=$((_now - _idle - _iowait))
}

# count VAR CMD...: the instructions CMD and all it makes the guest do take.
# (Underscored locals: VAR is the caller's name, e.g. "b".)
count() {
	local -n _count=$1
	local _t0 _t1
	shift
	busy _t0
	"$@"
	busy _t1
	_count=$((_t1 - _t0))
}

# median VALUES...; spread BASE VALUES...: how well the repeats agree, of
# VALUE - BASE, in permille of their median: (max - min) of the three
# closest repeats (all of them, with fewer). One repeat in a run can be off
# (rarely: periodic kernel work landing in it, or a clock jump of tens of
# seconds while the host stalled the guest); the medians the report uses
# do not move with it, and three repeats that agree are what "repeatable"
# means here.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() {
	local base=$1 x
	shift
	for x in "$@"; do echo $((x - base)); done | sort -n |
		awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; w = (NR < 3) ? NR : 3
			best = -1
			for (i = 1; i + w - 1 <= NR; i++)
				if (best < 0 || v[i + w - 1] - v[i] < best) best = v[i + w - 1] - v[i]
			print (m > 0) ? int(best * 1000 / m) : 1000 }'
}

# ----------------------------------------------------------- prerequisites

for t in "$PY -c pass" "iperf3 --version" "nft --version" "ss -V" "$SYNFLOOD --help"; do
	# shellcheck disable=SC2086 # a command line
	$t >/dev/null 2>&1 || die "missing tool: ${t%% *} (scripts/install-deps.sh; make tools)"
done
[ -r /proc/timer_list ] || die "no /proc/timer_list: cannot tell busy from idle time"
HAVE_MODULE=1
if [ -z "${SYNGUARD_KO:-}" ] || [ ! -e "$SYNGUARD_KO" ]; then
	log "no synguard module for $(uname -r): synguard configs skipped"
	HAVE_MODULE=0
else
	cp "$SYNGUARD_KO" "$W/synguard.ko" || die "cannot copy $SYNGUARD_KO"
	SYNGUARD_KO=$W/synguard.ko
fi
for m in crc32c nf_conntrack nf_tables nft_ct nf_synproxy_core nft_synproxy; do
	modprobe "$m" 2>/dev/null || log "modprobe $m failed (may be built in)"
done
# The default table (8192 entries in 1 GiB) would fill up with SYNPROXY's
# handshakes of a few rounds.
sysctl -qw net.netfilter.nf_conntrack_max=262144 || log "cannot raise nf_conntrack_max"
[ "$(nproc)" = 1 ] || log "WARNING: $(nproc) CPUs: busy time is not the instruction count"
if [ "$HAVE_MODULE" = 1 ]; then
	rec info - "module=$(modinfo -F version "$SYNGUARD_KO" 2>/dev/null || echo ?)"
fi
rec info - "kernel=$(uname -r)" "cpus=$(nproc)" "count=$COUNT" "acks=$ACKS_N" "bogus=$BOGUS_N" "mib=$MIB" \
	"flows=$FLOWS" "small_mib=$SMALL_MIB" "seed=$SEED" "min_reps=$MIN_REPS" "max_reps=$MAX_REPS" \
	"spread_limit=$SPREAD" "backlog=$BACKLOG"

# A ticker. With nothing due for a long time, an idle guest's clock jumps
# to its next timer at once (sleep=off), e.g. while the host serves a 9p
# read: minutes of guest time in one go, which expire cookies between a
# SYN+ACK and its ACK, and, rarely, land between the two halves of a busy
# read. Waking every 50 ms bounds the jumps; it costs the counts about
# 0.1 %, the same for every configuration.
"$PY" -c 'import time
while True:
    time.sleep(0.05)' &
bg_track $!

# ------------------------------------------------------------------ setup

# One server namespace per configuration, each joined to the root namespace
# (the client side) by a veth pair: 10.0.N.1 root side "bcN", 10.0.N.2
# server side "bsN". The gateway configurations ("gw-*") have a gateway
# namespace there instead, and their server behind it, 10.1.N.2
# (bench_gw_ns): NS is the namespace the traffic meets first (the
# gateway's), SRV the one that holds the listeners.
ALL=(drop kernel kernel-adaptive synproxy none gw-drop gw-forward gw-synproxy)
[ "$HAVE_MODULE" = 1 ] && ALL+=(synguard synguard-adaptive gw-synguard synguard-flows)
declare -A IDX=([drop]=1 [kernel]=2 [kernel-adaptive]=3 [synproxy]=4 [none]=5
		[synguard]=6 [synguard-adaptive]=7 [gw-drop]=8 [gw-forward]=9
		[gw-synproxy]=10 [gw-synguard]=11 [synguard-flows]=12)
declare -A NS SRV
gw() { [[ "$1" == gw-* ]]; }
addr() { if gw "$1"; then echo "10.1.${IDX[$1]}.2"; else echo "10.0.${IDX[$1]}.2"; fi; }

log "setting up ${#ALL[@]} server namespaces"
for c in "${ALL[@]}"; do
	i=${IDX[$c]}
	case "$c" in
	kernel | gw-forward) sc=2 ;;
	none) sc=0 ;;
	*) sc=1 ;;
	esac
	if gw "$c"; then
		bench_gw_ns "$i" || die "gateway namespaces for $c"
		NS[$c]=$BENCH_GW SRV[$c]=$BENCH_GW_SRV
		ip netns exec "${SRV[$c]}" sysctl -qw net.ipv4.tcp_syncookies=$sc \
			net.ipv4.tcp_max_syn_backlog=4096 net.core.somaxconn=65535 ||
			die "server sysctls for $c"
		continue
	fi
	setup_ns srv || die "cannot make namespaces"
	# shellcheck disable=SC2154 # set by setup_ns
	NS[$c]=$srv SRV[$c]=$srv
	ip link add "bc$i" type veth peer name "bs$i" netns "$srv" || die "veth for $c"
	ip addr add "10.0.$i.1/24" dev "bc$i" || die "address for $c"
	ip link set "bc$i" up || die "link for $c"
	# The default route back to the root namespace: SYN+ACKs to spoofed
	# sources leave, and no neighbour entry is made per source.
	# somaxconn: the HOLD listener's accept queue takes a round's handshakes.
	ip netns exec "$srv" sh -ec "
		ip addr add 10.0.$i.2/24 dev bs$i
		ip link set bs$i up
		ip route add default via 10.0.$i.1
		sysctl -qw net.ipv4.tcp_syncookies=$sc net.ipv4.tcp_max_syn_backlog=4096 \
			net.core.somaxconn=65535
	" || die "namespace setup for $c"
done
# The flood's SYN+ACKs (and RSTs) end here, in raw PREROUTING of the client
# side, the same way for every configuration.
nft -f - <<EOF || die "cannot set up the client's drop rule"
table ip bench_cost {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		ip daddr { $FLOOD_SRC, $ACK_SRC } drop
	}
}
EOF
# The baselines: the same packets, dropped at the same place in the server
# (in the gateway for the gateway configurations).
for c in drop gw-drop; do
	ip netns exec "${NS[$c]}" nft -f - <<EOF || die "cannot set up the $c namespace"
table ip bench_drop {
	chain pre {
		type filter hook prerouting priority raw; policy accept;
		tcp dport { $HTTP, $HOLD } drop
	}
}
EOF
done

# Listeners: one python process serves HTTP on HTTP in every namespace (for
# SYNPROXY's option probe), another holds HOLD's connections unaccepted.
mkfifo "$W/srv.in" "$W/srv.out" "$W/hold.in" "$W/hold.out"
exec {SRV_IN}<>"$W/srv.in" {SRV_OUT}<>"$W/srv.out" {HOLD_IN}<>"$W/hold.in" {HOLD_OUT}<>"$W/hold.out"
names=()
for c in "${ALL[@]}"; do [[ "$c" == *drop ]] || names+=("${SRV[$c]}"); done
"$PY" "$NET" server --port "$HTTP" --backlog "$BACKLOG" --size 16 "${names[@]}" \
	<&"$SRV_IN" >&"$SRV_OUT" 2>"$W/srv.err" &
SRV_PID=$!
bg_track "$SRV_PID"
"$PY" "$NET" server --port "$HOLD" --backlog 65535 --hold 1 "${names[@]}" \
	<&"$HOLD_IN" >&"$HOLD_OUT" 2>"$W/hold.err" &
HOLD_PID=$!
bg_track "$HOLD_PID"
for fd in "$SRV_OUT" "$HOLD_OUT"; do
	read -r -t "$WAIT" -u "$fd" a || die "listeners did not start: $(cat "$W"/*.err)"
	[ "$a" = ready ] || die "listeners did not start: $a $(cat "$W"/*.err)"
done
for c in none synproxy synguard gw-forward gw-synproxy gw-synguard; do
	[ -n "${SRV[$c]:-}" ] || continue
	ip netns exec "${SRV[$c]}" iperf3 -s -p "$IPERF" >"$W/iperf3-$c.log" 2>&1 &
	bg_track "$!"
	wait_port_listen "${SRV[$c]}" "$IPERF" tcp "$WAIT" || die "iperf3 server for $c"
done
bench_synproxy "${NS[synproxy]}" "$(addr synproxy)" "$HTTP" "$HTTP, $HOLD, $IPERF" ||
	die "cannot set up SYNPROXY"
bench_synproxy "${SRV[gw-synproxy]}" "$(addr gw-synproxy)" "$HTTP" "$HTTP, $IPERF" \
	"${NS[gw-synproxy]}" || die "cannot set up SYNPROXY in the gateway"

# hold_flush: reset the connections HOLD's listeners hold (closing a
# listener RSTs its accept queue), then let what they leave expire:
# SYNPROXY's conntrack entries (10 s in CLOSE, then conntrack's GC, which
# may take a minute), synguard's flows (a 3 s grace after a RST). Idle
# guest time costs no host time under icount,sleep=off, and each count
# starts from the same state (SYNPROXY's ACK counts were bimodal without).
hold_flush() {
	local a i ct=/proc/sys/net/netfilter/nf_conntrack_count
	echo flush >&"$HOLD_IN"
	read -r -t "$WAIT" -u "$HOLD_OUT" a && [ "$a" = ok ] || return 1
	sleep 12
	for i in $(seq 1 180); do
		[ "$(ip netns exec "${NS[synproxy]}" cat "$ct" 2>/dev/null || echo 0)" -le 4 ] && break
		sleep 1
	done
}

# ------------------------------------------------------------ the module

MODULE=off
module() {
	[ "$1" = "$MODULE" ] && return 0
	if [ "$1" = on ]; then
		log "insmod synguard"
		load_synguard mode=0 || die "cannot load synguard"
		ip netns exec "${NS[synguard]}" sh -c 'echo 2 >/proc/sys/net/synguard/mode' ||
			die "cannot set synguard's mode"
		ip netns exec "${NS[synguard-adaptive]}" sh -c 'echo 1 >/proc/sys/net/synguard/mode' ||
			die "cannot set synguard-adaptive's mode"
		ip netns exec "${NS[synguard-flows]}" sh -c 'echo 2 >/proc/sys/net/synguard/mode' ||
			die "cannot set synguard-flows' mode"
		bench_gw_synguard "${NS[gw-synguard]}" "${IDX[gw-synguard]}" ||
			die "cannot set up gw-synguard's gateway"
	else
		log "rmmod synguard"
		unload_synguard || die "cannot unload synguard"
	fi
	MODULE=$1
}

# sgstat CONFIG NAME: a synguard counter of CONFIG's namespace (0 unloaded).
sgstat() {
	if [ "$MODULE" = on ]; then
		sg_stat "${NS[$1]}" "$2" 2>/dev/null || echo 0
	else
		echo 0
	fi
}

# answered CONFIG: packets the server namespace has sent so far.
answered() { cat "/sys/class/net/bc${IDX[$1]}/statistics/rx_packets"; }

# open_flows: FLOWS idle connections from here to synguard-flows' HOLD
# listener, handed off and relayed by synguard (flows in its table), held
# open by a background process until the end of the run.
open_flows() {
	local a n
	mkfifo "$W/flows.in" "$W/flows.out"
	exec {FLOWS_IN}<>"$W/flows.in" {FLOWS_OUT}<>"$W/flows.out"
	"$PY" -c '
import socket, sys
s = [socket.create_connection((sys.argv[1], int(sys.argv[2])), 10)
     for _ in range(int(sys.argv[3]))]
print("open", flush=True)
sys.stdin.read()' "$(addr synguard-flows)" "$HOLD" "$FLOWS" \
		<&"$FLOWS_IN" >&"$FLOWS_OUT" 2>"$W/flows.err" &
	bg_track "$!"
	read -r -t "$WAIT" -u "$FLOWS_OUT" a && [ "$a" = open ] ||
		die "synguard-flows: cannot open $FLOWS connections: $(cat "$W/flows.err")"
	n=$(($(ip netns exec "${NS[synguard-flows]}" cat /proc/net/synguard_flows | wc -l) - 1))
	[ "$n" -ge "$FLOWS" ] || die "synguard-flows: $n flows for $FLOWS connections"
	log "synguard-flows: $n flows open"
}

# ------------------------------------------------------------ floods

# flood CONFIG SECTION N: synflood as the section wants it, N packets, the
# same seed every time: every configuration sees the same packets.
flood() {
	local c=$1 sec=$2 n=$3 mode=syn
	[ "$sec" = bogus ] && mode=ack
	"$SYNFLOOD" --quiet --mode "$mode" --dst "$(addr "$c")" --dport "$HTTP" \
		--src-prefix "$FLOOD_SRC" --opts full --count "$n" --seed "$SEED" \
		--duration 600 >"$W/flood.out" 2>"$W/flood.err"
}

# floods SECTION BASELINE CONFIG...: the syn or bogus section for these
# configurations (the baseline, "drop" or "gw-drop", first) in the
# module's current state, in rounds until the spread is small enough.
floods() {
	local sec=$1 bl=$2 c rep v a0 a1 s0 s1 worst base try n=$COUNT
	shift
	[ "$sec" = bogus ] && n=$BOGUS_N
	local -A vals=()
	# Warm-up, not counted: route and slab caches, kernel-adaptive's SYN
	# queue filled, synguard-adaptive engaged.
	for c in "$@"; do flood "$c" "$sec" $((n / 10 + 1000)); done
	for rep in $(seq 1 "$MAX_REPS"); do
		for c in "$@"; do
			# Bogus ACKs come during a SYN flood: the kernel checks an
			# ACK's cookie only within 2 minutes of its last cookie,
			# synguard within 2 * msl (else it is the kernel's, which
			# answers RST). So first a few SYNs, not counted.
			[ "$sec" = bogus ] && flood "$c" syn 64
			for try in 1 2 3; do
				# (a count that stays off after three tries is kept: the
				# report's medians and closest-three spreads bear one)
				a0=$(answered "$c") s0=$(sgstat "$c" cookie_sent)
				count v flood "$c" "$sec" "$n"
				a1=$(answered "$c") s1=$(sgstat "$c" cookie_sent)
				sane "$v" && break
				log "$c: count $v is off synflood's own $(cat "$W/flood.out"): again"
			done
			rec "$sec" "$c" "rep=$rep" "module=$MODULE" "n=$n" "instr=$v" "tries=$try" \
				"answered=$((a1 - a0))" "sg_cookies=$((s1 - s0))" "$(cat "$W/flood.out")"
			vals[$c]+=" $v"
		done
		[ "$rep" -ge "$MIN_REPS" ] || continue
		# shellcheck disable=SC2086 # lists of numbers
		base=$(median ${vals[$bl]})
		worst=0
		for c in "$@"; do
			[ "$c" = "$bl" ] && continue
			# shellcheck disable=SC2086 # a list of numbers
			v=$(spread "$base" ${vals[$c]})
			[ "$v" -gt "$worst" ] && worst=$v
		done
		log "$sec ($MODULE): round $rep, worst spread $worst permille"
		[ "$worst" -lt "$SPREAD" ] && break
	done
}

# sane COUNT: does a flood's count fit the duration synflood measured on
# the same clock? (It cannot be below the sending time, nor far above it:
# the generator is busy all along.)
sane() {
	local d
	d=$(sed -n 's/.*duration=\([0-9.]*\).*/\1/p' "$W/flood.out")
	d=${d/./}
	d=$((10#${d:-0} * 1000000))
	[ "$1" -ge $((d / 2)) ] && [ "$1" -le $((d * 2 + 200000000)) ]
}

# ------------------------------------------------------------ handshakes

# acks CONFIG...: per round, a flood of ACKS_N SYNs to HOLD whose SYN+ACKs
# bench-acks.py reads, then its ACKs sent to "drop" (the baseline) and to
# the configuration, each counted.
acks() {
	local c rep i v b n got est worst
	local -A vals=()
	for rep in $(seq 1 "$MAX_REPS"); do
		worst=0
		for c in "$@"; do
			i=${IDX[$c]}
			hold_flush || die "cannot reset the HOLD listeners"
			coproc ACKP { "$PY" "$ACKS" --dev "bc$i" --server "$(addr "$c")" --port "$HOLD" \
				--base "$(addr drop)" 2>"$W/acks.err"; }
			read -r -t "$WAIT" -u "${ACKP[0]}" got || got=''
			[ "$got" = ready ] || die "bench-acks.py did not start: $(cat "$W/acks.err")"
			# A seed per round: new tuples, nothing left of the last round.
			"$SYNFLOOD" --quiet --dst "$(addr "$c")" --dport "$HOLD" --src-prefix "$ACK_SRC" \
				--opts full --count "$ACKS_N" --seed $((SEED + 1000 * rep + i)) \
				--duration 600 >/dev/null 2>"$W/flood.err"
			echo collect >&"${ACKP[1]}"
			read -r -t "$WAIT" -u "${ACKP[0]}" got || die "bench-acks.py: $(cat "$W/acks.err")"
			n=${got#synacks=}
			[ "$n" -gt 0 ] 2>/dev/null || die "$c: no SYN+ACKs to answer ($got)"
			count b acks_send base
			count v acks_send real
			echo quit >&"${ACKP[1]}"
			wait "$ACKP_PID" 2>/dev/null
			est=$(ip netns exec "${NS[$c]}" ss -Htn state established "( sport = :$HOLD )" | wc -l)
			rec ack "$c" "rep=$rep" "module=$MODULE" "n=$n" "instr=$v" "base=$b" "est=$est"
			[ "$est" -ge $((n * 99 / 100)) ] ||
				log "WARNING: $c: only $est of $n handshakes completed"
			vals[$c]+=" $((v - b))"
			if [ "$rep" -ge "$MIN_REPS" ]; then
				# shellcheck disable=SC2086 # a list of numbers
				v=$(spread 0 ${vals[$c]})
				[ "$v" -gt "$worst" ] && worst=$v
			fi
		done
		hold_flush || die "cannot reset the HOLD listeners"
		[ "$rep" -ge "$MIN_REPS" ] || continue
		log "ack ($MODULE): round $rep, worst spread $worst permille"
		[ "$worst" -lt "$SPREAD" ] && break
	done
}

# acks_send real|base: bench-acks.py sends; its answer ends the count.
acks_send() {
	local got
	echo "send $1" >&"${ACKP[1]}"
	read -r -t "$WAIT" -u "${ACKP[0]}" got
}

# ------------------------------------------------------------ relay

# iperf CONFIG MIB [-R]: one iperf3 transfer of MIB MiB.
iperf() {
	local c=$1 mib=$2
	shift 2
	iperf3 -c "$(addr "$c")" -p "$IPERF" -n "${mib}M" --connect-timeout 5000 "$@" \
		>"$W/iperf.out" 2>&1 || log "iperf3 to $c failed: $(tail -2 "$W/iperf.out")"
}

# relays CONFIG...: per round and direction, the long transfer less the short
# one, per MiB.
relays() {
	local c rep dir s l v worst
	local -a flag
	local -A vals=()
	for c in "$@"; do iperf "$c" "$SMALL_MIB"; done	# warm-up
	for rep in $(seq 1 "$MAX_REPS"); do
		worst=0
		for c in "$@"; do
			for dir in up down; do
				flag=()
				[ "$dir" = down ] && flag=(-R)
				count s iperf "$c" "$SMALL_MIB" "${flag[@]}"
				count l iperf "$c" $((SMALL_MIB + MIB)) "${flag[@]}"
				rec mb "$c" "rep=$rep" "module=$MODULE" "dir=$dir" "mib=$MIB" \
					"small=$s" "large=$l" "instr=$(( (l - s) / MIB ))"
				vals[$c-$dir]+=" $(( (l - s) / MIB ))"
				if [ "$rep" -ge "$MIN_REPS" ]; then
					# shellcheck disable=SC2086 # a list of numbers
					v=$(spread 0 ${vals[$c-$dir]})
					[ "$v" -gt "$worst" ] && worst=$v
				fi
			done
		done
		[ "$rep" -ge "$MIN_REPS" ] || continue
		log "mb ($MODULE): round $rep, worst spread $worst permille"
		[ "$worst" -lt "$SPREAD" ] && break
	done
}

# ------------------------------------------------------------ profile

# perf_offsets CONFIG: with --perf-offsets, the samples in synguard's own
# functions by instruction (symbol+offset, as objdump -d of the module
# shows it), the most sampled first: where to look inside a function.
perf_offsets() {
	perf script -i "$W/perf.data" -F ip,sym,symoff --kallsyms=/proc/kallsyms 2>"$W/script.err" |
		awk 'NR == FNR { if ($4 == "[synguard]") own[$3] = 1; next }
			{ for (i = 1; i <= NF; i++) if ($i ~ /\+0x[0-9a-f]+$/) break
			  s = $i; sub(/\+0x[0-9a-f]+$/, "", s) }
			(i <= NF && s in own) { n[$i]++ }
			END { for (k in n) print n[k], k }' /proc/kallsyms - |
		sort -rn | awk '{ print "T perfoff-" c " " $0 }' c="$1"
	[ -s "$W/script.err" ] && log "perf script: $(head -2 "$W/script.err")"
}

# profile CONFIG: perf's cpu-clock samples (by instructions, under icount)
# over one counted flood; the top 25 symbols, synguard's share and all of
# its own symbols (perf files module symbols under [kernel.kallsyms] here:
# /proc/kallsyms says which are synguard's), and every symbol for the
# report's difference to the baseline's profile. A sample every 50000
# instructions (guest ns).
profile() {
	local c=$1 all
	if ! perf record -q -N -B -e cpu-clock -c 50000 -a -o "$W/perf.data" -- \
		"$SYNFLOOD" --quiet --dst "$(addr "$c")" --dport "$HTTP" --src-prefix "$FLOOD_SRC" \
		--opts full --count "$COUNT" --seed "$SEED" --duration 600 >"$W/perf.err" 2>&1; then
		log "perf record failed: $(head -3 "$W/perf.err")"
		return
	fi
	all=$(perf report -i "$W/perf.data" --stdio --sort sym --percent-limit 0 -q \
		--kallsyms=/proc/kallsyms 2>/dev/null | sed -e 's/[[:space:]]*$//' -e '/^$/d')
	[ "$PERF_OFFSETS" = 0 ] || perf_offsets "$c"
	rm -f "$W/perf.data"
	# The idle loop's samples are the guest clock's jumps while the host
	# serves 9p (sleep=off skips idle time to the next timer), not work:
	# left out, the rest in percent of the busy samples.
	all=$(awk '$3 ~ /^(pv_native_safe_halt|native_safe_halt|default_idle)$/ {
			sub("%", "", $1); idle += $1; next }
		{ l[n++] = $0 }
		END { for (i = 0; i < n; i++) { split(l[i], f, " "); sub("%", "", f[1])
			s = l[i]; sub(/^ *[0-9.]+%/, "", s)
			printf "%9.2f%%%s\n", f[1] * 100 / (100 - idle), s } }' <<<"$all")
	head -25 <<<"$all" | while IFS= read -r line; do echo "T perf-$c $line"; done
	# Every symbol down to 0.01 %: the report subtracts the baseline's.
	awk '$1 + 0 >= 0.01 { print "T perfall-" c " " $0 }' c="$c" <<<"$all"
	echo "T perfmod-$c $(awk 'NR == FNR { if ($4 == "[synguard]") own[$3] = 1; next }
		($3 in own) { sub("%", "", $1); sum += $1 }
		END { printf "%.1f", sum }' /proc/kallsyms - <<<"$all")"
	# synguard's own symbols, all of them: where its share goes.
	awk 'NR == FNR { if ($4 == "[synguard]") own[$3] = 1; next }
		($3 in own) { print "T perfown-" c " " $0 }' c="$c" /proc/kallsyms - <<<"$all"
	log "$c: profiled"
}

# ------------------------------------------------------------- the run

G0=() G1=() GW0=() GW1=()
for c in kernel kernel-adaptive synproxy; do want "$c" && G0+=("$c"); done
for c in gw-forward gw-synproxy; do want "$c" && GW0+=("$c"); done
if [ "$HAVE_MODULE" = 1 ]; then
	for c in synguard synguard-adaptive synguard-flows; do want "$c" && G1+=("$c"); done
	want gw-synguard && GW1+=(gw-synguard)
fi
has() { local x; for x in "${@:2}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

# Without the module.
if section syn; then log "syn: ${G0[*]}"; floods syn drop "${G0[@]}"; fi
a=()
for c in kernel synproxy; do has "$c" "${G0[@]}" && a+=("$c"); done
if section ack && [ ${#a[@]} -gt 0 ]; then log "ack: ${a[*]}"; acks "${a[@]}"; fi
if section bogus; then log "bogus: drop ${a[*]}"; floods bogus drop "${a[@]}"; fi
if section mb; then
	a=(none)
	has synproxy "${G0[@]}" && a+=(synproxy)
	log "mb: ${a[*]}"
	relays "${a[@]}"
fi
# The gateway configurations: SYNs forwarded to a server behind a gateway,
# answered there (gw-forward: by the server's own cookies, the gateway only
# forwards) or by the gateway (gw-synproxy), against the same SYNs dropped
# in the gateway's raw PREROUTING; relays through the gateway.
if [ ${#GW0[@]} -gt 0 ]; then
	if section syn; then log "syn: ${GW0[*]}"; floods syn gw-drop "${GW0[@]}"; fi
	if section mb; then log "mb: ${GW0[*]}"; relays "${GW0[@]}"; fi
fi
if section perf && has kernel "${G0[@]}"; then profile kernel; fi

# With it.
if [ $((${#G1[@]} + ${#GW1[@]})) -gt 0 ]; then
	module on
	if section syn && has synguard-flows "${G1[@]}"; then open_flows; fi
	if section syn && [ ${#G1[@]} -gt 0 ]; then log "syn: ${G1[*]}"; floods syn drop "${G1[@]}"; fi
	if has synguard "${G1[@]}"; then
		if section ack; then log "ack: synguard"; acks synguard; fi
		if section bogus; then log "bogus: drop synguard"; floods bogus drop synguard; fi
		if section mb; then log "mb: synguard"; relays synguard; fi
		if section perf; then profile drop; profile synguard; fi
	fi
	if section syn && section perf && has synguard-flows "${G1[@]}"; then
		profile synguard-flows
	fi
	if [ ${#GW1[@]} -gt 0 ]; then
		if section syn; then log "syn: gw-synguard"; floods syn gw-drop gw-synguard; fi
		if section mb; then log "mb: gw-synguard"; relays gw-synguard; fi
	fi
	rec state - "flows=$(($(ip netns exec "${NS[synguard]}" cat /proc/net/synguard_flows | wc -l) - 1))" \
		"gw_flows=$(($(ip netns exec "${NS[gw-synguard]}" cat /proc/net/synguard_flows | wc -l) - 1))"
	module off
fi

dmesg | grep -E "$DMESG_BAD" | head -20 | while IFS= read -r line; do
	echo "T dmesg $line"
done
rec info - "elapsed=$((EPOCHSECONDS - T0))"
log "done"
