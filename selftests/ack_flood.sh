#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An ACK flood with random "cookies" (synflood --mode ack: random seq/ack
# from a spoofed /16, half with timestamps; 2 threads, full speed, 5 s)
# against a listener protected by synguard (mode=2), while legitimate
# clients keep fetching a small file:
#
#  - no connection from a spoofed address ever appears on the server (ss,
#    sampled during the flood and after) nor in synguard's flow table;
#  - cookie_bad_mac + cookie_expired grew by at least 95 % of the ACKs the
#    flood sent (each bogus cookie is checked and dropped - none reaches
#    the listener, which would answer with a RST);
#  - every legitimate fetch arrives intact (sha256), and after the last one
#    plus the 2*MSL linger the flow table is empty.
#
# msl=3: synguard only checks ACKs for cookies while it has sent one in the
# last 2*MSL (hooks.c, cookies_sent); the legitimate clients keep that
# window open, and 6 s leaves room for a slow guest.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
SPOOF=10.99.0.0/16
SPOOF_RE='10\.99\.'
MSL=3
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "curl --version" "run test without curl"
checktool "ss -V" "run test without ss"
checktool "sha256sum --version" "run test without sha256sum"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT

stat_is() { [ "$(sg_stat "$1" "$2")" = "$3" ]; }

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=$MSL || exit
dmesg_mark
tmpd=$(mktemp -d)
mkdir "$tmpd/www" "$tmpd/got"
head -c 4K /dev/urandom >"$tmpd/www/small"
want=$(sha256sum <"$tmpd/www/small" | cut -d' ' -f1)

ip netns exec "$server" "$PY" -c '
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),
    functools.partial(Handler, directory=sys.argv[3])).serve_forever()
' $SRV $PORT "$tmpd/www" 2>"$tmpd/server.err" &
bg_track $!
wait_port_listen "$server" $PORT || { ksft_fail "HTTP server listens"; exit "$ksft_fail"; }

# A legitimate client: rounds of 5 fetches (one curl process, one
# connection each, HTTP/1.0) until the file "stop" exists; then the number
# of fetches tried goes to "tried".
# shellcheck disable=SC2016 # expanded by the inner bash
ip netns exec "$client" bash -c '
	dir=$1 url=$2 i=0
	while [ ! -e "$dir/stop" ]; do
		args=()
		for j in 1 2 3 4 5; do
			i=$((i + 1))
			args+=(-o "$dir/got/$i" "$url?$i")
		done
		curl -sS --fail --noproxy "*" --connect-timeout 10 --max-time 20 \
			"${args[@]}" 2>>"$dir/curl.err"
	done
	echo $i >"$dir/tried"' - "$tmpd" "http://$SRV:$PORT/small" &
fetcher=$!
bg_track $fetcher
count_got() { find "$tmpd/got" -type f | wc -l; }
got_some() { [ "$(count_got)" -ge 5 ]; }
slowwait 20 got_some
ksft_check $? "legitimate fetches are under way ($(count_got) done)"

# spoofed_seen: does the server have any socket, or synguard any flow, for
# a spoofed source?
spoofed_seen() {
	ip netns exec "$server" ss -Htan | grep -E "$SPOOF_RE" && return 0
	ip netns exec "$server" grep -E "$SPOOF_RE" /proc/net/synguard_flows
}

bad0=$(( $(sg_stat "$server" cookie_bad_mac) + $(sg_stat "$server" cookie_expired) ))
ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport $PORT --mode ack \
	--opts mix --src-prefix $SPOOF --threads 2 --duration 5 --quiet \
	>"$tmpd/flood.out" 2>&1 &
flood=$!
bg_track $flood
seen=0 samples=0
while ! pids_gone $flood; do
	samples=$((samples + 1))
	spoofed_seen >>"$tmpd/spoofed" && seen=1
done
wait $flood
ksft_check $? "the ACK flood ran: $(cat "$tmpd/flood.out")"
sent=$(sed -nE 's/.*sent=([0-9]+).*/\1/p' "$tmpd/flood.out")
[ -n "$sent" ] || sent=0
spoofed_seen >>"$tmpd/spoofed" && seen=1
# A random cookie passes with probability 2^-24 (24-bit MAC): a flood of a
# few hundred thousand ACKs is expected to open none, and opens one about
# once in a hundred runs. More than two is a broken MAC.
forged=$(grep -oE "$SPOOF_RE[0-9.]*:[0-9]+" "$tmpd/spoofed" 2>/dev/null | sort -u | wc -l)
[ "$forged" -le 2 ]
ksft_check $? "$forged connection(s) from spoofed addresses ($samples samples; 2^-24 per ACK allows at most a rare one)"
[ $seen = 0 ] || head -5 "$tmpd/spoofed" | sed 's/^/#   /'

bad=$(( $(sg_stat "$server" cookie_bad_mac) + $(sg_stat "$server" cookie_expired) - bad0 ))
ksft_info "cookie_bad_mac + cookie_expired +$bad for $sent flood ACKs:" \
	"$((bad * 1000 / (sent > 0 ? sent : 1))) per mille"
[ "$sent" -gt 0 ] && [ $((bad * 100)) -ge $((sent * 95)) ]
ksft_check $? "at least 95 % of the flood's ACKs were checked and refused"

touch "$tmpd/stop"
busywait 60000 pids_gone $fetcher
tried=$(cat "$tmpd/tried" 2>/dev/null)
ok=$( (cd "$tmpd/got" && sha256sum -- * 2>/dev/null) | awk -v w="$want" '$1 == w' | wc -l)
[ -n "$tried" ] && [ "$ok" = "$tried" ]
ksft_check $? "legitimate fetches: $ok of ${tried:-?} intact"
[ -s "$tmpd/curl.err" ] && head -5 "$tmpd/curl.err" | sed 's/^/#   curl: /'

# legit_flows: flows left that are not a (rare) forged one, whose socket
# waits for a spoofed peer that never answers.
legit_flows() {
	! ip netns exec "$server" tail -n +2 /proc/net/synguard_flows |
		grep -vE "$SPOOF_RE" | grep -q .
}
if slowwait $((2 * MSL + 5)) legit_flows; then
	ksft_pass "no flow left after the fetches and the $((2 * MSL)) s linger"
else
	ksft_fail "no flow left after the fetches and the linger ($(sg_stat "$server" flows))"
	ip netns exec "$server" cat /proc/net/synguard_flows | sed 's/^/#   /'
fi

cleanup_bg
check_dmesg_clean
ksft_exit
