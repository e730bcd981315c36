#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's "DKMS by hand": `make dkms-src` puts the source and
# dkms.conf in /usr/src/synguard-<version>, `dkms install` builds and
# installs the module for the running kernel, `modprobe synguard` loads it
# and a connection gets a cookie and a hand-off; `dkms remove --all` takes
# the module away again.
#
# It installs a module, so it runs only in a throwaway vm-run guest, never
# on a real host: it is not in selftests/Makefile's TEST_PROGS.
#
# opt-in: package.sh builds the same dkms.conf (make check-install)
# timeout: 900

# shellcheck source=selftests/lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/.." && pwd)
PORT=8080

[ -n "${SYNGUARD_SERIES:-}" ] ||
	skip_test "installs a module: runs only in a vm-run guest (selftests/run.sh)"
checktool "make --version" "run test without make"
checktool "dkms --version" "run test without dkms"
krel=$(uname -r)
kdir=${SYNGUARD_KDIR:-}/build
[ -e "$kdir/Makefile" ] || skip_test "no kernel headers at $kdir"
! modinfo synguard >/dev/null 2>&1 || skip_test "synguard is installed already"

tmpd=$(mktemp -d)
trap cleanup_all EXIT
dmesg_mark
# shellcheck disable=SC2086 # a list of modules
lean_module_tree $INSTALL_TEST_MODULES
ksft_check $? "a lean /lib/modules/$krel (lib.sh)" || exit "$ksft_fail"

# ---- DKMS by hand, from a fresh copy of the source
mkdir "$tmpd/src"
cp -r "$top"/{Makefile,Kbuild,VERSION,dkms.conf,module} "$tmpd/src/"
version=$(cat "$top/VERSION")
make -C "$tmpd/src" dkms-src >"$tmpd/dkms-src.log" 2>&1 &&
	[ -f "/usr/src/synguard-$version/dkms.conf" ] &&
	grep -q "^PACKAGE_VERSION=\"$version\"" "/usr/src/synguard-$version/dkms.conf"
ksft_check $? "make dkms-src: /usr/src/synguard-$version" ||
	{ cat "$tmpd/dkms-src.log"; exit "$ksft_fail"; }
t0=$(date +%s)
# (--kernelsourcedir: the guest's kernel headers are not installed: the
# unpacked ones; on a server, the headers package's.)
dkms install "synguard/$version" -k "$krel" --kernelsourcedir "$kdir" >"$tmpd/dkms.log" 2>&1
ksft_check $? "dkms install synguard/$version ($(( $(date +%s) - t0 )) s)" ||
	{ tail -n 30 "$tmpd/dkms.log" | sed 's/^/#   /'; exit "$ksft_fail"; }
installed_roundtrip "/lib/modules/$krel/updates/dkms/synguard.ko*" "$PORT" ||
	exit "$ksft_fail"
dkms remove "synguard/$version" --all >"$tmpd/dkms-remove.log" 2>&1 &&
	rm -rf "/usr/src/synguard-$version"
ksft_check $? "dkms remove synguard/$version --all"
! modinfo synguard >/dev/null 2>&1
ksft_check $? "no module left"


check_dmesg_clean "dmesg is free of kernel warnings"
ksft_exit
