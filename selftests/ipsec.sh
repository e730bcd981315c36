#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# IPsec transport mode between client and server (ESP, static keys, a
# policy in and out on both sides that requires ESP for TCP), mode=2,
# IPv4 and IPv6:
#  - synguard's SYN+ACK takes the IPsec policy (over IPv6 too): the client,
#    whose input policy drops plaintext TCP, accepts it;
#  - the hand-off SYN carries the ACK's secpath: the listener's input
#    policy accepts it;
#  - a connection echoes 64 KiB intact through synguard, and only ESP is
#    seen on the wire.
#
# timeout: 180

source "$(dirname "$0")/lib.sh"

CLI=10.0.1.1
SRV=10.0.1.2
CLI6=fd00:10:0:1::1
SRV6=fd00:10:0:1::2
PORT=8080
KEY1=0x0123456789abcdef0123456789abcdef01234567
KEY2=0x76543210fedcba9876543210fedcba9876543210

checktool "python3 -c pass" "run test without python3"
checktool "tcpdump --version" "run test without tcpdump"
checktool "ip xfrm state list" "run test without ip xfrm"

tmpd=''
trap cleanup_all EXIT

setup_ns client server || exit
# shellcheck disable=SC2154 # set by setup_ns
veth_pair "$client" "$server" $CLI/24 $SRV/24 || skip_test "cannot make a veth pair"
for m in esp4 esp6 xfrm_user; do modprobe -q $m 2>/dev/null; done
load_synguard mode=2 ports=$PORT || exit
dmesg_mark
tmpd=$(mktemp -d)

# esp NS SELF PEER: ESP transport-mode states both ways and policies that
# require them for TCP between SELF and PEER.
esp() {
	local ns=$1 self=$2 peer=$3 a b
	for d in "$self $peer" "$peer $self"; do
		read -r a b <<<"$d"
		if [ "$a" = "$CLI" ] || [ "$a" = "$CLI6" ]; then k=$KEY1 spi=0x1001; else k=$KEY2 spi=0x1002; fi
		ip -n "$ns" xfrm state add src "$a" dst "$b" proto esp spi $spi \
			mode transport aead 'rfc4106(gcm(aes))' $k 128 || return 1
	done
	ip -n "$ns" xfrm policy add src "$self" dst "$peer" proto tcp dir out \
		tmpl src "$self" dst "$peer" proto esp mode transport || return 1
	ip -n "$ns" xfrm policy add src "$peer" dst "$self" proto tcp dir in \
		tmpl src "$peer" dst "$self" proto esp mode transport
}
esp "$client" $CLI $SRV && esp "$server" $SRV $CLI &&
	esp "$client" $CLI6 $SRV6 && esp "$server" $SRV6 $CLI6 ||
	skip_test "cannot set up ESP (no esp4/esp6 or gcm(aes)?)"

echo_server_start "$server" :: $PORT || { ksft_fail "echo server"; exit 1; }
capture "$client" "$VETH1" wire "host $SRV or host $SRV6"
for s in $SRV $SRV6; do
	sg_snap "$server"
	echo_roundtrip "$client" "$s" $PORT && [ "$(sg_delta "$server" handoff_ok)" = 1 ]
	ksft_check $? "$s: a connection through synguard over IPsec echoes 64 KiB"
	[ "$(sg_delta "$server" handoff_fail)" = 0 ]
	ksft_check $? "$s: the listener's IPsec policy accepted the hand-off SYN"
done
n_esp=$(tcpdump -nn -r "$tmpd/wire.pcap" esp 2>/dev/null | wc -l)
n_tcp=$(tcpdump -nn -r "$tmpd/wire.pcap" tcp 2>/dev/null | wc -l)
[ "$n_esp" -gt 0 ] && [ "$n_tcp" = 0 ]
ksft_check $? "only ESP on the wire ($n_esp ESP, $n_tcp plaintext TCP packets)"

cleanup_bg
check_dmesg_clean
ksft_exit
