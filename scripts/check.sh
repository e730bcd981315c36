#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: build for every test kernel, lint, run the userspace unit
# tests and every guest selftest on every kernel, then print one totals line
# (`check: N passed, N failed, N skipped`). Exit status 1 on any failure.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
logdir=$top/.cache/check-logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 flaky=0

# step NAME CMD...: one pass/fail item; on failure show the log's tail.
step() {
	local name=$1 log=$logdir/$1.log
	shift
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "ok - $name"
	else
		fail=$((fail + 1))
		echo "not ok - $name (log: $log)"
		tail -n 30 "$log" | sed 's/^/#   /'
	fi
}

# suite NAME CMD...: a runner printing its own "N passed, N failed[, N
# skipped[, N flaky]]" line last; its counts join the totals (flaky: passed
# only when run again, selftests/run.sh).
suite() {
	local name=$1 log=$logdir/$1.log line p f s k
	shift
	"$@" 2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		fail=$((fail + 1))
		echo "not ok - $name printed no totals (log: $log)"
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	k=$(echo "$line" | sed -nE 's/.* ([0-9]+) flaky.*/\1/p')
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + ${s:-0}))
	flaky=$((flaky + ${k:-0}))
}

# sparse reports but does not fail the build: any warning fails this step.
sparse_clean() {
	local out
	out=$(scripts/build-module.sh 6.12 C=2 CHECK=sparse 2>&1)
	echo "$out"
	! echo "$out" | grep -qE 'warning:|error:'
}

scripts/install-deps.sh || { echo "check: 0 passed, 1 failed"; exit 1; }

step build-6.1 scripts/build-module.sh 6.1
step build-6.12 scripts/build-module.sh 6.12
step sparse-6.12 sparse_clean
step checkpatch scripts/checkpatch.sh
step tools make -s -C selftests/tools
# The package builds and is lintian clean (the install tests, `make
# check-install`, install it in guests: a module build takes minutes there).
step deb scripts/make-deb.sh
suite unit make -s -C selftests/unit run
suite selftests selftests/run.sh

# A flaky test passed: said here too, not only far above.
[ "$flaky" -eq 0 ] || echo "check: $flaky selftest(s) passed only when run again (the \"# flaky:\" lines above)"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
