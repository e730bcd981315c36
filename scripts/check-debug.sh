#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check-debug [TESTS=...]`: every guest selftest (or the TESTS named)
# on Debian's 6.12 source built with KASAN, kmemleak, lockdep, PROVE_RCU,
# UBSAN, debug objects and SLUB debugging (scripts/build-debug-kernel.sh
# builds it when this machine has none yet: about an hour, once), with the
# packet fuzzer running FUZZ_SECONDS (default 600). Any checker report, a
# kmemleak scan after each test included, fails the test that caused it
# (scripts/vm-run). Not part of `make check`.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
t0=$(date +%s)
fail() { echo "check-debug: $*" >&2; exit 1; }

scripts/install-deps.sh || fail "installing the dependencies failed"
scripts/build-debug-kernel.sh >/dev/null || fail "building the debug kernel failed"
scripts/build-module.sh 6.12-debug >/dev/null || fail "building synguard for it failed"
make -s -C selftests/tools || fail "building the test tools failed"

FUZZ_SECONDS=${FUZZ_SECONDS:-600} selftests/run.sh --kernel 6.12-debug \
	--jobs "${DEBUG_JOBS:-$(nproc)}" "$@"
rc=$?
echo "check-debug: $(( ($(date +%s) - t0) / 60 )) min in all"
exit "$rc"
