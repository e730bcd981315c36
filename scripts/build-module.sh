#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-module.sh 6.1|6.12|6.12-debug [make args...]
#
# Build synguard.ko against the unpacked Debian headers of the newest build
# of a kernel series (see fetch-kernel.sh), in .build/<krel>/ so that the
# builds for different kernels never share objects. Warnings are errors.
set -eu

series=${1:?usage: build-module.sh 6.1|6.12|6.12-debug}
shift
top=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$top/scripts/fetch-kernel.sh" "$series")
krel=$(basename "$kdir")
out=$top/.build/$krel
version=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)

mkdir -p "$out/module"
cp -p "$top/Kbuild" "$out/"
# rsync-like copy that keeps timestamps, so unchanged files are not rebuilt
for f in "$top"/module/*.[ch]; do
	cmp -s "$f" "$out/module/$(basename "$f")" || cp -p "$f" "$out/module/"
done
make -s -j"$(nproc)" -C "$kdir/build" M="$out" SYNGUARD_VERSION="$version" \
	SYNGUARD_WERROR=1 "$@" modules
echo "$out/synguard.ko"
