#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Gateway mode, stateless front (net.synguard.gateway=1): a client, a
# forwarding gateway and a server behind it, each in its own namespace.
# The gateway protects the server's prefixes (gateway_prefixes); the server
# runs synguard too (mode=2, a local listener), with the gateway's fleet
# secret. mode=2 msl=2 everywhere.
#
#  s. The sysctls: gateway_prefixes reads empty; junk, /33, /129, host
#     bits set, a half-good list and 65 prefixes are EINVAL and change
#     nothing; a good list reads back as parsed, one a line too (a bad
#     line refuses the whole write). gateway 3 and -1: EINVAL.
#  0. gateway=0: a connection through the gateway is the server's own
#     synguard's (its cookie_sent moves, the gateway's not).
#  1. gateway=1 without a secret on the gateway: SYNs pass (pass_no_secret),
#     the server answers them itself.
#  2. The same secret on both, no conntrack on the gateway: IPv4 and IPv6
#     echoes (64 KiB) intact; the gateway sent the cookies, the server sent
#     none and handed the connections off; no flow on the gateway.
#  3. Conntrack on the gateway (an nft ct rule): it now tells known
#     connections from unknown ACKs. Echoes intact, the gateway validated
#     the third ACKs; a connection kept across an idle 2 MSL + 1 s (two key
#     rotations) then echoes 64 KiB again both ways, IPv4 and IPv6; an ACK
#     flood (synflood --mode ack) is dropped at the gateway (cookie_bad_mac)
#     and nothing of it reaches the server's synguard, and leaves no
#     conntrack entries behind.
#  4. A spoofed SYN flood through the gateway at full speed against an
#     HTTP server with backlog 16 and tcp_syncookies=0: 24 (IPv4) and 12
#     (IPv6) fetches all intact; the server's SYN queue stays empty (but
#     for the fetches' own hand-offs, at most one per curl) and its
#     synguard answers no SYN; no flow on the gateway.
#  5. A closed port on the server: the gateway cannot know it is closed and
#     completes the handshake; the third ACK then gets the server kernel's
#     RST: the connection is reset (during connect() or at the first send
#     or read), not refused, IPv4 and IPv6.
#  6. rmmod under the flood through the gateway, insmod again with the
#     gateway's settings as module parameters, and the gateway's namespace
#     deleted under the flood, with mode=1 there: engaged by the SYN rate
#     (a gateway has no listener queue to watch); dmesg clean. (Before all: insmod with a bad
#     gateway or gateway_prefixes parameter is refused.)
#
# timeout: 240

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

SYS=/proc/sys/net/synguard
PY=/usr/bin/python3
PORT=8080
HTTP=8090
CLOSED=8081
MSL=2
CLI=10.0.1.1
SRV=10.0.2.1
SRV6=fd00:10:0:2::1
PREFIXES="10.0.2.0/24 fd00:10:0:2::/64"
SPOOF=10.99.0.0/16
SPOOF6=fd00:99::/64
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood
PARAMS="mode=2 msl=$MSL"

checktool "$PY -c pass" "run test without $PY"
checktool "curl --version" "run test without curl"
checktool "nft --version" "run test without nft"
checktool "ss -V" "run test without ss"
checktool "sha256sum --version" "run test without sha256sum"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client gateway server || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$gateway" $CLI/24 10.0.1.254/24 &&
		veth_pair "$gateway" "$server" 10.0.2.254/24 $SRV/24 &&
		ip netns exec "$gateway" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1 &&
		ip netns exec "$server" sysctl -qw net.ipv4.tcp_syncookies=0 \
			net.ipv4.tcp_max_syn_backlog=1024
} || skip_test "cannot build the topology"

# A bad gateway parameter refuses the load.
if [ "$SYNGUARD_INSTALLED" = 0 ] && load_synguard_deps; then
	for bad in gateway=3 gateway_prefixes=10.0.2.1/24 gateway_prefixes=junk; do
		! insmod "$SYNGUARD_KO" "$bad" 2>/dev/null && ! synguard_loaded
		ksft_check $? "insmod $bad is refused"
	done
fi
# shellcheck disable=SC2086 # the parameters, one word each
load_synguard_or_exit $PARAMS
dmesg_mark
tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 4K /dev/urandom >"$tmpd/www/small"
want=$(sha256sum <"$tmpd/www/small" | cut -d' ' -f1)

echo_server_start "$server" :: $PORT || { ksft_fail "echo server"; exit "$ksft_fail"; }

# ---------------------------------------------------------- s. the sysctls

# sysw NS NAME VALUE: write, print "ok", "EINVAL" or the error. One
# write(2) of VALUE and a newline, through dd (bash's echo writes a line
# at a time, which would make a list over two lines two writes).
sysw() {
	local err
	# shellcheck disable=SC2016 # a script for bash -c
	err=$(ip netns exec "$1" bash -c 'printf "%s\n" "$1" |
		dd of="$2" bs=64k iflag=fullblock status=none' bash "$3" "$SYS/$2" 2>&1)
	case "$err" in
	"") echo ok ;;
	*"Invalid argument"*) echo EINVAL ;;
	*) echo "err: $err" ;;
	esac
}
sysr() { ip netns exec "$1" cat "$SYS/$2"; }

[ -z "$(sysr "$gateway" gateway_prefixes)" ] && [ "$(sysr "$gateway" gateway)" = 0 ]
ksft_check $? "s: gateway 0 and gateway_prefixes empty at first"
many=$(for i in $(seq 65); do printf '10.%d.0.0/16,' "$i"; done)
for bad in junk 10.0.2.0/33 10.0.2.1/24 fd00::/129 fd00::1/64 1.2.3 \
	"10.0.2.0/24,junk" "10.0.2.0/24 /8" "$many"; do
	r=$(sysw "$gateway" gateway_prefixes "$bad")
	[ "$r" = EINVAL ] && [ -z "$(sysr "$gateway" gateway_prefixes)" ]
	ksft_check $? "s: gateway_prefixes '${bad:0:40}' is refused, nothing changes ($r)"
done
r=$(sysw "$gateway" gateway_prefixes "$PREFIXES")
got=$(sysr "$gateway" gateway_prefixes)
[ "$r" = ok ] && [ "$got" = "10.0.2.0/24,fd00:10:0:2::/64" ]
ksft_check $? "s: gateway_prefixes '$PREFIXES' reads back as '$got' ($r)"
# A list over several lines is one write: taken whole, or refused whole.
r=$(sysw "$gateway" gateway_prefixes $'10.0.2.0/24\njunk')
[ "$r" = EINVAL ] && [ "$(sysr "$gateway" gateway_prefixes)" = "$got" ]
ksft_check $? "s: a list whose second line is junk is refused, nothing changes ($r)"
r=$(sysw "$gateway" gateway_prefixes $'fd00:10:0:2::/64\n10.0.2.0/24')
[ "$r" = ok ] && [ "$(sysr "$gateway" gateway_prefixes)" = "fd00:10:0:2::/64,10.0.2.0/24" ]
ksft_check $? "s: one prefix a line: every line taken ($r)"
r=$(sysw "$gateway" gateway_prefixes "$PREFIXES")
for bad in 3 -1; do
	r=$(sysw "$gateway" gateway "$bad")
	[ "$r" = EINVAL ] && [ "$(sysr "$gateway" gateway)" = 0 ]
	ksft_check $? "s: gateway $bad is refused ($r)"
done

# ---------------------------------------------------------- helpers

# roundtrip ADDR [OUT]: 64 KiB echoed intact from the client through the gateway.
roundtrip() {
	ECHO_CLIENT_TIMEOUT=5 echo_client "$client" "$1" $PORT "${2:-/dev/null}"
}
declare -A G0
# snap: the server's counters in SG_SNAP, the gateway's in G0.
snap() {
	local n
	for n in cookie_sent cookie_valid cookie_bad_mac pass_no_secret flows; do
		G0[$n]=$(sg_stat "$gateway" $n)
	done
	sg_snap "$server"
}
g_delta() { echo $(($(sg_stat "$gateway" "$1") - G0[$1])); }
# g_expect NAME OP N MSG: as expect_delta, for the gateway's counters in G0.
g_expect() {
	local d
	d=$(g_delta "$1")
	test "$d" "$2" "$3"
	ksft_check $? "$4 (gateway $1 moved by $d, expected $2 $3)"
}

# ---------------------------------------------------------- 0. gateway=0

snap
roundtrip $SRV
ksft_check $? "0: gateway=0: 64 KiB echoed through the gateway"
expect_delta "$server" cookie_sent -ge 1 "0: the server answered the SYN itself"
g_expect cookie_sent -eq 0 "0: the gateway answered nothing"

# ------------------------------------------- 1. gateway=1, no secret there

[ "$(sysw "$gateway" gateway 1)" = ok ]
ksft_check $? "1: gateway=1 is taken"
S=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
[ "$(sysw "$server" secret "$S")" = ok ]
ksft_check $? "1: the server has the fleet secret"
snap
roundtrip $SRV
ksft_check $? "1: no secret on the gateway: 64 KiB echoed"
g_expect pass_no_secret -ge 1 "1: the gateway passed the SYN"
g_expect cookie_sent -eq 0 "1: the gateway sent no cookie"
expect_delta "$server" cookie_sent -ge 1 "1: the server answered it"

# ------------------------------------- 2. the same secret, no conntrack

[ "$(sysw "$gateway" secret "$S")" = ok ]
ksft_check $? "2: the gateway has the same secret"
# stateless ADDR TAG: a connection through the stateless front.
stateless() {
	snap
	roundtrip "$1"
	ksft_check $? "$2: 64 KiB echoed to $1 through the stateless gateway"
	g_expect cookie_sent -ge 1 "$2: the gateway answered the SYN"
	expect_delta "$server" cookie_sent -eq 0 "$2: the server answered no SYN"
	expect_delta "$server" cookie_valid -ge 1 "$2: the server validated the gateway's cookie"
	expect_delta "$server" handoff_ok -ge 1 "$2: and handed the connection off"
	[ "$(sg_stat "$gateway" flows)" = 0 ]
	ksft_check $? "$2: no flow on the gateway"
}
stateless $SRV "2 IPv4"
stateless $SRV6 "2 IPv6"
g_expect cookie_valid -eq 0 "2: without conntrack the gateway checks no ACK"

# ------------------------------------- 3. conntrack on the gateway

ip netns exec "$gateway" nft -f - <<EOF || skip_test "cannot load an nft ct rule"
table inet gwct {
	chain forward_ct {
		type filter hook forward priority filter;
		ct state established,related counter accept
	}
}
EOF
stateless $SRV "3 IPv4"
g_expect cookie_valid -ge 1 "3 IPv4: the gateway validated the third ACK"
stateless $SRV6 "3 IPv6"
g_expect cookie_valid -ge 1 "3 IPv6: the gateway validated the third ACK"

# A connection that idles past two key rotations, then talks again.
for a in $SRV $SRV6; do
	ECHO_CLIENT_TIMEOUT=10 echo_client "$client" "$a" $PORT "$tmpd/long-$a" \
		"$tmpd/go" 65536 262144 &
	bg_track $!
	long_pids+=($!)
done
first_done() {
	grep -q ok "$tmpd/long-$SRV" 2>/dev/null && grep -q ok "$tmpd/long-$SRV6" 2>/dev/null
}
slowwait 20 first_done
ksft_check $? "3: two long-lived connections echoed their first 64 KiB"
snap
sleep $((2 * MSL + 1))
touch "$tmpd/go"
wait "${long_pids[@]}"
ksft_check $? "3: after $((2 * MSL + 1)) s idle they echo 256 KiB more, intact ($(tr '\n' ' ' <"$tmpd/long-$SRV"); $(tr '\n' ' ' <"$tmpd/long-$SRV6"))"
g_expect cookie_bad_mac -eq 0 "3: the gateway dropped none of their segments"

# ACK flood from spoofed sources.
snap
ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport $PORT --mode ack \
	--opts mix --src-prefix $SPOOF --threads 1 --count 20000 --duration 20 \
	--quiet >"$tmpd/ackflood.out" 2>&1
ksft_check $? "3: ACK flood: $(cat "$tmpd/ackflood.out")"
sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' "$tmpd/ackflood.out")
bad_ge() { [ "$(g_delta cookie_bad_mac)" -ge "$1" ]; }
busywait 5000 bad_ge $((${sent:-1} * 95 / 100))
g_expect cookie_bad_mac -ge $((${sent:-1} * 95 / 100)) "3: the gateway dropped the flood's ACKs"
expect_delta "$server" cookie_bad_mac -eq 0 "3: none reached the server's synguard"
ctc=$(ip netns exec "$gateway" cat /proc/sys/net/netfilter/nf_conntrack_count)
[ "$ctc" -lt 100 ]
ksft_check $? "3: the flood left no conntrack entries on the gateway ($ctc)"

# ------------------------------------- 4. SYN flood through the gateway

http_server_start "$server" $HTTP "$tmpd/www" ||
	{ ksft_fail "HTTP server listens"; exit "$ksft_fail"; }

# flood_start DST PREFIX [RATE]: a spoofed SYN flood, at full speed unless
# RATE packets a second (pid in $flood).
flood_start() {
	ip netns exec "$client" "$SYNFLOOD" --dst "$1" --dport $HTTP --mode syn \
		--opts mix --src-prefix "$2" --threads 2 --duration 120 --quiet \
		--rate "${3:-0}" \
		>"$tmpd/flood.out" 2>&1 &
	flood=$!
	bg_track $flood
}
flood_stop() {
	kill -INT "$flood" 2>/dev/null
	wait "$flood" 2>/dev/null
	ksft_info "flood: $(cat "$tmpd/flood.out")"
}
syn_recv() { ip netns exec "$server" ss -Htn state syn-recv "( sport = :$HTTP )" | wc -l; }
g_cookies_ge() { [ "$(g_delta cookie_sent)" -ge "$1" ]; }

# fetches TAG URLHOST N: N fetches by 3 curl processes; prints how many
# arrived intact, and the most SYN-RECV sockets the server had meanwhile
# in $tmpd/TAG.synrecv.
fetches() {
	local tag=$1 host=$2 n=$3 w i max=0 q
	local -a pids=() args
	mkdir -p "$tmpd/$tag"
	for w in 1 2 3; do
		args=()
		for ((i = w; i <= n; i += 3)); do
			args+=(-o "$tmpd/$tag/$i" "http://$host:$HTTP/small?$i")
		done
		ip netns exec "$client" curl -sS --fail --noproxy '*' \
			--connect-timeout 10 --max-time 30 "${args[@]}" \
			2>>"$tmpd/$tag.err" &
		pids+=($!)
	done
	while ! pids_gone "${pids[@]}"; do
		q=$(syn_recv)
		[ "$q" -gt "$max" ] && max=$q
		sleep 0.2
	done
	wait "${pids[@]}"
	echo "$max" >"$tmpd/$tag.synrecv"
	(cd "$tmpd/$tag" && sha256sum -- * 2>/dev/null) | awk -v w="$want" '$1 == w' | wc -l
}

# flooded TAG DST URLHOST PREFIX N
flooded() {
	local tag=$1 ok
	snap
	flood_start "$2" "$4"
	busywait $((10000 * SG_SLOW)) g_cookies_ge 2000
	ksft_check $? "$tag: the gateway answers the flood ($(g_delta cookie_sent) cookies)"
	ok=$(fetches "$tag" "$3" "$5")
	kill -0 "$flood" 2>/dev/null
	ksft_check $? "$tag: the flood ran throughout the fetches"
	flood_stop
	[ "$ok" = "$5" ]
	ksft_check $? "$tag: $ok of $5 fetches intact during the flood"
	[ "$ok" = "$5" ] || sed 's/^/#   curl: /' "$tmpd/$tag.err" | head -5
	# A fetch's own hand-off makes a request socket for an instant, which
	# ss on the other vCPU may catch: one per curl at most. The flood's
	# SYNs, had they reached the server's kernel (no syncookies, backlog
	# 16), would have filled the queue.
	[ "$(cat "$tmpd/$tag.synrecv")" -le 3 ]
	ksft_check $? "$tag: the server's SYN queue stayed empty but for the fetches' hand-offs (at most $(cat "$tmpd/$tag.synrecv") in SYN-RECV, of 3 allowed)"
	expect_delta "$server" cookie_sent -eq 0 "$tag: the server answered no SYN"
	expect_delta "$server" handoff_ok -ge "$5" "$tag: the server handed off the fetches"
	[ "$(sg_stat "$gateway" flows)" = 0 ]
	ksft_check $? "$tag: no flow on the gateway"
}
flooded "4 IPv4" $SRV $SRV $SPOOF 24
flooded "4 IPv6" $SRV6 "[$SRV6]" $SPOOF6 12

# ------------------------------------- 5. a closed port on the server

for a in $SRV $SRV6; do
	snap
	r=$(tcp_probe "$client" "$a" $CLOSED)
	[ "$r" = reset ]
	ksft_check $? "5: closed port on $a: the client's connection is reset ($r)"
	g_expect cookie_sent -ge 1 "5: the gateway answered the SYN to the closed port"
	expect_delta "$server" handoff_ok -eq 0 "5: the server handed nothing off"
done

# ------------------------------------- 6. teardown under flood

# (At 5000 SYN/s: at full speed the guest's own steps take seconds each.)
snap
flood_start $SRV $SPOOF 5000
busywait $((10000 * SG_SLOW)) g_cookies_ge 1000
unload_synguard
ksft_check $? "6: rmmod under the flood through the gateway"
# This time with the gateway's settings as module parameters: every
# namespace starts from them (the client's and the server's forward nothing).
# shellcheck disable=SC2086 # the parameters, one word each
load_synguard $PARAMS gateway=1 "gateway_prefixes=${PREFIXES// /,}" &&
	[ "$(sysr "$gateway" gateway)" = 1 ] &&
	[ "$(sysr "$gateway" gateway_prefixes)" = "10.0.2.0/24,fd00:10:0:2::/64" ] &&
	[ "$(sysw "$gateway" secret "$S")" = ok ]
ksft_check $? "6: insmod again with gateway=1 gateway_prefixes=${PREFIXES// /,}: the gateway starts from them"
# Adaptive mode on the gateway: no listener there, its SYN rate engages it.
ip netns exec "$gateway" sysctl -qw net.synguard.syn_rate="500 1000" net.synguard.mode=1
G0[cookie_sent]=0
busywait $((10000 * SG_SLOW)) g_cookies_ge 1000
ksft_check $? "6: the gateway answers the flood again ($(sg_stat "$gateway" cookie_sent))"
[ "$(sg_stat "$gateway" engage_on)" -ge 1 ] &&
	dmesg | grep -Eq "synguard: netns [0-9]+: engaged by SYN rate [0-9]+/s \(high 1000\) on port $HTTP\."
ksft_check $? "6: adaptive mode on the gateway engaged by the flood's SYN rate (engage_on $(sg_stat "$gateway" engage_on))"
# (The client's veth goes with the gateway's namespace, and the flood
# with its route: it need not outlive the deletion.)
alive=0
kill -0 "$flood" 2>/dev/null && alive=1
cleanup_ns "$gateway"
[ $alive = 1 ] && ! ip netns list | grep -q "^$gateway\b"
ksft_check $? "6: the gateway's namespace deleted under the flood"
flood_stop

cleanup_bg
check_dmesg_clean
ksft_exit
