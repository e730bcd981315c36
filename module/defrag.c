// SPDX-License-Identifier: GPL-2.0
/*
 * Whole packets for synguard's hooks: fragments reassembled on the way in.
 *
 * A SYN or a relayed segment sent in fragments would otherwise pass
 * PRE_ROUTING in pieces and be reassembled only at local delivery, behind
 * our back. Conntrack reassembles before us (its defrag hook runs at
 * NF_IP_PRI_CONNTRACK_DEFRAG), but it need not be loaded. So the first
 * thing our PRE_ROUTING hook does is what that hook does there, with the
 * kernel's own reassembly and the same queues (the same "user", so that
 * conntrack, loaded later, goes on with the fragments we queued).
 *
 * Not by enabling nf_defrag's hooks (nf_defrag_ipv4_enable()): they come in
 * pairs, PRE_ROUTING and LOCAL_OUT, and we need only the first. The second
 * would cost every packet this host sends (our SYN+ACKs too) a hook call,
 * to reassemble what local sockets fragment, which nothing of ours reads:
 * our POST_ROUTING hook sees TCP segments before ip_fragment() cuts them.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_bridge.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ipv6_frag.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_zones.h>
#include "defrag.h"

/*
 * The conntrack zone an earlier hook (tc's ct action, a raw-table CT
 * template) gave @skb, which keeps its fragments apart from other zones'.
 */
static u16 defrag_zone(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	if (ct)
		return nf_ct_zone_id(nf_ct_zone(ct), CTINFO2DIR(ctinfo));
#endif
	return NF_CT_DEFAULT_ZONE_ID;
}

/* Seen by conntrack already (looped back), or exempt from it: as it was. */
static bool defrag_skip(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	const struct nf_conn *ct = (const struct nf_conn *)skb_nfct(skb);

	if (ct && !nf_ct_is_template(ct))
		return true;
	if (skb->_nfct == IP_CT_UNTRACKED)
		return true;
#endif
	return false;
}

static unsigned int defrag_v4(struct net *net, struct sk_buff *skb)
{
	u32 user = nf_bridge_in_prerouting(skb) ?
		   IP_DEFRAG_CONNTRACK_BRIDGE_IN : IP_DEFRAG_CONNTRACK_IN;
	int err;

	/* Process context too: a tun device's write, for one. */
	local_bh_disable();
	err = ip_defrag(net, skb, user + defrag_zone(skb));
	local_bh_enable();
	if (err)
		return NF_STOLEN;
	/* Sent on, it is cut again as it came (IPCB()->frag_max_size). */
	skb->ignore_df = 1;
	return NF_ACCEPT;
}

static unsigned int defrag_v6(struct net *net, struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
	u32 user = nf_bridge_in_prerouting(skb) ?
		   IP6_DEFRAG_CONNTRACK_BRIDGE_IN : IP6_DEFRAG_CONNTRACK_IN;
	int err = nf_ct_frag6_gather(net, skb, user + defrag_zone(skb));

	if (err == -EINPROGRESS)
		return NF_STOLEN;
	return err ? NF_DROP : NF_ACCEPT;
#else
	return NF_ACCEPT;
#endif
}

/*
 * A packet synguard_defrag() found may be a fragment (an IPv6 one with
 * extension headers is walked here). Softirq or process context, under
 * RCU.
 */
unsigned int synguard_defrag_slow(struct sk_buff *skb, u8 pf, struct net *net)
{
	if (defrag_skip(skb))
		return NF_ACCEPT;
	return pf == NFPROTO_IPV4 ? defrag_v4(net, skb) : defrag_v6(net, skb);
}
