#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module loads with its metadata, its sysctls read back and reject bad
# values (changing nothing), every namespace gets its own settings from the
# module parameters, the counters parse as lnstat reads them, and rmmod
# leaves nothing behind. Loaded with mode=0, synguard hooks into a
# namespace only once its mode is set to 1 or 2, and stays until rmmod. It
# reassembles fragments in its own PRE_ROUTING hook (fragments.sh tests
# that), so the kernel's defragmentation hooks (nf_defrag's, a pair of
# which would tax every packet the host sends) are never added.
#
# timeout: 120

source "$(dirname "$0")/lib.sh"

checktool "command -v modinfo" "run test without modinfo"
checktool "command -v lnstat" "run test without lnstat"
checktool "nft --version" "run test without nft"
[ -e "${SYNGUARD_KO:-}" ] || skip_test "no module built at ${SYNGUARD_KO:-}"

SYS=/proc/sys/net/synguard
# getval NAME: a sysctl's value, the fields of a pair separated by one space.
getval() { tr -s '\t' ' ' <"$SYS/$1"; }
trap cleanup_all EXIT
dmesg_mark

# ---- modinfo
for field in license description version; do
	val=$(modinfo -F "$field" "$SYNGUARD_KO")
	[ -n "$val" ]
	ksft_check $? "modinfo $field: ${val:-(missing)}"
done
[ "$(modinfo -F license "$SYNGUARD_KO")" = GPL ]
ksft_check $? "license is GPL"
for p in mode msl ports max_flows mss wscale syn_rate queue_fill hold gateway \
	gateway_prefixes; do
	modinfo -F parm "$SYNGUARD_KO" | grep -q "^$p:"
	ksft_check $? "module parameter $p is documented"
done

# ---- a bad parameter refuses the load, cleanly (and for no other reason)
load_synguard_deps
ksft_check $? "modprobe the dependencies: $(modinfo -F depends "$SYNGUARD_KO")"
insmod "$SYNGUARD_KO" mode=7 2>/dev/null
rc=$?
[ "$rc" != 0 ] && ! synguard_loaded
ksft_check $? "insmod mode=7 is refused"
insmod "$SYNGUARD_KO" ports=70000 2>/dev/null
[ $? != 0 ] && ! synguard_loaded
ksft_check $? "insmod ports=70000 is refused"
insmod "$SYNGUARD_KO" syn_rate=900,800 2>/dev/null
[ $? != 0 ] && ! synguard_loaded
ksft_check $? "insmod syn_rate=900,800 (low above high) is refused"

# ---- load with parameters: they become the defaults of every namespace
load_synguard mode=2 msl=7 ports=80,443 syn_rate=300,600 hold=4 || exit "$ksft_fail"
[ "$(cat $SYS/mode)" = 2 ] && [ "$(cat $SYS/msl)" = 7 ] &&
	[ "$(cat $SYS/ports)" = 80,443 ] && [ "$(getval syn_rate)" = "300 600" ] &&
	[ "$(cat $SYS/hold)" = 4 ]
ksft_check $? "init namespace starts from the module parameters"

setup_ns other || exit
in_other() { ip netns exec "$other" "$@"; }
[ "$(in_other cat $SYS/mode)" = 2 ] && [ "$(in_other cat $SYS/msl)" = 7 ]
ksft_check $? "a new namespace starts from the module parameters"
expect_hooks "$other" 8 0 "mode=2: a new namespace has synguard's hooks, no defragmentation hook"

# ---- sysctls: good values read back, bad ones are refused and change nothing
# try_set NAME VALUE EXPECT: EXPECT is "ok" or "EINVAL".
try_set() {
	local name=$1 val=$2 expect=$3 before after err
	before=$(getval "$name")
	err=$(echo "$val" 2>&1 >"$SYS/$name")
	after=$(getval "$name")
	if [ "$expect" = ok ]; then
		[ -z "$err" ] && [ "$after" = "$val" ]
		ksft_check $? "$name=$val accepted, reads back '$after'"
	else
		[[ "$err" == *"Invalid argument"* ]] && [ "$after" = "$before" ]
		ksft_check $? "$name=$val refused with EINVAL, still '$after'"
	fi
}

try_set mode 0 ok
try_set mode 2 ok
try_set mode 3 EINVAL
try_set mode -1 EINVAL
try_set mode abc EINVAL
try_set msl 1 ok
try_set msl 3600 ok
try_set msl 0 EINVAL
try_set msl 3601 EINVAL
try_set max_flows 1 ok
try_set max_flows 0 EINVAL
try_set max_flows 16777217 EINVAL
try_set mss 0 ok
try_set mss 1400 ok
try_set mss 50 EINVAL
try_set mss 65536 EINVAL
try_set wscale 14 ok
try_set wscale 15 EINVAL
try_set syn_rate "100 200" ok
try_set syn_rate "20000 40000" ok
try_set syn_rate "0 0" ok
try_set syn_rate "0 100" EINVAL
try_set syn_rate "300 200" EINVAL
try_set syn_rate "-1 200" EINVAL
try_set syn_rate "1 100000001" EINVAL
try_set queue_fill "10 90" ok
try_set queue_fill "100 100" ok
try_set queue_fill "0 50" EINVAL
try_set queue_fill "60 50" EINVAL
try_set queue_fill "50 101" EINVAL
try_set hold 1 ok
try_set hold 0 EINVAL
try_set hold 3601 EINVAL
try_set ports 22,8000-8080 ok
try_set ports 0 EINVAL
try_set ports 65536 EINVAL
try_set ports 90-80 EINVAL
try_set ports x EINVAL
try_set ports "" ok

[ "$(in_other cat $SYS/mode)" = 2 ] && [ "$(in_other cat $SYS/msl)" = 7 ] &&
	[ "$(in_other cat $SYS/ports)" = 80,443 ] &&
	[ "$(in_other cat $SYS/syn_rate | tr -s "\t" " ")" = "300 600" ]
ksft_check $? "writes in one namespace leave the others alone"

# ---- counters: header + one row per possible CPU, all hex, same width
stats_ok() {
	awk -v ncpu="$1" '
		NR == 1 { nf = NF; next }
		NF != nf { exit 1 }
		{ for (i = 1; i <= NF; i++) if (length($i) != 8 || $i ~ /[^0-9a-f]/) exit 1 }
		END { exit !(NR - 1 == ncpu && nf > 10) }' /proc/net/stat/synguard
}
ncpu=$(($(cut -d- -f2 /sys/devices/system/cpu/possible) + 1))
stats_ok "$ncpu"
ksft_check $? "/proc/net/stat/synguard: header and $ncpu hex rows"
for f in flows engaged syn_rate syn_seen cookie_sent cookie_valid \
	 cookie_bad_mac cookie_expired malformed handoff_ok handoff_fail \
	 flows_full pass_no_listener pass_port pass_off relay_in relay_out \
	 send_fail flows_expired gc_reaped engage_on; do
	head -n1 /proc/net/stat/synguard | tr ' ' '\n' | grep -qx "$f"
	ksft_check $? "counter $f is present"
done
out=$(lnstat -f synguard -c 1 -i 1 2>&1)
grep -q 'cookie_s' <<<"$out" && grep -Eq '^ +[0-9]+\|' <<<"$out"
ksft_check $? "lnstat -f synguard reads the counters"
[ -r /proc/net/synguard_flows ] && [ -r "/proc/net/stat/synguard" ]
ksft_check $? "flow listing is readable"

# ---- rmmod leaves nothing behind, and the module loads again
unload_synguard
ksft_check $? "rmmod synguard"
[ ! -e $SYS ] && [ ! -e /proc/net/stat/synguard ] &&
	[ ! -e /proc/net/synguard_flows ] && ! in_other test -e $SYS
ksft_check $? "no sysctl or /proc entry is left after rmmod"
load_synguard && unload_synguard
ksft_check $? "the module loads and unloads again"

# ---- hooks only where synguard was ever on
load_synguard mode=0 || exit "$ksft_fail"
setup_ns third || exit
expect_hooks "$other" 0 0 "mode=0: a namespace has no synguard hook"
in_other sysctl -qw net.synguard.mode=1
expect_hooks "$other" 8 0 "mode=1 hooks it in"
in_other sysctl -qw net.synguard.mode=0
expect_hooks "$other" 8 0 "back to mode=0: its hooks stay (flows, cookies)"
# shellcheck disable=SC2154 # set by setup_ns
expect_hooks "$third" 0 0 "another namespace is left alone"
unload_synguard
expect_hooks "$other" 0 0 "rmmod takes the hooks away"
modprobe -r nf_defrag_ipv6
ksft_check $? "then nothing holds nf_defrag_ipv6 (whose IPv6 reassembly synguard calls)"
check_dmesg_clean
ksft_exit
