// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks: decide, then delegate.
 *
 * PRE_ROUTING, before defragmented packets reach the raw table and
 * conntrack: SYNs are answered with cookies, cookie ACKs handed off, client
 * packets of proxied flows translated into the listener's sequence space.
 * POST_ROUTING, after conntrack has seen the listener's packets: the
 * listener's SYN+ACK is captured, the rest translated into the cookie space.
 *
 * Hooks run in softirq context with the RCU read lock held by the netfilter
 * core; that lock protects the per-netns keys, port set and flows.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/inet_connection_sock.h>
#include <net/tcp.h>
#include "engage.h"
#include "flow.h"
#include "hooks.h"
#include "packet.h"
#include "stats.h"

#define HOOK_PRIO_IN	(NF_IP_PRI_RAW - 50)
#define HOOK_PRIO_OUT	(NF_IP_PRI_CONNTRACK_CONFIRM - 1)

static bool port_selected(struct synguard_net *sn, __be16 port)
{
	const struct synguard_ports *p = rcu_dereference(sn->ports);

	return p->all || test_bit(ntohs(port), p->map);
}

/* ACKs may carry our cookies for 2 * MSL after the last one was sent. */
static void cookies_sent(struct synguard_net *sn)
{
	unsigned long life = 2UL * READ_ONCE(sn->cfg.msl) * HZ;
	unsigned long until = READ_ONCE(sn->cookies_until);

	/* Refresh at most every few ticks: this is a shared cache line. */
	if (time_before(until, jiffies + life - 8))
		WRITE_ONCE(sn->cookies_until, jiffies + life);
}

static unsigned int on_syn(struct synguard_net *sn, struct sk_buff *skb,
			   const struct synguard_pkt *pkt,
			   const struct nf_hook_state *state)
{
	const struct synguard_keyset *ks;
	struct sock *lsk;

	if (READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_OFF) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	if (!synguard_pkt_to_local(state->net, pkt, state->in) ||
	    !synguard_pkt_src_ok(skb, pkt))
		return NF_ACCEPT;
	synguard_stat_inc(sn, SG_SYN_SEEN);
	if (!port_selected(sn, pkt->th.dest)) {
		synguard_stat_inc(sn, SG_PASS_PORT);
		return NF_ACCEPT;
	}
	lsk = synguard_pkt_listener(state->net, pkt, state->in);
	if (!lsk) {
		synguard_stat_inc(sn, SG_PASS_NO_LISTENER);
		return NF_ACCEPT;
	}
	if (!synguard_engage(sn, lsk)) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	/* We answer only what we understand; the client will retry. */
	if (pkt->opts_bad) {
		synguard_stat_inc(sn, SG_MALFORMED);
		return NF_DROP;
	}
	ks = rcu_dereference(sn->keyset);
	if (synguard_send_synack(sn, pkt, lsk, &ks->keys, state->in)) {
		synguard_stat_inc(sn, SG_SEND_FAIL);
		return NF_DROP;
	}
	synguard_stat_inc(sn, SG_COOKIE_SENT);
	cookies_sent(sn);
	consume_skb(skb);
	return NF_STOLEN;
}

static unsigned int from_client(struct synguard_net *sn,
				struct synguard_flow *f, struct sk_buff *skb,
				const struct synguard_pkt *pkt)
{
	if (synguard_flow_state(f) == SG_FLOW_HANDOFF) {
		/* Our own injected SYN passes; anything else waits its turn. */
		return pkt->th.syn && !pkt->th.ack ? NF_ACCEPT : NF_DROP;
	}
	/* Relayed all the same: the listener reads the options up to there. */
	if (pkt->opts_bad)
		synguard_stat_inc(sn, SG_MALFORMED);
	synguard_flow_track(f, skb, pkt, true);
	if (synguard_flow_xlate(f, skb, pkt, true))
		return NF_DROP;
	synguard_stat_inc(sn, SG_RELAY_IN);
	return NF_ACCEPT;
}

/*
 * Open the real connection: a flow first (so the listener's SYN+ACK can be
 * recognised), then the SYN, processed synchronously. If the listener
 * answered, this ACK completes its handshake, carrying any data with it.
 */
static unsigned int handoff(struct synguard_net *sn, struct sk_buff *skb,
			    const struct synguard_pkt *pkt,
			    struct synguard_synopts *co, const struct sock *lsk,
			    const struct net_device *in)
{
	struct synguard_flow *f;
	u8 ws;

	if (synguard_handoff_wscale(sn, pkt, lsk, co, in, &ws)) {
		synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		return NF_DROP;
	}
	/* We did not scale: neither may the listener. */
	if (ws == SYNGUARD_WSCALE_NONE)
		co->wscale = SYNGUARD_WSCALE_NONE;
	f = synguard_flow_add(sn, pkt, co, ws, in->ifindex, lsk);
	if (IS_ERR(f)) {
		if (PTR_ERR(f) == -ENOSPC)
			synguard_stat_inc(sn, SG_FLOWS_FULL);
		else if (PTR_ERR(f) != -EEXIST)
			synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		return NF_DROP;
	}
	synguard_inject_syn(skb, pkt, co);
	if (synguard_flow_state(f) != SG_FLOW_ESTABLISHED) {
		synguard_flow_del(sn, f);
		synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		return NF_DROP;
	}
	synguard_stat_inc(sn, SG_HANDOFF_OK);
	return from_client(sn, f, skb, pkt);
}

/*
 * Cookies of the previous key live until the next rotation, due one MSL
 * after the current key was born. If the rotation work runs late (a busy
 * system), the lifetime still ends on time.
 */
static bool prev_key_overdue(const struct synguard_net *sn,
			     const struct synguard_keyset *ks, u32 cookie)
{
	return !synguard_cookie_is_current(&ks->keys, cookie) &&
	       time_after_eq(jiffies, ks->born + READ_ONCE(sn->cfg.msl) * HZ);
}

/*
 * Check the cookie in an ACK for no open socket. @kernel_may: the kernel
 * may own it (its TIME_WAIT socket, or its own syncookies), so an ACK that
 * is not ours goes on to the kernel instead of being dropped.
 */
static unsigned int check_cookie(struct synguard_net *sn, struct sk_buff *skb,
				 const struct synguard_pkt *pkt,
				 const struct nf_hook_state *state,
				 const struct sock *lsk, bool kernel_may)
{
	const struct synguard_keyset *ks;
	struct synguard_synopts co;
	struct synguard_tuple t;
	enum synguard_stat why;
	u32 cookie;

	if (pkt->opts_bad) {
		why = SG_MALFORMED;
		goto not_ours;
	}
	ks = rcu_dereference(sn->keyset);
	cookie = ntohl(pkt->th.ack_seq) - 1;
	synguard_pkt_tuple(pkt, &t, ntohl(pkt->th.seq) - 1);
	switch (synguard_cookie_check(&ks->keys, &t, cookie, &co)) {
	case SYNGUARD_COOKIE_OK:
		if (!prev_key_overdue(sn, ks, cookie))
			break;
		fallthrough;
	case SYNGUARD_COOKIE_EXPIRED:
		why = SG_COOKIE_EXPIRED;
		goto not_ours;
	default:
		why = SG_COOKIE_BAD_MAC;
		goto not_ours;
	}
	synguard_stat_inc(sn, SG_COOKIE_VALID);
	return handoff(sn, skb, pkt, &co, lsk, state->in);

not_ours:
	if (kernel_may)
		return NF_ACCEPT;
	synguard_stat_inc(sn, why);
	return NF_DROP;
}

/*
 * An ACK for no open socket may complete one of our handshakes, but only
 * where we sent cookies: within 2 * MSL of the last one, to a port that
 * `ports` selects and that has a listener. Anything else is the kernel's
 * (a closed port answers RST as usual).
 */
static unsigned int on_ack(struct synguard_net *sn, struct sk_buff *skb,
			   const struct synguard_pkt *pkt,
			   const struct nf_hook_state *state)
{
	enum synguard_owner owner;
	struct sock *lsk;

	if (!time_before(jiffies, READ_ONCE(sn->cookies_until)) ||
	    !synguard_pkt_to_local(state->net, pkt, state->in))
		return NF_ACCEPT;
	owner = synguard_pkt_owner(state->net, pkt, state->in);
	if (owner == SYNGUARD_OWNER_OPEN || !port_selected(sn, pkt->th.dest))
		return NF_ACCEPT;
	lsk = synguard_pkt_listener(state->net, pkt, state->in);
	if (!lsk)
		return NF_ACCEPT;
	/* The kernel's own test for having sent syncookies (cookie_v4_check). */
	return check_cookie(sn, skb, pkt, state, lsk,
			    owner == SYNGUARD_OWNER_TW ||
			    !tcp_synq_no_recent_overflow(lsk));
}

/*
 * A TCP header longer than its packet, to one of our addresses: the kernel
 * would drop it too, we count it. Anything else is not ours.
 */
static unsigned int on_bad(struct synguard_net *sn,
			   const struct synguard_pkt *pkt,
			   const struct nf_hook_state *state)
{
	if (!synguard_pkt_to_local(state->net, pkt, state->in))
		return NF_ACCEPT;
	synguard_stat_inc(sn, SG_MALFORMED);
	return NF_DROP;
}

static unsigned int hook_in(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	struct synguard_net *sn = synguard_pernet(state->net);
	struct synguard_flow *f;
	struct synguard_pkt pkt;

	/*
	 * Local traffic cannot be a remote flood. A VRF's slave: the packet
	 * passes PRE_ROUTING again on the VRF device, where sockets bound to
	 * the VRF are found; act once, there.
	 */
	if ((state->in->flags & IFF_LOOPBACK) || netif_is_l3_slave(state->in))
		return NF_ACCEPT;
	switch (synguard_pkt_parse(skb, state->pf, &pkt)) {
	case SYNGUARD_PKT_OTHER:
		return NF_ACCEPT;
	case SYNGUARD_PKT_BAD:
		return on_bad(sn, &pkt, state);
	case SYNGUARD_PKT_TCP:
		break;
	}
	if (atomic_read(&sn->nr_flows)) {
		f = synguard_flow_find(sn, &pkt, true);
		/*
		 * A new SYN on a closed flow's ports starts a new connection,
		 * unless the socket is still open: a forged RST closed the
		 * flow, which the kernel refused (RFC 5961).
		 */
		if (f && pkt.th.syn && !pkt.th.ack && synguard_flow_closed(f) &&
		    synguard_pkt_owner(state->net, &pkt, state->in) !=
		    SYNGUARD_OWNER_OPEN)
			synguard_flow_del(sn, f);
		else if (f)
			return from_client(sn, f, skb, &pkt);
	}
	if (pkt.th.rst)
		return NF_ACCEPT;
	if (pkt.th.syn)
		return pkt.th.ack || pkt.th.fin ? NF_ACCEPT :
						  on_syn(sn, skb, &pkt, state);
	if (pkt.th.ack)
		return on_ack(sn, skb, &pkt, state);
	return NF_ACCEPT;
}

static unsigned int from_listener(struct synguard_net *sn,
				  struct synguard_flow *f, struct sk_buff *skb,
				  const struct synguard_pkt *pkt)
{
	if (synguard_flow_state(f) == SG_FLOW_HANDOFF) {
		if (pkt->th.syn && pkt->th.ack) {
			synguard_flow_establish(sn, f, pkt);
			consume_skb(skb);
			return NF_STOLEN;
		}
		if (pkt->th.rst && !synguard_flow_fix_rst(f, skb, pkt))
			return NF_ACCEPT;
		return NF_DROP;
	}
	synguard_flow_track(f, skb, pkt, false);
	if (synguard_flow_xlate(f, skb, pkt, false))
		return NF_DROP;
	synguard_stat_inc(sn, SG_RELAY_OUT);
	return NF_ACCEPT;
}

static unsigned int hook_out(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct synguard_net *sn = synguard_pernet(state->net);
	struct synguard_flow *f;
	struct synguard_pkt pkt;

	/* In a VRF, POST_ROUTING runs on the VRF device, then on the real one. */
	if (!atomic_read(&sn->nr_flows) || netif_is_l3_master(state->out) ||
	    synguard_pkt_parse(skb, state->pf, &pkt) != SYNGUARD_PKT_TCP)
		return NF_ACCEPT;
	f = synguard_flow_find(sn, &pkt, false);
	if (!f)
		return NF_ACCEPT;
	return from_listener(sn, f, skb, &pkt);
}

static const struct nf_hook_ops synguard_hook_ops[] = {
	{
		.hook = hook_in,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = HOOK_PRIO_IN,
	},
	{
		.hook = hook_out,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = HOOK_PRIO_OUT,
	},
	{
		.hook = hook_in,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = HOOK_PRIO_IN,
	},
	{
		.hook = hook_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = HOOK_PRIO_OUT,
	},
};

int synguard_hooks_register(struct net *net)
{
	/* Whole packets only: after the defragmentation netns.c enables. */
	BUILD_BUG_ON(HOOK_PRIO_IN - NF_IP_PRI_CONNTRACK_DEFRAG <= 0 ||
		     HOOK_PRIO_IN - NF_IP6_PRI_CONNTRACK_DEFRAG <= 0);
	return nf_register_net_hooks(net, synguard_hook_ops,
				     ARRAY_SIZE(synguard_hook_ops));
}

void synguard_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, synguard_hook_ops,
				ARRAY_SIZE(synguard_hook_ops));
}
