#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fragments do not bypass synguard (mode=2, no conntrack loaded): its
# PRE_ROUTING hook first reassembles them with the kernel's per-namespace
# defragmentation (module/defrag.c), so it sees whole packets. For IPv4
# (16-byte fragments) and IPv6 (fragment extension headers, 24 bytes: the
# first piece must hold the TCP header):
#
#  a. 20 SYNs, each sent in fragments from raw packets in the client
#     namespace (selftests/tools/rawtcp.py), to a listening port: each gets
#     one SYN+ACK back, synguard's syn_seen and cookie_sent moved by 20, and
#     the listener's SYN queue got nothing (no SYN-RECV socket). For IPv4
#     IpReasmOKs shows that they did arrive in pieces. The SYNs come from
#     an address of the link that the client namespace does not own (the
#     server has a static neighbour entry for it): the SYN+ACKs reach the
#     client's interface, where rawtcp.py reads them, but the client kernel
#     sends no RST that would empty the SYN queue behind our back.
#  b. The third ACK for one of them, in fragments too, echoing the cookie
#     and the timestamp: handoff_ok moves by 1 and the listener has an
#     ESTABLISHED socket from that port.
#
# Without the defragmentation (the mutation: no synguard_defrag() in
# module/hooks.c's hook_in()), the fragments pass synguard's hook in
# pieces, are reassembled at local delivery and land in the SYN queue: a
# fails.
#
# First, loaded with mode=0, the defragmentation is only where synguard was
# turned on: while the server namespace's mode has been 0 from the start,
# an nft counter in its raw PREROUTING sees fragments (IPv4 and IPv6, to a
# closed port), and once mode=2 it sees whole packets.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
SPOOF=10.0.1.100
SPOOF6=fd00:10:0:1::100
SRV6=fd00:10:0:1::2
N=20

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "nstat -V" "run test without nstat"
checktool "nft --version" "run test without nft"
[ -d /sys/module/nf_conntrack ] &&
	skip_test "nf_conntrack is loaded: this test is about a host without it"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
raw_peer "$client" "$server" $SPOOF $SPOOF6 || skip_test "cannot add neighbour entries"
load_synguard mode=0 || exit
dmesg_mark
tmpd=$(mktemp -d)
[ ! -d /sys/module/nf_conntrack ]
ksft_check $? "synguard loaded without pulling in nf_conntrack"

# ---- 0. defragmentation only where synguard was turned on
ip netns exec "$server" nft -f - <<EOF || { ksft_fail "nft counter"; exit 1; }
table inet frags {
	counter pieces { }
	chain pre {
		type filter hook prerouting priority raw;
		ip frag-off & 0x3fff != 0 counter name pieces
		exthdr frag exists counter name pieces
	}
}
EOF
pieces() {
	ip netns exec "$server" nft reset counter inet frags pieces |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}
# send_pieces: one ACK to a closed port in fragments, IPv4 and IPv6.
send_pieces() {
	rawtcp --src $SPOOF --dst $SRV --sport 40000 --dport 9 --frag 16 \
		ack --seq 1 --ack 1
	rawtcp --src $SPOOF6 --dst $SRV6 --sport 40000 --dport 9 --frag 24 \
		ack --seq 1 --ack 1
}
pieces >/dev/null
send_pieces
n=$(pieces)
# Two IPv4 fragments and one IPv6 fragment (a 20-byte ACK in 24-byte ones).
[ "${n:-0}" -ge 3 ]
ksft_check $? "mode=0 from the start: the raw table sees the fragments ($n pieces)"
ip netns exec "$server" sysctl -qw net.synguard.mode=2
send_pieces
n=$(pieces)
[ "$n" = 0 ]
ksft_check $? "mode=2: it sees whole packets ($n pieces): synguard reassembled them"
ip netns exec "$server" nft delete table inet frags

echo_server_start "$server" :: $PORT 128 ||
	{ ksft_fail "listener on $PORT"; exit "$ksft_fail"; }

n_state() {
	ip netns exec "$server" ss -Htn state "$1" "( sport = :$PORT )" | wc -l
}

handoffs_ge() { [ "$(sg_delta "$server" handoff_ok)" -ge "$1" ]; }

# run_family NAME SRC DST FRAG SPORT REASM_COUNTER
run_family() {
	local name=$1 src=$2 dst=$3 frag=$4 sport=$5 reasm=$6
	local seq=1000000 reasm0 got cookie tsval n
	local -a ts=()

	sg_snap "$server"
	reasm0=$(nstat_val "$server" "$reasm")
	rawtcp --src "$src" --dst "$dst" --sport "$sport" --dport $PORT --frag "$frag" \
		syn --seq $seq --count $N >"$tmpd/$name.out"
	got=$(grep -c '^synack ' "$tmpd/$name.out")
	[ "$got" = $N ]
	ksft_check $? "$name a: $N SYNs in $frag-byte fragments got $got SYN+ACKs"
	expect_delta "$server" syn_seen -ge $N "$name a: synguard saw the SYNs whole"
	expect_delta "$server" cookie_sent -eq $N "$name a: synguard answered each with a cookie"
	n=$(n_state syn-recv)
	[ "$n" = 0 ]
	ksft_check $? "$name a: the listener's SYN queue got nothing ($n SYN-RECV)"
	if [ -n "$reasm" ]; then
		n=$(($(nstat_val "$server" "$reasm") - reasm0))
		[ "$n" -ge $N ]
		ksft_check $? "$name a: the SYNs arrived in fragments ($reasm +$n)"
	fi

	read -r _ sport cookie tsval <<<"$(grep -m1 '^synack ' "$tmpd/$name.out")"
	[ -n "$cookie" ] || return
	[ "$tsval" != - ] && ts=(--tsecr "$tsval")
	rawtcp --src "$src" --dst "$dst" --sport "$sport" --dport $PORT --frag "$frag" \
		ack --seq $((seq + 1)) --ack $(((cookie + 1) & 0xffffffff)) "${ts[@]}"
	busywait 5000 handoffs_ge 1
	expect_delta "$server" handoff_ok -eq 1 "$name b: a third ACK in fragments is handed off"
	n=$(ip netns exec "$server" ss -Htn state established \
		"( sport = :$PORT and dport = :$sport )" | wc -l)
	[ "$n" = 1 ]
	ksft_check $? "$name b: the listener has the connection from port $sport ($n)"
}

run_family ipv4 $SPOOF $SRV 16 20000 IpReasmOKs
# Netfilter's IPv6 reassembly keeps no SNMP counter of its own.
run_family ipv6 $SPOOF6 $SRV6 24 30000 ''

cleanup_bg
check_dmesg_clean
ksft_exit
