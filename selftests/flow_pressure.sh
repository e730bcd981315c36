#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The flow table under pressure (mode=2, max_flows=64, msl=30):
#
#  1. One client address opens 64 connections and holds them: once the
#     table is half full it gets no more than its share (flows_quota), and
#     each refused client is told at once with a RST instead of believing
#     itself connected to a hand-off that will never happen.
#  2. Another address still connects: one source cannot take the table
#     from the rest.
#  3. The held connections end with RSTs: their flows free their slots
#     within seconds (no 2*MSL linger after a RST), and new connections
#     work again.
#
# timeout: 240

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
OTHER=10.0.1.3
SRV=10.0.1.2
PORT=8080
MAX=64

checktool "python3 -c pass" "run test without python3"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
ip -n "$client" addr add $OTHER/24 dev "$VETH1"
load_synguard mode=2 msl=30 max_flows=$MAX || exit
dmesg_mark
tmpd=$(mktemp -d)
echo_server_start "$server" $SRV $PORT 256 || { ksft_fail "echo server"; exit 1; }

# hold SRC N NAME: from SRC, open N connections one after the other, each
# echoing 4 bytes; write "ok", "reset" or "timeout" per connection to
# $tmpd/NAME.out, then "held" and keep the good ones open until
# $tmpd/NAME.go exists; then end them all with a RST (SO_LINGER 0).
hold() {
	ip netns exec "$client" python3 -c '
import os, socket, struct, sys, time
src, dst, port, n, out, go = sys.argv[1:7]
keep = []
with open(out, "w") as f:
    for i in range(int(n)):
        s = socket.socket()
        s.bind((src, 0))
        s.settimeout(3)
        try:
            s.connect((dst, int(port)))
            s.sendall(b"ping")
            r = "ok" if s.recv(4) == b"ping" else "eof"
        except ConnectionResetError:
            r = "reset"
        except socket.timeout:
            r = "timeout"
        except OSError as e:
            r = "error-%d" % e.errno
        f.write(r + "\n")
        f.flush()
        if r == "ok":
            keep.append(s)
    f.write("held\n")
while not os.path.exists(go):
    time.sleep(0.1)
for s in keep:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
' "$1" $SRV $PORT "$2" "$tmpd/$3.out" "$tmpd/$3.go" &
	bg_track $!
}
count() { grep -cx "$2" "$tmpd/$1.out"; }

# ---- 1. one source, 64 connections
sg_snap "$server"
hold $CLI $MAX one
slowwait 200 grep -qx held "$tmpd/one.out"
ksft_check $? "$CLI opened its connections"
ok=$(count one ok) reset=$(count one reset)
ksft_info "$CLI: $ok ok, $reset reset, $(count one timeout) timed out"
[ "$ok" -ge $((MAX / 2)) ] && [ "$ok" -le $((MAX / 2 + MAX / 16)) ] &&
	[ "$(sg_delta "$server" flows_quota)" -ge 1 ]
ksft_check $? "it got about half of the table, no more (flows_quota moved)"
[ "$reset" = $((MAX - ok)) ]
ksft_check $? "every refused client was told with a RST at once"

# ---- 2. another source still gets in
hold $OTHER 8 two
slowwait 60 grep -qx held "$tmpd/two.out"
[ "$(count two ok)" = 8 ]
ksft_check $? "$OTHER: 8 of 8 connections echo while $CLI holds its share"

# ---- 3. RSTs free the slots promptly
sg_snap "$server"
touch "$tmpd/one.go" "$tmpd/two.go"
t0=$(date +%s%3N)
slowwait 10 eval '[ "$(sg_stat "$server" flows)" = 0 ]'
ok=$?
t1=$(date +%s%3N)
[ $ok = 0 ] && [ "$(sg_delta "$server" flows_expired)" -ge $((MAX / 2)) ]
ksft_check $? "after RSTs, the flows were freed in $((t1 - t0)) ms (not after a $((2 * 30)) s linger)"
echo_roundtrip "$client" $SRV $PORT
ksft_check $? "a new connection echoes 64 KiB intact"

cleanup_bg
check_dmesg_clean
ksft_exit
