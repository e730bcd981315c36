#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The relay compared with the bare kernel: the same scripted client
# behaviours (selftests/tcp_script.py) once with mode=0 and once with
# mode=2, and the listener must see the same thing both times: bytes and
# their digest, how the stream ended (EOF, reset), urgent data, options,
# window scales, MSS (TCP_MAXSEG, snd_mss, advmss).
#
#  - handshake variants: default, no timestamps, no SACK, no window
#    scaling, none of the three, ECN;
#  - for the default client and one without timestamps, IPv4 and IPv6:
#    plain request/response, urgent data, a zero window (the listener reads
#    nothing for a while), a RST after data, a half-close (shutdown);
#  - a 2 MB upload with every 25th data segment dropped (loss, SACK
#    recovery), with and without timestamps.
#
# timeout: 600

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
SRV6=fd00:10:0:1::2
PORT=9000
SCRIPT=$(realpath "$(dirname "$0")")/tcp_script.py

checktool "python3 -c pass" "run test without python3"
checktool "nft --version" "run test without nft"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 ports=$PORT || exit
dmesg_mark
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }

touch "$tmpd/srv.json"
in_s python3 "$SCRIPT" server :: $PORT "$tmpd/srv.json" 2>"$tmpd/srv.err" &
bg_track $!
wait_port_listen "$server" $PORT || { ksft_fail "server listens"; exit 1; }

# The clients: one python process for the whole test, fed a line per
# connection ("ID ADDR SCENARIO", answered "ID RC"). Its sockets take the
# client namespace's TCP settings of the moment (variant()).
mkfifo "$tmpd/cli.in" "$tmpd/cli.out"
in_c python3 "$SCRIPT" clients $PORT <"$tmpd/cli.in" >"$tmpd/cli.out" 2>"$tmpd/cli.err" &
bg_track $!
exec {cli_in}<>"$tmpd/cli.in" {cli_out}<>"$tmpd/cli.out"
echo 0 >"$tmpd/cli.id"

# client ADDR SCENARIO: one connection's verdict, 0 if right (124: no
# answer within 60 s, as the old one-process-per-connection timeout).
client() {
	local id rc want
	# (a file: one() runs in $(...), whose variables die with it)
	want=$(($(cat "$tmpd/cli.id") + 1))
	echo "$want" >"$tmpd/cli.id"
	echo "$want $1 $2" >&"$cli_in"
	while read -r -t 60 id rc <&"$cli_out"; do
		[ "$id" = "$want" ] && return "$rc"
	done
	return 124
}

# one MODE ADDR SCENARIO: the client's verdict and the server's record.
one() {
	local n rc
	in_s sysctl -qw net.synguard.mode="$1"
	n=$(wc -l <"$tmpd/srv.json")
	client "$2" "$3"
	rc=$?
	slowwait 20 eval '[ "$(wc -l <"$tmpd/srv.json")" -gt "$n" ]' || return 1
	echo "client=$rc $(tail -n1 "$tmpd/srv.json")"
}

# compare NAME ADDR SCENARIO: mode=0 and mode=2 give the same records.
compare() {
	local a b h
	sg_snap "$server"
	a=$(one 0 "$2" "$3")
	b=$(one 2 "$2" "$3")
	h=$(sg_delta "$server" handoff_ok)
	if [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = client=0 ] && [ "$h" = 1 ]; then
		ksft_pass "$1, $2, $3: as with mode=0"
		ksft_info "both: $b"
	else
		ksft_fail "$1, $2, $3: mode=2 differs from mode=0 (hand-offs $h)"
		ksft_info "mode=0: $a"
		ksft_info "mode=2: $b"
	fi
}

# variant NAME SYSCTL=VALUE...: the client namespace's TCP settings.
variant() {
	in_c sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_sack=1 \
		net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_ecn=2
	shift
	[ $# -eq 0 ] || in_c sysctl -qw "$@"
}

# ---- handshake variants
for v in "default" "no-timestamps net.ipv4.tcp_timestamps=0" \
	 "no-sack net.ipv4.tcp_sack=0" "no-wscale net.ipv4.tcp_window_scaling=0" \
	 "none net.ipv4.tcp_timestamps=0 net.ipv4.tcp_sack=0 net.ipv4.tcp_window_scaling=0" \
	 "ecn net.ipv4.tcp_ecn=1"; do
	# shellcheck disable=SC2086 # a name and sysctl words
	variant $v
	compare "${v%% *}" $SRV plain
done

# ---- behaviours
for v in "default" "no-timestamps net.ipv4.tcp_timestamps=0"; do
	# shellcheck disable=SC2086
	variant $v
	for addr in $SRV $SRV6; do
		for sc in urgent zero_window reset shutdown; do
			compare "${v%% *}" "$addr" $sc
		done
	done
done

# ---- loss: every 25th full-sized data segment from the client is dropped
in_c nft -f - <<EOF || skip_test "cannot load nft rules"
table inet loss {
	chain out {
		type filter hook output priority 0;
		tcp dport $PORT meta length > 1000 numgen inc mod 25 == 0 counter drop
	}
}
EOF
for v in "default" "no-timestamps net.ipv4.tcp_timestamps=0"; do
	# shellcheck disable=SC2086
	variant $v
	compare "${v%% *}, loss" $SRV bulk
done
dropped=$(in_c nft list table inet loss | sed -nE 's/.*packets ([0-9]+).*/\1/p')
[ "${dropped:-0}" -gt 0 ]
ksft_check $? "the loss rule dropped $dropped segments"
in_c nft delete table inet loss

cleanup_bg
check_dmesg_clean
ksft_exit
