#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Segments that lie: a SYN whose options are malformed is not answered by
# synguard (mode 2) but is counted; with mode 0 the same SYN reaches the
# kernel, which ignores the bad option and answers it as usual; a TCP header
# longer than its packet is dropped and counted.
#
# timeout: 90

source "$(dirname "$0")/lib.sh"

PORT=8080
PY=/usr/bin/python3
checktool "$PY -c pass" "run test without python3"

trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 || skip_test "no veth"
load_synguard mode=2 || exit
dmesg_mark

ip netns exec "$server" "$PY" -c "import socket, time
s = socket.socket(); s.bind(('10.0.1.2', $PORT)); s.listen(8); time.sleep(60)" &
bg_track $!
wait_port_listen "$server" $PORT || exit "$ksft_fail"


# send_raw KIND: send one crafted segment from the client and print "synack"
# if a SYN+ACK came back within a second, "none" otherwise.
#   badopt: SYN with an MSS option of length 3 (Linux ignores it)
#   longhdr: SYN whose data offset claims 60 bytes in a 20-byte segment
send_raw() {
	ip netns exec "$client" "$PY" - "$1" <<'PYEOF'
import socket, struct, sys, time
kind, src, dst, sport, dport = sys.argv[1], "10.0.1.1", "10.0.1.2", 40123, 8080

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff

opts = b"\x02\x03\x05\xb4" if kind == "badopt" else b""
doff = 15 if kind == "longhdr" else (20 + len(opts)) // 4
hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, doff << 4, 0x02,
                  64240, 0, 0) + opts
pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst),
                     0, socket.IPPROTO_TCP, len(hdr))
hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
r.settimeout(0.2)
r.sendto(hdr, (dst, 0))
end = time.monotonic() + 1
while time.monotonic() < end:
    try:
        pkt = r.recv(2048)
    except socket.timeout:
        continue
    ihl = (pkt[0] & 15) * 4
    sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
    if sp == dport and dp == sport and pkt[ihl + 13] & 0x12 == 0x12:
        print("synack")
        sys.exit(0)
print("none")
PYEOF
}

m0=$(sg_stat "$server" malformed)
[ "$(send_raw badopt)" = none ]
ksft_check $? "mode 2: a SYN with a malformed option gets no SYN+ACK"
[ "$(sg_stat "$server" malformed)" = $((m0 + 1)) ] && [ "$(sg_stat "$server" cookie_sent)" = 0 ]
ksft_check $? "mode 2: it is counted as malformed, no cookie sent"

[ "$(send_raw longhdr)" = none ] && [ "$(sg_stat "$server" malformed)" = $((m0 + 2)) ]
ksft_check $? "a header longer than its segment is dropped and counted"

ip netns exec "$server" sysctl -qw net.synguard.mode=0
[ "$(send_raw badopt)" = synack ] && [ "$(sg_stat "$server" malformed)" = $((m0 + 2)) ]
ksft_check $? "mode 0: the same SYN reaches the kernel, which answers it"

cleanup_bg
check_dmesg_clean
ksft_exit
