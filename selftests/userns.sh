#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A namespace owned by an unprivileged user namespace cannot raise the
# limits that size synguard's memory (max_flows, msl) above the initial
# namespace's current values; it may lower them. Root in the initial user
# namespace is not limited, in init_net or in a namespace it made.
#
# init_net: max_flows=1000, msl=20. As uid 65534, `unshare -Urn` makes a
# user and a network namespace, whose synguard starts from the module
# parameters (max_flows 65536, msl 30), and writes:
#
#	max_flows 16777216	EINVAL (above init_net's 1000), unchanged
#	max_flows 2000		ok (lowers it, though above 1000)
#	max_flows 3000		EINVAL (raises it above 1000)
#	max_flows 500, 1000	ok (at most init_net's)
#	max_flows 1001		EINVAL
#	msl 3600		EINVAL
#	msl 25			ok (lowers it)
#	msl 26			EINVAL
#	msl 10, 20		ok
#	msl 21			EINVAL
#
# Then root raises init_net's max_flows to 16777216 and msl to 3600 (ok),
# after which the unprivileged namespace may raise its own to 100000; and
# a namespace made by root (ip netns add) takes 16777216 at once.
#
# timeout: 120

source "$(dirname "$0")/lib.sh"

SYS=/proc/sys/net/synguard

checktool "command -v setpriv" "run test without setpriv"
checktool "command -v unshare" "run test without unshare"

trap cleanup_all EXIT
load_synguard mode=1 max_flows=65536 msl=30 || exit
dmesg_mark

# Debian's knob for unprivileged user namespaces (absent upstream).
uuc=/proc/sys/kernel/unprivileged_userns_clone
if [ -e $uuc ] && [ "$(cat $uuc)" = 0 ]; then
	echo 1 >$uuc || skip_test "cannot allow unprivileged user namespaces"
fi
[ "$(cat /proc/sys/user/max_user_namespaces)" -gt 0 ] ||
	skip_test "user.max_user_namespaces is 0"

# as_user SCRIPT: run SCRIPT (bash) as uid 65534 in a new user + net namespace.
as_user() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		unshare --user --map-root-user --net bash -c "$1"
}

# The script for as_user: "NAME VALUE" pairs on stdin; prints for each
# "NAME VALUE ok|EINVAL|err READBACK".
# shellcheck disable=SC2016 # runs in bash -c
WRITER='
	echo "start $(cat '$SYS'/max_flows) $(cat '$SYS'/msl)"
	while read -r name val; do
		err=$(echo "$val" 2>&1 >'$SYS'/"$name")
		case "$err" in
		"") r=ok ;;
		*"Invalid argument"*) r=EINVAL ;;
		*) r=err ;;
		esac
		echo "$name $val $r $(cat '$SYS'/"$name")"
	done'

echo 1000 >$SYS/max_flows && echo 20 >$SYS/msl &&
	[ "$(cat $SYS/max_flows) $(cat $SYS/msl)" = "1000 20" ]
ksft_check $? "init_net: max_flows=1000 msl=20"

out=$(as_user "$WRITER" <<EOF
max_flows 16777216
max_flows 2000
max_flows 3000
max_flows 500
max_flows 1000
max_flows 1001
msl 3600
msl 25
msl 26
msl 10
msl 20
msl 21
EOF
)
rc=$?
sed 's/^/# /' <<<"$out"
if [ "$rc" != 0 ] || [ "$(head -n1 <<<"$out")" != "start 65536 30" ]; then
	skip_test "no synguard sysctls in an unprivileged user's namespace (rc=$rc)"
fi

# expect LINE: the output has that line.
expect() {
	grep -qx "$1" <<<"$out"
	ksft_check $? "userns: $1"
}
expect "max_flows 16777216 EINVAL 65536"
expect "max_flows 2000 ok 2000"
expect "max_flows 3000 EINVAL 2000"
expect "max_flows 500 ok 500"
expect "max_flows 1000 ok 1000"
expect "max_flows 1001 EINVAL 1000"
expect "msl 3600 EINVAL 30"
expect "msl 25 ok 25"
expect "msl 26 EINVAL 25"
expect "msl 10 ok 10"
expect "msl 20 ok 20"
expect "msl 21 EINVAL 20"

echo 16777216 >$SYS/max_flows && echo 3600 >$SYS/msl &&
	[ "$(cat $SYS/max_flows)" = 16777216 ] && [ "$(cat $SYS/msl)" = 3600 ]
ksft_check $? "init_net: root raises max_flows to 16777216, msl to 3600"

out=$(as_user "$WRITER" <<<"max_flows 100000")
sed 's/^/# /' <<<"$out"
expect "max_flows 100000 ok 100000"

setup_ns rootns || exit
# shellcheck disable=SC2154 # set by setup_ns
ip netns exec "$rootns" sh -c "echo 10000 >$SYS/max_flows" &&
	echo 2000 >$SYS/max_flows &&
	ip netns exec "$rootns" sh -c "echo 16777216 >$SYS/max_flows"
ksft_check $? "a namespace root made is not capped by init_net's values"

check_dmesg_clean
ksft_exit
