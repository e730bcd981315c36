# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# selftests/lib.sh - helpers for synguard's guest selftests, in the style of
# the kernel's tools/testing/selftests/net/lib.sh. Sourced (bash) by each
# selftests/*.sh, which runs as root inside a throwaway QEMU guest started
# by scripts/vm-run (SYNGUARD_KO and SYNGUARD_KREL come from there), or on a
# machine where synguard is installed (`make -C selftests run_tests`, which
# leaves SYNGUARD_KO unset: see "module" below).
#
# A test looks like:
#
#	source "$(dirname "$0")/lib.sh"
#	checktool "curl --version" "run test without curl"
#	cleanup() { cleanup_all; }
#	trap cleanup EXIT
#	setup_ns client server
#	veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24
#	...
#	ksft_check $? "the thing works"
#	ksft_exit
#
# Exit codes, as kselftest: 0 pass, 1 fail, 4 skip. All traffic stays
# inside namespaces the test made itself.

ksft_pass=0
ksft_fail=1
ksft_skip=4

# Counters behind ksft_exit.
KSFT_NPASS=0
KSFT_NFAIL=0
KSFT_NSKIP=0

# Namespaces made by setup_ns, and background pids registered by bg_track.
NS_LIST=()
BG_PIDS=()

# Whether this test loaded the module (so cleanup_all unloads it).
SYNGUARD_LOADED_HERE=0

# ------------------------------------------------------------- results

ksft_info() { echo "# $*"; }

ksft_pass() {
	echo "PASS: $*"
	KSFT_NPASS=$((KSFT_NPASS + 1))
}

ksft_fail() {
	echo "FAIL: $*"
	KSFT_NFAIL=$((KSFT_NFAIL + 1))
}

ksft_skip() {
	echo "SKIP: $*"
	KSFT_NSKIP=$((KSFT_NSKIP + 1))
}

# ksft_check RC MSG: PASS when RC is 0, SKIP when it is 4, FAIL otherwise;
# returns RC, so that `ksft_check $? "..." || exit` works.
ksft_check() {
	local rc=$1
	shift
	case "$rc" in
	0) ksft_pass "$@" ;;
	"$ksft_skip") ksft_skip "$@" ;;
	*) ksft_fail "$* (rc=$rc)" ;;
	esac
	return "$rc"
}

# The test's exit status so far: any failure fails it; otherwise it passes
# if anything passed, and is skipped if it only skipped.
ksft_status() {
	if [ "$KSFT_NFAIL" -gt 0 ]; then
		echo "$ksft_fail"
	elif [ "$KSFT_NPASS" -eq 0 ] && [ "$KSFT_NSKIP" -gt 0 ]; then
		echo "$ksft_skip"
	else
		echo "$ksft_pass"
	fi
}

ksft_exit() { exit "$(ksft_status)"; }

# checktool "CMD" "MSG": skip the whole test (exit 4) if CMD fails, e.g.
#	checktool "nft --version" "run test without nft"
checktool() {
	# shellcheck disable=SC2086 # CMD is a command line on purpose
	if ! $1 >/dev/null 2>&1; then
		echo "SKIP: Could not $2"
		exit "$ksft_skip"
	fi
}

# Skip the whole test now, with a reason.
skip_test() {
	echo "SKIP: $*"
	exit "$ksft_skip"
}

# ------------------------------------------------------------- waiting

# SG_SLOW: how many times longer than on Debian's kernels this guest takes
# for a test's own steps (a process start, a poll): the debug kernel (KASAN,
# lockdep, kmemleak under TCG) is about 4 times slower. Tests that time the
# module against their polling scale their time constants by it.
case "$(uname -r)" in
*-debug) SG_SLOW=4 ;;
*) SG_SLOW=1 ;;
esac

# loopy_wait SLEEP TIMEOUT_MS CMD...: run CMD until it succeeds or
# TIMEOUT_MS passed; return CMD's last status.
loopy_wait() {
	local sleep_cmd=$1 timeout_ms=$2 start now rc
	shift 2
	# (bash's clock in microseconds, not date: an exec per poll costs
	# ~80 ms under TCG)
	start=${EPOCHREALTIME/[.,]/}
	while :; do
		"$@" && return 0
		rc=$?
		now=${EPOCHREALTIME/[.,]/}
		[ $(((now - start) / 1000)) -ge "$timeout_ms" ] && return "$rc"
		$sleep_cmd
	done
}

# busywait TIMEOUT_MS CMD...: poll often, for short waits.
busywait() {
	local timeout_ms=$1
	shift
	loopy_wait "sleep 0.02" "$timeout_ms" "$@"
}

# slowwait TIMEOUT_S CMD...: poll every 0.1 s, for long waits.
slowwait() {
	local timeout_s=$1
	shift
	loopy_wait "sleep 0.1" $((timeout_s * 1000)) "$@"
}

# port_listening NS PORT [tcp|udp]: is something listening there?
port_listening() {
	local ns=$1 port=$2 proto=${3:-tcp} flag=-t
	[ "$proto" = udp ] && flag=-u
	[ -n "$(ip netns exec "$ns" ss -Hln "$flag" "sport = :$port" 2>/dev/null)" ]
}

# wait_port_listen NS PORT [tcp|udp] [TIMEOUT_S]: TIMEOUT_S defaults to 30
# times SG_SLOW (a python server takes seconds to start on the debug kernel).
wait_port_listen() {
	slowwait "${4:-$((30 * SG_SLOW))}" port_listening "$1" "$2" "${3:-tcp}"
}

# --------------------------------------------------------- namespaces

# setup_ns VAR...: make one namespace per VAR, named "VAR-" plus a random
# suffix, store its name in $VAR, bring its lo up. Returns 4 (skip) if
# namespaces can't be made at all, 1 on other errors.
setup_ns() {
	local var ns
	for var in "$@"; do
		ns="$var-$(mktemp -u XXXXXX)"
		if ! ip netns add "$ns"; then
			echo "SKIP: cannot create netns $ns"
			return "$ksft_skip"
		fi
		NS_LIST+=("$ns")
		ip -n "$ns" link set lo up || return "$ksft_fail"
		eval "$var=\$ns"
	done
}

# cleanup_ns NS...: kill whatever still runs in each namespace, then
# delete it.
cleanup_ns() {
	local ns pids i
	for ns in "$@"; do
		[ -n "$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086 # a list of pids
			{
				kill $pids
				busywait 2000 ns_empty "$ns" ||
					{ kill -9 $pids; busywait 2000 ns_empty "$ns"; }
			} 2>/dev/null
		fi
		ip netns del "$ns" 2>/dev/null
		for i in "${!NS_LIST[@]}"; do
			[ "${NS_LIST[$i]}" = "$ns" ] && unset 'NS_LIST[i]'
		done
	done
	NS_LIST=("${NS_LIST[@]}")
}

ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

cleanup_all_ns() {
	[ ${#NS_LIST[@]} -eq 0 ] || cleanup_ns "${NS_LIST[@]}"
}

# --------------------------------------------------- background jobs

# bg_track PID...: remember background processes for cleanup_bg, e.g.
#	ip netns exec "$server" some_server & bg_track $!
bg_track() { BG_PIDS+=("$@"); }

# cleanup_bg: stop the registered background processes and any job of this
# shell, and reap them.
cleanup_bg() {
	local pids
	pids="${BG_PIDS[*]} $(jobs -p)"
	[ -n "${pids// /}" ] || return 0
	# shellcheck disable=SC2086 # a list of pids
	{
		kill $pids
		busywait 2000 pids_gone $pids || kill -9 $pids
		wait $pids
	} 2>/dev/null
	BG_PIDS=()
}

pids_gone() {
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}

# cleanup_all: a test's cleanup (trap cleanup_all EXIT), or the usual body
# of its own: background processes, the module if this test loaded it, the
# namespaces, then the test's scratch directory $tmpd if it made one.
cleanup_all() {
	cleanup_bg
	[ "$SYNGUARD_LOADED_HERE" = 1 ] && unload_synguard
	cleanup_all_ns
	if [ -n "${tmpd:-}" ] && [ -d "$tmpd" ]; then
		rm -rf "$tmpd"
	fi
}

# ----------------------------------------------------------- network

# veth_pair NS1 NS2 ADDR1 ADDR2 [ADDR6_1 ADDR6_2]
#
# Join NS1 and NS2 with a veth pair and address both ends, e.g.
#	veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24
# IPv6 addresses default to fd00:A:B:C::D/64 built from the IPv4 ones
# (10.0.1.1/24 -> fd00:10:0:1::1/64), added with nodad. Each side gets
# default routes (v4 and v6) through the other unless it has them already:
# the server side needs one back towards the client, or its replies to
# addresses beyond the link (spoofed flood sources) are dropped unrouted.
#
# The ends are named after the peer: in NS1 "v-<NS2's prefix>", in NS2
# "v-<NS1's prefix>" (prefix = the name before its random suffix), and left
# in $VETH1 and $VETH2.
veth_pair() {
	local ns1=$1 ns2=$2 a1=$3 a2=$4 b1=${5:-} b2=${6:-}
	local d1 d2
	d1=$(veth_name "$ns2")
	d2=$(veth_name "$ns1")
	[ -n "$b1" ] || b1=$(v4_to_v6 "$a1")
	[ -n "$b2" ] || b2=$(v4_to_v6 "$a2")
	ip -n "$ns1" link add "$d1" type veth peer name "$d2" netns "$ns2" || return 1
	ip -n "$ns1" addr add "$a1" dev "$d1" || return 1
	ip -n "$ns2" addr add "$a2" dev "$d2" || return 1
	ip -n "$ns1" -6 addr add "$b1" dev "$d1" nodad || return 1
	ip -n "$ns2" -6 addr add "$b2" dev "$d2" nodad || return 1
	ip -n "$ns1" link set "$d1" up || return 1
	ip -n "$ns2" link set "$d2" up || return 1
	default_route "$ns1" "$d1" "${a2%/*}" "${b2%/*}" || return 1
	default_route "$ns2" "$d2" "${a1%/*}" "${b1%/*}" || return 1
	# shellcheck disable=SC2034 # for the tests
	VETH1=$d1 VETH2=$d2
}

# veth_name NS: "v-" plus NS without its random suffix, at most 15 chars.
veth_name() {
	local n="v-${1%-*}"
	echo "${n:0:15}"
}

# v4_to_v6 10.0.1.1/24 -> fd00:10:0:1::1/64
v4_to_v6() {
	local ip=${1%/*} a b c d
	IFS=. read -r a b c d <<<"$ip"
	echo "fd00:$a:$b:$c::$d/64"
}

# default_route NS DEV GW4 GW6: add default routes unless there are some.
default_route() {
	local ns=$1 dev=$2 gw4=$3 gw6=$4
	if [ -z "$(ip -n "$ns" -4 route show default)" ]; then
		ip -n "$ns" -4 route add default via "$gw4" dev "$dev" || return 1
	fi
	if [ -z "$(ip -n "$ns" -6 route show default)" ]; then
		ip -n "$ns" -6 route add default via "$gw6" dev "$dev" || return 1
	fi
}

# ------------------------------------------------------------- sockets

# nstat_val NS NAME: an absolute SNMP counter of a namespace.
nstat_val() {
	ip netns exec "$1" nstat -az "$2" | awk -v n="$2" '$1 == n { print $2 }'
}

# ss_field NS PORT FIELD: a field of ss -ti for the established connection
# from or to PORT in NS, e.g. "wscale:7,7" -> "7,7".
ss_field() {
	ip netns exec "$1" ss -Htin state established \
		"( sport = :$2 or dport = :$2 )" |
		tr ' \t' '\n\n' | sed -n "s/^$3://p" | head -n1
}

# ------------------------------------------------------------- capture

# capture NS DEV NAME FILTER: tcpdump (numeric, absolute sequence numbers)
# on DEV in NS into $tmpd/NAME.pcap, in the background and tracked; returns
# once it listens. pcap_seen NAME ERE then tells if a packet matches.
capture() {
	ip netns exec "$1" tcpdump --immediate-mode -U -nn -S -i "$2" -w "$tmpd/$3.pcap" "$4" \
		2>"$tmpd/$3.log" &
	bg_track $!
	slowwait 10 grep -q "listening on" "$tmpd/$3.log"
}

pcap_seen() { tcpdump -nn -S -r "$tmpd/$1.pcap" 2>/dev/null | grep -Eq "$2"; }

# ------------------------------------------------------------- raw TCP

# raw_peer CLIENT SERVER ADDR...: let namespace CLIENT send raw TCP from
# ADDRs of its link with SERVER (made by veth_pair, whose VETH1/VETH2 it
# reads) that it does not own. SERVER gets static neighbour entries for
# them: its answers reach the client's interface, where rawtcp (below)
# reads them, but the client kernel sends no RST of its own. Sets RAW_NS,
# RAW_DEV and RAW_DMAC for rawtcp.
raw_peer() {
	local cli=$1 srv=$2 addr smac
	shift 2
	RAW_NS=$cli RAW_DEV=$VETH1
	RAW_DMAC=$(ip netns exec "$srv" cat "/sys/class/net/$VETH2/address") &&
		smac=$(ip netns exec "$cli" cat "/sys/class/net/$VETH1/address") ||
		return 1
	for addr in "$@"; do
		ip -n "$srv" neigh add "$addr" lladdr "$smac" dev "$VETH2" \
			nud permanent || return 1
	done
}

# rawtcp ARGS...: selftests/tools/rawtcp.py in the raw_peer namespace
# (see its --help), e.g.
#	rawtcp --src A --dst B --sport P --dport Q syn --seq 1 --count 20
rawtcp() {
	ip netns exec "$RAW_NS" python3 "$(dirname "${BASH_SOURCE[0]}")/tools/rawtcp.py" \
		--dev "$RAW_DEV" --dmac "$RAW_DMAC" "$@"
}

# ------------------------------------------------------------- echo

# echo_server_start NS ADDR PORT [BACKLOG]: a threaded TCP echo server in NS
# (python3), in the background and tracked; waits until it listens. Its
# errors go to $tmpd/echo-PORT.err when the test has a $tmpd.
echo_server_start() {
	local err=/dev/null
	[ -n "${tmpd:-}" ] && err="$tmpd/echo-$3.err"
	ip netns exec "$1" python3 -c '
import socket, sys, threading
def echo(c):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    c.close()
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
ls = socket.socket(fam)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2])))
ls.listen(int(sys.argv[3]))
while True:
    threading.Thread(target=echo, args=(ls.accept()[0],), daemon=True).start()
' "$2" "$3" "${4:-64}" 2>>"$err" &
	bg_track $!
	wait_port_listen "$1" "$3"
}

# echo_client NS ADDR PORT OUT [GOFILE [N1 [N2]]]: connect from NS, send N1
# random bytes (default 64 KiB) and read them back; with GOFILE, then wait
# until that file exists and do it again with N2 bytes. OUT gets the local
# port, then "ok" or "bad" per round trip. Succeeds if all came back intact.
# With ECHO_CLIENT_START=FILE in the environment it connects only once FILE
# exists, and makes FILE.ready when it is waiting (python takes seconds to
# start on the debug kernel: a test can start it first, then act, then go).
# ECHO_CLIENT_TIMEOUT: seconds for the connection and each read (default 30).
echo_client() {
	ip netns exec "$1" env ECHO_CLIENT_START="${ECHO_CLIENT_START:-}" \
		ECHO_CLIENT_TIMEOUT="${ECHO_CLIENT_TIMEOUT:-30}" python3 -c '
import os, socket, sys, time
addr, port, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = os.environ.get("ECHO_CLIENT_START")
if start:
    open(start + ".ready", "w").close()
    while not os.path.exists(start):
        time.sleep(0.01)
fam, typ, proto, _, sa = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM)[0]
s = socket.socket(fam, typ, proto)
s.settimeout(float(os.environ["ECHO_CLIENT_TIMEOUT"]))
# The port first, bound before connect(): a failed connect() releases it,
# and a test reporting the failure wants to know which it was.
s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", 0))
print(s.getsockname()[1], flush=True)
s.connect(sa)
def rt(n):
    data = os.urandom(n)
    s.sendall(data)
    got = b""
    while len(got) < len(data):
        b = s.recv(65536)
        if not b:
            break
        got += b
    print("ok" if got == data else "bad", flush=True)
    return got == data
good = rt(int(sys.argv[4]))
if go:
    while not os.path.exists(go):
        time.sleep(0.1)
    good = rt(int(sys.argv[5])) and good
sys.exit(0 if good else 1)
' "$2" "$3" "${5:-}" "${6:-65536}" "${7:-65536}" >"$4" 2>&1
}

# echo_roundtrip NS ADDR PORT: one connection echoes 64 KiB intact.
echo_roundtrip() { echo_client "$1" "$2" "$3" /dev/null; }

# http_server_start NS PORT DIR [BACKLOG]: python3's threaded HTTP server
# for DIR in NS, on every address (IPv4 and IPv6) with a listen backlog of
# BACKLOG (16), in the background and tracked; waits until it listens. Its
# errors go to $tmpd/http-PORT.err when the test has a $tmpd.
http_server_start() {
	local err=/dev/null
	[ -n "${tmpd:-}" ] && err="$tmpd/http-$2.err"
	ip netns exec "$1" python3 -c '
import functools, http.server, socket, sys
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    request_queue_size = int(sys.argv[3])
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
Server(("::", int(sys.argv[1])),
       functools.partial(Handler, directory=sys.argv[2])).serve_forever()
' "$2" "$3" "${4:-16}" 2>>"$err" &
	bg_track $!
	wait_port_listen "$1" "$2"
}

# tcp_probe NS ADDR PORT: connect from NS, send 5 bytes and read; print
# what happened: "data", "eof", "reset" (a RST, whether connect() or the
# send or read met it), "refused" or the error's name.
tcp_probe() {
	ip netns exec "$1" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    s.sendall(b"hello")
    print("data" if s.recv(16) else "eof")
except ConnectionRefusedError:
    print("refused")
except (ConnectionResetError, BrokenPipeError):
    print("reset")
except OSError as e:
    print(type(e).__name__)
' "$2" "$3"
}

# ------------------------------------------------------------- module

# Which module the tests load. Under vm-run, $SYNGUARD_KO is the one built
# in the tree for the guest's kernel (which may be missing), loaded with
# insmod. Without it (kselftest's `make run_tests`), the installed one:
# $SYNGUARD_KO becomes its file, for the tests that read its modinfo or
# check that there is a module, and load_synguard uses modprobe.
if [ -z "${SYNGUARD_KO+set}" ]; then
	SYNGUARD_INSTALLED=1
	SYNGUARD_KO=$(modinfo -n synguard 2>/dev/null)
else
	SYNGUARD_INSTALLED=0
fi

synguard_loaded() { [ -d /sys/module/synguard ]; }

# load_synguard_deps: modprobe what $SYNGUARD_KO depends on (nf_defrag_ipv6,
# for its IPv6 reassembly), so that a bare insmod of it can succeed.
load_synguard_deps() {
	local dep
	for dep in $(modinfo -F depends "$SYNGUARD_KO" 2>/dev/null | tr , ' '); do
		modprobe "$dep" || return 1
	done
}

# load_synguard [param=val ...]: insmod $SYNGUARD_KO unless it is loaded
# already, after modprobing the modules it depends on; or modprobe the
# installed module. Returns 4 (skip) when there is no module built for this
# kernel.
load_synguard() {
	if synguard_loaded; then
		[ $# -eq 0 ] || ksft_info "synguard already loaded; ignoring $*"
		return 0
	fi
	if [ -z "${SYNGUARD_KO:-}" ] || [ ! -e "$SYNGUARD_KO" ]; then
		echo "# no module at ${SYNGUARD_KO:-(SYNGUARD_KO empty)}"
		return "$ksft_skip"
	fi
	if [ "$SYNGUARD_INSTALLED" = 1 ]; then
		# No /etc/modprobe.d: the test's parameters over the defaults,
		# as with insmod. (Dependencies come from modules.dep.)
		modprobe -C /dev/null synguard "$@" || return "$ksft_fail"
	else
		load_synguard_deps || return "$ksft_fail"
		insmod "$SYNGUARD_KO" "$@" || return "$ksft_fail"
	fi
	SYNGUARD_LOADED_HERE=1
}

# load_synguard_or_exit [param=val ...]: load_synguard as a check of its
# own, "PASS: insmod synguard PARAMS"; or "FAIL: ..." and exit 1, also when
# there is no module for this kernel (a test that cannot go on without it).
load_synguard_or_exit() {
	if load_synguard "$@"; then
		ksft_pass "insmod synguard $*"
	else
		ksft_fail "insmod synguard $*"
		exit "$ksft_fail"
	fi
}

# protected_roundtrip [PORT]: with synguard loaded, make a client and a
# server namespace, mode=2 in the server's, an echo server on PORT (8080):
# one connection echoes 64 KiB intact, with a cookie sent and a hand-off
# counted (PASS/FAIL each). The namespaces and the server go at the end.
protected_roundtrip() {
	local port=${1:-8080} rc=0
	setup_ns client server || return
	# shellcheck disable=SC2154 # set by setup_ns
	{
		veth_pair "$client" "$server" 10.0.1.1/24 10.0.1.2/24 &&
			ip netns exec "$server" sysctl -qw net.synguard.mode=2 &&
			echo_server_start "$server" 10.0.1.2 "$port"
	} || { ksft_fail "protected_roundtrip: set-up"; return "$ksft_fail"; }
	sg_snap "$server"
	echo_roundtrip "$client" 10.0.1.2 "$port"
	ksft_check $? "64 KiB echoed through synguard" || rc=$ksft_fail
	expect_delta "$server" cookie_sent -ge 1 "the SYN was answered with a cookie" ||
		rc=$ksft_fail
	expect_delta "$server" handoff_ok -ge 1 "the connection was handed off" ||
		rc=$ksft_fail
	cleanup_bg
	cleanup_ns "$client" "$server"
	return "$rc"
}

# lean_module_tree MODULE...: guests only (the install tests). Replace
# /lib/modules/$(uname -r) with a tree that holds the kernel's builtin lists
# and only MODULEs and what they depend on, then depmod it. DKMS and `make
# install` run `depmod -a`, which decompresses every one of the kernel's
# ~4200 modules: a minute under TCG, twice per install and removal. The
# install and removal themselves are the same on the lean tree; a module a
# test needs later must be among MODULEs (modprobe finds nothing else).
lean_module_tree() {
	local krel full lean f
	krel=$(uname -r)
	[ -n "${SYNGUARD_SERIES:-}" ] || return 1
	full=$(readlink -f "/lib/modules/$krel") || return 1
	lean=$(mktemp -d /tmp/modules.XXXXXX) || return 1
	cp "$full"/modules.builtin* "$full"/modules.order "$lean/" || return 1
	# (--show-depends prints "insmod FILE" per module of the closure)
	modprobe --show-depends -a "$@" | while read -r _ f _; do
		[ -e "$f" ] || continue
		mkdir -p "$lean/$(dirname "${f#"$full"/}")" &&
			cp "$f" "$lean/${f#"$full"/}" || exit 1
	done || return 1
	# (build: the link to the kernel's headers, as a package installs it)
	if [ -L "$full/build" ]; then cp -P "$full/build" "$lean/" || return 1; fi
	rm -f "/lib/modules/$krel" && mv "$lean" "/lib/modules/$krel" &&
		depmod -a "$krel"
}

# INSTALL_TEST_MODULES: what the install tests load: veth for their
# namespaces, synguard's dependency (nf_defrag_ipv6).
INSTALL_TEST_MODULES="veth nf_defrag_ipv6"

# installed_roundtrip GLOB [PORT]: the installed module (modinfo -n, left
# in $MODPATH) is a file matching GLOB; `modprobe synguard` loads it,
# protected_roundtrip passes, `modprobe -r synguard` unloads it. PASS/FAIL
# each; returns 1 if it could not load.
installed_roundtrip() {
	local glob=$1 port=${2:-8080}
	MODPATH=$(modinfo -n synguard 2>&1)
	# shellcheck disable=SC2053 # GLOB is a pattern
	[[ "$MODPATH" == $glob ]]
	ksft_check $? "modinfo -n synguard: $MODPATH"
	modprobe synguard
	ksft_check $? "modprobe synguard" || return "$ksft_fail"
	SYNGUARD_LOADED_HERE=1
	protected_roundtrip "$port"
	modprobe -r synguard
	ksft_check $? "modprobe -r synguard" && SYNGUARD_LOADED_HERE=0
	! synguard_loaded
	ksft_check $? "synguard is unloaded"
}

# unload_synguard: rmmod it, retrying for a few seconds while it is busy.
unload_synguard() {
	synguard_loaded || return 0
	busywait 5000 rmmod synguard 2>/dev/null || rmmod synguard || return "$ksft_fail"
	SYNGUARD_LOADED_HERE=0
}

# nft_hooks NS: `nft list hooks` of namespace NS; status 4 (ksft_skip)
# where the kernel cannot list hooks (Debian's 6.1 has no nfnetlink_hook).
nft_hooks() {
	modprobe -q nfnetlink_hook 2>/dev/null || return "$ksft_skip"
	ip netns exec "$1" nft list hooks 2>/dev/null
}

# expect_hooks NS N D MSG: PASS if namespace NS has N synguard hooks (8
# once its mode was not 0, IPv4 and IPv6; 0 before) and D of the kernel's
# defragmentation hooks (nf_defrag's: conntrack adds 4, synguard none);
# SKIP where the kernel cannot list them.
expect_hooks() {
	local out sg df
	if ! out=$(nft_hooks "$1"); then
		ksft_skip "$4 (this kernel cannot list hooks)"
		return
	fi
	sg=$(grep -c '\[synguard\]' <<<"$out")
	df=$(grep -c '\[nf_defrag_ipv[46]\]' <<<"$out")
	[ "$sg" = "$2" ] && [ "$df" = "$3" ]
	ksft_check $? "$4 ($sg synguard hooks, $df defragmentation hooks)"
}

# sg_stat NS NAME: a synguard counter of namespace NS, summed over the
# per-CPU rows of /proc/net/stat/synguard (one read, no awk: mawk cannot
# parse hex).
sg_stat() {
	local ns=$1 name=$2 i col=-1 sum=0
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
	} <<<"$(ip netns exec "$ns" cat /proc/net/stat/synguard)"
	echo "$sum"
}

# sg_snap NS: remember every synguard counter of NS in the array SG_SNAP;
# sg_delta NS NAME then tells how much NAME moved since.
declare -A SG_SNAP
sg_snap() {
	local -a h f
	local i
	SG_SNAP=()
	{
		read -r -a h || return 1
		while read -r -a f; do
			for i in "${!h[@]}"; do
				SG_SNAP[${h[$i]}]=$((${SG_SNAP[${h[$i]}]:-0} + 16#${f[$i]}))
			done
		done
	} <<<"$(ip netns exec "$1" cat /proc/net/stat/synguard)"
}

# sg_dump NS: every non-zero synguard counter of NS on one info line, and
# the kernel's TCP counters that explain a stalled connection (to tell a
# failure's cause from its log).
sg_dump() {
	local k
	sg_snap "$1"
	ksft_info "synguard counters in $1:" "$(for k in "${!SG_SNAP[@]}"; do
		[ "${SG_SNAP[$k]}" = 0 ] || printf '%s=%s ' "$k" "${SG_SNAP[$k]}"; done)"
	ksft_info "TCP counters in $1:" "$(ip netns exec "$1" nstat -az 2>/dev/null |
		awk '$2 != 0 && $1 ~ /PAWS|Retrans|Drop|Lost|TW|Timeout|OutOfWindow|Challenge|RST|Rst/ { printf "%s=%s ", $1, $2 }')"
}

sg_delta() {
	local now
	now=$(sg_stat "$1" "$2") || { echo "?"; return 1; }
	echo $((now - ${SG_SNAP[$2]:-0}))
}

# expect_delta NS NAME OP N MSG: PASS if "delta OP N" (OP as for test(1)).
expect_delta() {
	local ns=$1 name=$2 op=$3 n=$4 d
	shift 4
	d=$(sg_delta "$ns" "$name")
	if [ "$d" != "?" ] && test "$d" "$op" "$n"; then
		ksft_pass "$* ($name moved by $d)"
	else
		ksft_fail "$* ($name moved by $d, expected $op $n)"
		return 1
	fi
}

# ------------------------------------------------------------- dmesg

# Kernel messages that mean a bug, whatever the test thinks it saw.
DMESG_BAD='WARNING:|BUG:|[Ll]eak|Oops|general protection fault|Call Trace:|refcount_t:|UBSAN:|KASAN:|detected stalls|blocked for more than'

# dmesg_mark: remember where the log is now; check_dmesg_clean and
# dmesg_since then only look past it.
dmesg_mark() {
	DMESG_MARK="synguard-selftest-mark-$RANDOM$RANDOM"
	echo "$DMESG_MARK" >/dev/kmsg
}

# dmesg_since: the kernel log past dmesg_mark (all of it before one).
dmesg_since() {
	if [ -n "${DMESG_MARK:-}" ]; then
		dmesg | sed -n "/$DMESG_MARK/,\$p"
	else
		dmesg
	fi
}

# check_dmesg_clean [MSG]: PASS if the kernel log (past dmesg_mark, if
# called) has no WARNING/BUG/leak/Oops..., else FAIL and show the lines.
check_dmesg_clean() {
	local msg=${1:-dmesg is free of kernel warnings} log
	log=$(dmesg_since)
	if grep -Eq "$DMESG_BAD" <<<"$log"; then
		ksft_fail "$msg"
		# (run.sh never runs a test again after these lines.)
		grep -E -A5 "$DMESG_BAD" <<<"$log" | head -40 | sed 's/^/#   kernel log: /'
		return 1
	fi
	ksft_pass "$msg"
}

# With the installed module (kselftest), a test skips at once when there is
# none, and when synguard is loaded already: the tests load it with their
# own parameters and unload it, which must not happen to a module someone
# else loaded (`modprobe -r synguard` first).
if [ "$SYNGUARD_INSTALLED" = 1 ]; then
	[ -n "$SYNGUARD_KO" ] ||
		skip_test "synguard is not installed for $(uname -r) (modinfo synguard)"
	! synguard_loaded ||
		skip_test "synguard is loaded already: modprobe -r synguard first"
fi
