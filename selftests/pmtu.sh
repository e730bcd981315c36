#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU discovery through the relay. client -- router -- server, where
# the router's link towards the client has MTU 1400 and both hosts 1500:
# the client announces MSS 1460, the server's full-sized segments do not
# fit, and the router answers them with ICMP "fragmentation needed" (IPv4)
# or ICMPv6 "packet too big". Those quote the segment as synguard sent it,
# with a cookie-space seq; synguard must move it back into the listener's
# space, or tcp_v4_err()/tcp_v6_err() ignore the error as out of window and
# the transfer stalls.
#
# For IPv4 and IPv6, a 4 MiB HTTP fetch with mode=0 (the baseline), then
# with mode=2: it arrives intact within curl's time limit, the server
# learned the path MTU (the route cache is flushed between rounds), no ICMP
# error was found out of window, icmp_xlate moved, and the relayed fetch
# takes no more than twice the baseline's time plus a second.
#
# Then the same through a gateway: a backend namespace behind the server,
# which becomes a relaying gateway for it (gateway=2; the backend runs no
# synguard). The router's errors now quote the gateway's cookie space on
# their way to the backend, and the gateway must translate them as it
# forwards them: the same checks at the backend, gateway=0 the baseline.
# And once more with the narrow link moved to the gateway itself, whose
# errors quote the backend's own space and must be left alone.
#
# timeout: 300

source "$(dirname "$0")/lib.sh"

PORT=8080
PY=/usr/bin/python3
MTU=1400
C4=10.0.1.1 R4C=10.0.1.2 R4S=10.0.2.1 S4=10.0.2.2
C6=fd00:10:0:1::1 S6=fd00:10:0:2::2
B4=10.0.3.2 B6=fd00:10:0:3::2
MAXTIME=$((30 * SG_SLOW))	# s, for one fetch; a stalled one fails after this
SLACK=1		# s, on top of twice the baseline's time

for t in curl nstat md5sum; do
	checktool "command -v $t" "run test without $t"
done
checktool "$PY -c pass" "run test without python3"

trap cleanup_all EXIT
tmpd=$(mktemp -d)

setup_ns client router server backend || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$router" $C4/24 $R4C/24 &&
		to_client=$VETH2 &&
		veth_pair "$router" "$server" $R4S/24 $S4/24 &&
		srv_to_router=$VETH2
} || skip_test "cannot make the veth pairs"
if ! ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1 ||
	! ip netns exec "$router" sysctl -qw net.ipv6.conf.all.forwarding=1; then
	skip_test "cannot make the router forward"
fi
ip -n "$router" link set "$to_client" mtu $MTU || skip_test "cannot set the MTU"
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }
# Each round starts from the same state: no metrics from the one before.
in_s sysctl -qw net.ipv4.tcp_no_metrics_save=1
load_synguard mode=0 msl=30 || exit
dmesg_mark

mkdir "$tmpd/www"
head -c 4M /dev/urandom >"$tmpd/www/blob"
echo hello >"$tmpd/www/small"
want=$(md5sum <"$tmpd/www/blob")
ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	$PORT >"$tmpd/http.log" 2>&1 &
bg_track $!
wait_port_listen "$server" $PORT || { ksft_fail "HTTP server listens"; exit "$ksft_fail"; }

# The listener's namespace and synguard's, and how a round sets the mode:
# the server for the local rounds, the backend and the gateway in front of
# it for the gateway rounds.
lns=$server gns=$server knob=mode own=0
engage() { in_s sysctl -qw net.synguard.mode="$1"; }

# route_mtu FAMILY DST: the path MTU the listener has learned towards DST.
route_mtu() {
	ip -n "$lns" "-$1" route get "$2" | sed -nE 's/.* mtu ([0-9]+).*/\1/p'
}

# flush FAMILY: forget learned path MTUs (route cache, IPv6 exceptions),
# the listener's and the gateway's: the server learned one towards the
# client in the local rounds, and a gateway that knows it sends "packet
# too big" itself instead of the router.
flush() {
	ip -n "$lns" "-$1" route flush cache
	[ "$gns" = "$lns" ] || ip -n "$gns" "-$1" route flush cache
}

# fetch URL: the blob, intact; its time in seconds in $took.
fetch() {
	local out
	took=''
	rm -f "$tmpd/got"
	out=$(in_c curl -sS --fail --noproxy '*' --connect-timeout 10 \
		--max-time $MAXTIME -w '%{time_total}' -o "$tmpd/got" "$1") ||
		return 1
	took=$out
	[ "$(md5sum <"$tmpd/got")" = "$want" ]
}

# round FAMILY CLIENT URL MODE: one fetch with that mode, the path MTU
# learned from scratch; fails if the fetch did. Leaves the synguard
# counters in SG_SNAP and TcpExtOutOfWindowIcmps in $oow0 as they were
# before the fetch.
round() {
	local fam=$1 dst=$2 url=$3 mode=$4 tag="IPv$1 $knob=$4" rc
	flush "$fam"
	[ -z "$(route_mtu "$fam" "$dst")" ]
	ksft_check $? "$tag: no path MTU known before the fetch" || return
	engage "$mode"
	sg_snap "$gns"
	oow0=$(nstat_val "$lns" TcpExtOutOfWindowIcmps)
	ptb0=$(ptbs)
	fetch "$url"
	rc=$?
	ksft_check $rc "$tag: 4 MiB intact within ${MAXTIME}s (${took:-?}s)"
	[ "$(route_mtu "$fam" "$dst")" = $MTU ]
	ksft_check $? "$tag: the listener learned path MTU $MTU"
	return $rc
}

# relayed FAMILY: what the mode=2 round must show besides the fetch.
relayed() {
	local fam=$1 oow
	expect_delta "$gns" handoff_ok -ge 1 "IPv$fam: the fetch was relayed"
	if [ "$own" = 1 ]; then
		expect_delta "$gns" icmp_xlate -eq 0 "IPv$fam: the gateway's own ICMP errors left alone"
	else
		expect_delta "$gns" icmp_xlate -ge 1 "IPv$fam: the router's ICMP errors translated"
	fi
	oow=$(($(nstat_val "$lns" TcpExtOutOfWindowIcmps) - oow0))
	ksft_info "IPv$fam: errors sent (router, server): $(ptbs) before: $ptb0"
	[ "$oow" = 0 ]
	ksft_check $? "IPv$fam: no ICMP error found out of window ($oow)"
}

# ptbs: "fragmentation needed" and "packet too big" errors the router and
# the server have sent, for the record.
ptbs() {
	local ns
	for ns in "$router" "$server"; do
		printf '%s/%s ' "$(nstat_val "$ns" IcmpOutDestUnreachs)" "$(nstat_val "$ns" Icmp6OutPktTooBigs)"
	done
}

# in_time BASE: the last fetch took at most 2 * BASE + SLACK seconds.
in_time() {
	awk -v t="$took" -v b="$1" -v s=$SLACK 'BEGIN { exit !(t <= 2 * b + s) }'
	ksft_check $? "relayed fetch ${took}s, baseline ${1}s: within 2x + ${SLACK}s"
}

# ---- plain connectivity through the router
in_c curl -sS --fail --max-time 10 -o /dev/null "http://$S4:$PORT/small" &&
	in_c curl -sS --fail --max-time 10 -o /dev/null "http://[$S6]:$PORT/small"
ksft_check $? "small fetches over IPv4 and IPv6 through the router" || exit

# rounds TAG SRV4 SRV6: for IPv4 and IPv6, the baseline round and the
# relayed one, fetching from SRV4 or SRV6.
rounds() {
	local fam dst url fetched
	for fam in 4 6; do
		if [ $fam = 4 ]; then
			dst=$C4 url="http://$2:$PORT/blob"
		else
			dst=$C6 url="http://[$3]:$PORT/blob"
		fi
		round $fam $dst "$url" 0 || continue
		base=$took
		round $fam $dst "$url" 2
		fetched=$?
		relayed "$fam$1"
		[ $fetched = 0 ] && in_time "$base"
	done
}
rounds "" $S4 $S6

# ---- the same through a gateway: the server relays for the backend
{
	veth_pair "$server" "$backend" 10.0.3.1/24 $B4/24 &&
		ip -n "$router" route add 10.0.3.0/24 via $S4 &&
		ip -n "$router" -6 route add fd00:10:0:3::/64 via $S6 &&
		in_s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.synguard.mode=2 net.synguard.gateway_prefixes="10.0.3.0/24 fd00:10:0:3::/64" &&
		ip netns exec "$backend" sysctl -qw net.ipv4.tcp_no_metrics_save=1
} || { ksft_fail "gateway: the backend behind the server"; exit "$ksft_fail"; }
ip netns exec "$backend" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	$PORT >"$tmpd/http-backend.log" 2>&1 &
bg_track $!
wait_port_listen "$backend" $PORT || { ksft_fail "backend's HTTP server listens"; exit "$ksft_fail"; }
lns=$backend knob=gateway
engage() { in_s sysctl -qw net.synguard.gateway="$1"; }
rounds " through the gateway" $B4 $B6

# ---- the gateway's own link is the narrow one: it sends the errors itself
# (ip_forward(), ip6_forward(): about the segment as the backend sent it,
# before POST_ROUTING translated it), and none may be translated.
ip -n "$router" link set "$to_client" mtu 1500 &&
	ip -n "$server" link set "$srv_to_router" mtu $MTU ||
	{ ksft_fail "gateway: the narrow link moved to the gateway"; exit "$ksft_fail"; }
own=1
rounds " from the gateway's own link" $B4 $B6

cleanup_bg
check_dmesg_clean
ksft_exit
