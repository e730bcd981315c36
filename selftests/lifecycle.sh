#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The life of a proxied connection, mode=2, with a small python server and
# client so that the test decides who closes, and how:
#
#  1. client closes first (FIN)     4. client resets (SO_LINGER 0, close)
#  2. server closes first (FIN)     5. server resets
#  3. simultaneous close: each side sends its last data and a sync byte,
#     and shuts down (SHUT_WR) as soon as it has read the peer's
#
# For each: 32 KiB each way while open, and for the FIN cases the closer's
# last 32 KiB right before its FIN, arrive intact; the peer sees EOF (FIN) or
# ECONNRESET (RST: the RST was translated well enough to be accepted); the
# flow is listed "established" while open. After FINs it is "time_wait" and
# lingers 2*MSL (gone no sooner than 2*MSL - 0.5 s and no later than
# 2*MSL + 1 s after the last peer's close() returned, as told by the mtime
# of the file each peer writes right after it), and flows_expired moved.
# After a RST, which leaves no TIME_WAIT behind, the flow goes after at most
# 3 s (a grace for a lost RST; here 2*MSL is shorter), flows_expired moved.
# The upper bound assumes a guest that is not starved: on a host loaded
# several times over, the GC and the test's polling can run seconds late.
#
# Then:
#  a. A retransmitted FIN after the close: msl=5, the server closes first;
#     once its last data and FIN are in, the client closes. The listener's
#     ACK of the client's FIN passes synguard (the flow is closed,
#     "time_wait") and is then dropped for ~1 s by an nft rule (pure ACKs
#     only) in the client namespace's prerouting, so the client stays in
#     LAST-ACK and retransmits its FIN. (A drop in the server's output
#     chain would come before synguard's POST_ROUTING hook: the flow would
#     not be closed yet and the linger not tested.) Once the drop is lifted,
#     the next retransmission must still be translated by the lingering
#     flow, the listener's TIME_WAIT socket answers it with an ACK that the
#     relay translates back, and the client leaves LAST-ACK - all within
#     the 2*MSL linger.
#  b. An idle proxied connection survives 10*MSL (msl=1, 11 s idle) and
#     then moves data both ways intact; the flow is still "established".
#
# timeout: 300

source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PORT=8080
CLI=10.0.1.1
SRV=10.0.1.2
# MSL and the tolerances scale with SG_SLOW: on the debug kernel one poll
# or process start can take longer than a 2 s linger.
MSL=$((1 * SG_SLOW))
S=$SG_SLOW

checktool "$PY -c pass" "run test without $PY"
checktool "ss -V" "run test without ss"
checktool "nft --version" "run test without nft"
checktool "cmp --version" "run test without cmp"

tmpd=''
trap cleanup_all EXIT

# ns_anchor NS: keep a process in NS, so that /proc/PID/net shows NS and
# flow_state can read it with shell builtins (an `ip netns exec` costs ~0.2 s
# in the guest, too coarse to time a linger).
declare -A ANCHOR
ns_anchor() {
	ip netns exec "$1" sleep 100000 &
	bg_track $!
	ANCHOR[$1]=$!
}
# flow_state NS CLIENT_PORT: the state of the flow from that client port
# in /proc/net/synguard_flows of NS, or nothing if there is none. Forks
# nothing when NS has an anchor.
flow_state() {
	local a=${ANCHOR[$1]:-} fam cl lo st age src

	src=/proc/$a/net/synguard_flows
	[ -n "$a" ] && [ -r "$src" ] || src=<(ip netns exec "$1" cat /proc/net/synguard_flows)
	# shellcheck disable=SC2034 # fam, lo and age are read past
	while read -r fam cl lo st age; do
		[[ "$cl" == *:"$2" ]] && { echo "$st"; return 0; }
	done <"$src"
	return 0
}
flow_is() { [ "$(flow_state "$1" "$2")" = "$3" ]; }
flow_gone() { [ -z "$(flow_state "$1" "$2")" ]; }

now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# closed_ms: when the last peer returned from close() (ROLE.done's mtime).
closed_ms() {
	local t
	t=$(stat -c %.3Y "$tmpd/server.done" "$tmpd/client.done" 2>/dev/null |
		sort -n | tail -n1)
	t=${t/./}
	echo "${t:-0}"
}
# elapsed: milliseconds since the test started, for the log.
elapsed() { echo "$(( $(now_ms) - T_START ))ms"; }
T_START=$(now_ms)

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
load_synguard mode=2 msl=$MSL || exit
dmesg_mark
ns_anchor "$server"
tmpd=$(mktemp -d)
# nf_tables needs crc32c (PLATFORM.md).
for m in crc32c nf_tables; do
	modprobe "$m" 2>/dev/null || skip_test "cannot modprobe $m"
done

# The peer, server or client: exchange 32 KiB each way and note what came
# (ROLE.rx1), wait for the file "go", then close as MODE says:
#   close  send the last 32 KiB of ROLE.tx, close (FIN)
#   rst    SO_LINGER 0, close (RST)
#   shut   send the last 32 KiB and "!", read the peer's, shutdown(SHUT_WR)
#   wait   read until EOF or reset, then close
#   wait2  read until EOF or reset, then close once the file "go2" is there
#   idle   sleep IDLE s, then 32 KiB more each way (ROLE.rx2), then as wait
#          (client) or close (server) once the file "go2" is there
# What is read after "go" goes to ROLE.rx2 (after "go2": ROLE.rx3); how the
# last read ended (eof, reset) to ROLE.done.
PEER='
import os, socket, struct, sys, time
role, mode, host, port, cport, d, idle = sys.argv[1:8]
port, cport, idle, PART = int(port), int(cport), float(idle), 32768
def path(n): return os.path.join(d, n)
def put(n, data):
    with open(path(n) + ".tmp", "wb") as f: f.write(data)
    os.rename(path(n) + ".tmp", path(n))
def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: break
        b += c
    return b
def drain(s):
    b = b""
    try:
        while True:
            c = s.recv(65536)
            if not c: return b, b"eof"
            b += c
    except ConnectionResetError:
        return b, b"reset"
tx = open(path(role + ".tx"), "rb").read()
rx = "rx2"
if role == "server":
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(4)
    s = ls.accept()[0]; ls.close()
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", cport)); s.connect((host, port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(tx[:PART])
put(role + ".rx1", recvn(s, PART))
while not os.path.exists(path("go")): time.sleep(0.01)
if mode == "idle":
    time.sleep(idle)
    s.sendall(tx[PART:])
    put(role + ".rx2", recvn(s, PART))
    mode = "close" if role == "server" else "wait"
    while not os.path.exists(path("go2")): time.sleep(0.01)
    tx, rx = tx[:PART], "rx3"
if mode == "close":
    s.sendall(tx[PART:]); s.close(); put(role + ".done", b"closed")
elif mode == "rst":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close(); put(role + ".done", b"rst")
elif mode == "shut":
    s.sendall(tx[PART:] + b"!")
    got = recvn(s, PART + 1)
    s.shutdown(socket.SHUT_WR)
    rest, how = drain(s)
    put(role + ".rx2", got[:-1] + rest)
    s.close(); put(role + ".done", how if got[-1:] == b"!" else b"nosync")
elif mode == "wait2":
    got, how = drain(s)
    put(role + ".rx2", got); put(role + ".done", how)
    while not os.path.exists(path("go2")): time.sleep(0.01)
    s.close()
else:
    got, how = drain(s)
    put(role + "." + rx, got)
    s.close(); put(role + ".done", how)
'

# start_pair SMODE CMODE CPORT [IDLE]: a fresh server and client, after the
# 32 KiB exchange (pids in $spid, $cpid).
start_pair() {
	rm -f "$tmpd"/*.rx? "$tmpd"/*.done "$tmpd"/go "$tmpd"/go2
	head -c 64K /dev/urandom >"$tmpd/server.tx"
	head -c 64K /dev/urandom >"$tmpd/client.tx"
	ip netns exec "$server" "$PY" -c "$PEER" server "$1" $SRV $PORT 0 "$tmpd" \
		"${4:-0}" 2>"$tmpd/server.err" &
	spid=$!
	bg_track $spid
	wait_port_listen "$server" $PORT tcp 20 || return 1
	ip netns exec "$client" "$PY" -c "$PEER" client "$2" $SRV $PORT "$3" "$tmpd" \
		"${4:-0}" 2>"$tmpd/client.err" &
	cpid=$!
	bg_track $cpid
	slowwait 20 test -e "$tmpd/server.rx1" -a -e "$tmpd/client.rx1"
}

# part FILE 1|2: the first or last 32 KiB of FILE.
part() {
	if [ "$2" = 1 ]; then head -c 32768 "$1"; else tail -c +32769 "$1"; fi
}
same() { cmp -s <(part "$1" "$2") "$3"; }

# wait_pids PID...: wait up to 10 s for the peers to exit.
wait_pids() {
	busywait $((10000 * S)) pids_gone "$@"
	wait "$@" 2>/dev/null
}

show_errs() {
	local f
	for f in "$tmpd/server.err" "$tmpd/client.err"; do
		[ -s "$f" ] && sed 's/^/#   /' "$f"
	done
	return 0
}

# diag CPORT: what both ends and synguard show of a stalled close.
diag() {
	ksft_info "flow: $(flow_state "$server" "$1")"
	ksft_info "client: $(ip netns exec "$client" ss -Htnoie "( sport = :$1 )" | tr -s ' ')"
	ksft_info "server: $(ip netns exec "$server" ss -Htnoie "( dport = :$1 )" | tr -s ' ')"
	sg_dump "$server"
	sg_dump "$client"
}

# close_case NAME SMODE CMODE CPORT
close_case() {
	local name=$1 smode=$2 cmode=$3 cport=$4 linger=$((2 * MSL * 1000))
	local exp0 reap0 t_go t_close t_gone ok c s rst=0

	case "$smode/$cmode" in *rst*) rst=1 ;; esac

	if ! start_pair "$smode" "$cmode" "$cport"; then
		ksft_fail "$name: connection and 32 KiB each way"
		show_errs
		return
	fi
	same "$tmpd/server.tx" 1 "$tmpd/client.rx1" &&
		same "$tmpd/client.tx" 1 "$tmpd/server.rx1"
	ksft_check $? "$name: 32 KiB each way intact while open"
	flow_is "$server" "$cport" established
	ksft_check $? "$name: flow established while open ($(flow_state "$server" "$cport"))"
	exp0=$(sg_stat "$server" flows_expired)
	reap0=$(sg_stat "$server" gc_reaped)

	t_go=$(now_ms)
	touch "$tmpd/go"
	if [ $rst = 0 ]; then
		busywait $((10000 * S)) flow_is "$server" "$cport" time_wait
		ksft_check $? "$name: flow in time_wait after the close ($(($(now_ms) - t_go)) ms after go)" ||
			diag "$cport"
	fi
	# Watch for the end first: the peers may take a while to exit, and
	# their close() times are in the files they wrote.
	busywait $((linger + 5000 * S)) flow_gone "$server" "$cport"
	ok=$?
	t_gone=$(now_ms)
	wait_pids "$spid" "$cpid"
	t_close=$(closed_ms)
	ksft_check $ok "$name: flow gone $((t_gone - t_close)) ms after the last close()"
	if [ $rst = 1 ]; then
		[ $ok = 0 ] && [ $((t_gone - t_close)) -le $((linger + 1000 * S)) ] &&
			[ "$(sg_stat "$server" flows_expired)" -gt "$exp0" ] &&
			[ "$(sg_stat "$server" gc_reaped)" = "$reap0" ]
		ksft_check $? "$name: gone $((t_gone - t_close)) ms after a RST, flows_expired moved"
	else
		[ $ok = 0 ] && [ $((t_gone - t_close)) -ge $((linger - 500)) ] &&
			[ $((t_gone - t_close)) -le $((linger + 1000 * S)) ]
		ksft_check $? "$name: it lingered 2*MSL ($((t_gone - t_close)) ms, want $((linger - 500))..$((linger + 1000 * S)))"
		[ "$(sg_stat "$server" flows_expired)" -gt "$exp0" ]
		ksft_check $? "$name: flows_expired moved"
	fi

	c=$(cat "$tmpd/client.done" 2>/dev/null)
	s=$(cat "$tmpd/server.done" 2>/dev/null)
	case "$smode/$cmode" in
	wait/close)
		[ "$s" = eof ] && same "$tmpd/client.tx" 2 "$tmpd/server.rx2" ;;
	close/wait)
		[ "$c" = eof ] && same "$tmpd/server.tx" 2 "$tmpd/client.rx2" ;;
	shut/shut)
		[ "$c" = eof ] && [ "$s" = eof ] &&
			same "$tmpd/server.tx" 2 "$tmpd/client.rx2" &&
			same "$tmpd/client.tx" 2 "$tmpd/server.rx2" ;;
	wait/rst)
		[ "$s" = reset ] ;;
	rst/wait)
		[ "$c" = reset ] ;;
	esac
	ksft_check $? "$name: the peer saw the close as it was sent (client: $c, server: $s)"
	show_errs
	ksft_info "$name: done at $(elapsed)"
}

close_case "client closes first" wait close 41001
close_case "server closes first" close wait 41002
close_case "simultaneous close" shut shut 41003
tw=$(ip netns exec "$client" ss -Htn state time-wait "( dport = :$PORT and sport = :41003 )")
ksft_info "simultaneous close: client socket $([ -n "$tw" ] && echo in TIME_WAIT || echo not in TIME_WAIT) (both sides TIME_WAIT means the FINs crossed)"
close_case "client RST" wait rst 41004
close_case "server RST" rst wait 41005

# ------------------------------------ a. retransmitted FIN during the linger
MSL=$((5 * SG_SLOW))
ip netns exec "$server" sysctl -qw net.synguard.msl=$MSL
CPORT=41006
last_ack() {
	[ -n "$(ip netns exec "$client" ss -Htn state last-ack "( sport = :$CPORT )")" ]
}
if start_pair close wait2 $CPORT; then
	touch "$tmpd/go"
	# The server's last data and FIN reach the client, which then waits.
	slowwait 10 test -e "$tmpd/client.done"
	[ "$(cat "$tmpd/client.done" 2>/dev/null)" = eof ] &&
		same "$tmpd/server.tx" 2 "$tmpd/client.rx2"
	ksft_check $? "retransmitted FIN: the server's last 32 KiB arrived before its FIN"
	# From now on the listener sends nothing but the ACK of the client's
	# FIN (and of its retransmissions): drop those after synguard.
	ip netns exec "$client" nft -f - <<-EOF
	table inet lifecycle {
		chain pre {
			type filter hook prerouting priority -400; policy accept;
			tcp sport $PORT tcp dport $CPORT tcp flags == ack counter drop
		}
	}
	EOF
	relay0=$(sg_stat "$server" relay_in)
	touch "$tmpd/go2"
	slowwait 10 last_ack
	ksft_check $? "retransmitted FIN: client in LAST-ACK while the final ACK is dropped"
	busywait $((5000 * S)) flow_is "$server" $CPORT time_wait
	ksft_check $? "retransmitted FIN: the flow is closed meanwhile ($(flow_state "$server" $CPORT))"
	t_closed=$(now_ms)
	sleep 1		# the client's FIN is retransmitted into the drop meanwhile
	drops=$(ip netns exec "$client" nft list chain inet lifecycle pre |
		sed -nE 's/.*packets ([0-9]+).*/\1/p')
	ip netns exec "$client" nft delete table inet lifecycle
	slowwait $((2 * MSL)) eval '! last_ack'
	ok=$?
	t_left=$(now_ms)
	st=$(flow_state "$server" $CPORT)
	[ $ok = 0 ] && [ "$st" = time_wait ]
	ksft_check $? "retransmitted FIN: client left LAST-ACK $((t_left - t_closed)) ms after the close, within the linger (flow: ${st:-gone})" ||
		diag $CPORT
	# The FIN and at least one retransmission went through the relay, and
	# at least one of the listener's ACKs was dropped.
	relayed=$(($(sg_stat "$server" relay_in) - relay0))
	[ "$relayed" -ge 2 ] && [ "${drops:-0}" -ge 1 ]
	ksft_check $? "retransmitted FIN: relayed $relayed segments from the client, ${drops:-?} ACKs dropped in between"
	wait_pids "$spid" "$cpid"
	busywait $((2 * MSL * 1000 + 3000 * S)) flow_gone "$server" $CPORT
	ksft_check $? "retransmitted FIN: the flow expires after the linger"
else
	ksft_fail "retransmitted FIN: connection and 32 KiB each way"
fi
show_errs
ksft_info "retransmitted FIN: done at $(elapsed)"

# ------------------------------------------- b. idle connection survives
MSL=$((1 * SG_SLOW))
ip netns exec "$server" sysctl -qw net.synguard.msl=$MSL
CPORT=41007
IDLE=$((10 * MSL + 1))
if start_pair idle idle $CPORT $IDLE; then
	touch "$tmpd/go"
	t0=$(now_ms)
	slowwait $((IDLE + 15)) test -e "$tmpd/server.rx2" -a -e "$tmpd/client.rx2"
	ok=$?
	t1=$(now_ms)
	[ $ok = 0 ] && same "$tmpd/server.tx" 2 "$tmpd/client.rx2" &&
		same "$tmpd/client.tx" 2 "$tmpd/server.rx2"
	ksft_check $? "idle: 32 KiB each way intact after $((t1 - t0)) ms idle (10*MSL = $((10 * MSL)) s)"
	flow_is "$server" $CPORT established
	ksft_check $? "idle: the flow is still established ($(flow_state "$server" $CPORT))"
	touch "$tmpd/go2"
	wait_pids "$spid" "$cpid"
else
	ksft_fail "idle: connection and 32 KiB each way"
fi
show_errs

cleanup_bg
check_dmesg_clean
ksft_exit
