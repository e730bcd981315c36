#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A port the host's firewall closes to a source stays closed to it while
# synguard is engaged: synguard answers SYNs after the filter chains
# (LOCAL_IN), so a SYN the firewall drops gets no SYN+ACK.
#
# The server runs an nft ruleset with policy drop on input: established and
# related traffic, and NEW connections to port 22 (ssh) and 23 from the
# admin address only (10.0.1.1, fd00:10:0:1::1). With mode=2:
#  1. from the admin address, IPv4 and IPv6, port 22 connects and echoes
#     through synguard;
#  2. from another address of the client (10.0.1.3, fd00:10:0:1::3), no
#     SYN+ACK comes back and the connection fails, as without synguard;
# with mode=1 (adaptive, SYN-rate trigger 50/500 SYN/s):
#  3. a flood the firewall drops, and a flood to port 23 (open in the
#     firewall, nothing listening), do not engage synguard nor show in its
#     SYN rate.
#
# timeout: 240

source "$(dirname "$0")/lib.sh"

ADMIN=10.0.1.1
OTHER=10.0.1.3
SRV=10.0.1.2
ADMIN6=fd00:10:0:1::1
OTHER6=fd00:10:0:1::3
SRV6=fd00:10:0:1::2
SSH=22
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "nft --version" "run test without nft"
checktool "python3 -c pass" "run test without python3"
checktool "tcpdump --version" "run test without tcpdump"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $ADMIN/24 $SRV/24 || skip_test "cannot make a veth pair"
ip -n "$client" addr add $OTHER/24 dev "$VETH1"
ip -n "$client" -6 addr add $OTHER6/64 dev "$VETH1" nodad
load_synguard mode=2 ports=$SSH,23 || exit
dmesg_mark
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }

in_s nft -f - <<EOF || skip_test "cannot load an nft ruleset"
table inet f {
	chain input {
		type filter hook input priority filter; policy drop;
		iif lo accept
		ct state established,related accept
		meta l4proto { icmp, ipv6-icmp } accept
		ip saddr $ADMIN tcp dport { $SSH, 23 } accept
		ip6 saddr $ADMIN6 tcp dport { $SSH, 23 } accept
	}
}
EOF
echo_server_start "$server" :: $SSH || { ksft_fail "echo server on port $SSH"; exit 1; }

# connect_from SRC DST: a connection from SRC echoes 64 KiB.
connect_from() {
	in_c python3 -c '
import os, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam)
s.bind((sys.argv[1], 0))
s.settimeout(3)
s.connect((sys.argv[2], int(sys.argv[3])))
d = os.urandom(65536)
s.sendall(d)
got = b""
while len(got) < len(d):
    b = s.recv(65536)
    if not b:
        break
    got += b
sys.exit(0 if got == d else 1)
' "$1" "$2" $SSH 2>/dev/null
}

# ---- 1 and 2, IPv4 and IPv6
capture "$client" "$VETH1" ssh "tcp port $SSH"
for fam in 4 6; do
	if [ $fam = 4 ]; then a=$ADMIN o=$OTHER s=$SRV; else a=$ADMIN6 o=$OTHER6 s=$SRV6; fi
	sg_snap "$server"
	connect_from "$a" "$s" && [ "$(sg_delta "$server" handoff_ok)" = 1 ]
	ksft_check $? "IPv$fam: the admin address connects to port $SSH through synguard"
	sg_snap "$server"
	! connect_from "$o" "$s"
	ksft_check $? "IPv$fam: another address cannot connect to port $SSH"
	! pcap_seen ssh "$s\\.$SSH > $o\\.[0-9]+: Flags \\[S\\.\\]" &&
		[ "$(sg_delta "$server" cookie_sent)" = 0 ] &&
		[ "$(sg_delta "$server" syn_seen)" = 0 ]
	ksft_check $? "IPv$fam: no SYN+ACK went to it, and synguard saw none of its SYNs"
done

# ---- 3. what the firewall drops, or nothing listens for, engages nothing
in_s sysctl -qw net.synguard.mode=1 net.synguard.syn_rate="50 500" \
	net.synguard.queue_fill="100 100" net.synguard.hold=1
sg_snap "$server"
in_c "$SYNFLOOD" --quiet --dst $SRV --dport $SSH --src-prefix 10.0.1.128/25 \
	--rate 2000 --duration 2 >/dev/null
in_c "$SYNFLOOD" --quiet --dst $SRV --dport 23 --src-prefix $ADMIN/32 \
	--rate 2000 --duration 2 >/dev/null
rate=$(sg_stat "$server" syn_rate)
[ "$(sg_delta "$server" engage_on)" = 0 ] && [ "$(sg_delta "$server" syn_seen)" = 0 ] &&
	[ "$rate" -lt 50 ]
ksft_check $? "floods the firewall drops or no one listens for do not engage synguard (syn_rate $rate)"

cleanup_bg
check_dmesg_clean
ksft_exit
