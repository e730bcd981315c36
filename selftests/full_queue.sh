#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A hand-off that meets a full SYN queue. The flood filled the listener's
# queue before synguard engaged (mode=0, then mode=2), so the kernel answers
# the hand-off SYN with its own syncookie, and for a client without
# timestamps that SYN+ACK carries no window scale: the listener will not
# scale, while the client was told it would. The relay must rescale both
# ways. Checks, for a client with tcp_timestamps=0:
#  - the connection is handed off, and the kernel's syncookie made it;
#  - each side sees the window the other offers (ss -ti: the client's
#    snd_wnd against the listener's rcv_ssthresh, and the listener's snd_wnd
#    against the client's), not 128 times more or less;
#  - 1 MiB echoes intact both ways.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
PORT=8080
BACKLOG=4
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "python3 -c pass" "run test without python3"
checktool "ss -V" "run test without ss"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
ip netns exec "$server" sysctl -qw net.ipv4.tcp_syncookies=1 &&
	ip netns exec "$client" sysctl -qw net.ipv4.tcp_timestamps=0 ||
	skip_test "cannot set the namespaces' sysctls"
# The flood's SYN+ACKs die silently in the client namespace: without this,
# its ICMP host-unreachables would abort the listener's requests as soon as
# their SYN+ACKs are retransmitted (1 s), and the queue would not stay full
# on a slow guest.
ip -n "$client" route add blackhole 10.99.0.0/16 ||
	skip_test "cannot add a blackhole route"
load_synguard mode=0 msl=30 || exit
dmesg_mark
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }

echo_server_start "$server" $SRV $PORT $BACKLOG ||
	{ ksft_fail "echo server listens"; exit "$ksft_fail"; }

# ---- a client without timestamps, started first: the kernel prunes a
# full queue's unanswered requests after two SYN+ACK retransmissions (3 s),
# less than python's start on the debug kernel. It connects on "start".
ECHO_CLIENT_START=$tmpd/start echo_client "$client" $SRV $PORT "$tmpd/held.out" \
	"$tmpd/go" 65536 $((1 << 20)) &
held=$!
bg_track $held
slowwait 60 test -e "$tmpd/start.ready"
ksft_check $? "the client is ready to connect" || exit "$ksft_fail"

# ---- fill the listener's SYN queue while synguard is off, then engage
# and let the client connect at once (counters first: the flood's spoofed
# sources never complete a syncookie, and mode=0 hands nothing off)
syn_recv() { in_s ss -Htn state syn-recv "( sport = :$PORT )" | wc -l; }
sg_snap "$server"
cookies0=$(nstat_val "$server" TcpExtSyncookiesRecv)
in_c "$SYNFLOOD" --quiet --dst $SRV --dport $PORT --mode syn --opts full \
	--src-prefix 10.99.0.0/16 --count 50 --rate 500 >/dev/null
slowwait 10 eval 'n=$(syn_recv); [ "$n" -ge $BACKLOG ]'
full=$?
in_s sysctl -qw net.synguard.mode=2
touch "$tmpd/start"
ksft_check $full "mode=0: the flood fills the listener's SYN queue ($n in SYN-RECV)"

# ---- the client connected: hold the connection, read both ends
slowwait 30 grep -q ok "$tmpd/held.out"
ksft_check $? "the connection echoes 64 KiB"
expect_delta "$server" handoff_ok -ge 1 "it was handed off by synguard"
[ $(($(nstat_val "$server" TcpExtSyncookiesRecv) - cookies0)) -ge 1 ]
ksft_check $? "the listener completed it with its own syncookie (full SYN queue)" ||
	ksft_info "now $(syn_recv) in SYN-RECV;" \
		"$(in_s nstat -az | awk '$1 ~ /Syncookies|ListenOverflows|ListenDrops|TCPReqQFullDo/ { printf "%s=%s ", $1, $2 }')"

# within A B: A is within a factor 4 of B.
within() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -ge $(($2 / 4)) ] && [ "$1" -le $(($2 * 4)) ]; }
c_snd=$(ss_field "$client" $PORT snd_wnd) s_rcv=$(ss_field "$server" $PORT rcv_ssthresh)
s_snd=$(ss_field "$server" $PORT snd_wnd) c_rcv=$(ss_field "$client" $PORT rcv_ssthresh)
ksft_info "client: wscale $(ss_field "$client" $PORT wscale), listener: wscale $(ss_field "$server" $PORT wscale)"
within "$c_snd" "$s_rcv"
ksft_check $? "the client sees the listener's window ($c_snd, listener offers ~$s_rcv)"
within "$s_snd" "$c_rcv"
ksft_check $? "the listener sees the client's window ($s_snd, client offers ~$c_rcv)"
touch "$tmpd/go"
wait $held
[ "$(sed -n 3p "$tmpd/held.out")" = ok ]
ksft_check $? "1 MiB echoes intact"

cleanup_bg
check_dmesg_clean
ksft_exit
