#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-cost.sh [--kernel 6.1|6.12|all] [--quick] [--out DIR] [GUEST OPTIONS...]
#
# `make bench-cost`: the guest instructions synguard, the kernel's SYN
# cookies and SYNPROXY spend per answered SYN, per validated ACK and
# hand-off, per bogus ACK and per relayed MiB, and per SYN and per MiB for a
# gateway in front of a server (synguard gateway=2 against SYNPROXY in the
# FORWARD hook). Boots one guest per kernel (both at once) under QEMU's instruction counting (scripts/vm-run with
# VM_RUN_ICOUNT=1, one vCPU: shared/PLATFORM.md) and runs
# scripts/bench-cost-guest.sh in it; scripts/bench-cost-report.py turns each
# kernel's records into
#
#   DIR/cost-<date>-<kernel>.md     the tables and profiles (also printed)
#   DIR/cost-<date>-<kernel>.png    the chart of the SYN rows and the goals
#   DIR/cost-<date>-<kernel>.data   the raw records, to re-render from:
#                                   scripts/bench-cost-report.py DATA MD [OLD]
#
# and DIR/cost-latest-<series>.{md,png}, copies of the newest (the README
# shows the charts).
#
# DIR is bench/results (with --quick: .cache/bench-cost, 20000 SYNs per
# flood instead of 100000, for a quick look while optimising). Each report
# compares itself with the newest earlier .data of its kernel in DIR.
#
# Unlike `make bench`, the counts do not depend on what else the host does:
# a busy host makes the run slower, not different. Guest options go to
# bench-cost-guest.sh, e.g. `--only synguard --sections syn,perf` (one
# configuration and its baseline), `--count N`, `--max-reps N`.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SYNGUARD_CACHE:-$top/.cache}
me=bench-cost

usage() {
	echo "usage: $me [--kernel 6.1|6.12|all] [--quick] [--out DIR] [GUEST OPTIONS...]" >&2
	exit 2
}
die() { echo "$me: $*" >&2; exit 1; }

# shellcheck source=bench-lib.sh
source "$top/scripts/bench-lib.sh"

bench_opts "$@" || usage
set -- "${REST[@]}"
out=$OUT quick=$QUICK
gargs=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-perf|--perf-offsets) gargs+=("$1"); shift ;;
	-h|--help) usage ;;
	--*) [ $# -ge 2 ] || usage; gargs+=("$1" "$2"); shift 2 ;;
	*) usage ;;
	esac
done
if [ "$quick" = 1 ]; then
	gargs=(--count 20000 "${gargs[@]}")
	[ -n "$out" ] || out=$cache/bench-cost
fi
[ -n "$out" ] || out=$top/bench/results
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)

[ -x "$SYNFLOOD" ] || die "selftests/tools/synflood is not built: make tools"
[ -x "$PY" ] || die "$PY is missing: scripts/install-deps.sh"
ls "$top"/.build/*/synguard.ko >/dev/null 2>&1 ||
	echo "$me: no module in .build/ (make modules-all): synguard configurations skipped" >&2

date=$(date +%Y-%m-%d)
src=$(bench_source)
bench_run_dir || exit 1
run=$BENCH_RUN

t0=$(date +%s)
# One vCPU: Linux 6.1 hangs bringing up a second one under icount, and only
# with one is busy guest time the instruction count. The timeout is host
# time; the guest's own clock counts instructions.
VM_RUN_ICOUNT=1 VM_RUN_SMP=1 bench_boot "$run" 5400 scripts/bench-cost-guest.sh "${gargs[@]}"

rc=0
summary=()
for k in "${KERNELS[@]}"; do
	krel=$(bench_krel "$run" "$k")
	base=$out/cost-$date-$krel
	# The newest earlier run of this kernel, to compare with (today's is
	# kept as .prev.data: this run's records replace it).
	prev=$(find "$out" -maxdepth 1 -name "cost-*-$krel.data" -printf '%T@ %p\n' 2>/dev/null |
		sort -n | tail -1 | cut -d' ' -f2-)
	if [ "$prev" = "$base.data" ]; then
		cp "$base.data" "$base.prev.data"
		prev=$base.prev.data
	fi
	bench_keep "$run" "$k" '^R (syn|ack|bogus|mb) ' "$base" "$src" "$t0"
	case $? in
	0) ;;
	1) rc=1; continue ;;
	*) rc=1 ;;
	esac
	if ! line=$("$PY" "$top/scripts/bench-cost-report.py" "$base.data" "$base.md" \
		${prev:+"$prev"}); then
		echo "$me: $k: cannot render the report" >&2
		rc=1
		continue
	fi
	summary+=("$line")
	cp "$base.md" "$out/cost-latest-$k.md"
	if [ -e "$base.png" ]; then
		cp "$base.png" "$out/cost-latest-$k.png"
		sed -i "s|($(basename "$base.png"))|(cost-latest-$k.png)|" \
			"$out/cost-latest-$k.md"
	fi
	echo
	cat "$base.md"
	echo "$me: wrote $base.md and .data" >&2
done

echo
echo "== bench-cost summary ($(( ($(date +%s) - t0) / 60 )) min; guest instructions) =="
for l in "${summary[@]}"; do echo "$l"; done
exit "$rc"
