#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fleet secrets (net.synguard.secret): two servers, A and B, with the same
# addresses (VIP, VIP6) and a listener each, behind a router that sends a
# client's SYNs to A and everything else to B (nft marks SYNs, an ip rule
# routes the mark through its own table; IPv4 and IPv6 alike). mode=2
# everywhere, msl=8, so the skew allowance is min(5, msl / 4) = 2 s.
#
#  s. The sysctl: reads "unset"; refuses junk, 31 and 33 hex digits, "set"
#     with EINVAL and stays unset; takes 32 hex digits and reads "set",
#     never the secret; "unset" clears it. fleet_clock_offset refuses 3601.
#     uid 65534 can neither read nor write it (mode 0600), nor can root of
#     a user namespace that owns the network namespace (EPERM), which may
#     not write fleet_clock_offset either.
#  a. No secret: a client's connection to the VIP fails (B never made the
#     cookie and leaves the ACK to its kernel), nothing is handed off.
#  b. Different secrets: it fails, B drops the ACK as cookie_bad_mac; the
#     same to VIP6 (b6).
#  c. The same secret: it succeeds, the echo intact; A sent the cookie and
#     handed nothing off, B validated it, handed off and sent no cookie;
#     the same to VIP6 (c6).
#  d. Raw handshakes (selftests/tools/rawtcp.py), same secret:
#     an epoch change between SYN (A) and ACK (B); A's clock 2 s ahead of
#     B's, the SYN in A's first second of an epoch that B has not reached
#     (fails without the skew window); A's clock 2 s behind, the ACK 2 s
#     later; all handed off by B. A cookie older than 2 MSL is refused,
#     counted in cookie_expired.
#
# The namespaces share the host's clock: fleet_clock_offset, a test knob,
# shifts the clock that a namespace's fleet keys follow.
#
# timeout: 240

# Functions run by the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119,SC2001
source "$(dirname "$0")/lib.sh"

SYS=/proc/sys/net/synguard
PY=/usr/bin/python3
PORT=8080
VIP=10.9.9.9
VIP6=fd00:9::9
CLI=10.0.1.1
RTR=10.0.1.254
SPOOF=10.0.1.100
MSL=8
SEQ=7000000

checktool "$PY -c pass" "run test without $PY"
checktool "nft --version" "run test without nft"
checktool "ss -V" "run test without ss"
checktool "command -v setpriv" "run test without setpriv"
checktool "command -v unshare" "run test without unshare"

tmpd=''
trap cleanup_all EXIT

setup_ns client router srva srvb || exit
# shellcheck disable=SC2154 # set by setup_ns
{
	veth_pair "$client" "$router" $CLI/24 $RTR/24 &&
		raw_peer "$client" "$router" $SPOOF &&
		veth_pair "$router" "$srva" 10.0.2.254/24 10.0.2.1/24 &&
		ip -n "$srva" addr add $VIP/32 dev "$VETH2" &&
		ip -n "$srva" addr add $VIP6/128 dev "$VETH2" nodad &&
		veth_pair "$router" "$srvb" 10.0.3.254/24 10.0.3.1/24 &&
		ip -n "$srvb" addr add $VIP/32 dev "$VETH2" &&
		ip -n "$srvb" addr add $VIP6/128 dev "$VETH2" nodad
} || skip_test "cannot build the topology"
{
	ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.forwarding=1 &&
		ip -n "$router" route add $VIP via 10.0.3.1 &&
		ip -n "$router" route add $VIP via 10.0.2.1 table 100 &&
		ip -n "$router" rule add fwmark 1 lookup 100 &&
		ip -n "$router" -6 route add $VIP6 via fd00:10:0:3::1 &&
		ip -n "$router" -6 route add $VIP6 via fd00:10:0:2::1 table 100 &&
		ip -n "$router" -6 rule add fwmark 1 lookup 100 &&
		ip netns exec "$router" nft -f - <<EOF2
table inet fleet {
	chain pre {
		type filter hook prerouting priority mangle;
		tcp flags & (syn | ack) == syn meta mark set 1
	}
}
EOF2
} || skip_test "cannot set up the router's SYN split"
for dev in $(ip netns exec "$router" ls /sys/class/net); do
	ip netns exec "$router" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"
done

load_synguard_or_exit mode=2 msl=$MSL
dmesg_mark
tmpd=$(mktemp -d)
for ns in "$srva" "$srvb"; do
	{ echo_server_start "$ns" 0.0.0.0 $PORT && echo_server_start "$ns" $VIP6 $PORT; } ||
		{ ksft_fail "listener on $PORT"; exit "$ksft_fail"; }
done

echo_roundtrip "$client" 10.0.2.1 $PORT && echo_roundtrip "$client" 10.0.3.1 $PORT
ksft_check $? "each server answers on its own address" || exit

# ---------------------------------------------------------- s. the sysctl

# sysw NS VALUE FILE: write, print "ok", "EINVAL", "EPERM", "EACCES" or "err".
sysw() {
	local err
	# shellcheck disable=SC2016 # a script for bash -c
	err=$(ip netns exec "$1" bash -c 'echo "$1" >"$2"' bash "$2" "$SYS/${3:-secret}" 2>&1)
	errname "$err"
}
errname() {
	case "$1" in
	"") echo ok ;;
	*"Invalid argument"*) echo EINVAL ;;
	*"not permitted"*) echo EPERM ;;
	*"Permission denied"*) echo EACCES ;;
	*) echo "err: $1" ;;
	esac
}
secret_state() { ip netns exec "$1" cat $SYS/secret; }
newsecret() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

S1=$(newsecret)
S2=$(newsecret)

[ "$(secret_state "$srva")" = unset ]
ksft_check $? "s: reads unset at first"
for bad in junk "${S1:0:31}" "${S1}0" set "$S1 $S1" ""; do
	r=$(sysw "$srva" "$bad")
	[ "$r" = EINVAL ]
	ksft_check $? "s: '$bad' is refused ($r)"
done
[ "$(secret_state "$srva")" = unset ]
ksft_check $? "s: still unset"
r=$(sysw "$srva" "$S1") && [ "$r" = ok ] && [ "$(secret_state "$srva")" = set ]
ksft_check $? "s: 32 hex digits are taken, reads set ($r)"
! ip netns exec "$srva" grep -rqi "$S1" $SYS/
ksft_check $? "s: no sysctl shows the secret"
r=$(sysw "$srva" "${S1^^}") && [ "$r" = ok ]
ksft_check $? "s: upper-case hex is taken ($r)"
r=$(sysw "$srva" unset) && [ "$r" = ok ] && [ "$(secret_state "$srva")" = unset ]
ksft_check $? "s: unset clears it ($r)"
r=$(sysw "$srva" 3601 fleet_clock_offset)
[ "$r" = EINVAL ]
ksft_check $? "s: fleet_clock_offset 3601 is refused ($r)"

user_out=$(setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
	"cat $SYS/secret 2>&1; echo $S1 2>&1 >$SYS/secret" 2>&1)
[ "$(errname "$(head -n1 <<<"$user_out")")" = EACCES ] &&
	[ "$(errname "$(tail -n1 <<<"$user_out")")" = EACCES ] &&
	[ "$(cat $SYS/secret)" = unset ]
ksft_check $? "s: uid 65534 can neither read nor write it ($(tr '\n' ' ' <<<"$user_out"))"

uuc=/proc/sys/kernel/unprivileged_userns_clone
[ -e $uuc ] && echo 1 >$uuc
userns_out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	unshare --user --map-root-user --net bash -c "
		cat $SYS/secret 2>&1 || true
		echo $S1 2>&1 >$SYS/secret || true
		echo 1 2>&1 >$SYS/fleet_clock_offset || true
		cat $SYS/mode" 2>&1)
sed 's/^/# userns: /' <<<"$userns_out"
if [ "$(sed -n 4p <<<"$userns_out")" != 2 ]; then
	ksft_skip "s: no synguard sysctls in a user namespace's network namespace"
else
	[ "$(errname "$(sed -n 1p <<<"$userns_out")")" = EPERM ] &&
		[ "$(errname "$(sed -n 2p <<<"$userns_out")")" = EPERM ] &&
		[ "$(errname "$(sed -n 3p <<<"$userns_out")")" = EPERM ]
	ksft_check $? "s: root of a user namespace can neither read nor write it"
fi

# ------------------------------------------------- a-c: a real client

# fetch [ADDR]: one connection to ADDR (the VIP) through the router, 3 s
# to echo 1 KiB.
fetch() {
	ECHO_CLIENT_TIMEOUT=3 echo_client "$client" "${1:-$VIP}" $PORT "$tmpd/fetch.out" "" 1024
}

# snap_both: sg_snap of B, and A's counters that a_delta NAME reads.
declare -A A0
snap_both() {
	local n
	for n in cookie_sent cookie_valid handoff_ok; do
		A0[$n]=$(sg_stat "$srva" $n)
	done
	sg_snap "$srvb"
}
a_delta() { echo $(($(sg_stat "$srva" "$1") - A0[$1])); }

snap_both
! fetch
ksft_check $? "a: no secrets: the connection fails"
[ "$(a_delta cookie_sent)" -ge 1 ] && [ "$(sg_delta "$srvb" handoff_ok)" = 0 ]
ksft_check $? "a: A sent the cookie ($(a_delta cookie_sent)), B handed off nothing"

# different TAG ADDR: A and B have different secrets; a connection to ADDR
# fails, B drops the ACK as a bad MAC.
different() {
	snap_both
	! fetch "$2"
	ksft_check $? "$1: different secrets: the connection fails"
	expect_delta "$srvb" cookie_bad_mac -ge 1 "$1: B rejects the ACK"
	expect_delta "$srvb" handoff_ok -eq 0 "$1: B hands off nothing"
}

# same TAG ADDR: A and B have the same secret; a connection to ADDR works,
# with A's cookie validated and handed off by B.
same() {
	snap_both
	fetch "$2"
	ksft_check $? "$1: the same secret: the connection succeeds, the echo is intact"
	[ "$(a_delta cookie_sent)" -ge 1 ] && [ "$(a_delta handoff_ok)" = 0 ] &&
		[ "$(a_delta cookie_valid)" = 0 ]
	ksft_check $? "$1: A sent the cookie ($(a_delta cookie_sent)) and handed nothing off ($(a_delta handoff_ok))"
	expect_delta "$srvb" cookie_valid -ge 1 "$1: B validated A's cookie"
	expect_delta "$srvb" handoff_ok -ge 1 "$1: B handed it off to its listener"
	expect_delta "$srvb" cookie_sent -eq 0 "$1: B sent no cookie"
}

sysw "$srva" "$S1" >/dev/null && sysw "$srvb" "$S2" >/dev/null
different b $VIP
different b6 $VIP6
sysw "$srvb" "$S1" >/dev/null
same c $VIP
same c6 $VIP6

# ------------------------------------------------- d: raw, timed handshakes

set_offsets() {
	[ "$(sysw "$srva" "$1" fleet_clock_offset)" = ok ] &&
		[ "$(sysw "$srvb" "$2" fleet_clock_offset)" = ok ]
}
handoffs_ge() { [ "$(sg_delta "$srvb" handoff_ok)" -ge "$1" ]; }
expired_ge() { [ "$(sg_delta "$srvb" cookie_expired)" -ge "$1" ]; }

# next_phase OFFSET P [LEAD]: the next wall-clock time (at least LEAD
# seconds, default 1, from now) at which the clock plus OFFSET seconds is
# P seconds into an epoch.
next_phase() {
	local now t
	now=$(($(date +%s) + ${3:-1}))
	t=$(((now + $1) / MSL * MSL + $2 - $1))
	[ "$t" -ge "$now" ] || t=$((t + MSL))
	echo "$t"
}

# timed NAME OFFSET_A OFFSET_B PHASE WAIT SPORT: the SYN when A's clock is
# PHASE seconds into an epoch, the ACK WAIT seconds after the SYN+ACK (one
# rawtcp run: its start-up would blur the timing). Fails if no SYN+ACK.
timed() {
	local name=$1 at out lead ackt
	set_offsets "$2" "$3" || { ksft_fail "$name: offsets $2 $3"; return 1; }
	# A rawtcp that starts too late for its time (a slow guest, the debug
	# kernel) tries again, a new port and more lead time later.
	for lead in 1 5; do
		at=$(next_phase "$2" "${4%.*}" $lead)
		[[ $4 == *.* ]] && at=$at.${4#*.}
		sg_snap "$srvb"
		out=$(rawtcp --src $SPOOF --dst $VIP --sport "$6" --dport $PORT \
			syn --seq $SEQ --at "$at" --ack-after "$5")
		grep -q '^late ' <<<"$out" || break
		ksft_info "$name: rawtcp started late ($(tr '\n' ' ' <<<"$out")), again"
		set -- "$1" "$2" "$3" "$4" "$5" $(($6 + 100))
	done
	# (The ACK's time as rawtcp sent it.)
	ackt=$(awk '/^acked / { print $3 }' <<<"$out")
	ksft_info "$name: A's clock at the SYN $(clock "$2" "$at"), B's at the ACK $(clock "$3" "${ackt:-0}") (epoch.phase; $(tr '\n' ' ' <<<"$out"))"
	grep -q '^acked ' <<<"$out" || { ksft_fail "$name: no SYN+ACK"; return 1; }
}

# handshake NAME OFFSET_A OFFSET_B PHASE WAIT SPORT: timed; B must hand it
# off.
handshake() {
	timed "$@" || return
	busywait 5000 handoffs_ge 1
	# At least one, not exactly one: the client's leftover segments of case
	# b carry A's cookies, which B accepts too once it has A's secret.
	expect_delta "$srvb" handoff_ok -ge 1 "$1" && return
	# What B made of the ACK, for the record.
	ksft_info "$1: B: cookie_valid +$(sg_delta "$srvb" cookie_valid)," \
		"cookie_expired +$(sg_delta "$srvb" cookie_expired)," \
		"cookie_bad_mac +$(sg_delta "$srvb" cookie_bad_mac)," \
		"handoff_fail +$(sg_delta "$srvb" handoff_fail); now $(clock 0 "$(date +%s.%N)")"
	sg_dump "$srvb" >&2
	return 1
}
# clock OFFSET T: epoch.phase of time T (date +%s.%N) plus OFFSET seconds.
clock() { awk -v t="$2" -v o="$1" -v m=$MSL 'BEGIN { t += o; e = int(t / m); printf "%d.%.2f", e, t - e * m }'; }
handshake "d: an epoch change between SYN and ACK" 0 0 $((MSL - 1)) 2 40001
handshake "d: A 2 s ahead of B, SYN in an epoch B has not reached" 2 0 0.3 1 40002
handshake "d: A 2 s behind B, ACK 2 s after the SYN" -2 0 $((MSL - 1)) 2 40003
handshake "d: B 2 s ahead of A, SYN in an epoch A left" 0 2 $((MSL - 1)) 0.5 40004

# The SYN 1 s into epoch e, the ACK 2 MSL + 1 s later: B's clock plus skew
# is then 4 s into e + 2 (4 s to spare either way), so the cookie's key
# K(e) is the one just before B's pair K(e + 2), K(e + 1): expired.
name="d: a cookie older than 2 MSL is refused"
if timed "$name" 0 0 1 $((2 * MSL + 1)) 40005; then
	busywait 5000 expired_ge 1
	expect_delta "$srvb" handoff_ok -eq 0 "$name"
	expect_delta "$srvb" cookie_expired -ge 1 "$name as expired" ||
		ksft_info "$name: cookie_bad_mac +$(sg_delta "$srvb" cookie_bad_mac)"
fi

cleanup_bg
check_dmesg_clean
ksft_exit
