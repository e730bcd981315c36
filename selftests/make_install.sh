#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's installs without the package, and the kselftest entry point
# on top of them:
#  - `make -C selftests run_tests` with synguard not installed: each test
#    skips (exit 4), nothing fails;
#  - `make && make install` in a copy of the source (KDIR: the guest
#    kernel's headers), then `modprobe synguard`: the installed module
#    loads, from /lib/modules/$(uname -r), and a connection gets a cookie
#    and a hand-off;
#  - `make -C selftests run_tests` again: the same tests load the installed
#    module with modprobe and pass.
#
# The build is slow under TCG (3-4 minutes: gcc), and `make install` runs
# depmod, which the lean module tree (lib.sh) keeps to seconds.
# (DKMS by hand is dkms_by_hand.sh; the package's DKMS, package.sh.)
#
# It installs a module, so it runs only in a throwaway vm-run guest, never
# on a real host: it is not in selftests/Makefile's TEST_PROGS.
#
# opt-in: a module build takes 3-5 minutes under TCG: make check-install
# runs the install tests on both kernels, make check stays under 30 minutes
# timeout: 900

# shellcheck source=selftests/lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/.." && pwd)
PORT=8080
# Two quick tests of the suite, run through the kselftest entry point.
KTESTS="module_load.sh closed_port.sh"

[ -n "${SYNGUARD_SERIES:-}" ] ||
	skip_test "installs a module: runs only in a vm-run guest (selftests/run.sh)"
checktool "make --version" "run test without make"
krel=$(uname -r)
kdir=${SYNGUARD_KDIR:-}/build
[ -e "$kdir/Makefile" ] || skip_test "no kernel headers at $kdir"

tmpd=$(mktemp -d)
trap cleanup_all EXIT
dmesg_mark
# shellcheck disable=SC2086 # a list of modules
lean_module_tree $INSTALL_TEST_MODULES
ksft_check $? "a lean /lib/modules/$krel (lib.sh)" || exit "$ksft_fail"

# run_tests NAME: `make -C selftests run_tests` with $KTESTS, output in
# $tmpd/NAME.log; prints its KTAP result lines.
run_tests() {
	make -C "$top/selftests" run_tests TEST_PROGS="$KTESTS" >"$tmpd/$1.log" 2>&1
	local rc=$?
	grep -E '^(not )?ok ' "$tmpd/$1.log" | sed 's/^/# /'
	return "$rc"
}

# ---- kselftest without the module: skips
! modinfo synguard >/dev/null 2>&1 || skip_test "synguard is installed already"
run_tests not-installed
ksft_check $? "make -C selftests run_tests, synguard not installed: nothing fails" ||
	tail -n 30 "$tmpd/not-installed.log" | sed 's/^/#   /'
n=$(grep -c '^ok [0-9]* selftests: synguard: .* # SKIP$' "$tmpd/not-installed.log")
[ "$n" = "$(wc -w <<<"$KTESTS")" ]
ksft_check $? "every test skipped ($n)"

# ---- make && make install, from a fresh copy of the source
mkdir "$tmpd/src"
cp -r "$top"/{Makefile,Kbuild,VERSION,dkms.conf,module} "$tmpd/src/"
t0=$(date +%s)
make -C "$tmpd/src" KDIR="$kdir" >"$tmpd/make.log" 2>&1
ksft_check $? "make KDIR=$kdir ($(( $(date +%s) - t0 )) s)" ||
	{ tail -n 30 "$tmpd/make.log" | sed 's/^/#   /'; exit "$ksft_fail"; }
make -C "$tmpd/src" KDIR="$kdir" install >"$tmpd/install.log" 2>&1
ksft_check $? "make install" ||
	{ tail -n 30 "$tmpd/install.log" | sed 's/^/#   /'; exit "$ksft_fail"; }
installed_roundtrip "/lib/modules/$krel/*/synguard.ko*" "$PORT" || exit "$ksft_fail"

# ---- kselftest with the installed module: passes
run_tests installed
ksft_check $? "make -C selftests run_tests, synguard installed" ||
	tail -n 40 "$tmpd/installed.log" | sed 's/^/#   /'
n=$(grep -c '^ok [0-9]* selftests: synguard: [a-z_]*\.sh$' "$tmpd/installed.log")
[ "$n" = "$(wc -w <<<"$KTESTS")" ]
ksft_check $? "every test passed ($n)"
! synguard_loaded
ksft_check $? "the tests unloaded the module they loaded"

check_dmesg_clean "dmesg is free of kernel warnings"
ksft_exit
