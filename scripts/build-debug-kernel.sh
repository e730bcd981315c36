#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-debug-kernel.sh
#
# Build Debian's 6.12 kernel source (package linux-source-6.12) with the
# checkers in scripts/debug-kernel/debug.config (KASAN, kmemleak, lockdep,
# PROVE_RCU, UBSAN, debug objects, SLUB debug), for `make check-debug` and
# `scripts/vm-run --kernel 6.12-debug`. Prints the kernel's directory, laid
# out like fetch-kernel.sh's (root/boot/vmlinuz-KREL, root/lib/modules/KREL,
# build -> the configured tree that external modules build against).
#
# The configuration is Debian's own amd64 one (from the 6.12 image package
# fetch-kernel.sh unpacks), with modules cut to the list in
# scripts/debug-kernel/modules (what a full selftest run loads, plus the
# guest's boot modules): the selftests meet the same kernel features as on
# Debian's kernel, and the build stays within reach of two cores.
#
# The result is cached outside the checkout, once per machine, in
# $SYNGUARD_DEBUG_CACHE (default ~/.cache/synguard/debug-kernel), keyed by
# the source package's version and this script's inputs: a new source
# package or a changed config rebuilds it. Building takes about an hour on
# two cores; the build log is kept next to the tree.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SYNGUARD_DEBUG_CACHE:-${HOME:-/root}/.cache/synguard/debug-kernel}
inputs=$top/scripts/debug-kernel
say() { echo "build-debug-kernel: $*" >&2; }

# The source package and what building a kernel needs.
need="linux-source-6.12 bc bison flex libelf-dev libssl-dev cpio xz-utils kmod"
missing=
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
tarball=$(find /usr/src -maxdepth 1 -name "linux-source-6.12.tar.*" | head -n 1)
[ -n "$tarball" ] || { say "no /usr/src/linux-source-6.12.tar.*"; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)

# Debian's configuration for this series comes with its image package.
base=$("$top/scripts/fetch-kernel.sh" 6.12)
debconf=$(find "$base/root/boot" -name "config-*" | head -n 1)

key=$({ echo "$srcver"; cat "$0" "$inputs/debug.config" "$inputs/modules" "$debconf"; } |
	sha256sum | cut -c1-16)
mkdir -p "$cache"
exec {lockfd}>"$cache/.lock"
flock "$lockfd"
for d in "$cache"/*/; do
	[ -e "$d/.key" ] && [ "$(cat "$d/.key")" = "$key" ] && [ -e "$d/.done" ] &&
		{ echo "${d%/}"; exit 0; }
done

# One source tree per source package version, extracted once; a changed
# config rebuilds in it incrementally.
src=$cache/src-$srcver
log=$cache/build.log
if [ ! -e "$src/.extracted" ]; then
	say "extracting $tarball ($srcver)"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$tarball" -C "$src.tmp"
	mv "$src.tmp"/linux-source-6.12* "$src"
	rm -rf "$src.tmp"
	touch "$src/.extracted"
fi

configure() {
	cp "$debconf" "$src/.config"
	# Modules: only the listed ones (localmodconfig reads lsmod's format).
	sed -e '/^#/d' -e '/^$/d' -e 's/$/ 0 0 - Live 0x0/' "$inputs/modules" \
		>"$cache/lsmod"
	yes '' | make -C "$src" LSMOD="$cache/lsmod" localmodconfig
	"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" \
		"$inputs/debug.config"
	make -C "$src" olddefconfig
	# Every option of the fragment must have survived olddefconfig: a
	# checker silently dropped would make the whole run worthless.
	sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=\(.*\)/\1 \2/p' "$inputs/debug.config" |
	while read -r opt val; do
		case "$val" in
		n) ! grep -q "^$opt=" "$src/.config" ;;
		*) grep -qx "$opt=$val" "$src/.config" ;;
		esac || { echo "build-debug-kernel: $opt=$val did not stick" >&2; exit 1; }
	done
}
say "building a debug kernel from $tarball ($srcver); log: $log"
say "this takes about an hour on two cores, once per machine"
configure >"$log" 2>&1 || { say "configuring failed, see $log"; tail -n 20 "$log" >&2; exit 1; }
make -C "$src" -j"$(nproc)" bzImage modules >>"$log" 2>&1 ||
	{ say "build failed, see $log"; tail -n 20 "$log" >&2; exit 1; }

krel=$(make -s -C "$src" kernelrelease)
dir=$cache/$krel
rm -rf "$dir"
root=$dir/root
mkdir -p "$root/boot"
cp "$src/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$krel"
cp "$src/.config" "$root/boot/config-$krel"
make -C "$src" INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod \
	modules_install >>"$log" 2>&1 || { say "modules_install failed, see $log"; exit 1; }
rm -f "$root/lib/modules/$krel/build" "$root/lib/modules/$krel/source"
ln -sfn "$src" "$dir/build"
echo "$key" >"$dir/.key"
touch "$dir/.done"
say "done: $dir"
echo "$dir"
