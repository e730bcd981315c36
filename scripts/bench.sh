#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--kernel 6.1|6.12|all] [--quick] [--out DIR] [--no-perf]
#          [--mem-syns N] [--rounds N]
#
# `make bench`: synguard next to the kernel's own SYN cookies and SYNPROXY.
# Boots one guest per kernel (both at once, one host core each) and runs
# scripts/bench-guest.sh in it, which measures every configuration in that
# one boot with the same traffic: capacity under a full-speed SYN flood, a
# legitimate client's success and latency at flood steps found from the
# kernel's own capacity, the cost of relaying one iperf3 connection, and the
# slab memory 10^6 flood SYNs leave behind. Then scripts/bench-report.py
# turns each kernel's records into
#
#   DIR/<date>-<kernel>.md     the tables (also printed here)
#   DIR/<date>-<kernel>.png    the chart: legitimate success and connect
#                              latency against the flood step
#   DIR/<date>-<kernel>.data   the raw records, to re-render from
#
# and DIR/latest-<series>.{md,png} copies of the newest. DIR is bench/results
# (with --quick, a shorter run for development: .cache/bench). Re-render
# without a guest: scripts/bench-report.py DATA MD [PNG].
#
# The guests run under TCG: absolute rates are slow and depend on what else
# the host runs; the reports compare each configuration with `kernel`
# measured in the same boot. A full run takes about 10-15 minutes on a
# 2-core machine (both kernels in parallel), depending on the host's load.
# Needs the module built for each kernel (make modules-all; without it the
# synguard configurations are skipped) and selftests/tools/synflood (make
# tools): `make bench` does both first.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SYNGUARD_CACHE:-$top/.cache}
me=bench

usage() {
	echo "usage: $me [--kernel 6.1|6.12|all] [--quick] [--out DIR] [--no-perf] [--mem-syns N] [--rounds N]" >&2
	exit 2
}

kernels=(6.1 6.12)
out=''
quick=0
gargs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel|-k)
		[ $# -ge 2 ] || usage
		case "$2" in
		all) kernels=(6.1 6.12) ;;
		6.1|6.12) kernels=("$2") ;;
		*) usage ;;
		esac
		shift 2 ;;
	--quick) quick=1; gargs+=(--quick); shift ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--no-perf) gargs+=(--no-perf); shift ;;
	--mem-syns|--rounds) [ $# -ge 2 ] || usage; gargs+=("$1" "$2"); shift 2 ;;
	-h|--help) usage ;;
	*) echo "$me: unknown option '$1'" >&2; usage ;;
	esac
done
if [ -z "$out" ]; then
	if [ "$quick" = 1 ]; then out=$cache/bench; else out=$top/bench/results; fi
fi
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)

die() { echo "$me: $*" >&2; exit 1; }

[ -x "$top/selftests/tools/synflood" ] ||
	die "selftests/tools/synflood is not built: make tools (or make -C selftests/tools)"
[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing: scripts/install-deps.sh"
command -v gnuplot >/dev/null || echo "$me: gnuplot is missing (scripts/install-deps.sh): no charts" >&2

# The guest stops starting new phases after its budget; vm-run's timeout is
# the hard stop beyond that.
budget=1500
[ "$quick" = 1 ] && budget=900
gargs+=(--budget "$budget")
vm_timeout=$((budget + 300))

date=$(date +%Y-%m-%d)
src=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$top" status --porcelain -- module 2>/dev/null)" ]; then
	src="$src+uncommitted-module-changes"
fi

run=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
pids=()
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if ! ls "$top"/.build/*/synguard.ko >/dev/null 2>&1; then
	echo "$me: no module in .build/ (make modules-all): synguard configurations skipped" >&2
fi
t0=$(date +%s)
for k in "${kernels[@]}"; do
	echo "$me: $k: booting the guest (progress below; about 10-15 minutes)" >&2
	# (vm-run itself in the background, so that a TERM reaches its trap,
	# which stops QEMU)
	"$top/scripts/vm-run" --kernel "$k" --timeout "$vm_timeout" -- \
		scripts/bench-guest.sh "${gargs[@]}" >"$run/$k.data" \
		2> >(sed -u "s/^/[$k] /" >&2) &
	pids+=($!)
done
for i in "${!kernels[@]}"; do
	wait "${pids[$i]}"
	echo $? >"$run/${kernels[$i]}.rc"
done
pids=()

rc=0
summary=()
for k in "${kernels[@]}"; do
	krc=$(cat "$run/$k.rc" 2>/dev/null || echo 125)
	if ! grep -q '^R cap kernel ' "$run/$k.data" 2>/dev/null; then
		echo "$me: $k: the guest produced no results (exit $krc)" >&2
		rc=1
		continue
	fi
	[ "$krc" = 0 ] || { echo "$me: $k: the guest exited $krc; reporting what it measured" >&2; rc=1; }
	krel=$(sed -n 's/^R info - kernel=\([^ ]*\).*/\1/p' "$run/$k.data" | head -1)
	base=$out/$date-${krel:-$k}
	{
		grep -E '^[RT] ' "$run/$k.data"
		echo "R info - source=$src host_elapsed=$(( $(date +%s) - t0 ))"
	} >"$base.data"
	if ! line=$(BENCH_DATE=$date /usr/bin/python3 "$top/scripts/bench-report.py" \
		"$base.data" "$base.md" "$base.png"); then
		echo "$me: $k: cannot render the report" >&2
		rc=1
		continue
	fi
	summary+=("$line")
	cp "$base.md" "$out/latest-$k.md"
	# the copy points at the dated chart's copy
	sed -i "s|($(basename "$base.png"))|(latest-$k.png)|" "$out/latest-$k.md"
	[ -e "$base.png" ] && cp "$base.png" "$out/latest-$k.png"
	echo
	cat "$base.md"
	echo "$me: wrote $base.md${base:+ and .png, .data}" >&2
done

echo
echo "== bench summary ($(( ($(date +%s) - t0) / 60 )) min; TCG guests: ratios, not absolute rates) =="
for l in "${summary[@]}"; do echo "$l"; done
exit "$rc"
