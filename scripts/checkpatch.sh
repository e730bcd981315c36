#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the kernel's checkpatch.pl over the module sources. checkpatch ships
# only in linux-source; its three files are unpacked once into .cache/.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/.cache/checkpatch

fetch() {
	local tmp pkg
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	pkg=$(apt-cache search --names-only '^linux-source-6\.[0-9]+$' |
		awk '{print $1}' | sort -V | tail -n 1)
	[ -n "$pkg" ] || { echo "checkpatch: no linux-source package" >&2; return 1; }
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" \
		>/dev/null)
	mkdir -p "$dir.tmp"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb |
		tar -xO --wildcards '*/linux-source-*.tar.xz' |
		tar -xJ -C "$dir.tmp" --strip-components=2 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
			'*/scripts/const_structs.checkpatch'
	mv "$dir.tmp" "$dir"
}

[ -x "$dir/checkpatch.pl" ] || fetch
cd "$top"
"$dir/checkpatch.pl" --no-tree --quiet --terse --show-types \
	--ignore FILE_PATH_CHANGES -f module/*.[ch]
