#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# /proc/net/synguard_flows over several pages: 150 connections held open
# through synguard (mode=2) are listed each exactly once, "established",
# the listing agrees with the flows gauge and with the listener's sockets,
# and reading it with a small buffer (dd bs=100), or after going back to
# the start of the file, gives the same lines.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
PORT=8080
N=150

checktool "python3 -c pass" "run test without python3"
checktool "ss -V" "run test without ss"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=30 || exit
dmesg_mark
tmpd=$(mktemp -d)
in_s() { ip netns exec "$server" "$@"; }

echo_server_start "$server" $SRV $PORT 256 ||
	{ ksft_fail "echo server listens"; exit "$ksft_fail"; }

# N connections, each echoes a line; held until $tmpd/go exists.
ip netns exec "$client" python3 -c '
import os, socket, sys, time
conns = []
for i in range(int(sys.argv[3])):
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
    s.sendall(b"x" * 100)
    got = b""
    while len(got) < 100:
        got += s.recv(100)
    conns.append(s)
print("open", len(conns), flush=True)
while not os.path.exists(sys.argv[4]):
    time.sleep(0.1)
' $SRV $PORT $N "$tmpd/go" >"$tmpd/client.out" 2>&1 &
held=$!
bg_track $held
slowwait 120 grep -q "^open $N" "$tmpd/client.out"
ksft_check $? "$N connections open and echo through synguard"

in_s cat /proc/net/synguard_flows >"$tmpd/list"
in_s dd if=/proc/net/synguard_flows bs=100 status=none >"$tmpd/list-small"
listed=$(tail -n +2 "$tmpd/list" | wc -l)
unique=$(tail -n +2 "$tmpd/list" | awk '{ print $2, $3 }' | sort -u | wc -l)
estab=$(tail -n +2 "$tmpd/list" | awk '$4 == "established"' | wc -l)
ksft_info "$(wc -c <"$tmpd/list") bytes, $listed flows listed"
[ "$(head -n1 "$tmpd/list")" = "family client local state age_s" ]
ksft_check $? "the listing starts with its header"
[ "$listed" = $N ] && [ "$unique" = $N ] && [ "$estab" = $N ]
ksft_check $? "$N flows listed once each, established ($listed lines, $unique distinct, $estab established)"
[ "$(sg_stat "$server" flows)" = $N ] &&
	[ "$(in_s ss -Htn state established "( sport = :$PORT )" | wc -l)" = $N ]
ksft_check $? "the flows gauge and the listener's sockets say $N too"
# (the age column may tick between the two reads)
cmp -s <(cut -d' ' -f1-4 "$tmpd/list" | sort) <(cut -d' ' -f1-4 "$tmpd/list-small" | sort)
ksft_check $? "read 100 bytes at a time, the listing is the same"
# Back to the start after a partial read (lseek rewinds the walk).
in_s python3 -c '
import sys
f = open("/proc/net/synguard_flows", "rb", buffering=0)
f.read(250)
f.seek(0)
out = b""
while True:
    b = f.read(37)
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)' >"$tmpd/list-seek"
cmp -s <(cut -d' ' -f1-4 "$tmpd/list" | sort) <(cut -d' ' -f1-4 "$tmpd/list-seek" | sort)
ksft_check $? "read 250 bytes, back to 0, then 37 at a time: the listing is the same"

touch "$tmpd/go"
wait $held
cleanup_bg
check_dmesg_clean
ksft_exit
