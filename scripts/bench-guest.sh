#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/bench-guest.sh [--quick] [--mem-syns N] [--rounds N] [--no-perf]
#                        [--budget SECONDS]
#
# The guest half of `make bench` (scripts/bench.sh boots it through
# scripts/vm-run, once per kernel). It measures, in this one boot and with the
# same traffic, each server configuration:
#
#   none               tcp_syncookies=0: shows that the flood works
#   kernel             tcp_syncookies=2 (always cookies)
#   kernel-adaptive    tcp_syncookies=1 (cookies once the SYN queue is full)
#   synproxy           nft SYNPROXY (SYNs notracked, tcp_loose=0, options
#                      matched to what the server itself announces)
#   synguard           synguard mode=2 (always)
#   synguard-adaptive  synguard mode=1 (engages on the SYN rate or queue fill)
#
# and three gateways, each a forwarding namespace with a server namespace
# behind it (the server: tcp_syncookies=1 unless said otherwise):
#
#   gw-forward         the gateway only forwards; the server answers with its
#                      own cookies (tcp_syncookies=2): the unprotected gateway
#   gw-synproxy        nft SYNPROXY in the gateway's FORWARD hook
#   gw-synguard        synguard's relay on the gateway (gateway=2, mode=2; the
#                      server's namespace mode=0)
#
# plus "sink", a server namespace that drops every packet at tc ingress: the
# cost of generating and delivering a SYN, with no TCP work at all.
#
# The gateways are measured without flood, in capacity, the flood steps and
# the relay (iperf3 through the gateway), not in the memory phase (their
# server side is the kernel's, as in kernel/kernel-adaptive) nor profiled.
#
# Results go to stdout as records, one a line, for scripts/bench-report.py:
#   R SECTION CONFIG key=value...     a measurement
#   T NAME text...                    a line of free text (perf profiles)
# Progress goes to stderr.
#
# Topology. The client side is the guest's root namespace: the flood
# generator (selftests/tools/synflood, pinned to CPU 1) and the legitimate
# client (scripts/bench-net.py client, pinned to CPU 1) run there, so their
# counters are readable without an exec per read. Each configuration has its
# own server namespace, joined to the root one by a veth pair (10.0.N.1 root
# side "bcN", 10.0.N.2 server side "bsN"), all alive for the whole run, so
# the configurations can be measured in turns. One python process serves
# HTTP (16 KiB responses) in every server namespace, and one iperf3 server
# runs in each, all pinned to CPU 0.
#
# A gateway configuration's veth pair from the root namespace leads to its
# gateway instead (bench_gw_ns N: 10.0.N.1 "bcN" --- "bsN" 10.0.N.2 gateway
# 10.1.N.1 --- 10.1.N.2 server); the flood and the legitimate client target
# the server, 10.1.N.2, through it. Synguard's and SYNPROXY's counters are
# read from the gateway's namespace, the kernel's cookies from the server's.
#
# CPU steering. veth has no queues of its own: a packet sent into a veth is
# received on the sending CPU. RPS on each bsN (rps_cpus=1) moves the server
# side's receive processing to CPU 0 (a gateway's bsN: the server behind it
# then receives on CPU 0 too), so the flood's SYNs are processed on
# CPU 0 while the generator runs on CPU 1. The SYN+ACKs go back on CPU 0 (the
# server's softirq sends them and the root namespace drops them, unrouted,
# on the same CPU). Limit: under TCG thread=single both vCPUs take turns on
# one host thread, so "saturating CPU 0" really saturates the guest as a
# whole: the flood rate reached is 1 / (generator cost + server cost). The
# sink configuration measures the generator cost alone.
#
# Synguard's hooks exist in every namespace once it is loaded, so the
# configurations that do not use it are measured with the module unloaded:
# the run alternates between the group without it and the group with it.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../selftests/lib.sh
source "$top/selftests/lib.sh"
# shellcheck source=bench-lib.sh
source "$top/scripts/bench-lib.sh"

HTTP=8080
IPERF=5201
BACKLOG=64			# every listener's; "small": the flood fills it at once
BODY=16384			# the legitimate client's HTTP response body
FLOOD_SRC=10.99.0.0/16		# spoofed sources: routed back to the root ns, dropped

# Measurement sizes (--quick divides them for development runs).
CAP_SECS=2		# one capacity sample
ROUNDS=5		# capacity samples per configuration, in turns (odd: a median)
STEP_SECS=5		# legitimate attempts per flood step
LEGIT_RATE=20		# legitimate connections per second
LEGIT_TIMEOUT=3		# an attempt fails if not done within this (one SYN retransmission fits)
IPERF_SECS=3
RELAY_ROUNDS=5
MEM_SYNS=1000000
PERF=1
BUDGET=1500		# seconds; phases that would start later are skipped

G0=(none kernel kernel-adaptive synproxy gw-forward gw-synproxy)	# measured without the module
G1=(synguard synguard-adaptive gw-synguard)				# measured with it
declare -A IDX=([none]=1 [kernel]=2 [kernel-adaptive]=3 [synproxy]=4
		[synguard]=5 [synguard-adaptive]=6 [sink]=7
		[gw-forward]=8 [gw-synproxy]=9 [gw-synguard]=10)

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) CAP_SECS=2 ROUNDS=3 STEP_SECS=3 IPERF_SECS=2 RELAY_ROUNDS=1 MEM_SYNS=100000
		shift ;;
	--mem-syns) MEM_SYNS=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--no-perf) PERF=0; shift ;;
	--budget) BUDGET=$2; shift 2 ;;
	*) echo "bench-guest: unknown option $1" >&2; exit 2 ;;
	esac
done

T0=${EPOCHREALTIME/./}
now_us() { echo "${EPOCHREALTIME/./}"; }
elapsed() { echo $(( ($(now_us) - T0) / 1000000 )); }
log() { printf '[%4ds] %s\n' "$(elapsed)" "$*" >&2; }
rec() { echo "R $*"; }
die() { log "ERROR: $*"; rec error - "msg=${*// /_}"; exit 1; }
over_budget() { [ "$(elapsed)" -ge "$BUDGET" ]; }

W=$(mktemp -d /tmp/bench.XXXXXX) || exit 1
mkfifo "$W/sleep"
exec {SLEEPFD}<>"$W/sleep"
# bsleep SECONDS: sleep without an exec (each costs ~0.3 s under TCG).
bsleep() { read -r -t "$1" -u "$SLEEPFD" _ || :; }

# ------------------------------------------------------------ cleanup

FLOOD_PID=''
SRV_PID='' CLI_PID=''
cleanup() {
	[ -n "$FLOOD_PID" ] && kill -INT "$FLOOD_PID" 2>/dev/null
	[ -n "${SRV_IN:-}" ] && echo quit 1>&"$SRV_IN" 2>/dev/null
	[ -n "${CLI_IN:-}" ] && echo quit 1>&"$CLI_IN" 2>/dev/null
	cleanup_all
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --------------------------------------------------------- prerequisites

for t in "$PY -c pass" "iperf3 --version" "taskset --version" "ss -V" "nft --version" \
	 "tc -V" "$SYNFLOOD --help"; do
	# shellcheck disable=SC2086 # a command line
	$t >/dev/null 2>&1 || die "missing tool: ${t%% *} (scripts/install-deps.sh; make -C selftests/tools)"
done
[ "$(nproc)" -ge 2 ] || die "the guest needs 2 CPUs"
HAVE_MODULE=1
if [ -z "${SYNGUARD_KO:-}" ] || [ ! -e "$SYNGUARD_KO" ]; then
	log "no synguard module for $(uname -r) (${SYNGUARD_KO:-unset}): synguard configs skipped"
	HAVE_MODULE=0
	G1=()
else
	# Every load in this run uses this copy, even if the module is rebuilt
	# on the host meanwhile.
	cp "$SYNGUARD_KO" "$W/synguard.ko" || die "cannot copy $SYNGUARD_KO"
	SYNGUARD_KO=$W/synguard.ko
fi
HAVE_HPING=1
hping3 --version >/dev/null 2>&1 || HAVE_HPING=0

# crc32c first: nf_tables needs it (shared/PLATFORM.md)
for m in crc32c nf_conntrack nf_tables nft_ct nf_synproxy_core nft_synproxy \
	 sch_ingress cls_matchall act_gact; do
	modprobe "$m" 2>/dev/null || log "modprobe $m failed (may be built in)"
done

if [ "$HAVE_MODULE" = 1 ]; then
	rec info - "module=$(modinfo -F version "$SYNGUARD_KO" 2>/dev/null || echo ?)/$(modinfo -F srcversion "$SYNGUARD_KO" 2>/dev/null || echo ?)"
fi
rec info - "kernel=$(uname -r)" "cpus=$(nproc)" "cap_secs=$CAP_SECS" "rounds=$ROUNDS" \
	"step_secs=$STEP_SECS" "legit_rate=$LEGIT_RATE" "legit_timeout=$LEGIT_TIMEOUT" \
	"iperf_secs=$IPERF_SECS" "mem_syns=$MEM_SYNS" "backlog=$BACKLOG" "body=$BODY" \
	"accel=$(grep -q hypervisor /proc/cpuinfo && echo vm || echo ?)"

# --------------------------------------------------------------- setup

# NS: each configuration's server namespace; GW: a gateway configuration's
# gateway namespace; IPERF_PID: a process in the server namespace (its
# /proc/PID/net), CTR_PID: one in the namespace whose synguard and SYNPROXY
# counters count (the gateway's for a gateway configuration).
declare -A NS GW IPERF_PID CTR_PID
ALL=(none kernel kernel-adaptive synproxy synguard synguard-adaptive sink
     gw-forward gw-synproxy gw-synguard)
[ "$HAVE_MODULE" = 1 ] || ALL=(none kernel kernel-adaptive synproxy sink gw-forward gw-synproxy)

is_gw() { [[ "$1" == gw-* ]]; }
srv_addr() { if is_gw "$1"; then echo "10.1.${IDX[$1]}.2"; else echo "10.0.${IDX[$1]}.2"; fi; }
cdev() { echo "bc${IDX[$1]}"; }

# Sysctls of each server namespace (tcp_max_syn_backlog above the listen
# backlog: otherwise tcp_syncookies=0 keeps the last quarter for known peers).
ns_sysctls() {
	case "$1" in
	none) echo "net.ipv4.tcp_syncookies=0" ;;
	kernel|gw-forward) echo "net.ipv4.tcp_syncookies=2" ;;
	*) echo "net.ipv4.tcp_syncookies=1" ;;
	esac
	echo "net.ipv4.tcp_max_syn_backlog=4096"
}

log "setting up ${#ALL[@]} server namespaces"
for c in "${ALL[@]}"; do
	i=${IDX[$c]}
	if is_gw "$c"; then
		bench_gw_ns "$i" || die "gateway namespaces for $c"
		NS[$c]=$BENCH_GW_SRV GW[$c]=$BENCH_GW
		# shellcheck disable=SC2046 # one word per sysctl
		ip netns exec "$BENCH_GW" sh -c "echo 1 >/sys/class/net/bs$i/queues/rx-0/rps_cpus" &&
			ip netns exec "$BENCH_GW_SRV" sysctl -qw $(ns_sysctls "$c" | tr '\n' ' ') ||
			die "namespace setup for $c"
		continue
	fi
	setup_ns srv || die "cannot make namespaces"
	# shellcheck disable=SC2154 # set by setup_ns
	NS[$c]=$srv
	ip link add "bc$i" type veth peer name "bs$i" netns "$srv" || die "veth for $c"
	ip addr add "10.0.$i.1/24" dev "bc$i" && ip link set "bc$i" up || die "address for $c"
	# shellcheck disable=SC2046 # one word per sysctl
	ip netns exec "$srv" sh -ec "
		ip addr add 10.0.$i.2/24 dev bs$i
		ip link set bs$i up
		ip route add default via 10.0.$i.1
		echo 1 >/sys/class/net/bs$i/queues/rx-0/rps_cpus
		sysctl -qw $(ns_sysctls "$c" | tr '\n' ' ')
	" || die "namespace setup for $c"
done
tc -n "${NS[sink]}" qdisc add dev "bs${IDX[sink]}" clsact &&
	tc -n "${NS[sink]}" filter add dev "bs${IDX[sink]}" ingress protocol ip matchall action drop ||
	die "cannot set up the sink's tc drop"

# The HTTP server for every namespace, and the legitimate client, each a
# long-lived python process talking over FIFOs.
mkfifo "$W/srv.in" "$W/srv.out" "$W/cli.in" "$W/cli.out"
exec {SRV_IN}<>"$W/srv.in" {SRV_OUT}<>"$W/srv.out" {CLI_IN}<>"$W/cli.in" {CLI_OUT}<>"$W/cli.out"
names=()
for c in "${ALL[@]}"; do [ "$c" = sink ] || names+=("${NS[$c]}"); done
taskset -c 0 "$PY" "$NET" server --port "$HTTP" --backlog "$BACKLOG" --size "$BODY" \
	"${names[@]}" <&"$SRV_IN" >&"$SRV_OUT" 2>"$W/srv.err" &
SRV_PID=$!
bg_track "$SRV_PID"
taskset -c 1 "$PY" "$NET" client <&"$CLI_IN" >&"$CLI_OUT" 2>"$W/cli.err" &
CLI_PID=$!
bg_track "$CLI_PID"
read -r -t 60 -u "$SRV_OUT" a && [ "$a" = ready ] || die "HTTP server did not start: $(cat "$W/srv.err")"
read -r -t 60 -u "$CLI_OUT" a && [ "$a" = ready ] || die "client did not start: $(cat "$W/cli.err")"

for c in "${ALL[@]}"; do
	[ "$c" = sink ] && continue
	ip netns exec "${NS[$c]}" taskset -c 0 iperf3 -s -p "$IPERF" >"$W/iperf3-$c.log" 2>&1 &
	IPERF_PID[$c]=$!
	CTR_PID[$c]=$!
	bg_track "$!"
	if is_gw "$c"; then
		# a process that only holds the gateway's namespace for its counters
		ip netns exec "${GW[$c]}" sleep infinity &
		CTR_PID[$c]=$!
		bg_track "$!"
	fi
done
for c in "${ALL[@]}"; do
	[ "$c" = sink ] && continue
	wait_port_listen "${NS[$c]}" "$IPERF" tcp 60 || die "iperf3 server for $c"
done

srv_cmd() {
	local a
	echo "$1" 1>&"$SRV_IN"
	read -r -t 60 -u "$SRV_OUT" a && [ "$a" = ok ]
}

# legit CONFIG SECONDS: run the legitimate client against CONFIG; the
# answer line (key=value...) is left in $LEGIT.
legit() {
	LEGIT=''
	echo "legit $(srv_addr "$1") $HTTP $LEGIT_RATE $2 $LEGIT_TIMEOUT" 1>&"$CLI_IN"
	read -r -t $(( ${2%.*} + LEGIT_TIMEOUT + 60 )) -u "$CLI_OUT" LEGIT || LEGIT="error=no_answer"
	case "$LEGIT" in attempts=*) ;; *) log "legit client: $LEGIT"; LEGIT="error=${LEGIT// /_}" ;; esac
}

bench_synproxy "${NS[synproxy]}" "$(srv_addr synproxy)" "$HTTP" "$HTTP, $IPERF" ||
	die "cannot set up SYNPROXY"
bench_synproxy "${NS[gw-synproxy]}" "$(srv_addr gw-synproxy)" "$HTTP" "$HTTP, $IPERF" \
	"${GW[gw-synproxy]}" || die "cannot set up SYNPROXY on the gateway"

# ------------------------------------------------------------- counters

# snap VAR CONFIG: counters now, as "key=value ..." in VAR.
#   tx/rx: packets into / out of the server's veth (SYNs in, SYN+ACKs out;
#          for a gateway configuration the gateway's veth)
#   drop: packets the veth could not deliver (CPU 0's backlog full)
#   c0/c1: busy USER_HZ ticks of CPU 0/1, i0/i1 idle ticks
#   kc/sg/sp: cookies sent by the kernel (the server's), synguard, SYNPROXY
#          (the gateway's, for a gateway configuration)
snap() {
	local -n out=$1
	local c=$2 d p tx rx drop name u n s i w q sq st c0=0 i0=0 c1=0 i1=0
	d=/sys/class/net/$(cdev "$c")/statistics
	read -r tx <"$d/tx_packets"
	read -r rx <"$d/rx_packets"
	read -r drop <"$d/tx_dropped"
	while read -r name u n s i w q sq st _; do
		case "$name" in
		cpu0) c0=$((u + n + s + q + sq + st)) i0=$((i + w)) ;;
		cpu1) c1=$((u + n + s + q + sq + st)) i1=$((i + w)) ;;
		esac
	done </proc/stat
	out="t=$(now_us) tx=$tx rx=$rx drop=$drop c0=$c0 i0=$i0 c1=$c1 i1=$i1"
	p=${IPERF_PID[$c]:-}
	if [ -n "$p" ]; then
		out+=" kc=$(tcpext "/proc/$p/net/netstat" SyncookiesSent)"
		p=${CTR_PID[$c]}
		out+=" sg=$(hexstat "/proc/$p/net/stat/synguard" cookie_sent)"
		out+=" sp=$(hexstat "/proc/$p/net/stat/synproxy" syn_received)"
	fi
}

# delta A B: "key=B-A ..." for the numeric keys of two snaps; t becomes us.
delta() {
	local -A a=()
	local kv d=''
	for kv in $1; do a[${kv%%=*}]=${kv#*=}; done
	for kv in $2; do
		local k=${kv%%=*} val=${kv#*=}
		[ "$k" = t ] && k=us
		d+=" $k=$((val - ${a[${kv%%=*}]:-0}))"
	done
	echo "${d# }"
}

# runpct DELTA: how much of the time the guest really ran, in %: the busy
# and idle ticks of both CPUs against the wall clock. Idle time is measured
# by the clock, but busy time by timer ticks, which are lost while the host
# does not run the guest: below ~80 % the host was busy with something else
# and the sample's rate says more about the host than about the guest.
runpct() {
	if [[ "$1" =~ us=([0-9]+).*c0=([0-9]+)\ i0=([0-9]+)\ c1=([0-9]+)\ i1=([0-9]+) ]]; then
		echo $(( (BASH_REMATCH[2] + BASH_REMATCH[3] + BASH_REMATCH[4] + BASH_REMATCH[5]) *
			1000000 / (2 * BASH_REMATCH[1]) ))
	else
		echo 0
	fi
}
RUN_MIN=80	# %, see runpct
TRIES=3		# samples taken at most when the host starves the guest
STEP_TRIES=2	# the same for the (longer) legitimate-client samples

# ---------------------------------------------------------------- flood

# flood_start CONFIG RATE [ARGS...]: synflood at RATE pps (0: as fast as it
# can) against CONFIG's HTTP port, pinned to CPU 1, until flood_stop.
flood_start() {
	local c=$1 rate=$2
	shift 2
	taskset -c 1 "$SYNFLOOD" --quiet --dst "$(srv_addr "$c")" --dport "$HTTP" \
		--src-prefix "$FLOOD_SRC" --rate "$rate" --duration 600 "$@" \
		>"$W/flood.out" 2>"$W/flood.err" &
	FLOOD_PID=$!
}

# flood_stop: stop it; its "sent=N ..." line is left in $FLOOD.
flood_stop() {
	[ -n "$FLOOD_PID" ] || return 0
	kill -INT "$FLOOD_PID" 2>/dev/null
	wait "$FLOOD_PID"
	FLOOD_PID=''
	FLOOD=$(cat "$W/flood.out" 2>/dev/null)
	[ -n "$FLOOD" ] || { log "synflood: $(cat "$W/flood.err")"; FLOOD="sent=0"; }
	FLOOD=${FLOOD%% duration=*}
}

# ------------------------------------------------------- module groups

MODULE=off
module() {
	local c
	[ "$HAVE_MODULE" = 1 ] || return 0
	[ "$1" = "$MODULE" ] && return 0
	if [ "$1" = on ]; then
		log "insmod synguard"
		load_synguard mode=0 || die "cannot load synguard"
		ip netns exec "${NS[synguard]}" sh -c 'echo 2 >/proc/sys/net/synguard/mode' &&
			ip netns exec "${NS[synguard-adaptive]}" sh -c 'echo 1 >/proc/sys/net/synguard/mode' &&
			bench_gw_synguard "${GW[gw-synguard]}" "${IDX[gw-synguard]}" ||
			die "cannot set synguard's mode"
		# The first second of traffic after loading runs noticeably slower
		# (fresh module code to translate under TCG, per-namespace set-up
		# work): spend it on a flood that is not measured.
		# (The gateway's path is code of its own: half a second for it.)
		taskset -c 1 "$SYNFLOOD" --quiet --dst "$(srv_addr synguard)" --dport "$HTTP" \
			--src-prefix "$FLOOD_SRC" --duration 1 >/dev/null 2>&1
		taskset -c 1 "$SYNFLOOD" --quiet --dst "$(srv_addr gw-synguard)" --dport "$HTTP" \
			--src-prefix "$FLOOD_SRC" --duration 0.5 >/dev/null 2>&1
	else
		log "rmmod synguard"
		unload_synguard || die "cannot unload synguard"
	fi
	MODULE=$1
}

# groups FN ARGS...: FN CONFIG ARGS... for every configuration, the group
# matching the module's current state first (one load or unload per call).
groups() {
	local fn=$1 c
	shift
	if [ "$MODULE" = on ]; then
		for c in "${G1[@]}"; do "$fn" "$c" "$@"; done
		module off
		for c in "${G0[@]}"; do "$fn" "$c" "$@"; done
	else
		for c in "${G0[@]}"; do "$fn" "$c" "$@"; done
		module on
		for c in "${G1[@]}"; do "$fn" "$c" "$@"; done
	fi
}

# ------------------------------------------------------------ phases

sanity() {
	local c=$1
	legit "$c" 0.25
	case "$LEGIT" in
	*" ok=5 "*) ;;
	*) die "$c: plain HTTP through the config failed: $LEGIT" ;;
	esac
}

# Without flood: the legitimate client's baseline.
noflood() {
	local c=$1 a b d run try
	over_budget && return
	for try in $(seq 1 "$STEP_TRIES"); do
		srv_cmd flush || die "HTTP server flush"
		snap a "$c"
		legit "$c" "$STEP_SECS"
		snap b "$c"
		d=$(delta "$a" "$b")
		run=$(runpct "$d")
		[ "$run" -ge "$RUN_MIN" ] && break
		log "$c: the guest ran only $run % of the sample (busy host): again"
	done
	rec step "$c" "step=0" "target=0" "$d" "$LEGIT" "run=$run" "tries=$try"
	log "$c: no flood: $LEGIT"
}

# One iperf3 connection through the configuration, without flood (relayed
# by synguard in mode=2).
relay() {
	local c=$1 round=$2 a b d out bps bytes run try
	over_budget && return
	for try in $(seq 1 "$TRIES"); do
		snap a "$c"
		out=$(taskset -c 1 iperf3 -c "$(srv_addr "$c")" -p "$IPERF" -t "$IPERF_SECS" -f k \
			--connect-timeout 5000 2>&1)
		snap b "$c"
		bytes=$(awk '/receiver$/ { v = $5; u = $6
			m = (u ~ /^G/) ? 1073741824 : (u ~ /^M/) ? 1048576 : (u ~ /^K/) ? 1024 : 1
			printf "%.0f", v * m }' <<<"$out")
		bps=$(awk '/receiver$/ { v = $7; u = $8
			m = (u ~ /^G/) ? 1e9 : (u ~ /^M/) ? 1e6 : (u ~ /^K/) ? 1e3 : 1
			printf "%.0f", v * m }' <<<"$out")
		[ -n "$bytes" ] || { log "$c: iperf3 failed: $(tail -3 <<<"$out")"; bytes=0 bps=0; }
		d=$(delta "$a" "$b")
		run=$(runpct "$d")
		[ "$run" -ge "$RUN_MIN" ] && break
		log "$c: the guest ran only $run % of the iperf3 run (busy host): again"
	done
	rec relay "$c" "round=$round" "bytes=$bytes" "bps=$bps" "$d" "run=$run" "tries=$try"
	log "$c: iperf3 $((bps / 1000000)) Mbit/s"
}

# One capacity sample: the flood at full speed for CAP_SECS.
declare -A CAP_RATES
capacity() {
	local c=$1 round=$2 a b d run try
	over_budget && return
	for try in $(seq 1 "$TRIES"); do
		srv_cmd flush || die "HTTP server flush"
		flood_start "$c" 0
		bsleep 0.5
		snap a "$c"
		bsleep "$CAP_SECS"
		snap b "$c"
		flood_stop
		d=$(delta "$a" "$b")
		run=$(runpct "$d")
		[ "$run" -ge "$RUN_MIN" ] && break
		log "$c: the guest ran only $run % of the sample (busy host): again"
	done
	rec cap "$c" "round=$round" "$d" "$FLOOD" "run=$run" "tries=$try"
	[[ "$d" =~ us=([0-9]+)\ tx=[0-9]+\ rx=([0-9]+) ]] &&
		CAP_RATES[$c]+=" $(( BASH_REMATCH[2] * 1000000 / BASH_REMATCH[1] ))"
	log "$c: capacity round $round: ${CAP_RATES[$c]##* } SYN+ACK/s ($FLOOD)"
}

# The legitimate client during a flood of RATE pps (0: full speed).
step() {
	local c=$1 label=$2 rate=$3 a b d run try
	over_budget && { log "$c: step $label skipped: over the time budget"; return; }
	for try in $(seq 1 "$STEP_TRIES"); do
		srv_cmd flush || die "HTTP server flush"
		flood_start "$c" "$rate"
		bsleep 1
		snap a "$c"
		legit "$c" "$STEP_SECS"
		snap b "$c"
		flood_stop
		d=$(delta "$a" "$b")
		run=$(runpct "$d")
		[ "$run" -ge "$RUN_MIN" ] && break
		log "$c: the guest ran only $run % of the sample (busy host): again"
	done
	rec step "$c" "step=$label" "target=$rate" "$d" "$LEGIT" "$FLOOD" "run=$run" "tries=$try"
	log "$c: flood $label ($rate pps): $LEGIT"
}

# slabinfo FILE: "name bytes" for every cache (active objects * size).
slabinfo() {
	awk 'NR > 2 { printf "%s %d\n", $1, $2 * $4 }' /proc/slabinfo >"$1"
}
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

# Memory: slab before and after MEM_SYNS flood SYNs at full speed. Also a
# long capacity sample.
memory() {
	local c=$1 a b s0 s1 u0 u1 movers state
	is_gw "$c" && return
	over_budget && { log "$c: memory skipped: over the time budget"; return; }
	srv_cmd flush || die "HTTP server flush"
	bsleep 1
	slabinfo "$W/slab0"
	s0=$(meminfo Slab) u0=$(meminfo SUnreclaim)
	snap a "$c"
	taskset -c 1 "$SYNFLOOD" --quiet --dst "$(srv_addr "$c")" --dport "$HTTP" \
		--src-prefix "$FLOOD_SRC" --count "$MEM_SYNS" --duration 600 \
		>"$W/flood.out" 2>"$W/flood.err"
	snap b "$c"
	FLOOD=$(cat "$W/flood.out")
	FLOOD=${FLOOD%% duration=*}
	bsleep 0.5
	slabinfo "$W/slab1"
	s1=$(meminfo Slab) u1=$(meminfo SUnreclaim)
	# the five caches that grew or shrank most
	movers=$(awk 'NR == FNR { a[$1] = $2; next }
		{ d = $2 - a[$1]; if (d != 0) printf "%d %s\n", d, $1 }' "$W/slab0" "$W/slab1" |
		sort -k1,1 -n -r | awk '{ d = $1 < 0 ? -$1 : $1; print d, $1, $2 }' |
		sort -k1,1 -n -r | head -5 | awk '{ printf "%s%s:%+.0f", (NR > 1 ? "," : ""), $3, $2 / 1024 }')
	case "$c" in
	synguard*) state="flows=$(($(wc -l <"/proc/${IPERF_PID[$c]}/net/synguard_flows") - 1))" ;;
	*) state="synrecv=$(ip netns exec "${NS[$c]}" ss -Htn state syn-recv | wc -l)" ;;
	esac
	rec mem "$c" "$(delta "$a" "$b")" "$FLOOD" "slab0=$s0" "slab1=$s1" "sunr0=$u0" "sunr1=$u1" \
		"movers=${movers:--}" "$state"
	log "$c: $MEM_SYNS SYNs: Slab $s0 -> $s1 kB ($state)"
}

# Where CPU 0's time goes at full flood: perf's cpu-clock samples.
profile() {
	local c=$1 all idle try
	over_budget && return
	[ "$PERF" = 1 ] || return
	for try in $(seq 1 "$TRIES"); do
		srv_cmd flush || die "HTTP server flush"
		# perf itself on CPU 1, so that its own start-up (slow under TCG:
		# page faults, symbol tables) does not land in CPU 0's profile; it
		# starts the flood once its events are on. -N -B: no build-id
		# work, which would read every module file.
		if ! timeout 300 taskset -c 1 perf record -q -N -B -e cpu-clock -C 0 \
			-o "$W/perf.data" -- "$SYNFLOOD" --quiet --dst "$(srv_addr "$c")" \
			--dport "$HTTP" --src-prefix "$FLOOD_SRC" --duration 4 >"$W/perf.err" 2>&1; then
			log "perf record failed: $(head -3 "$W/perf.err")"
			rm -f "$W/perf.data"
			return
		fi
		all=$(timeout 300 perf report -i "$W/perf.data" --stdio --sort sym \
			--percent-limit 0 -q --kallsyms=/proc/kallsyms 2>/dev/null |
			sed -e 's/[[:space:]]*$//' -e '/^$/d')
		rm -f "$W/perf.data"
		# CPU 0 idle for much of it: the host starved the flood. Again.
		idle=$(awk '$3 ~ /safe_halt$/ { sub("%", "", $1); s += $1 } END { printf "%d", s }' <<<"$all")
		[ "${idle:-0}" -lt 30 ] && break
		log "$c: CPU 0 was idle ${idle} % of the profile (busy host): again"
	done
	head -25 <<<"$all" | while IFS= read -r line; do echo "T perf-$c $line"; done
	# perf files module symbols under [kernel.kallsyms] here (no .ko to
	# read): add up the ones /proc/kallsyms says are synguard's.
	echo "T perfmod-$c $(awk 'NR == FNR { if ($4 == "[synguard]") own[$3] = 1; next }
		($3 in own) { sub("%", "", $1); sum += $1 }
		END { printf "%.1f", sum }' /proc/kallsyms - <<<"$all")"
	log "$c: profiled (CPU 0 idle ${idle:-?} %)"
}

# Cross-check: hping3's flood against synflood's, on the kernel config.
xcheck() {
	local c=kernel a b out
	[ "$HAVE_HPING" = 1 ] || { log "no hping3: no cross-check"; return; }
	over_budget && return
	srv_cmd flush || die "HTTP server flush"
	taskset -c 1 hping3 -q -S -p "$HTTP" --flood --rand-source "$(srv_addr "$c")" \
		>"$W/hping.out" 2>&1 &
	local hp=$!
	bg_track "$hp"
	bsleep 0.5
	snap a "$c"
	bsleep "$CAP_SECS"
	snap b "$c"
	kill -INT "$hp" 2>/dev/null
	wait "$hp"
	out=$(grep -o '[0-9]* packets transmitted' "$W/hping.out" | awk '{ print $1 }')
	rec xcheck "$c" tool=hping3 "$(delta "$a" "$b")" "sent=${out:-0}"
	capacity "$c" xcheck
}

# ------------------------------------------------------------- the run

log "sanity: plain HTTP through every configuration"
groups sanity
log "without flood: legitimate baseline and iperf3 relay"
groups noflood
for r in $(seq 1 "$RELAY_ROUNDS"); do
	groups relay "$r"
done
for r in $(seq 1 "$ROUNDS"); do
	log "capacity round $r/$ROUNDS"
	groups capacity "$r"
	capacity sink "$r"
done

# The flood steps are fractions of the kernel's capacity (median of its
# rounds), found here rather than fixed to a machine; "max" is the
# generator at full speed.
# shellcheck disable=SC2086 # a list of numbers
sat=$(printf '%s\n' ${CAP_RATES[kernel]:-} | sort -n |
	awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }')
[ "${sat:-0}" -gt 0 ] || die "no kernel capacity measured"
rec info - "saturation=$sat"
log "kernel saturates at $sat SYN/s: flood steps 25/50/100 % of it, then full speed"
steps=("25 $((sat / 4))" "50 $((sat / 2))" "100 $sat" "max 0")
for s in "${steps[@]}"; do
	# shellcheck disable=SC2086 # label and rate
	groups step $s
done

log "cross-check of the flood rate with hping3"
module off
xcheck

log "memory: $MEM_SYNS SYNs per configuration"
groups memory

if [ "$PERF" = 1 ]; then
	log "profiles of CPU 0 at full flood"
	module off
	profile kernel
	if [ "$HAVE_MODULE" = 1 ]; then
		module on
		profile synguard
	fi
fi

module off
dmesg | grep -E "$DMESG_BAD" | head -20 | while IFS= read -r line; do
	echo "T dmesg $line"
done
rec info - "elapsed=$(elapsed)"
log "done in $(elapsed) s"
