#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh [--kernel 6.1|6.12]: `make demo`. Boots a guest and runs
# scripts/demo-guest.sh in it: a web server under a SYN flood, first without
# protection, then with synguard loaded.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
kernel=6.12
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	*) echo "usage: demo.sh [--kernel 6.1|6.12]" >&2; exit 2 ;;
	esac
done
exec "$top/scripts/vm-run" --kernel "$kernel" --timeout 300 -- \
	scripts/demo-guest.sh
