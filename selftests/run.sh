#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# selftests/run.sh [--kernel 6.1|6.12|6.12-debug|all] [--jobs N] [TEST...]
#
# Run the guest selftests (selftests/*.sh but lib.sh and run.sh, or the
# TESTs named, as "foo", "foo.sh" or a path to a test file), each in its own
# QEMU guest through scripts/vm-run, on each kernel. Every kernel's tests
# wait in one queue, longest first (as selftests/durations last measured
# them), and --jobs N guests (default: one per host core; a TCG guest is
# one host thread) take them in turn, so that both kernels' tests end
# together and no long test starts last. Each run writes what its tests
# took to its own "durations" file: copy it over selftests/durations when
# tests were added or changed much.
#
# A test exits 0 to pass, 4 to skip, anything else fails it. It may set its
# own timeout (seconds, default 300) with a comment line "# timeout: N", or
# "# timeout: N + ${KNOB:-D}" when it runs for as long as the environment
# variable KNOB says (D when unset; vm-run passes FUZZ_* knobs to the
# guest); vm-run gets that plus boot_allowance for booting and powering off.
# A line "# vcpus: N" boots its guest with N vCPUs instead of 2. A line
# "# opt-in: WHY" keeps a test out of the default set (`make check`): it
# runs only when named (`make check-install` runs the install tests: a
# module build takes minutes under TCG). A line "# kernels: K..." keeps a
# test to those kernels in the default set (flood_smp: 6.12); named, a
# test runs on every kernel asked for.
#
# Output is TAP 13, numbered in the order results arrive; each result is
# preceded by the test's output as "# " lines, then how long it took and
# how much host CPU its guest used (the rest was waiting; on failure also
# the console log's path), and the very last line is "N passed, N failed,
# N skipped", after each failed test's FAIL lines again.
# Every test's output and console log stay in .cache/selftests/<run>/.
# A test that fails is run once more in a fresh guest ($SELFTEST_RETRIES
# times more; 0: never): a real regression fails again, a rare race of
# the test itself with its guest's timing does not. Not when its kernel
# warned, oopsed or leaked (kernel_unwell()): that is never a flake. A test that passed
# only on a retry is still reported: its first run's FAIL lines, "flaky"
# on its result line and again next to the totals, whose line then ends
# in ", N flaky"; the failed run's output and console log are kept as
# TEST.try1.out and TEST.try1.console.log.
# On the debug kernel (KASAN, lockdep, kmemleak: several times slower under
# TCG) every timeout and the boot allowance are multiplied by
# $DEBUG_SLOWDOWN (default 4).
# Exits 1 if any test failed, else 0.
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${SYNGUARD_CACHE:-$top/.cache}
default_timeout=300
retries=${SELFTEST_RETRIES:-1}
case "$retries" in '' | *[!0-9]*) echo "SELFTEST_RETRIES: not a number" >&2; exit 2 ;; esac
boot_allowance=30
max_lines=120		# of a test's output shown per result

usage() {
	echo "usage: ${0##*/} [--kernel 6.1|6.12|6.12-debug|all] [--jobs N] [TEST...]" >&2
	exit 2
}

kernels=(6.1 6.12)
jobs=$(nproc 2>/dev/null || echo 2)
tests=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel|-k)
		[ $# -ge 2 ] || usage
		case "$2" in
		all) kernels=(6.1 6.12) ;;
		6.1|6.12|6.12-debug) kernels=("$2") ;;
		*) usage ;;
		esac
		shift 2 ;;
	--kernel=*)
		case "${1#*=}" in
		all) kernels=(6.1 6.12) ;;
		6.1|6.12|6.12-debug) kernels=("${1#*=}") ;;
		*) usage ;;
		esac
		shift ;;
	--jobs|-j)
		if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*$ ]]; then usage; fi
		jobs=$2
		shift 2 ;;
	-h|--help) usage ;;
	-*) echo "${0##*/}: unknown option '$1'" >&2; usage ;;
	*) tests+=("$1"); shift ;;
	esac
done

# The tests, as paths; a test's name is its file name without .sh. A TEST
# with a "/" in it may be any test file (e.g. a scratch copy elsewhere).
named=1
if [ ${#tests[@]} -eq 0 ]; then
	named=''
	for f in "$top"/selftests/*.sh; do
		case "${f##*/}" in lib.sh|run.sh) continue ;; esac
		grep -q '^#[[:space:]]*opt-in:' "$f" && continue
		[ -e "$f" ] && tests+=("$f")
	done
else
	for i in "${!tests[@]}"; do
		t=${tests[$i]}
		case "$t" in
		*/*) [ -f "$t" ] && t=$(cd "$(dirname "$t")" && pwd)/$(basename "$t") ;;
		esac
		[ -f "$t" ] || t=$top/selftests/$(basename "$t" .sh).sh
		[ -f "$t" ] || { echo "${0##*/}: no test ${tests[$i]}" >&2; exit 2; }
		tests[i]=$t
	done
fi
mapfile -t tests < <(printf '%s\n' "${tests[@]}" | LC_ALL=C sort -u | sed '/^$/d')

logdir=$cache/selftests/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$logdir" || exit 2
# keep the logs of the newest 20 runs
# shellcheck disable=SC2012 # names are ours, no odd characters
ls -dt "$cache"/selftests/*/ | tail -n +21 | xargs -r rm -rf

# test_timeout FILE: its "# timeout: N [+ ${KNOB:-D}]" line, or the
# default.
test_timeout() {
	local line t knob def
	line=$(grep -m1 -E '^#[[:space:]]*timeout:[[:space:]]*[0-9]' "$1")
	t=$(sed -E 's/^#[[:space:]]*timeout:[[:space:]]*([0-9]+).*/\1/' <<<"$line")
	knob=$(sed -nE 's/.*\+[[:space:]]*\$\{([A-Z_][A-Z0-9_]*):-([0-9]+)\}.*/\1/p' <<<"$line")
	def=$(sed -nE 's/.*\+[[:space:]]*\$\{([A-Z_][A-Z0-9_]*):-([0-9]+)\}.*/\2/p' <<<"$line")
	if [ -n "$knob" ]; then
		case "${!knob:-}" in
		'' | *[!0-9]*) t=$((t + def)) ;;
		*) t=$((t + ${!knob})) ;;
		esac
	fi
	echo "${t:-$default_timeout}"
}

# runs_on FILE KERNEL: does FILE run on KERNEL? Yes if it was named or has
# no "# kernels:" line, else if that line lists KERNEL.
runs_on() {
	local line
	[ -n "$named" ] && return 0
	line=$(sed -nE 's/^#[[:space:]]*kernels:(.*)/\1/p' "$1" | head -n 1)
	[ -z "$line" ] || [[ " $line " == *" $2 "* ]]
}

# test_vcpus FILE: its "# vcpus: N" line, or 2.
test_vcpus() {
	local n
	n=$(sed -nE 's/^#[[:space:]]*vcpus:[[:space:]]*([0-9]+).*/\1/p' "$1" | head -n 1)
	echo "${n:-2}"
}

# slowdown KERNEL: how much longer than their own timeouts tests get there.
slowdown() {
	case "$1" in
	*-debug) echo "${DEBUG_SLOWDOWN:-4}" ;;
	*) echo 1 ;;
	esac
}

# cpu_cs FILE: set $cpu to the user+system CPU time, in centiseconds, of
# this shell's children that have ended (the second line of bash's
# `times`, which must run in this shell, not in a $(...) subshell: so
# through FILE), to tell a test's own work from its waits.
cpu_cs() {
	local t u s
	times >"$1"
	t=$(tail -n 1 "$1")
	u=${t%% *} s=${t#* }
	cpu=$(( $(cs "$u") + $(cs "$s") ))
}
cs() {	# "1m2.345s" (or "1m2,345s", in some locales) -> 6234
	local m=${1%%m*} r=${1#*m}
	r=${r%s}
	r=${r/,/.}
	echo $(( 10#$m * 6000 + 10#${r%.*} * 100 + 10#${r#*.} / 10 ))
}

# kernel_unwell RC OUT: did the failed run's kernel warn, oops, report a
# KASAN/UBSAN error or a leak (vm-run's verdict, or check_dmesg_clean's
# in the test)? That is never a flake: such a test is not run again.
kernel_unwell() {
	[ "$1" = 125 ] ||
		grep -Eq '^vm-run: (kernel error|kmemleak)|^#   kernel log: ' "$2"
}

# run_guest KERNEL FILE OUT CONSOLE: run one test in its own guest; sets
# $rc.
run_guest() {
	local k=$1 f=$2
	VM_RUN_SMP=$(test_vcpus "$f") VM_RUN_KDIR=$kdir "$top/scripts/vm-run" --kernel "$k" \
		--timeout $(( ($(test_timeout "$f") + boot_allowance) * $(slowdown "$k") )) \
		--log "$4" -- "${cmd[@]}" \
		>"$3" 2>&1 </dev/null &
	vpid=$!
	wait "$vpid"
	rc=$?
	vpid=''
	{
		flock 9
		{ echo "=== $k:$(basename "$f" .sh) (exit $rc)"; cat "$3"; } >>"$logdir/$k.log"
	} 9>"$logdir/$k.log.lock"
}

# worker: take the next job from the queue (one line "KERNEL FILE", in
# $logdir/queue; the next one's number in $logdir/next, under flock) until
# it is empty, run each in its own guest (again if it fails, up to
# $retries times) and print one line "KERNEL TEST RC SECONDS CPU TRIES"
# per job as it ends (CPU: the guest's host CPU seconds; TRIES: the
# failed runs before the one reported).
# Each test's output goes to $logdir/KERNEL/TEST.out (a failed run's, when
# it is run again, to TEST.tryN.out), and all of them, in the order they
# end, to KERNEL.log.
worker() {
	local k f t cmd out con rc t0 c0 n kdir cpu vpid='' tf=$logdir/times.$BASHPID
	local try
	trap 'if [ -n "$vpid" ]; then kill -TERM "$vpid" 2>/dev/null; wait "$vpid"; fi; exit 143' TERM
	while :; do
		{
			flock 9
			n=$(cat "$logdir/next")
			echo $((n + 1)) >"$logdir/next"
		} 9>"$logdir/next.lock"
		k='' f=''
		read -r k f < <(sed -n "${n}p" "$logdir/queue")
		[ -n "$k" ] || return 0
		t=$(basename "$f" .sh)
		out=$logdir/$k/$t.out
		con=$logdir/$k/$t.console.log
		if ! kdir=$(cat "$logdir/$k/kdir" 2>/dev/null) || [ -z "$kdir" ]; then
			cp "$logdir/$k/fetch.err" "$out"
			echo "$k $t 125 0 0 0"
			continue
		fi
		# The guest's cwd is the project root, as here.
		case "$f" in "$top"/*) f=${f#"$top"/} ;; esac
		cmd=("$f")
		[ -x "$f" ] || cmd=(bash "$f")
		t0=$(date +%s)
		cpu_cs "$tf"
		c0=$cpu
		try=0
		while :; do
			run_guest "$k" "$f" "$out" "$con"
			case "$rc" in 0 | 4) break ;; esac
			if [ "$try" -ge "$retries" ] || kernel_unwell "$rc" "$out"; then
				break
			fi
			try=$((try + 1))
			mv "$out" "$logdir/$k/$t.try$try.out"
			mv "$con" "$logdir/$k/$t.try$try.console.log" 2>/dev/null
		done
		cpu_cs "$tf"
		echo "$k $t $rc $(( $(date +%s) - t0 )) $(( (cpu - c0 + 50) / 100 )) $try"
	done
}

# expected KERNEL TEST FILE: how long TEST took on KERNEL when last
# measured (selftests/durations, "KERNEL TEST SECONDS" lines, refreshed
# from a run's own durations file), else half its timeout: the queue
# starts the longest tests first, so that no long one starts last.
expected() {
	local s
	s=$(awk -v k="$1" -v t="$2" '$1 == k && $2 == t { print $3; exit }' \
		"$top/selftests/durations" 2>/dev/null)
	echo "${s:-$(( $(test_timeout "$3") / 2 ))}"
}

echo "TAP version 13"
planned=0
for k in "${kernels[@]}"; do
	for f in "${tests[@]}"; do
		runs_on "$f" "$k" && planned=$((planned + 1))
	done
done
echo "1..$planned"

# Every kernel's tests in one queue, longest first; $jobs guests at once.
for k in "${kernels[@]}"; do
	mkdir -p "$logdir/$k"
	# Resolve each kernel once, not in each vm-run.
	"$top/scripts/fetch-kernel.sh" "$k" >"$logdir/$k/kdir" 2>"$logdir/$k/fetch.err" ||
		: >"$logdir/$k/kdir"
	for f in "${tests[@]}"; do
		runs_on "$f" "$k" || continue
		echo "$(expected "$k" "$(basename "$f" .sh)" "$f") $k $f"
	done
done | sort -k1,1nr -k2,2 -k3,3 | cut -d' ' -f2- >"$logdir/queue"
echo 1 >"$logdir/next"

# The workers report through a FIFO; we number and print results as they
# come.
fifo=$logdir/results
mkfifo "$fifo"
pids=()
for ((j = 0; j < jobs; j++)); do
	worker >"$fifo" &
	pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait; echo "# interrupted"; exit 130' INT TERM

# What a failure's summary shows of a test's output: its FAIL lines, the
# details tests print under them ("#   ..."), and vm-run's verdict.
fail_lines='^FAIL|^#   |^vm-run: (timed out|.*exit [^0]|kernel error|kmemleak)'

# first_fails KERNEL TEST N: the FAIL lines of the failed runs before the
# one reported (TEST.try1.out ...), indented.
first_fails() {
	local i
	for ((i = 1; i <= $3; i++)); do
		echo "#   run $i of $(($3 + 1)): $logdir/$1/$2.try$i.out"
		grep -E "$fail_lines" "$logdir/$1/$2.try$i.out" |
			head -n 30 | sed "s/^/#     /"
	done
}

n=0 npass=0 nfail=0 nskip=0
failures=() flaky=()
while read -r k t rc secs cpu tries; do
	echo "$k $t $secs" >>"$logdir/durations"
	n=$((n + 1))
	out=$logdir/$k/$t.out
	lines=$(wc -l <"$out")
	if [ "$lines" -gt "$max_lines" ]; then
		echo "# $k:$t: ... $((lines - max_lines)) lines before these are in $out"
	fi
	tail -n "$max_lines" "$out" | sed "s/^/# $k:$t: /"
	if [ "$tries" -gt 0 ]; then
		echo "# $k:$t: failed $tries time(s) before this run:"
		first_fails "$k" "$t" "$tries" | sed "s/^/# $k:$t: /"
	fi
	echo "# $k:$t: exit $rc after $secs s (host CPU $cpu s)"
	case "$rc" in
	0)
		npass=$((npass + 1))
		if [ "$tries" -gt 0 ]; then
			flaky+=("$k:$t:$tries")
			echo "ok $n $k:$t (flaky: passed on run $((tries + 1)))"
		else
			echo "ok $n $k:$t"
		fi
		;;
	4)
		nskip=$((nskip + 1))
		reason=$(sed -n 's/^SKIP: //p' "$out" | tail -n 1)
		echo "ok $n $k:$t # SKIP${reason:+ $reason}"
		;;
	*)
		nfail=$((nfail + 1))
		case "$rc" in
		124) echo "# $k:$t: timed out" ;;
		125) echo "# $k:$t: the guest crashed, or its kernel warned" ;;
		esac
		echo "# $k:$t: console log: $logdir/$k/$t.console.log"
		echo "not ok $n $k:$t"
		failures+=("$k:$t:$tries")
		;;
	esac
done <"$fifo"
wait

# What failed, once more next to the totals: a long test's FAIL lines
# may be far above, or cut off where only the end of the output is kept.
for f in "${failures[@]}"; do
	IFS=: read -r k t tries <<<"$f"
	echo "# failed: $k:$t"
	grep -E "$fail_lines" "$logdir/$k/$t.out" | head -n 30 | sed "s/^/#   /"
	[ "$tries" -eq 0 ] || first_fails "$k" "$t" "$tries"
done
# And what passed only on a retry: a race to find, not to forget.
for f in "${flaky[@]}"; do
	IFS=: read -r k t tries <<<"$f"
	echo "# flaky: $k:$t"
	first_fails "$k" "$t" "$tries"
done
echo "# logs: $logdir"
echo "$npass passed, $nfail failed, $nskip skipped${flaky[*]:+, ${#flaky[@]} flaky}"
[ "$nfail" -eq 0 ]
