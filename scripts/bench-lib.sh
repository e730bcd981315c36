# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# scripts/bench-lib.sh - what the benchmark's scripts share. Its host
# half is for scripts/bench.sh (wall-clock rates) and scripts/bench-cost.sh
# (instruction counts); its guest half for their guest sides,
# scripts/bench-guest.sh and scripts/bench-cost-guest.sh, which source it
# after selftests/lib.sh and provide log (progress on stderr) and rec (a
# result record). Functions and a few paths only: sourcing it runs nothing.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC2034 # for the sourcing scripts
PY=/usr/bin/python3
# shellcheck disable=SC2034
SYNFLOOD=$BENCH_TOP/selftests/tools/synflood
# shellcheck disable=SC2034
NET=$BENCH_TOP/scripts/bench-net.py

# ------------------------------------------------------------ host side

# bench_kernels ARG: the kernels that --kernel ARG names, into the array
# KERNELS; returns 1 if it names none.
bench_kernels() {
	case "$1" in
	all) KERNELS=(6.1 6.12) ;;
	6.1|6.12) KERNELS=("$1") ;;
	*) return 1 ;;
	esac
}

# bench_opts ARGS...: the options the host scripts share, out of ARGS:
# --kernel 6.1|6.12|all (into KERNELS, default both), --quick (QUICK=1),
# --out DIR (OUT); the other words, in order, into REST. Returns 2 on a
# bad or incomplete one.
# shellcheck disable=SC2034 # QUICK, OUT: for the caller
bench_opts() {
	KERNELS=(6.1 6.12) QUICK=0 OUT='' REST=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel|-k)
			[ $# -ge 2 ] || return 2
			bench_kernels "$2" || return 2
			shift 2 ;;
		--quick) QUICK=1; shift ;;
		--out) [ $# -ge 2 ] || return 2; OUT=$2; shift 2 ;;
		*) REST+=("$1"); shift ;;
		esac
	done
}

# bench_source: the commit the module and scripts come from, marked when
# the module has uncommitted changes.
bench_source() {
	local src
	src=$(git -C "$BENCH_TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$BENCH_TOP" status --porcelain -- module 2>/dev/null)" ]; then
		src="$src+uncommitted-module-changes"
	fi
	echo "$src"
}

# bench_run_dir: a scratch directory, in BENCH_RUN, removed at exit, when
# the guests still running (BENCH_PIDS) are stopped too.
bench_run_dir() {
	BENCH_RUN=$(mktemp -d "${TMPDIR:-/tmp}/${me:-bench}.XXXXXX") || return 1
	BENCH_PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# shellcheck disable=SC2317 # called from the trap
bench_cleanup() {
	local p
	for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$BENCH_RUN"
}

# bench_boot RUN TIMEOUT COMMAND...: COMMAND in one guest per kernel of
# KERNELS, all at once (one host core each), through scripts/vm-run with the
# caller's VM_RUN_* environment: its records into RUN/K.data, its exit
# status into RUN/K.rc, its progress on stderr behind "[K] ". BENCH_PIDS
# holds the vm-runs while they run, for the caller's cleanup to stop.
bench_boot() {
	local run=$1 timeout=$2 k i
	shift 2
	BENCH_PIDS=()
	for k in "${KERNELS[@]}"; do
		echo "${me:-bench}: $k: booting the guest (progress below)" >&2
		# (vm-run itself in the background, so that a TERM reaches its
		# trap, which stops QEMU)
		"$BENCH_TOP/scripts/vm-run" --kernel "$k" --timeout "$timeout" -- "$@" \
			>"$run/$k.data" 2> >(sed -u "s/^/[$k] /" >&2) &
		BENCH_PIDS+=($!)
	done
	for i in "${!KERNELS[@]}"; do
		wait "${BENCH_PIDS[$i]}"
		echo $? >"$run/${KERNELS[$i]}.rc"
	done
	BENCH_PIDS=()
}

# bench_krel RUN K: the kernel release K's guest reported (K if none).
bench_krel() {
	local krel
	krel=$(sed -n 's/^R info - kernel=\([^ ]*\).*/\1/p' "$1/$2.data" 2>/dev/null | head -1)
	echo "${krel:-$2}"
}

# bench_keep RUN K ERE BASE SRC T0: K's records, if one of them matches ERE,
# into BASE.data, with the source (SRC) and the time since T0. Returns 1
# (and says so) if the guest measured nothing, 2 if it measured but then
# failed (kept all the same).
bench_keep() {
	local run=$1 k=$2 ere=$3 base=$4 src=$5 t0=$6 krc
	krc=$(cat "$run/$k.rc" 2>/dev/null || echo 125)
	if ! grep -Eq "$ere" "$run/$k.data" 2>/dev/null; then
		echo "${me:-bench}: $k: the guest produced no results (exit $krc)" >&2
		return 1
	fi
	{
		grep -E '^[RT] ' "$run/$k.data"
		echo "R info - source=$src host_elapsed=$(( $(date +%s) - t0 ))"
	} >"$base.data"
	[ "$krc" = 0 ] && return 0
	echo "${me:-bench}: $k: the guest exited $krc; reporting what it measured" >&2
	return 2
}

# ----------------------------------------------------------- guest side

# bench_synproxy NS ADDR PROBE_PORT PORTS [GATEWAY_NS]: nft SYNPROXY in
# front of the listeners of NS on PORTS (an nft set body, e.g. "8080,
# 5201"), matched to the server: the MSS and window scale it announces are
# read from a connection held open to ADDR:PROBE_PORT (bash's /dev/tcp: no
# exec). SYNs are notracked, so conntrack never sees them; tcp_loose=0, so
# an ACK without a connection is SYNPROXY's to check. With GATEWAY_NS,
# SYNPROXY runs there, in the FORWARD hook, for the server NS behind it
# (bench_gw_ns): the setup SYNPROXY's documentation gives for a firewall.
bench_synproxy() {
	local ns=$1 addr=$2 probe=$3 ports=$4 fw=${5:-$1} hook=input fd line ws='' mss=''
	[ "$fw" = "$ns" ] || hook=forward
	exec {fd}<>"/dev/tcp/$addr/$probe" || return 1
	line=$(ip netns exec "$ns" ss -Htni state established "( sport = :$probe )")
	exec {fd}>&-
	[[ "$line" =~ wscale:[0-9]+,([0-9]+) ]] && ws=${BASH_REMATCH[1]}
	[[ "$line" =~ advmss:([0-9]+) ]] && mss=${BASH_REMATCH[1]}
	if [ -z "$ws" ] || [ -z "$mss" ]; then
		log "cannot read the server's options: $line"
		return 1
	fi
	ip netns exec "$fw" nft -f - <<-NFT || return 1
	table inet bench_synproxy {
		chain pre {
			type filter hook prerouting priority raw; policy accept;
			tcp dport { $ports } tcp flags & (fin | syn | rst | ack) == syn notrack
		}
		chain filter {
			type filter hook $hook priority filter; policy accept;
			tcp dport { $ports } ct state { invalid, untracked } synproxy mss $mss wscale $ws timestamp sack-perm
			ct state invalid drop
		}
	}
	NFT
	ip netns exec "$fw" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || return 1
	rec setup "$([ "$hook" = input ] && echo synproxy || echo gw-synproxy)" "mss=$mss" \
		"wscale=$ws" "rule=nft_synproxy_notrack_syn_$hook"
	log "synproxy ($hook): mss $mss wscale $ws"
}

# bench_gw_ns I: a gateway and a server behind it, for the configuration
# numbered I (its veth names and addresses): the root namespace (the
# client side) "bcI" 10.0.I.1 --- 10.0.I.2 "bsI" gateway "bgI" 10.1.I.1
# --- 10.1.I.2 "bvI" server. The root namespace routes 10.1.I.0/24 via
# the gateway; the gateway's default route leads back to the root
# namespace (SYN+ACKs to a flood's spoofed sources end there, no
# neighbour entry made per source), the server's to the gateway. The
# gateway forwards, rp_filter off (the flood's sources are off-link).
# Sets BENCH_GW (the gateway's namespace) and BENCH_GW_SRV (the server's).
bench_gw_ns() {
	local i=$1 gw srv
	setup_ns gw srv || return 1
	# shellcheck disable=SC2154,SC2034 # set by setup_ns; for the caller
	BENCH_GW=$gw BENCH_GW_SRV=$srv
	ip link add "bc$i" type veth peer name "bs$i" netns "$gw" &&
		ip addr add "10.0.$i.1/24" dev "bc$i" && ip link set "bc$i" up &&
		ip route add "10.1.$i.0/24" via "10.0.$i.2" &&
		ip -n "$gw" link add "bg$i" type veth peer name "bv$i" netns "$srv" ||
		return 1
	ip netns exec "$gw" sh -ec "
		ip addr add 10.0.$i.2/24 dev bs$i
		ip link set bs$i up
		ip addr add 10.1.$i.1/24 dev bg$i
		ip link set bg$i up
		ip route add default via 10.0.$i.1
		sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.bs$i.rp_filter=0
	" && ip netns exec "$srv" sh -ec "
		ip addr add 10.1.$i.2/24 dev bv$i
		ip link set bv$i up
		ip route add default via 10.1.$i.1
	"
}

# bench_gw_synguard GATEWAY_NS I: synguard's relay (gateway=2, mode=2) in
# the gateway of bench_gw_ns I, for the server behind it. The module must
# be loaded.
bench_gw_synguard() {
	ip netns exec "$1" sysctl -qw net.synguard.mode=2 \
		"net.synguard.gateway_prefixes=10.1.$2.0/24" net.synguard.gateway=2
}

# hexstat FILE COLUMN: sum of COLUMN over the per-CPU rows of an lnstat-style
# file (/proc/net/stat/*); 0 if there is no such file or column.
hexstat() {
	local file=$1 name=$2 i col=-1 sum=0
	local -a h f
	[ -r "$file" ] || { echo 0; return; }
	{
		read -r -a h
		for i in "${!h[@]}"; do [ "${h[$i]}" = "$name" ] && col=$i; done
		if [ "$col" -ge 0 ]; then
			while read -r -a f; do sum=$((sum + 16#${f[$col]})); done
		fi
	} <"$file"
	echo "$sum"
}

# tcpext FILE NAME: a TcpExt counter from a /proc/net/netstat.
tcpext() {
	local file=$1 name=$2 i
	local -a h v
	while read -r -a h; do
		[ "${h[0]}" = TcpExt: ] || continue
		read -r -a v
		for i in "${!h[@]}"; do
			[ "${h[$i]}" = "$name" ] && { echo "${v[$i]}"; return; }
		done
	done <"$file"
	echo 0
}
