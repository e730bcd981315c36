#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make-deb.sh: build .build/deb/synguard-dkms_<version>_all.deb (`make deb`)
# and check it with lintian: any error or warning fails the build. Prints
# the package's path on stdout.
#
# The package is built with dpkg-buildpackage from a copy of what it needs
# (debian/, doc/, dkms.conf, Kbuild, the module's sources), never in the
# checkout itself. The version is the VERSION file's: debian/changelog is
# written here from it (dated by the last commit, or by VERSION's mtime in a
# tarball, so that two builds of one tree give the same package). The man
# page must name every sysctl of module/sysctl.c and every counter of
# module/stats.c.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
version=$(cat VERSION)
out=$top/.build/deb
src=$out/src/synguard-$version
deb=$out/synguard-dkms_${version}_all.deb

die() { echo "make-deb: $*" >&2; exit 1; }

# ---- the man page covers every sysctl and counter
missing=''
names=$(sed -nE 's/.*\.procname = "([a-z_]+)".*/\1/p; s/.*CTL_INT\("([a-z_]+)".*/\1/p' \
	module/sysctl.c)
names+=" $(sed -nE 's/^\s*\[SG_[A-Z_]+\] = "([a-z_]+)",/\1/p' module/stats.c)"
names+=" flows engaged syn_rate"	# the gauges, printed by stats_seq_show()
for n in $names; do
	grep -q "^\.B[A-Z]* $n\b" doc/synguard.7 || missing+=" $n"
done
[ -z "$missing" ] || die "doc/synguard.7 does not describe:$missing"

# ---- a clean copy to build from
rm -rf "$out"
mkdir -p "$src/module"
cp -r debian doc "$src/"
cp Kbuild VERSION dkms.conf Makefile "$src/"
cp module/*.[ch] "$src/module/"

if when=$(git log -1 --format=%ct 2>/dev/null) && [ -n "$when" ]; then :; else
	when=$(stat -c %Y VERSION)
fi
export SOURCE_DATE_EPOCH=$when
maint=$(sed -n 's/^Maintainer: //p' debian/control)
cat >"$src/debian/changelog" <<EOF
synguard ($version) unstable; urgency=medium

  * synguard $version.

 -- $maint  $(LC_ALL=C date -R -u -d "@$when")
EOF

# ---- build (binary only: the source package is this tree)
(cd "$src" && dpkg-buildpackage -b -us -uc -rfakeroot) >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; die "dpkg-buildpackage failed (log: $out/build.log)"; }
mv "$out/src/synguard-dkms_${version}_all.deb" "$deb"

# ---- lintian: no error, no warning (info tags are shown, not fatal)
if ! lintian --info --display-info --fail-on error,warning "$deb" >"$out/lintian.log" 2>&1; then
	cat "$out/lintian.log" >&2
	die "lintian found problems in $deb"
fi
# (lintian's note that it runs as root is no finding)
grep -v 'running with root privileges' "$out/lintian.log" | sed 's/^/make-deb: lintian: /' >&2
echo "$deb"
