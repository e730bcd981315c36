#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kselftest/runner.sh TEST...: run synguard's selftests on this machine,
# against the installed module (`make -C selftests run_tests`), one after
# the other, each under its timeout: its "# timeout: N" line, or ../settings'
# timeout=N. KTAP output as the kernel's kselftest runner prints it, then
# "N passed, N failed, N skipped". Exit status 1 if any test failed.
set -u

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$dir" || exit 1
default=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' settings 2>/dev/null)
default=${default:-45}

if [ "$(id -u)" != 0 ]; then
	echo "runner: the tests need root (sudo make -C selftests run_tests)" >&2
	exit 1
fi
# The installed module, not one built in the tree (lib.sh).
unset SYNGUARD_KO

echo "TAP version 13"
echo "1..$#"
n=0 npass=0 nfail=0 nskip=0
for t in "$@"; do
	n=$((n + 1))
	t=${t##*/}
	limit=$(sed -nE 's/^#[[:space:]]*timeout:[[:space:]]*([0-9]+).*/\1/p' "$t" | head -n 1)
	echo "# selftests: synguard: $t"
	timeout -k 10 "${limit:-$default}" bash "./$t" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	case "$rc" in
	0) npass=$((npass + 1)); echo "ok $n selftests: synguard: $t" ;;
	4) nskip=$((nskip + 1)); echo "ok $n selftests: synguard: $t # SKIP" ;;
	124)
		nfail=$((nfail + 1))
		echo "not ok $n selftests: synguard: $t # TIMEOUT ${limit:-$default} seconds" ;;
	*) nfail=$((nfail + 1)); echo "not ok $n selftests: synguard: $t # exit=$rc" ;;
	esac
done
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
