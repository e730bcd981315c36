#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# SYNs the kernel would not answer with a SYN+ACK of a new connection stay
# the kernel's while synguard is engaged (mode=2):
#
#  1. TCP-MD5 (RFC 2385) signed SYNs: an MD5-protected connection (Python
#     TCP_MD5SIG on both ends, as BGP does) connects and echoes.
#  2. A SYN for the tuple of an established connection (a rebooted client, a
#     NAT reusing a port) gets the kernel's challenge ACK, not a SYN+ACK.
#  3. A SYN, without timestamps, to a listener's TIME_WAIT tuple: below the
#     old connection's sequence the kernel ACKs it as before; above it,
#     synguard answers (the kernel would take it as a new connection).
#  4. A SYN with a bad TCP checksum is dropped (TcpInCsumErrors), unanswered;
#     so is a third ACK whose cookie is valid but whose checksum is bad: it
#     opens nothing, the same ACK with a good checksum does.
#  5. A SYN from a v4-mapped IPv6 source gets no SYN+ACK.
#  6. A SYN with a malformed MD5 option (which the kernel ignores) is not
#     passed as signed: synguard answers it.
#  7. A SYN to a port that nft redirects (DNAT) is the kernel's.
#
# timeout: 240

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
CLI6=fd00:10:0:1::1
SRV6=fd00:10:0:1::2
PORT=8080

checktool "python3 -c pass" "run test without python3"
checktool "tcpdump --version" "run test without tcpdump"
checktool "hping3 --version" "run test without hping3"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=30 ports=$PORT || exit
dmesg_mark
tmpd=$(mktemp -d)
in_c() { ip netns exec "$client" "$@"; }
in_s() { ip netns exec "$server" "$@"; }


# ---- 1. TCP-MD5
MD5='
import socket, struct, sys
def md5(s, peer):
    fam = socket.AF_INET
    sa = struct.pack("=HH4s", fam, 0, socket.inet_aton(peer)).ljust(128, b"\0")
    key = b"synguard-test-key"
    s.setsockopt(socket.IPPROTO_TCP, 14, sa + struct.pack("=BBHI", 0, 0, len(key), 0) + key.ljust(80, b"\0"))
if sys.argv[1] == "server":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    md5(ls, sys.argv[3])
    ls.bind((sys.argv[2], 179))
    ls.listen(8)
    print("listening", flush=True)
    while True:
        c = ls.accept()[0]
        c.sendall(c.recv(100))
        c.close()
else:
    s = socket.socket()
    md5(s, sys.argv[2])
    s.settimeout(10)
    s.connect((sys.argv[2], 179))
    s.sendall(b"open-bgp")
    sys.exit(0 if s.recv(100) == b"open-bgp" else 1)
'
in_s python3 -c "$MD5" server $SRV $CLI >"$tmpd/md5.out" 2>&1 &
bg_track $!
if slowwait 10 grep -q listening "$tmpd/md5.out"; then
	in_s sysctl -qw net.synguard.ports=179
	capture "$client" "$VETH1" md5 "tcp port 179"
	sg_snap "$server"
	in_c python3 -c "$MD5" client $SRV
	ksft_check $? "a TCP-MD5 signed connection connects and echoes"
	[ "$(sg_delta "$server" pass_auth)" -ge 1 ] && [ "$(sg_delta "$server" cookie_sent)" = 0 ]
	ksft_check $? "its SYN went to the kernel (pass_auth moved, no cookie sent)"
	in_s sysctl -qw net.synguard.ports=$PORT
else
	ksft_skip "no TCP_MD5SIG in this kernel: $(cat "$tmpd/md5.out")"
fi

# ---- 2. a SYN for an established connection's tuple
echo_server_start "$server" $SRV $PORT || { ksft_fail "echo server"; exit 1; }
in_s sysctl -qw net.synguard.mode=0
echo_client "$client" $SRV $PORT "$tmpd/held.out" "$tmpd/go" &
held=$!
bg_track $held
slowwait 20 eval '[ "$(sed -n 2p "$tmpd/held.out")" = ok ]'
ksft_check $? "a connection opened while synguard was off echoes"
sport=$(sed -n 1p "$tmpd/held.out")
in_s sysctl -qw net.synguard.mode=2
capture "$client" "$VETH1" stale "tcp port $PORT and src host $SRV"
sg_snap "$server"
in_c hping3 -q -S -s "$sport" -k -p $PORT -M 424242 -c 1 $SRV >/dev/null 2>&1
busywait 5000 pcap_seen stale "$SRV\\.$PORT > $CLI\\.$sport: Flags \\[\\.\\]"
ksft_check $? "a SYN on its tuple gets the kernel's challenge ACK"
! pcap_seen stale "Flags \\[S\\.\\]" && [ "$(sg_delta "$server" pass_socket)" = 1 ] &&
	[ "$(sg_delta "$server" cookie_sent)" = 0 ]
ksft_check $? "and no SYN+ACK from synguard (pass_socket moved)"
touch "$tmpd/go"
wait $held
ksft_check $? "the connection still echoes afterwards"

# ---- 3. TIME_WAIT, no timestamps: the listener closes first
in_c sysctl -qw net.ipv4.tcp_timestamps=0
in_s python3 -c '
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 8081))
ls.listen(8)
print("listening", flush=True)
while True:
    c = ls.accept()[0]
    c.sendall(b"bye")
    c.close()
' $SRV >"$tmpd/tw.out" 2>&1 &
bg_track $!
slowwait 10 grep -q listening "$tmpd/tw.out"
in_s sysctl -qw net.synguard.ports=$PORT,8081
tw_port=$(in_c python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8081), timeout=10)
print(s.getsockname()[1])
while s.recv(100):
    pass
s.close()
' $SRV)
tw_state() { in_s ss -Htn state time-wait "( sport = :8081 and dport = :$tw_port )" | grep -q .; }
slowwait 10 tw_state
ksft_check $? "the listener holds port $tw_port in TIME_WAIT"
# The TIME_WAIT socket takes a SYN only after its rcv_nxt (the old
# connection's end): of two SYNs half the sequence space apart, exactly one
# is a new connection for it, the other gets its ACK.
capture "$client" "$VETH1" tw "tcp port 8081 and src host $SRV"
sg_snap "$server"
in_c hping3 -q -S -s "$tw_port" -p 8081 -M 0 -c 1 $SRV >/dev/null 2>&1
in_c hping3 -q -S -s "$tw_port" -p 8081 -M 2147483648 -c 1 $SRV >/dev/null 2>&1
busywait 5000 pcap_seen tw "Flags \\[(\\.|S\\.)\\]"
n_ack=$(tcpdump -nn -r "$tmpd/tw.pcap" 2>/dev/null | grep -c "Flags \[\.\]")
n_synack=$(tcpdump -nn -r "$tmpd/tw.pcap" 2>/dev/null | grep -c "Flags \[S\.\]")
ksft_info "answers to two SYNs half the sequence space apart: $n_ack ACK, $n_synack SYN+ACK"
[ "$n_ack" = 1 ] && [ "$n_synack" = 1 ] && [ "$(sg_delta "$server" pass_socket)" = 1 ] &&
	[ "$(sg_delta "$server" cookie_sent)" = 1 ]
ksft_check $? "TIME_WAIT: the old-sequence SYN gets the kernel's ACK, the new one synguard's SYN+ACK"
in_c sysctl -qw net.ipv4.tcp_timestamps=1

# ---- 4. a bad checksum
capture "$client" "$VETH1" csum "tcp port $PORT and src host $SRV"
sg_snap "$server"
# csum_errs_above N: the server has counted more than N checksum errors.
csum_errs_above() { [ "$(nstat_val "$server" TcpInCsumErrors)" -gt "${1:-0}" ]; }
err0=$(nstat_val "$server" TcpInCsumErrors)
in_c hping3 -q -S -b -p $PORT -c 3 -i u100000 $SRV >/dev/null 2>&1
busywait 5000 csum_errs_above $((${err0:-0} + 2))
ksft_check $? "SYNs with a bad checksum reach the kernel, which drops them"
! pcap_seen csum "Flags \\[S\\.\\]" && [ "$(sg_delta "$server" cookie_sent)" = 0 ]
ksft_check $? "synguard answered none of them"

# ---- 4b. a third ACK whose cookie is valid but whose checksum is bad:
# the kernel drops it before it would look for a cookie, so it opens
# nothing; the same ACK with a good checksum then does
RAW=10.0.1.77
estab_41000() { [ -n "$(in_s ss -Htn state established "( sport = :$PORT and dport = :41000 )")" ]; }
raw_peer "$client" "$server" $RAW || { ksft_fail "raw peer $RAW"; exit 1; }
read -r _ _ isn tsval <<<"$(rawtcp --src $RAW --dst $SRV --sport 41000 \
	--dport $PORT syn --seq 5000 --timeout 5)"
[ -n "$isn" ] && [ -n "$tsval" ]
ksft_check $? "a raw SYN from $RAW got a SYN+ACK with a cookie ($isn, tsval $tsval)"
third_ack() {
	rawtcp --src $RAW --dst $SRV --sport 41000 --dport $PORT ack --seq 5001 \
		--ack $(((isn + 1) & 0xffffffff)) --tsecr "$tsval" "$@"
}
sg_snap "$server"
err0=$(nstat_val "$server" TcpInCsumErrors)
third_ack --bad-csum
busywait 5000 csum_errs_above "$err0"
ksft_check $? "the third ACK with a bad checksum reaches the kernel, which drops it"
[ "$(sg_delta "$server" cookie_valid)" = 0 ] && [ "$(sg_delta "$server" handoff_ok)" = 0 ] &&
	! estab_41000
ksft_check $? "and opens nothing (no hand-off, no connection)"
third_ack
slowwait 10 estab_41000 && [ "$(sg_delta "$server" handoff_ok)" = 1 ]
ksft_check $? "the same ACK with a good checksum opens the connection"

# ---- 5. a v4-mapped IPv6 source, next to an ordinary one (the control)
echo_server_start "$server" $SRV6 $PORT || { ksft_fail "IPv6 echo server"; exit 1; }
# syn6 SRC [OPTIONS_HEX [SPORT]]: three raw IPv6 SYNs from SRC, from ports
# SPORT (default 40000) on, with TCP options OPTIONS_HEX (default MSS 1460;
# synguard's synflood refuses a v4-mapped source).
syn6() {
	in_c python3 -c '
import socket, struct, sys
src, dst, dport = sys.argv[1], sys.argv[2], int(sys.argv[3])
opts, sport = bytes.fromhex(sys.argv[4]), int(sys.argv[5])
s6 = socket.inet_pton(socket.AF_INET6, src)
d6 = socket.inet_pton(socket.AF_INET6, dst)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i in range(3):
    tcp = struct.pack("!HHIIBBHHH", sport + i, dport, 1000 + i, 0,
                      (5 + len(opts) // 4) << 4, 0x02, 64240, 0, 0) + opts
    c = csum(s6 + d6 + struct.pack("!IxxxB", len(tcp), 6) + tcp)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    r.sendto(struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + s6 + d6 + tcp,
             (dst, 0))
' "$1" $SRV6 $PORT "${2:-020405b4}" "${3:-40000}"
}
capture "$client" "$VETH1" plain6 "tcp port $PORT and ip6"
syn6 $CLI6
busywait 5000 pcap_seen plain6 "IP6 $SRV6\.$PORT > $CLI6\.4000[0-2]: Flags \[S\.\]"
ksft_check $? "control: raw IPv6 SYNs from $CLI6 get synguard's SYN+ACK"
capture "$client" "$VETH1" mapped "tcp port $PORT and ip6"
sg_snap "$server"
syn6 ::ffff:10.0.1.1
busywait 5000 pcap_seen mapped "Flags \\[S\\]"
ksft_check $? "SYNs from ::ffff:10.0.1.1 were sent"
# Nothing must come back: give an answer the time the control took.
slowwait 1 pcap_seen mapped "Flags \\[S\\.\\]"
! pcap_seen mapped "Flags \\[S\\.\\]" && [ "$(sg_delta "$server" cookie_sent)" = 0 ]
ksft_check $? "SYNs from ::ffff:10.0.1.1 get no SYN+ACK"

# ---- 6. a malformed MD5 option (length 2) makes no signed SYN: the
# kernel would ignore it, so synguard answers as for any SYN
capture "$client" "$VETH1" badmd5 "tcp port $PORT and ip6"
sg_snap "$server"
syn6 $CLI6 020405b413020101 41000
busywait 5000 pcap_seen badmd5 "IP6 $SRV6\\.$PORT > $CLI6\\.4100[0-2]: Flags \\[S\\.\\]" &&
	[ "$(sg_delta "$server" pass_auth)" = 0 ]
ksft_check $? "a SYN with a malformed MD5 option is answered by synguard, not passed"

# ---- 7. a port redirect (DNAT): the SYN is seen after NAT, the client's
# ACK would come before it; the kernel's
if in_s nft -f - <<EOF
table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		tcp dport 80 redirect to :$PORT
	}
}
EOF
then
	sg_snap "$server"
	echo_roundtrip "$client" $SRV 80 && [ "$(sg_delta "$server" cookie_sent)" = 0 ]
	ksft_check $? "a connection to a port redirected to $PORT works, left to the kernel"
	in_s nft delete table ip nat
else
	ksft_skip "no nft nat"
fi

cleanup_bg
check_dmesg_clean
ksft_exit
