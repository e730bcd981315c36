#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package the project needs on the host (and, through
# the read-only 9p root, inside the test guest). Idempotent and quiet when
# everything is already there.
set -eu

PKGS="build-essential make gcc kmod cpio xz-utils zstd dwarves sparse
bc flex bison libelf-dev
qemu-system-x86 busybox-static
iproute2 iputils-ping curl iperf3 hping3 tcpdump nftables iptables socat
netsniff-ng procps psmisc ethtool coreutils python3 gnuplot-nox
linux-perf
debhelper dh-dkms dkms lintian man-db fakeroot linux-base"
# (The last line is for `make deb` and for selftests/package.sh, whose guest
# installs the package: dkms, and linux-base for the 6.12 headers, must be
# on the host's root, which it boots.)

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
