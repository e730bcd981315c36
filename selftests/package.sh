#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian package, installed as the README says: the running kernel's
# header packages, then synguard-dkms_<version>_all.deb (`make deb`, built
# on the host beforehand) with dpkg -i. DKMS must have built and installed
# the module for the running kernel, `modprobe synguard` load it, and a
# connection to a listener get a cookie and a hand-off; DKMS must build it
# again for new kernels (AUTOINSTALL). Then `modprobe -r`, and
# `dpkg --purge`, which must leave nothing behind: no
# source, no DKMS tree, no module, no modprobe.d file, `dkms status` empty.
#
# DKMS is slow under TCG: its build takes 3-5 minutes (gcc), so the test
# runs DKMS's depmod on a lean module tree (lib.sh): seconds, not minutes.
#
# It installs packages, so it runs only in a throwaway vm-run guest (whose
# root is an overlay of the host's), never on a real host: it is not in
# selftests/Makefile's TEST_PROGS.
#
# opt-in: a module build takes 3-5 minutes under TCG: make check-install
# runs the install tests on both kernels, make check stays under 30 minutes
# timeout: 900

# shellcheck source=selftests/lib.sh
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/.." && pwd)
PORT=8080

[ -n "${SYNGUARD_SERIES:-}" ] ||
	skip_test "installs packages: runs only in a vm-run guest (selftests/run.sh)"
checktool "dkms --version" "run test without dkms"
checktool "dpkg --version" "run test without dpkg"
krel=$(uname -r)
version=$(cat "$top/VERSION")
deb=$top/.build/deb/synguard-dkms_${version}_all.deb
[ -e "$deb" ] || skip_test "no package at $deb (make deb)"
hdrdir=${SYNGUARD_KDIR:-}/debs
compgen -G "$hdrdir/linux-headers-${krel}_*.deb" >/dev/null ||
	skip_test "no header packages in $hdrdir (scripts/fetch-kernel.sh --debs)"

tmpd=$(mktemp -d)
trap cleanup_all EXIT
dmesg_mark

# man-db's trigger re-indexes every manual page of the host's root after
# each dpkg run: minutes under TCG, and nothing this test looks at. Nor are
# dpkg's fsyncs, on a tmpfs that vanishes with the guest.
rm -f /var/lib/man-db/auto-update
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/synguard-selftest
# And DKMS's depmod runs over a module tree of only what the test loads.
# shellcheck disable=SC2086 # a list of modules
lean_module_tree $INSTALL_TEST_MODULES
ksft_check $? "a lean /lib/modules/$krel (lib.sh)" || exit "$ksft_fail"

# timed NAME CMD...: run CMD with its output in $tmpd/NAME.log, PASS or FAIL
# NAME with the seconds it took; the log's tail on failure.
timed() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s)
	"$@" >"$tmpd/$name.log" 2>&1
	rc=$?
	ksft_check "$rc" "$name ($(( $(date +%s) - t0 )) s)" ||
		tail -n 30 "$tmpd/$name.log" | sed 's/^/#   /'
	return "$rc"
}

# ---- install: headers (as `apt install linux-headers-$(uname -r)`), then us
# The running kernel's image package is not in the dpkg database (the guest
# boots it from the cache): --force-depends for the headers' dependency on
# it (6.12) and on the gcc-12 metapackage (6.1; gcc-12 is there).
timed "dpkg -i linux-headers-$krel" dpkg -i --force-depends "$hdrdir"/*.deb ||
	exit "$ksft_fail"
timed "dpkg -i synguard-dkms (DKMS builds the module)" dpkg -i "$deb" || exit "$ksft_fail"

# ---- what DKMS made of it
st=$(dkms status synguard 2>/dev/null)
[[ "$st" == "synguard/$version, $krel, "*": installed"* ]]
ksft_check $? "dkms status: $st"
[ -d "/usr/src/synguard-$version" ] && [ -f "/usr/src/synguard-$version/dkms.conf" ]
ksft_check $? "source in /usr/src/synguard-$version"
[ "$(modinfo -F version synguard)" = "$version" ]
ksft_check $? "module version $(modinfo -F version synguard), package $version"
conf=/etc/modprobe.d/synguard.conf
[ -f "$conf" ] && ! grep -q '^[[:space:]]*options' "$conf" &&
	grep -q '^#options synguard' "$conf"
ksft_check $? "$conf: the options, all commented out"
[ -f /usr/share/man/man7/synguard.7.gz ]
ksft_check $? "synguard(7) installed"

# ---- modprobe, and a connection protected
installed_roundtrip "/lib/modules/$krel/updates/dkms/synguard.ko*" "$PORT" ||
	exit "$ksft_fail"

# ---- kernel upgrades: the installed dkms.conf asks DKMS to build synguard
# for every new kernel, whose image and header packages run DKMS's hooks.
# (Running one here would mean a second build: minutes more under TCG.)
grep -qx 'AUTOINSTALL="yes"' "/usr/src/synguard-$version/dkms.conf"
ksft_check $? "dkms.conf: AUTOINSTALL=\"yes\""
[ -x /etc/kernel/postinst.d/dkms ] && [ -x /etc/kernel/header_postinst.d/dkms ]
ksft_check $? "DKMS's kernel hooks are installed"

# ---- purge: nothing left
timed "dpkg --purge synguard-dkms" dpkg --purge synguard-dkms
st=$(dkms status synguard 2>/dev/null)
[ -z "$st" ]
ksft_check $? "dkms status empty${st:+: $st}"
left=$(find /usr/src /var/lib/dkms /lib/modules/"$krel"/ /etc/modprobe.d \
	/usr/share/man /usr/share/doc -name 'synguard*' 2>/dev/null)
[ -z "$left" ]
ksft_check $? "no file left${left:+: $left}"
! modinfo synguard >/dev/null 2>&1
ksft_check $? "modinfo finds no synguard"
! dpkg -s synguard-dkms >/dev/null 2>&1
ksft_check $? "dpkg knows no synguard-dkms"

check_dmesg_clean "dmesg is free of kernel warnings"
ksft_exit
