#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tearing things down under load, mode=2, msl=1. The guest runs with
# panic_on_warn=1: a WARN (such as the module exit's "flows leaked") kills
# it and fails the test, whatever the test itself saw.
#
#  a. rmmod under a SYN flood with 5 live proxied connections (held by a
#     python client against an echo server): the module unloads (retrying
#     while busy, as lib.sh's unload_synguard does). What becomes of the
#     live connections is reported, not asserted: without the relay their
#     sequence spaces no longer match, so they are expected to stall. Then
#     the module is loaded again and a fresh connection echoes 64 KiB.
#  b. The same load, then the server namespace and the client namespace are
#     deleted (ip netns del, then their processes killed, so the namespaces
#     really go: their nsids disappear) while the flood and the connections
#     run, and the module is unloaded: every flow was freed with its
#     namespace, or the exit WARNs.
#  c. Sysctl writes racing with traffic: for 5 s, msl flips between 1 and 3,
#     ports between "" and the listener's port, max_flows between 1024 and
#     65536, in a tight loop, while a SYN flood and legitimate fetches run:
#     no WARN, and every fetch arrives intact.
#
# timeout: 240

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
SPOOF=10.99.0.0/16
MSL=1
NCONN=5
SYNFLOOD=$(realpath "$(dirname "$0")")/tools/synflood

checktool "$PY -c pass" "run test without $PY"
checktool "curl --version" "run test without curl"
checktool "sha256sum --version" "run test without sha256sum"
checktool "$SYNFLOOD --help" "run test without $SYNFLOOD (make -C selftests/tools)"

tmpd=''
trap cleanup_all EXIT
tmpd=$(mktemp -d)

stat_above() { [ "$(sg_stat "$1" "$2")" -gt "$3" ]; }
stat_is() { [ "$(sg_stat "$1" "$2")" = "$3" ]; }

load() {
	load_synguard mode=2 msl=$MSL
	ksft_check $? "$1: insmod synguard mode=2 msl=$MSL" || exit
}
unload() {
	unload_synguard && ! synguard_loaded
	ksft_check $? "$1: rmmod synguard"
}

# new_pair: fresh client and server namespaces joined by a veth pair.
new_pair() {
	setup_ns client server || exit
	veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
}

# echo_server: one thread per connection, in the server namespace.
echo_server() { echo_server_start "$server" $SRV $PORT; }

# hold TAG: NCONN connections from the client, each checked with an echo;
# "TAG.held" says "ready" (or why not). When "TAG.probe" appears, each
# connection is tried once more (3 s for all) and TAG.probed gets one word
# per connection: ok, timeout, reset, eof or error. "TAG.close" closes them.
hold() {
	rm -f "$tmpd/$1".*
	ip netns exec "$client" "$PY" -c '
import os, select, socket, sys, time
host, port, n, p = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conns = []
try:
    for i in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(b"hello %d\n" % i)
        if s.recv(100) != b"hello %d\n" % i: raise Exception("bad echo")
        conns.append(s)
    msg = "ready"
except Exception as e:
    msg = "fail: %r" % e
open(p + ".held", "w").write(msg)
while not os.path.exists(p + ".probe") and not os.path.exists(p + ".close"):
    time.sleep(0.02)
if os.path.exists(p + ".probe"):
    res = {}
    for i, s in enumerate(conns):
        try:
            s.sendall(b"probe %d\n" % i)
        except OSError as e:
            res[i] = "reset" if isinstance(e, ConnectionResetError) else "error"
    end = time.time() + 3
    for i, s in enumerate(conns):
        if i in res: continue
        try:
            s.settimeout(max(0.01, end - time.time()))
            b = s.recv(100)
            res[i] = "ok" if b == b"probe %d\n" % i else ("eof" if not b else "error")
        except socket.timeout:
            res[i] = "timeout"
        except ConnectionResetError:
            res[i] = "reset"
        except OSError:
            res[i] = "error"
    open(p + ".probed", "w").write(" ".join(res[i] for i in range(len(conns))))
while not os.path.exists(p + ".close"):
    time.sleep(0.02)
' $SRV $PORT $NCONN "$tmpd/$1" &
	bg_track $!
	slowwait 30 test -e "$tmpd/$1.held"
	[ "$(cat "$tmpd/$1.held" 2>/dev/null)" = ready ]
	ksft_check $? "$1: $NCONN connections open and echo" || return 1
	sg_stat "$server" flows | { read -r n; [ "$n" -ge $NCONN ]; }
	ksft_check $? "$1: at least $NCONN flows ($(sg_stat "$server" flows))"
}

# flood_start TAG: a SYN flood from the client namespace (pid in $flood).
flood_start() {
	ip netns exec "$client" "$SYNFLOOD" --dst $SRV --dport $PORT --mode syn \
		--opts mix --src-prefix $SPOOF --threads 2 --duration 60 --quiet \
		>"$tmpd/flood-$1.out" 2>&1 &
	flood=$!
	bg_track $flood
}
flood_stop() {
	kill -INT "$flood" 2>/dev/null
	wait "$flood" 2>/dev/null
	ksft_info "$1 flood: $(cat "$tmpd/flood-$1.out")"
}

# echo_check TAG: a new connection echoes 64 KiB intact.
echo_check() {
	echo_roundtrip "$client" $SRV $PORT
	ksft_check $? "$1: a new connection echoes 64 KiB intact"
}

# ------------------------------------------------- a. rmmod under load
load "rmmod"
dmesg_mark
new_pair
echo_server || { ksft_fail "rmmod: echo server listens"; exit "$ksft_fail"; }
hold rmmod
flood_start rmmod
c0=$(sg_stat "$server" cookie_sent)
slowwait 10 stat_above "$server" cookie_sent $((c0 + 1000))
ksft_check $? "rmmod: the flood is answered with cookies"
unload "rmmod: under the flood with $NCONN live flows"
touch "$tmpd/rmmod.probe"
slowwait 10 test -e "$tmpd/rmmod.probed"
ksft_info "rmmod: the live connections after the unload:" \
	"$(cat "$tmpd/rmmod.probed" 2>/dev/null || echo "no answer from the holder")"
flood_stop rmmod
touch "$tmpd/rmmod.close"
load "rmmod"
echo_check "rmmod: after the reload"
ho=$(sg_stat "$server" handoff_ok)
[ "$ho" -ge 1 ]
ksft_check $? "rmmod: that connection was handed off by the reloaded module ($ho)"
cleanup_bg
cleanup_all_ns

# ---------------------------------- b. namespaces deleted under load
new_pair
echo_server || { ksft_fail "netns-del: echo server listens"; exit "$ksft_fail"; }
hold netns-del
flood_start netns-del
c0=$(sg_stat "$server" cookie_sent)
slowwait 10 stat_above "$server" cookie_sent $((c0 + 1000))
ksft_check $? "netns-del: the flood is answered with cookies"
nflows=$(sg_stat "$server" flows)
# An nsid for each namespace in ours: the kernel drops it when the namespace
# is dismantled (cleanup_net), which tells that it really went.
declare -A NSID
for ns in "$server" "$client"; do
	ip netns set "$ns" auto 2>/dev/null
	NSID[$ns]=$(ip netns list-id | sed -nE "s/^nsid ([0-9]+) .*name: $ns\)?\$/\1/p")
done
nsid_gone() { ! ip netns list-id | grep -qE "^nsid $1( |\$)"; }
# A namespace outlives its name while processes run in it: delete the
# names first, as an operator would, then end what runs there, on both
# sides at once (the sockets' closes can still meet; a side left alone
# would keep orphaned sockets, and with them its namespace, for minutes).
pids=$(ip netns pids "$server"; ip netns pids "$client")
for ns in "$server" "$client"; do
	ip netns del "$ns"
	ksft_check $? "netns-del: ip netns del ${ns%-*} under the flood ($nflows flows)"
done
# shellcheck disable=SC2086 # a list of pids
{
	kill -9 $pids
	busywait 5000 pids_gone $pids
	wait $pids
} 2>/dev/null
for ns in "$server" "$client"; do
	if [ -z "${NSID[$ns]}" ]; then
		ksft_skip "netns-del: ${ns%-*} dismantled (no nsid to watch)"
		continue
	fi
	slowwait 30 nsid_gone "${NSID[$ns]}"
	ksft_check $? "netns-del: ${ns%-*} dismantled (nsid ${NSID[$ns]} gone)"
done
cleanup_ns "$server" "$client"
cleanup_bg
unload "netns-del: after both namespaces went"

# ---------------------------------- c. sysctl writes racing with traffic
load "sysctl"
new_pair
mkdir -p "$tmpd/www" "$tmpd/got"
head -c 4K /dev/urandom >"$tmpd/www/small"
want=$(sha256sum <"$tmpd/www/small" | cut -d' ' -f1)
ip netns exec "$server" "$PY" -c '
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),
    functools.partial(Handler, directory=sys.argv[3])).serve_forever()
' $SRV $PORT "$tmpd/www" 2>"$tmpd/http.err" &
bg_track $!
if ! wait_port_listen "$server" $PORT tcp 60; then
	ksft_fail "sysctl: HTTP server listens"
	sed 's/^/#   /' "$tmpd/http.err"
	exit "$ksft_fail"
fi
flood_start sysctl
# Legitimate fetches, 5 per curl process, until "stop"; count in "tried".
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
# The writer: shell builtins only, so it writes as fast as the guest lets
# it; every write must succeed.
# shellcheck disable=SC2016 # expanded by the inner bash
flips=$(ip netns exec "$server" bash -c '
	cd /proc/sys/net/synguard || exit 1
	end=$(( ${EPOCHREALTIME/./} + 5000000 )) n=0 bad=0
	while [ "${EPOCHREALTIME/./}" -lt $end ]; do
		echo 3 >msl || bad=$((bad + 1))
		echo >ports || bad=$((bad + 1))
		echo 1024 >max_flows || bad=$((bad + 1))
		echo 1 >msl || bad=$((bad + 1))
		echo "$1" >ports || bad=$((bad + 1))
		echo 65536 >max_flows || bad=$((bad + 1))
		n=$((n + 1))
	done
	echo "$n $bad"' - $PORT 2>"$tmpd/flip.err")
read -r n bad <<<"$flips"
[ -n "$n" ] && [ "$n" -gt 0 ] && [ "$bad" = 0 ]
ksft_check $? "sysctl: $((${n:-0} * 6)) writes in 5 s, ${bad:-?} failed"
ip netns exec "$server" sysctl -n net.synguard.msl net.synguard.ports \
	net.synguard.max_flows | tr '\n' ' ' | grep -qx "1 $PORT 65536 "
ksft_check $? "sysctl: the last values written stick"
touch "$tmpd/stop"
busywait 60000 pids_gone $fetcher
flood_stop sysctl
tried=$(cat "$tmpd/tried" 2>/dev/null)
ok=$( (cd "$tmpd/got" && sha256sum -- * 2>/dev/null) | awk -v w="$want" '$1 == w' | wc -l)
[ -n "$tried" ] && [ "$tried" -gt 0 ] && [ "$ok" = "$tried" ]
ksft_check $? "sysctl: legitimate fetches during the writes: $ok of ${tried:-?} intact"
[ -s "$tmpd/curl.err" ] && head -5 "$tmpd/curl.err" | sed 's/^/#   curl: /'

cleanup_bg
check_dmesg_clean
ksft_exit
