// SPDX-License-Identifier: GPL-2.0
/*
 * SYNs decided in PRE_ROUTING.
 *
 * SYNs are answered in LOCAL_IN, past the input route and every filter
 * chain (hooks.c). Where nothing between PRE_ROUTING and LOCAL_IN could
 * treat a SYN otherwise, getting there is a cost without effect: the input
 * route lookup (a FIB lookup, the early demux, the reverse path's rules),
 * the walk of the LOCAL_IN hooks. There the SYN is decided in PRE_ROUTING,
 * by the same code and with the same outcome; the output path of our
 * SYN+ACK stays the one the kernel's own reply would take.
 *
 * Nothing in between means: no netfilter hook after ours in PRE_ROUTING
 * and none but ours in LOCAL_IN (no filter, NAT, conntrack or TPROXY), no
 * IPsec input policy, nothing (a route, a socket) attached to the packet
 * before us, and the FIB rules as the kernel makes them: then the input
 * route of one of our interface addresses is local delivery (the local
 * table comes first). IPv4: an address of the interface the SYN came in
 * on (see addr_on()), no custom local routes, no route classes, rp_filter
 * and accept_local off, so that fib_validate_source() checks nothing we do
 * not (a source that is one of our addresses gets no route back from us
 * either), and no IP options. IPv6 has no reverse path check of its own;
 * an address still in duplicate address detection, an anycast or another
 * interface's link-local address are not ours here.
 */
#include <linux/inetdevice.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <net/addrconf.h>
#include <net/ip6_fib.h>
#include <net/ip_fib.h>
#include <net/xfrm.h>
#include "early.h"

/*
 * The SYN this CPU decided in PRE_ROUTING and let through: LOCAL_IN,
 * reached in the same softirq on the same CPU, must not decide it again
 * (count it twice). Any packet through our PRE_ROUTING clears a stale one
 * of its address (one decided, then dropped before LOCAL_IN, whose memory
 * a new skb has), before it can reach LOCAL_IN.
 */
static DEFINE_PER_CPU(const struct sk_buff *, early_passed);

static bool hooks_only_ours(const struct synguard_net *sn,
			    const struct net *net, u8 pf)
{
	struct nf_hook_entries __rcu *const *hooks = net->nf.hooks_ipv4;
	const struct nf_hook_entries *pre, *in;

#if IS_ENABLED(CONFIG_IPV6)
	if (pf == NFPROTO_IPV6)
		hooks = net->nf.hooks_ipv6;
#endif
	pre = rcu_dereference(hooks[NF_INET_PRE_ROUTING]);
	in = rcu_dereference(hooks[NF_INET_LOCAL_IN]);
	return pre && in && in->num_hook_entries == 1 &&
	       in->hooks[0].priv == sn &&
	       pre->hooks[pre->num_hook_entries - 1].priv == sn;
}

static bool no_input_policy(struct net *net, const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_XFRM)
	if (READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_IN]) ||
	    secpath_exists(skb))
		return false;
#endif
	return true;
}

/*
 * Is @addr an address of @idev, the interface the SYN came in on? Only
 * there: a search of every interface's (__ip_dev_find()) falls back to a
 * FIB lookup for an address that is not ours, which each SYN this host
 * forwards would pay. A SYN to another interface's address, or to a
 * loopback address, goes the LOCAL_IN way.
 */
static bool addr_on(struct in_device *idev, __be32 addr)
{
	const struct in_ifaddr *ifa;

	in_dev_for_each_ifa_rcu(ifa, idev)
		if (ifa->ifa_local == addr)
			return true;
	return false;
}

/* Would the input route deliver @skb locally, checking nothing else? */
static bool routes_local_v4(struct net *net, const struct sk_buff *skb,
			    const struct net_device *in)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct in_device *idev = __in_dev_get_rcu(in);

	if (!idev || !addr_on(idev, iph->daddr) || iph->ihl != 5)
		return false;
	return !IN_DEV_RPFILTER(idev) && !IN_DEV_ACCEPT_LOCAL(idev) &&
	       !fib4_has_custom_rules(net) &&
	       !READ_ONCE(net->ipv4.fib_has_custom_local_routes) &&
	       !fib_num_tclassid_users(net);
}

static bool routes_local_v6(struct net *net, const struct sk_buff *skb,
			    const struct net_device *in)
{
#if IS_ENABLED(CONFIG_IPV6)
	/* Not tentative; link-local and host scope only on @in. */
	return !fib6_has_custom_rules(net) &&
	       ipv6_chk_addr(net, &ipv6_hdr(skb)->daddr, in, 0);
#else
	return false;
#endif
}

/*
 * Is the SYN @skb, in PRE_ROUTING, one that nothing before LOCAL_IN can
 * treat otherwise? Called under RCU (a netfilter hook).
 */
bool synguard_early_local(const struct synguard_net *sn,
			  const struct sk_buff *skb,
			  const struct nf_hook_state *state)
{
	/* A SYN this host forwards leaves at the first test. */
	if (!(state->pf == NFPROTO_IPV4 ?
	      routes_local_v4(state->net, skb, state->in) :
	      routes_local_v6(state->net, skb, state->in)))
		return false;
	return !skb_dst(skb) && !skb->sk &&
	       hooks_only_ours(sn, state->net, state->pf) &&
	       no_input_policy(state->net, skb);
}

/* A SYN decided in PRE_ROUTING goes on to the kernel. */
void synguard_early_pass(const struct sk_buff *skb)
{
	this_cpu_write(early_passed, skb);
}

/* In PRE_ROUTING, before anything else: see early_passed. */
void synguard_early_forget(const struct sk_buff *skb)
{
	if (unlikely(this_cpu_read(early_passed) == skb))
		this_cpu_write(early_passed, NULL);
}

/* In LOCAL_IN: was @skb decided in PRE_ROUTING? Forgets it. */
bool synguard_early_passed(const struct sk_buff *skb)
{
	if (likely(this_cpu_read(early_passed) != skb))
		return false;
	this_cpu_write(early_passed, NULL);
	return true;
}
