#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# synguard behind a stateful firewall with strict TCP window tracking.
#
# The server namespace runs an nft ruleset with policy drop on input that
# accepts only established/related traffic, loopback, ICMP(v6), and NEW
# connections to the test's ports arriving on the veth; a rule before the
# others counts and drops "ct state invalid", and a last rule counts what
# falls through to the policy. nf_conntrack_tcp_be_liberal=0, so conntrack
# checks every segment's sequence numbers against its window: the relay
# must keep conntrack in one sequence space (DESIGN.md, "Relay").
#
# With synguard mode=2, from a client namespace:
#   - curl fetches a 10 MiB file over IPv4 and IPv6, sha256 intact;
#   - iperf3 -n 50M client to server, and -R server to client, exit 0;
# then again with net.ipv4.tcp_timestamps=0 in the client namespace.
# Each time: cookie_sent and handoff_ok moved for every connection, the
# relay translated in both directions (relay_in, relay_out), the firewall
# saw each hand-off SYN as NEW on the veth (the "new" counter), and nothing
# was invalid: neither nft's "invalid" counter nor conntrack's own invalid
# statistic (/proc/net/stat/nf_conntrack) moved, nothing reached the drop
# policy, and no hand-off failed.
#
# timeout: 600

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

# Set by setup_ns.
client=''
server=''

HTTP=8080
IPERF=5201
PY=/usr/bin/python3
SRV4=10.0.1.2
SRV6=fd00:10:0:1::2

checktool "curl --version" "run test without curl"
checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "iperf3 --version" "run test without iperf3"
checktool "nft --version" "run test without nft"
checktool "sysctl --version" "run test without sysctl"

tmpd=''
trap cleanup_all EXIT

# stat_sum NS FILE NAME: column NAME of an lnstat-style FILE (header row,
# one hex row per CPU) in NS, summed over the rows. Prints nothing and
# fails if there is no such column.
stat_sum() {
	local ns=$1 file=$2 name=$3 i col=-1 sum=0
	local -a h f
	{
		read -r -a h || return 1
		for i in "${!h[@]}"; do
			[ "${h[$i]}" = "$name" ] && col=$i
		done
		[ "$col" -ge 0 ] || return 1
		while read -r -a f; do
			sum=$((sum + 16#${f[$col]}))
		done
	} <<<"$(ip netns exec "$ns" cat "$file")"
	echo "$sum"
}

# sg_stat NS NAME: a synguard counter, summed over the CPUs.
sg_stat() { stat_sum "$1" /proc/net/stat/synguard "$2"; }

# nft_packets NAME: packets of the named counter in the server's table.
nft_packets() {
	ip netns exec "$server" nft list counter inet f "$1" |
		sed -nE 's/.*packets ([0-9]+) .*/\1/p'
}

# Every number the checks compare, in SNAP[] (names as printed).
declare -A SNAP
values() {
	local n
	for n in cookie_sent cookie_valid handoff_ok handoff_fail flows_full \
		relay_in relay_out pass_off pass_port pass_no_listener; do
		echo "$n $(sg_stat "$server" "$n")"
	done
	echo "ct_invalid $(stat_sum "$server" /proc/net/stat/nf_conntrack invalid)"
	for n in invalid new dropped; do
		echo "nft_$n $(nft_packets "cnt_$n")"
	done
}
snap() {
	local n v
	SNAP=()
	while read -r n v; do SNAP[$n]=$v; done <<<"$(values)"
}

# check_deltas PHASE NCONN: compare the numbers with the last snap.
check_deltas() {
	local phase=$1 nconn=$2 n v
	local -A d
	while read -r n v; do
		if [ -z "$v" ] || [ -z "${SNAP[$n]}" ]; then
			d[$n]='?'
		else
			d[$n]=$((v - SNAP[$n]))
		fi
	done <<<"$(values)"
	ksft_info "$phase: $(for n in "${!d[@]}"; do printf '%s+%s ' "$n" "${d[$n]}"; done)"
	check "$phase: every connection got a cookie" "${d[cookie_sent]}" -ge "$nconn"
	check "$phase: every connection was handed off" "${d[handoff_ok]}" -ge "$nconn"
	check "$phase: no hand-off failed" "${d[handoff_fail]}" -eq 0
	check "$phase: no hand-off refused for max_flows" "${d[flows_full]}" -eq 0
	check "$phase: client packets relayed (relay_in)" "${d[relay_in]}" -ge 1000
	check "$phase: listener packets relayed (relay_out)" "${d[relay_out]}" -ge 1000
	check "$phase: no SYN passed untouched" \
		$((d[pass_off] + d[pass_port] + d[pass_no_listener])) -eq 0
	check "$phase: the firewall accepted each hand-off SYN as NEW on the veth" \
		"${d[nft_new]}" -ge "$nconn"
	check "$phase: no packet in ct state invalid (nft counter)" "${d[nft_invalid]}" -eq 0
	check "$phase: conntrack's invalid statistic did not move" "${d[ct_invalid]}" -eq 0
	check "$phase: nothing fell through to the drop policy" "${d[nft_dropped]}" -eq 0
	if [ "${d[nft_invalid]}" != 0 ] || [ "${d[ct_invalid]}" != 0 ] ||
		[ "${d[nft_dropped]}" != 0 ]; then
		dmesg_since | grep -E 'fw-invalid|fw-dropped|nf_ct_' | tail -20 |
			sed 's/^/#   /'
	fi
}

# check MSG A OP B
check() {
	local msg=$1 a=$2 op=$3 b=$4
	if [ "$a" != '?' ] && test "$a" "$op" "$b"; then
		ksft_pass "$msg ($a)"
	else
		ksft_fail "$msg ($a, expected $op $b)"
	fi
}

setup_ns client server || exit
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "cannot make a veth pair"
srv_dev=$VETH2

# nf_tables needs crc32c (PLATFORM.md); load what the ruleset uses up front.
for m in crc32c nf_conntrack nf_tables nf_log_syslog; do
	modprobe "$m" 2>/dev/null || skip_test "cannot modprobe $m"
done

# When a check fails, the kernel log says which packet was invalid or
# dropped and why: the ruleset logs them, conntrack logs why it found a
# TCP segment invalid, and both need logging from other namespaces on
# (a guest-wide switch, put back on exit).
log_all=$(sysctl -n net.netfilter.nf_log_all_netns)
restore_log_all() { sysctl -qw net.netfilter.nf_log_all_netns="$log_all"; }
trap 'restore_log_all; cleanup_all' EXIT
sysctl -qw net.netfilter.nf_log_all_netns=1

ip netns exec "$server" nft -f - <<EOF || skip_test "cannot load the nft ruleset"
table inet f {
	counter cnt_invalid { }
	counter cnt_new { }
	counter cnt_dropped { }
	chain in {
		type filter hook input priority 0; policy drop;
		ct state invalid log prefix "fw-invalid: " counter name "cnt_invalid" drop
		ct state established,related accept
		iif lo accept
		iifname "$srv_dev" tcp dport { $HTTP, $IPERF } ct state new counter name "cnt_new" accept
		meta l4proto { icmp, ipv6-icmp } accept
		log prefix "fw-dropped: " counter name "cnt_dropped"
	}
}
EOF
ip netns exec "$server" sysctl -qw net.netfilter.nf_conntrack_tcp_be_liberal=0
ip netns exec "$server" sysctl -qw net.netfilter.nf_conntrack_log_invalid=6
v=$(ip netns exec "$server" sysctl -n net.netfilter.nf_conntrack_tcp_be_liberal)
[ "$v" = 0 ]
ksft_check $? "server: nf_conntrack_tcp_be_liberal=0 ($v)"
if ! stat_sum "$server" /proc/net/stat/nf_conntrack invalid >/dev/null; then
	skip_test "no /proc/net/stat/nf_conntrack invalid column"
fi

load_synguard_or_exit mode=2
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 10M /dev/urandom >"$tmpd/www/blob"
want=$(sha256sum <"$tmpd/www/blob")

ip netns exec "$server" "$PY" -m http.server --bind :: --directory "$tmpd/www" \
	"$HTTP" >"$tmpd/http.log" 2>&1 &
bg_track $!
ip netns exec "$server" iperf3 -s -p "$IPERF" >"$tmpd/iperf3-s.log" 2>&1 &
bg_track $!
if ! wait_port_listen "$server" "$HTTP" tcp 60 ||
	! wait_port_listen "$server" "$IPERF" tcp 60; then
	ksft_fail "http.server and iperf3 -s listen"
	sed 's/^/#   /' "$tmpd/http.log" "$tmpd/iperf3-s.log"
	exit "$ksft_fail"
fi

# fetch PHASE NAME URL: fetch the blob and compare it with the original.
fetch() {
	local phase=$1 name=$2 url=$3 got rc
	rm -f "$tmpd/got"
	# A stalled transfer fails after 20 s instead of running into the
	# test's timeout.
	ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 20 \
		--speed-limit 1000 --speed-time 20 --max-time 150 -o "$tmpd/got" "$url"
	rc=$?
	if [ "$rc" != 0 ]; then
		ksft_fail "$phase: $name: curl $url failed (rc=$rc)"
		return
	fi
	got=$(sha256sum <"$tmpd/got")
	if [ "$got" = "$want" ]; then
		ksft_pass "$phase: $name: 10 MiB fetched intact through the firewall"
	else
		ksft_fail "$phase: $name: sha256 mismatch ($(stat -c %s "$tmpd/got") bytes received)"
	fi
}

# iperf PHASE NAME ARGS...: one iperf3 run against the server, must exit 0.
iperf() {
	local phase=$1 name=$2 rc
	shift 2
	ip netns exec "$client" timeout 120 iperf3 -c "$SRV4" -p "$IPERF" \
		--connect-timeout 20000 -n 50M "$@" \
		>"$tmpd/iperf3-c.log" 2>&1
	rc=$?
	if [ "$rc" = 0 ]; then
		ksft_pass "$phase: $name: iperf3 -n 50M $* ($(grep -E 'receiver$' "$tmpd/iperf3-c.log" | awk '{print $7, $8}'))"
	else
		ksft_fail "$phase: $name: iperf3 -n 50M $* (rc=$rc)"
		tail -5 "$tmpd/iperf3-c.log" | sed 's/^/#   /'
	fi
}

# phase NAME: the transfers, then the checks. 2 curl connections, and 2
# per iperf3 run (control and data).
phase() {
	local p=$1
	snap
	fetch "$p" IPv4 "http://$SRV4:$HTTP/blob"
	fetch "$p" IPv6 "http://[$SRV6]:$HTTP/blob"
	iperf "$p" upload
	iperf "$p" download -R --rcv-timeout 20000
	check_deltas "$p" 6
}

phase timestamps

ip netns exec "$client" sysctl -qw net.ipv4.tcp_timestamps=0
v=$(ip netns exec "$client" sysctl -n net.ipv4.tcp_timestamps)
[ "$v" = 0 ]
ksft_check $? "client: net.ipv4.tcp_timestamps=0 ($v)"
phase no-timestamps

ip netns exec "$server" nft list ruleset | sed 's/^/# /'
cleanup_bg
unload_synguard
ksft_check $? "rmmod synguard"
check_dmesg_clean
ksft_exit
