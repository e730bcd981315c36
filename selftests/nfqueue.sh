#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# synguard on a host whose traffic an inline IPS reads through NFQUEUE.
#
# A program in the server namespace (nfq_accept.py) reads netfilter queue 0
# and accepts every packet, as Suricata or Snort inline would. The hooks
# after the queue's, synguard's among them, then run in that program's
# verdict system call: process context, not the softirq where they run
# otherwise. synguard must answer, hand off and relay there as anywhere.
#
# Queued, in turn, the test port's packets (IPv4 and IPv6):
#   - in the input hook (filter, priority 0): synguard's LOCAL_IN hook,
#     which answers SYNs and hands off cookie ACKs on a host with such a
#     chain, runs after the verdict;
#   - in the prerouting hook at priority -375, before synguard's (-350):
#     every hook of synguard's input path runs after the verdict.
# Each time, with mode=0 and then mode=2: curl fetches a 2 MiB file over
# IPv4 and IPv6 with its sha256 intact, the queue saw the packets, and with
# mode=2 each connection got a cookie, was handed off and relayed in both
# directions, no hand-off failed; with mode=0 no cookie was sent. The
# queue takes the hand-off SYN too: the hand-off is deferred (the client's
# ACK waits in the flow until the listener answers, handoff_deferred).
# With mode=2 the first connection's ACK comes back while our SYN+ACK is
# still being sent (the client's receive runs as the send turns BHs on
# again): cookies must be live before it leaves. dmesg
# free of warnings (a sleeping function called from the wrong context, a
# per-CPU access with preemption on, ...).
#
# timeout: 300

# Functions run by trap and the wait helpers look unreachable to shellcheck.
# shellcheck disable=SC2317,SC2119
source "$(dirname "$0")/lib.sh"

# Set by setup_ns.
client=''
server=''

HTTP=8080
SRV4=10.0.1.2
SRV6=fd00:10:0:1::2
NFQ=$(realpath "$(dirname "$0")")/nfq_accept.py

checktool "curl --version" "run test without curl"
checktool "python3 -c pass" "run test without python3"
checktool "nft --version" "run test without nft"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "cannot make a veth pair"

# nf_tables needs crc32c (PLATFORM.md).
for m in crc32c nf_tables nft_queue nfnetlink_queue; do
	modprobe "$m" 2>/dev/null || skip_test "cannot modprobe $m"
done

load_synguard_or_exit mode=0
dmesg_mark

tmpd=$(mktemp -d)
mkdir "$tmpd/www"
head -c 2M /dev/urandom >"$tmpd/www/blob"
want=$(sha256sum <"$tmpd/www/blob")

ip netns exec "$server" python3 "$NFQ" 0 "$tmpd/queued" 2>"$tmpd/nfq.err" &
bg_track $!
if ! slowwait 30 test -s "$tmpd/queued"; then
	ksft_fail "nfq_accept.py binds queue 0"
	sed 's/^/#   /' "$tmpd/nfq.err"
	exit "$ksft_fail"
fi
ksft_pass "nfq_accept.py binds queue 0"

if ! http_server_start "$server" "$HTTP" "$tmpd/www"; then
	ksft_fail "http server listens on $HTTP"
	exit "$ksft_fail"
fi

# ruleset HOOK PRIORITY: queue the test port's packets there, and nowhere
# else (the table is made again each time).
ruleset() {
	ip netns exec "$server" nft -f - <<EOF
table inet q
delete table inet q
table inet q {
	chain c {
		type filter hook $1 priority $2; policy accept;
		tcp dport $HTTP queue num 0
	}
}
EOF
}

# fetch PHASE NAME URL: the blob, intact.
fetch() {
	local phase=$1 name=$2 url=$3 got rc
	rm -f "$tmpd/got"
	ip netns exec "$client" curl -sS --fail --noproxy '*' --connect-timeout 20 \
		--max-time 60 -o "$tmpd/got" "$url"
	rc=$?
	if [ "$rc" != 0 ]; then
		ksft_fail "$phase: $name: curl $url failed (rc=$rc)"
		sg_dump "$server"
		return
	fi
	got=$(sha256sum <"$tmpd/got")
	if [ "$got" = "$want" ]; then
		ksft_pass "$phase: $name: 2 MiB fetched intact"
	else
		ksft_fail "$phase: $name: sha256 mismatch ($(stat -c %s "$tmpd/got") bytes received)"
	fi
}

# phase HOOK PRIORITY MODE: two fetches with the port's packets queued in
# HOOK, synguard in MODE, and the counters that tell who did what.
phase() {
	local hook=$1 prio=$2 mode=$3 p="$1 queue, mode=$3" q0 q
	if ! ruleset "$hook" "$prio"; then
		ksft_fail "$p: nft queue rule in $hook at priority $prio"
		return
	fi
	ip netns exec "$server" sysctl -qw net.synguard.mode="$mode"
	q0=$(cat "$tmpd/queued")
	sg_snap "$server"
	fetch "$p" IPv4 "http://$SRV4:$HTTP/blob"
	fetch "$p" IPv6 "http://[$SRV6]:$HTTP/blob"
	q=$(($(cat "$tmpd/queued") - q0))
	# The client's ACKs of 2 x 2 MiB: hundreds, however it delays them.
	[ "$q" -ge 200 ]
	ksft_check $? "$p: the queue accepted the connections' packets ($q)"
	if [ "$mode" = 0 ]; then
		expect_delta "$server" cookie_sent -eq 0 "$p: no cookie sent"
		return
	fi
	expect_delta "$server" cookie_sent -ge 2 "$p: each connection got a cookie"
	expect_delta "$server" handoff_ok -ge 2 "$p: each connection was handed off"
	# The queue holds the hand-off SYN: answered after handoff() returns
	# (unless the reader is quicker than the rest of handoff(), rarely).
	expect_delta "$server" handoff_deferred -ge 1 "$p: hand-offs deferred"
	expect_delta "$server" handoff_fail -eq 0 "$p: no hand-off failed"
	# 2 x 2 MiB: more than 64 segments each way, even of 64 KiB (GSO).
	expect_delta "$server" relay_in -ge 64 "$p: client segments relayed"
	expect_delta "$server" relay_out -ge 64 "$p: listener segments relayed"
}

phase input 0 0
phase input 0 2
phase prerouting -375 0
phase prerouting -375 2

if ! kill -0 "${BG_PIDS[0]}" 2>/dev/null; then
	ksft_fail "nfq_accept.py ran to the end"
	sed 's/^/#   /' "$tmpd/nfq.err"
fi
cleanup_bg
cleanup_all_ns
unload_synguard
ksft_check $? "rmmod synguard"
check_dmesg_clean
ksft_exit
