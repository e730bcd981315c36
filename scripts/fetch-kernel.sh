#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fetch-kernel.sh [--debs] 6.1|6.12|6.12-debug
#
# Resolve the newest Debian 12 build of a kernel series with apt-cache, then
# download its image and header packages and unpack them (no install) into
# .cache/kernels/<krel>/. Prints the unpacked directory on stdout; with
# --debs, the directory <krel>/debs/ instead, which holds the header
# packages themselves (downloaded now if the cache lacks them), for a guest
# to install with dpkg as a server would (selftests/package.sh). A cache that
# already holds the newest build is reused; without a reachable archive the
# newest cached build is used. 6.12-debug is our own build of Debian's 6.12
# source with the kernel's checkers (scripts/build-debug-kernel.sh).
set -eu

want_debs=''
if [ "${1:-}" = --debs ]; then
	want_debs=1
	shift
fi
if [ "${1:-}" = 6.12-debug ]; then
	[ -z "$want_debs" ] || { echo "fetch-kernel: no packages of 6.12-debug" >&2; exit 1; }
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
base=${krel%-amd64}		# 6.1.0-56 or 6.12.117+deb12
case "$series" in
6.1) kbuild=linux-kbuild-6.1 ;;
*) kbuild=linux-kbuild-$base ;;
esac
headers="linux-headers-$krel linux-headers-$base-common $kbuild"

# download DIR PKG...: apt-get download into DIR
download() {
	local d=$1
	shift
	(cd "$d" && apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null)
}

if [ ! -e "$dir/.done" ]; then
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp/debs"
	# shellcheck disable=SC2086 # a list of packages
	download "$dir.tmp/debs" "linux-image-$krel" $headers
	for deb in "$dir.tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir.tmp/root"
	done
	# the header packages stay, for --debs
	rm -f "$dir.tmp"/debs/linux-image-*.deb
	touch "$dir.tmp/debs/.done"
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
if [ -n "$want_debs" ]; then
	if [ ! -e "$dir/debs/.done" ]; then
		rm -rf "$dir/debs.tmp"
		mkdir -p "$dir/debs.tmp"
		# shellcheck disable=SC2086 # a list of packages
		download "$dir/debs.tmp" $headers || {
			echo "fetch-kernel: cannot download $headers" >&2
			rm -rf "$dir/debs.tmp"
			exit 1
		}
		touch "$dir/debs.tmp/.done"
		rm -rf "$dir/debs"
		mv "$dir/debs.tmp" "$dir/debs"
	fi
	dir=$dir/debs
fi
echo "$dir"
