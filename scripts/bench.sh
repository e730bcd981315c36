#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--kernel 6.1|6.12|all] [--quick] [--out DIR] [--no-perf]
#          [--mem-syns N] [--rounds N]
#
# `make bench`: synguard next to the kernel's own SYN cookies and SYNPROXY.
# Boots one guest per kernel (both at once, one host core each) and runs
# scripts/bench-guest.sh in it, which measures every configuration in that
# one boot with the same traffic. The configurations: a server namespace
# with none (tcp_syncookies=0), kernel (=2), kernel-adaptive (=1), synproxy
# (nft), synguard (mode=2), synguard-adaptive (mode=1); and a gateway
# namespace in front of a server namespace, in the FORWARD path: gw-forward
# (forwarding only, the server's own cookies), gw-synproxy (SYNPROXY on the
# gateway), gw-synguard (synguard's relay, gateway=2, on the gateway). The
# measurements: capacity under a full-speed SYN flood, a legitimate client's
# success and latency at flood steps found from the kernel's own capacity,
# the cost of relaying one iperf3 connection, and (not for the gateways) the
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
# measured in the same boot. A full run takes about 13-18 minutes on a
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

# shellcheck source=bench-lib.sh
source "$top/scripts/bench-lib.sh"

bench_opts "$@" || usage
set -- "${REST[@]}"
out=$OUT quick=$QUICK
gargs=()
[ "$quick" = 1 ] && gargs+=(--quick)
while [ $# -gt 0 ]; do
	case "$1" in
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
src=$(bench_source)

bench_run_dir || exit 1
run=$BENCH_RUN

if ! ls "$top"/.build/*/synguard.ko >/dev/null 2>&1; then
	echo "$me: no module in .build/ (make modules-all): synguard configurations skipped" >&2
fi
t0=$(date +%s)
echo "$me: about 13-18 minutes per guest" >&2
bench_boot "$run" "$vm_timeout" scripts/bench-guest.sh "${gargs[@]}"

rc=0
summary=()
for k in "${KERNELS[@]}"; do
	base=$out/$date-$(bench_krel "$run" "$k")
	bench_keep "$run" "$k" '^R cap kernel ' "$base" "$src" "$t0"
	case $? in
	0) ;;
	1) rc=1; continue ;;
	*) rc=1 ;;
	esac
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
