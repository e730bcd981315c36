#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh 6.1|6.12|6.12-debug
#
# Resolve the newest Debian 12 build of a kernel series with apt-cache, then
# download its image and header packages and unpack them (no install) into
# .cache/kernels/<krel>/. Prints the unpacked directory on stdout. A cache that
# already holds the newest build is reused; without a reachable archive the
# newest cached build is used. 6.12-debug is our own build of Debian's 6.12
# source with the kernel's checkers (scripts/build-debug-kernel.sh).
set -eu

if [ "${1:-}" = 6.12-debug ]; then
	exec "$(dirname "$0")/build-debug-kernel.sh"
fi

series=${1:?usage: fetch-kernel.sh 6.1|6.12|6.12-debug}
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SYNGUARD_CACHE:-$top/.cache}/kernels
mkdir -p "$cache"

resolve_krel() {
	local pat
	case "$series" in
	6.1) pat='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) pat='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) echo "fetch-kernel: unknown series '$series'" >&2; return 2 ;;
	esac
	apt-cache search --names-only "$pat" 2>/dev/null |
		awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -n 1
}

krel=$(resolve_krel || true)
if [ -z "$krel" ]; then
	# apt lists may be missing on a fresh machine.
	apt-get update -qq >/dev/null 2>&1 || true
	krel=$(resolve_krel || true)
fi
if [ -z "$krel" ]; then
	krel=$(ls "$cache" 2>/dev/null | grep "^$series[.]" | sort -V | tail -n 1)
	[ -n "$krel" ] && [ -e "$cache/$krel/.done" ] || {
		echo "fetch-kernel: no $series kernel in apt or the cache" >&2
		exit 1
	}
fi

dir=$cache/$krel
if [ ! -e "$dir/.done" ]; then
	base=${krel%-amd64}		# 6.1.0-56 or 6.12.117+deb12
	case "$series" in
	6.1) kbuild=linux-kbuild-6.1 ;;
	*) kbuild=linux-kbuild-$base ;;
	esac
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp/debs"
	(cd "$dir.tmp/debs" &&
	 apt-get download -q -o APT::Sandbox::User=root "linux-image-$krel" "linux-headers-$krel" \
		"linux-headers-$base-common" "$kbuild" >/dev/null)
	for deb in "$dir.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir.tmp/root"
	done
	rm -rf "$dir.tmp/debs"
	r=$dir.tmp/root
	# The headers tree refers to the -common tree and to kbuild by absolute
	# /usr/... paths: point every such link and include at the unpacked copy.
	hdr=$r/usr/src/linux-headers-$krel
	sed -i "s|/usr/src/|$dir/root/usr/src/|g" "$hdr/Makefile"
	find "$hdr" -maxdepth 2 -type l | while read -r l; do
		t=$(readlink "$l")
		case "$t" in /*) ln -sfn "$dir/root$t" "$l" ;; esac
	done
	ln -sfn "$dir/root/usr/src/linux-headers-$krel" "$dir.tmp/build"
	depmod -b "$r" "$krel"
	mv "$dir.tmp" "$dir"
	touch "$dir/.done"
fi
echo "$dir"
