/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SYNGUARD_DEFRAG_H
#define SYNGUARD_DEFRAG_H

#include <linux/netfilter.h>
#include <net/ip.h>
#include <net/ipv6.h>

unsigned int synguard_defrag_slow(struct sk_buff *skb, u8 pf, struct net *net);

/*
 * @skb in PRE_ROUTING, before anything else of ours: NF_ACCEPT when it is
 * whole (now), NF_STOLEN when it is a fragment kept for the rest, NF_DROP
 * for a malformed IPv6 fragment (which the kernel drops as well). Inline,
 * for every packet, the test that it is none: an IPv4 header without
 * fragment bits, an IPv6 one whose next header is no extension header.
 */
static inline unsigned int synguard_defrag(struct sk_buff *skb, u8 pf,
					   struct net *net)
{
	if (pf == NFPROTO_IPV4 ? likely(!ip_is_fragment(ip_hdr(skb))) :
	    likely(!ipv6_ext_hdr(ipv6_hdr(skb)->nexthdr)))
		return NF_ACCEPT;
	return synguard_defrag_slow(skb, pf, net);
}

#endif
