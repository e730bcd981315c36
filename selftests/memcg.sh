#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Flow memory is charged to the listener's memory cgroup (cgroup v2).
#
# Two listeners that never accept, each in a cgroup of its own: "guarded"
# on a port synguard protects (mode=2, ports=8080), "control" on one it
# does not (8081). The client opens N connections to each. The children
# wait in the accept queues, made in softirq and charged to no cgroup
# until accepted; the only slab memory that the guarded cgroup gains is
# synguard's N flows (about 125 bytes each), so its slab_unreclaimable in
# memory.stat grows by at least N * 80 bytes more than the control's.
#
# Without the charge (the mutation: no set_active_memcg() around the
# allocation in module/flow.c) both grow alike.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CLI=10.0.1.1
SRV=10.0.1.2
PORT=8080
PORT_CTL=8081
N=200
CG=/sys/fs/cgroup

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"

tmpd=''
cgroups=()
cleanup() {
	local cg
	cleanup_all
	for cg in "${cgroups[@]}"; do rmdir "$cg" 2>/dev/null; done
}
trap cleanup EXIT

if [ ! -e $CG/cgroup.controllers ]; then
	mount -t cgroup2 none $CG || skip_test "cannot mount cgroup2 on $CG"
fi
grep -qw memory $CG/cgroup.controllers || skip_test "no memory controller in cgroup v2"
echo +memory >$CG/cgroup.subtree_control || skip_test "cannot enable the memory controller"

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 ports=$PORT max_flows=65536 || exit
dmesg_mark
tmpd=$(mktemp -d)
ip netns exec "$server" sysctl -qw net.core.somaxconn=4096

# listener NAME PORT: a cgroup NAME and, in it, a listener that never
# accepts (the cgroup exists before the socket: sockets get a memcg only
# while memcg socket accounting is on, i.e. once a memory cgroup exists).
listener() {
	local cg=$CG/synguard-$1-$$
	mkdir "$cg" || return 1
	cgroups+=("$cg")
	# (Into the cgroup before ip netns exec, which mounts its own /sys.)
	sh -c 'echo $$ >"$1/cgroup.procs" && exec ip netns exec "$5" "$2" -c "
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(2048)
time.sleep(3600)
" "$3" "$4"' sh "$cg" "$PY" $SRV "$2" "$server" &
	bg_track $!
	wait_port_listen "$server" "$2"
}

# slab CGROUP: its slab_unreclaimable, bytes.
slab() {
	awk '$1 == "slab_unreclaimable" { print $2 }' "$CG/synguard-$1-$$/memory.stat"
}

listener guarded $PORT && listener control $PORT_CTL
ksft_check $? "two listeners, each in a memory cgroup of its own" || exit

# memory.stat is flushed at least every 2 s.
sleep 2.5
g0=$(slab guarded) c0=$(slab control)

ip netns exec "$client" "$PY" -c '
import os, socket, sys, time
conns = []
for port in (int(sys.argv[2]), int(sys.argv[3])):
    for i in range(int(sys.argv[4])):
        conns.append(socket.create_connection((sys.argv[1], port), timeout=30))
print("open", len(conns), flush=True)
while not os.path.exists(sys.argv[5]):
    time.sleep(0.1)
' $SRV $PORT $PORT_CTL $N "$tmpd/go" >"$tmpd/client.out" 2>&1 &
bg_track $!
slowwait 120 grep -q "^open $((2 * N))" "$tmpd/client.out"
ksft_check $? "$N connections to each listener" || exit
flows=$(sg_stat "$server" flows)
[ "$flows" = $N ]
ksft_check $? "$N flows, for the guarded port only ($flows)"

sleep 2.5
g1=$(slab guarded) c1=$(slab control)
dg=$((g1 - g0)) dc=$((c1 - c0))
ksft_info "slab_unreclaimable: guarded +$dg bytes, control +$dc bytes"
[ $((dg - dc)) -ge $((N * 80)) ]
ksft_check $? "the guarded listener's cgroup paid for the flows (+$((dg - dc)) bytes more than the control, want >= $((N * 80)))"

touch "$tmpd/go"
cleanup_bg
check_dmesg_clean
ksft_exit
