#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Baseline: a client namespace fetches a 10 MiB random file over HTTP (IPv4,
# then IPv6) from python3's http.server in a server namespace, and the bytes
# arrive intact. With synguard loaded in mode=0 (pure pass-through) when a
# module has been built for this kernel, so this is also the "loading it
# changes nothing" check.
#
# timeout: 180

# shellcheck source=selftests/lib.sh
source "$(dirname "$0")/lib.sh"

PORT=8080
PY=/usr/bin/python3

checktool "curl --version" "run test without curl"
checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "cannot make a veth pair"

if [ -e "${SYNGUARD_KO:-}" ]; then
	load_synguard mode=0
	ksft_check $? "insmod synguard mode=0" || exit "$ksft_fail"
else
	ksft_info "note: no module at ${SYNGUARD_KO:-(SYNGUARD_KO unset)}; testing without it"
fi
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 10M /dev/urandom >"$tmpd/www/blob"
want=$(sha256sum <"$tmpd/www/blob")

# Bound to "::", http.server serves IPv4 too (it clears IPV6_V6ONLY).
ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	"$PORT" >"$tmpd/server.log" 2>&1 &
bg_track $!
if ! wait_port_listen "$server" "$PORT" tcp 60; then
	ksft_fail "http.server listens on port $PORT"
	sed 's/^/#   /' "$tmpd/server.log"
	exit "$ksft_fail"
fi

# fetch NAME URL: fetch the blob and compare it with the original.
fetch() {
	local name=$1 url=$2 got rc
	rm -f "$tmpd/got"
	ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 20 \
		--max-time 120 -o "$tmpd/got" "$url"
	rc=$?
	if [ "$rc" != 0 ]; then
		ksft_fail "$name: curl $url failed (rc=$rc)"
		return
	fi
	got=$(sha256sum <"$tmpd/got")
	if [ "$got" = "$want" ]; then
		ksft_pass "$name: 10 MiB fetched intact"
	else
		ksft_fail "$name: sha256 mismatch ($(stat -c %s "$tmpd/got") bytes received)"
	fi
}

fetch IPv4 "http://10.0.1.2:$PORT/blob"
fetch IPv6 "http://[fd00:10:0:1::2]:$PORT/blob"

cleanup_bg
if [ "$SYNGUARD_LOADED_HERE" = 1 ]; then
	unload_synguard
	ksft_check $? "rmmod synguard"
fi
check_dmesg_clean "dmesg is free of kernel warnings"
ksft_exit
