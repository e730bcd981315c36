// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks: decide, then delegate.
 *
 * PRE_ROUTING, before defragmented packets reach the raw table and
 * conntrack: cookie ACKs are handed off, client packets of proxied flows
 * translated into the listener's sequence space.
 * LOCAL_IN, after every filter chain: SYNs the firewall let through are
 * answered with cookies. A port the firewall closes to a source thus stays
 * closed to it, and SYNs it drops do not count toward the SYN rate. Where
 * there is nothing between PRE_ROUTING and LOCAL_IN (early.c), a SYN is
 * decided in PRE_ROUTING, by the same code, without the input route.
 * POST_ROUTING, after conntrack has seen the listener's packets: the
 * listener's SYN+ACK is captured, the rest translated into the cookie space.
 * FORWARD, in gateway mode, last: SYNs to protected servers behind us are
 * answered with cookies, ACKs without a valid one dropped.
 *
 * Hooks run in softirq context with the RCU read lock held by the netfilter
 * core; that lock protects the per-netns keys, port set and flows.
 */
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/timekeeping.h>
#include <net/inet_connection_sock.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/tcp.h>
#include <net/xfrm.h>
#include "defrag.h"
#include "early.h"
#include "engage.h"
#include "flow.h"
#include "gateway.h"
#include "hooks.h"
#include "icmp.h"
#include "packet.h"
#include "stats.h"
#include "trace.h"

#define HOOK_PRIO_IN	(NF_IP_PRI_RAW - 50)
#define HOOK_PRIO_OUT	(NF_IP_PRI_CONNTRACK_CONFIRM - 1)
/* Last before conntrack confirms: a SYN we answer leaves no conntrack entry. */
#define HOOK_PRIO_LOCAL	(NF_IP_PRI_CONNTRACK_CONFIRM - 1)
/* Last in FORWARD: after every filter chain (see hook_fwd()). */
#define HOOK_PRIO_FWD	(NF_IP_PRI_LAST - 1)

static bool port_selected(struct synguard_net *sn, __be16 port)
{
	const struct synguard_ports *p = rcu_dereference(sn->ports);

	return p->all || test_bit(ntohs(port), p->map);
}

/* ACKs may carry our cookies for 2 * MSL after the last one was sent. */
static bool cookies_live(const struct synguard_net *sn)
{
	return time_before(jiffies, READ_ONCE(sn->cookies_until));
}

static void cookies_sent(struct synguard_net *sn)
{
	unsigned long life = 2UL * READ_ONCE(sn->cfg.msl) * HZ;
	unsigned long until = READ_ONCE(sn->cookies_until);

	/* Refresh at most every few ticks: this is a shared cache line. */
	if (time_before(until, jiffies + life - 8))
		WRITE_ONCE(sn->cookies_until, jiffies + life);
}

/*
 * Where an ACK may carry a cookie: within 2 * MSL of our last one, or, with
 * a fleet secret, whenever the mode is not off, as every host of the fleet
 * makes cookies that we accept.
 */
static bool cookies_expected(const struct synguard_net *sn)
{
	if (cookies_live(sn))
		return true;
	return rcu_dereference(sn->keyset)->fleet &&
	       READ_ONCE(sn->cfg.mode) != SYNGUARD_MODE_OFF;
}

/*
 * A SYN the listener's kernel must verify a signature of. Debian's 6.12 has
 * no TCP-AO (CONFIG_TCP_AO unset): there an AO option is just an unknown
 * option, and the SYN an ordinary one.
 */
static bool syn_signed(const struct synguard_pkt *pkt)
{
	return (IS_ENABLED(CONFIG_TCP_MD5SIG) && pkt->opts.md5) ||
	       (IS_ENABLED(CONFIG_TCP_AO) && pkt->opts.ao);
}

/*
 * Checks the kernel makes on a SYN after netfilter, in tcp_v4_rcv() and
 * tcp_v6_rcv(): the listener's minimum hop limit (IP_MINTTL,
 * IPV6_MINHOPCOUNT: GTSM, RFC 5082), an IPsec input policy, and a socket
 * filter on the listener. Where they could refuse the SYN, the kernel
 * decides (and counts TCPMinTTLDrop for the first).
 */
static bool kernel_would_take(struct sk_buff *skb,
			      const struct synguard_pkt *pkt,
			      const struct sock *lsk)
{
	u8 min_ttl = pkt->family == NFPROTO_IPV4 ?
		     READ_ONCE(inet_sk(lsk)->min_ttl) :
		     READ_ONCE(inet6_sk(lsk)->min_hopcount);

	if (pkt->ttl < min_ttl)
		return false;
	if (!xfrm_policy_check(NULL, XFRM_POLICY_IN, skb, pkt->family))
		return false;
	return !rcu_access_pointer(lsk->sk_filter);
}

/*
 * A SYN to a selected port of a listener (@lsk, local), or of a server
 * behind us (@lsk NULL), that passed its path's checks. Answer it with a
 * cookie while engaged, if it is one we may answer: options we understand,
 * a good checksum, no signature, and for a local listener one the local
 * kernel would answer with a new connection's SYN+ACK (a forwarded SYN's
 * server judges the client's ACK in turn).
 */
static unsigned int answer_syn(struct synguard_net *sn, struct sk_buff *skb,
			       struct synguard_pkt *pkt,
			       const struct nf_hook_state *state,
			       const struct sock *lsk)
{
	const struct synguard_keyset *ks;
	int err;

	/* Only SYNs we would answer make the rate that engages us. */
	synguard_stat_inc(sn, SG_SYN_SEEN);
	if (!synguard_engage(sn, lsk, ntohs(pkt->th.dest))) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	synguard_pkt_parse_opts(skb, pkt);
	/* We answer only what we understand; the client will retry. */
	if (pkt->opts_bad) {
		synguard_stat_inc(sn, SG_MALFORMED);
		return NF_DROP;
	}
	/*
	 * What the kernel would not answer with a SYN+ACK stays the kernel's:
	 * a corrupt SYN, one that must be signed (we cannot sign for the
	 * listener), one whose tuple a socket owns.
	 */
	if (!synguard_pkt_csum_ok(skb, pkt, state->hook))
		return NF_ACCEPT;
	if (syn_signed(pkt)) {
		synguard_stat_inc(sn, SG_PASS_AUTH);
		return NF_ACCEPT;
	}
	if (lsk && !kernel_would_take(skb, pkt, lsk))
		return NF_ACCEPT;
	if (lsk && !synguard_syn_is_new(state->net, skb, pkt, state->in)) {
		synguard_stat_inc(sn, SG_PASS_SOCKET);
		return NF_ACCEPT;
	}
	ks = rcu_dereference(sn->keyset);
	/*
	 * Live before the SYN+ACK leaves: its ACK may come back before
	 * sending returns. Softirqs the output path raised (the veth's
	 * receive, a client in another namespace) run as it turns BHs on
	 * again in process context, where our hooks run after an NFQUEUE
	 * verdict.
	 */
	cookies_sent(sn);
	/*
	 * Unless sending failed to start (err < 0), the SYN is gone: its
	 * buffer carries the SYN+ACK.
	 */
	err = synguard_send_synack(sn, skb, pkt, lsk, &ks->keys, state->in);
	if (err) {
		synguard_stat_inc(sn, SG_SEND_FAIL);
		/* The output path dropped it; the SYN is consumed either way. */
		if (err > 0)
			return NF_STOLEN;
		/*
		 * A source whose route back is a broadcast gets no SYN+ACK from
		 * anyone (the kernel would send one). With no route at all the
		 * kernel cannot answer either and queues nothing: its call.
		 */
		return err == -EINVAL ? NF_DROP : NF_ACCEPT;
	}
	synguard_stat_inc(sn, SG_COOKIE_SENT);
	trace_synguard_cookie_sent(state->net, pkt);
	return NF_STOLEN;
}

/*
 * @pkt: parsed up to its fixed TCP header; the options are read only for
 * a SYN we are about to answer.
 */
static unsigned int on_syn(struct synguard_net *sn, struct sk_buff *skb,
			   struct synguard_pkt *pkt,
			   const struct nf_hook_state *state)
{
	struct sock *lsk;

	if (READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_OFF) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	/* In PRE_ROUTING, early.c found the destination local. */
	if ((state->hook == NF_INET_LOCAL_IN &&
	     !synguard_pkt_dst_local(skb, pkt)) ||
	    !synguard_pkt_src_ok(skb, pkt))
		return NF_ACCEPT;
	if (!port_selected(sn, pkt->th.dest)) {
		synguard_stat_inc(sn, SG_PASS_PORT);
		return NF_ACCEPT;
	}
	lsk = synguard_pkt_listener(state->net, pkt, state->in);
	if (!lsk) {
		synguard_stat_inc(sn, SG_PASS_NO_LISTENER);
		return NF_ACCEPT;
	}
	return answer_syn(sn, skb, pkt, state, lsk);
}

static unsigned int from_client(struct synguard_net *sn,
				struct synguard_flow *f, struct sk_buff *skb,
				const struct synguard_pkt *pkt)
{
	if (synguard_flow_state(f) == SG_FLOW_HANDOFF) {
		/* Our own injected SYN passes; anything else waits its turn. */
		if (pkt->th.syn && !pkt->th.ack)
			return NF_ACCEPT;
		/*
		 * Locally, on another CPU than the hand-off's: dropped, the
		 * client retransmits. Behind a gateway the server answers an
		 * RTT later, a deferred local hand-off when its SYN comes
		 * through: the flow holds the client's first flight.
		 */
		if (!synguard_flow_deferred(f))
			return NF_DROP;
		switch (synguard_flow_hold(f, skb)) {
		case 0:
			return NF_STOLEN;
		case -EALREADY:
			break;		/* established meanwhile: relay it */
		default:
			return NF_DROP;
		}
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
 * No flow for this hand-off. The client thinks it is connected: when the
 * table refused it, say so with a RST at once, rather than let its data
 * vanish until it times out. A copy of an ACK being handed off on another
 * CPU (-EEXIST) is just dropped.
 */
static unsigned int refused(struct synguard_net *sn,
			    const struct sk_buff *skb,
			    const struct synguard_pkt *pkt,
			    const struct net_device *in, long err)
{
	trace_synguard_handoff_fail(sn->net, pkt, err);
	switch (err) {
	case -EEXIST:
		return NF_DROP;
	case -ENOSPC:
		synguard_stat_inc(sn, SG_FLOWS_FULL);
		break;
	case -EDQUOT:
		synguard_stat_inc(sn, SG_FLOWS_QUOTA);
		break;
	default:
		synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		break;
	}
	synguard_send_rst(sn, skb, pkt, in);
	return NF_DROP;
}

/*
 * The listener's hand-off SYN came back unanswered from the receive path:
 * refused (its RST has gone on to the client), or taken away by a hook on
 * its way, to be answered later (see synguard_flow_defer()): then @skb
 * waits in the flow, and from_listener() counts the hand-off.
 */
static unsigned int handoff_unanswered(struct synguard_net *sn,
				       struct synguard_flow *f,
				       struct sk_buff *skb,
				       const struct synguard_pkt *pkt,
				       const struct synguard_synopts *co)
{
	switch (synguard_flow_defer(f, skb)) {
	case 0:
		synguard_stat_inc(sn, SG_HANDOFF_DEFERRED);
		return NF_STOLEN;
	case -ENOBUFS:
		synguard_stat_inc(sn, SG_HANDOFF_DEFERRED);
		return NF_DROP;
	case -EALREADY:
		/* Answered since, on another CPU. */
		synguard_stat_inc(sn, SG_HANDOFF_OK);
		trace_synguard_handoff_ok(sn->net, pkt, co);
		return from_client(sn, f, skb, pkt);
	}
	trace_synguard_handoff_fail(sn->net, pkt, -ECONNREFUSED);
	synguard_flow_del(sn, f);
	synguard_stat_inc(sn, SG_HANDOFF_FAIL);
	return NF_DROP;
}

/*
 * Open the real connection: a flow first (so the listener's SYN+ACK can be
 * recognised), then the SYN, processed synchronously. If the listener
 * answered, this ACK completes its handshake, carrying any data with it;
 * if a hook took the SYN away, it waits (handoff_unanswered()).
 */
static unsigned int handoff(struct synguard_net *sn, struct sk_buff *skb,
			    const struct synguard_pkt *pkt,
			    struct synguard_synopts *co, const struct sock *lsk,
			    const struct net_device *in)
{
	struct synguard_flow *f;
	u8 ws = co->aws;

	/* A compact cookie has no room for the scale we announced. */
	if (!pkt->opts.ts &&
	    synguard_handoff_wscale(sn, skb, pkt, lsk, co, in, &ws)) {
		trace_synguard_handoff_fail(sn->net, pkt, -ENETUNREACH);
		synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		return NF_DROP;
	}
	/* We did not scale: neither may the listener. */
	if (ws == SYNGUARD_WSCALE_NONE)
		co->wscale = SYNGUARD_WSCALE_NONE;
	f = synguard_flow_add(sn, pkt, co, ws, in->ifindex, lsk);
	if (IS_ERR(f))
		return refused(sn, skb, pkt, in, PTR_ERR(f));
	/*
	 * A server behind a gateway (no @lsk): the SYN is on its way there,
	 * forwarded, and kept, to be sent again if the server stays silent;
	 * this ACK waits in the flow for the server's SYN+ACK.
	 */
	if (!lsk) {
		struct sk_buff *syn = NULL;

		synguard_inject_syn(skb, pkt, co, &syn);
		if (syn)
			synguard_flow_keep_syn(f, syn);
		return from_client(sn, f, skb, pkt);
	}
	synguard_inject_syn(skb, pkt, co, NULL);
	if (synguard_flow_state(f) != SG_FLOW_ESTABLISHED)
		return handoff_unanswered(sn, f, skb, pkt, co);
	synguard_stat_inc(sn, SG_HANDOFF_OK);
	trace_synguard_handoff_ok(sn->net, pkt, co);
	return from_client(sn, f, skb, pkt);
}

/*
 * Cookies of the previous key live until the next rotation, due one MSL
 * after the current key was born. If the rotation work runs late (a busy
 * system), the lifetime still ends on time.
 */
static bool prev_key_overdue(const struct synguard_net *sn,
			     const struct synguard_keyset *ks, u32 cookie,
			     bool ts)
{
	return !synguard_cookie_is_current(&ks->keys, cookie, ts) &&
	       time_after_eq(jiffies, ks->born + READ_ONCE(sn->cfg.msl) * HZ);
}

/*
 * The keys an ACK's cookie is checked with. Random keys: the namespace's.
 * Fleet keys: those of the epoch the fleet clock will be in skew seconds
 * from now, whose current and previous keys validate. A peer whose clock
 * runs up to skew seconds ahead has moved to that epoch already; the one
 * parity bit of the cookie still picks exactly one key, so a forged ACK
 * has the same odds as with random keys. The price: a cookie lives
 * [MSL - skew, 2 MSL - skew) by our clock instead of [MSL, 2 MSL), and
 * never more than 2 MSL. NULL if the keys are not the clock's (it was
 * stepped and the rotation has not caught up yet).
 */
static const struct synguard_keys *
ack_keys(const struct synguard_keyset *ks)
{
	u32 view;

	if (!ks->fleet)
		return &ks->keys;
	view = synguard_fleet_epoch(&ks->clock,
				    ktime_get_real_seconds() + ks->clock.skew);
	if (view == ks->keys.gen)
		return &ks->keys;
	if (view == ks->ahead.gen)
		return &ks->ahead;
	return NULL;
}

/*
 * A client that sends timestamps echoes our SYN+ACK's tsval, the second
 * half of its cookie; one that does not got a compact cookie.
 */
static enum synguard_cookie_result
cookie_check(const struct synguard_keys *keys, const struct synguard_tuple *t,
	     const struct synguard_pkt *pkt, u32 cookie,
	     struct synguard_synopts *co)
{
	if (pkt->opts.ts)
		return synguard_cookie_check_ts(keys, t, cookie,
						pkt->opts.tsecr, co);
	memset(co, 0, sizeof(*co));
	return synguard_cookie_check(keys, t, cookie, co);
}

/*
 * Does the ACK @pkt, for no connection we know, carry a valid cookie? If
 * so @co gets what the cookie carried, else @why says why not (a counter).
 */
static bool cookie_valid(struct synguard_net *sn,
			 const struct synguard_pkt *pkt,
			 struct synguard_synopts *co, enum synguard_stat *why)
{
	const struct synguard_keyset *ks;
	const struct synguard_keys *keys;
	struct synguard_tuple t;
	u32 cookie;

	if (pkt->opts_bad) {
		*why = SG_MALFORMED;
		return false;
	}
	ks = rcu_dereference(sn->keyset);
	keys = ack_keys(ks);
	if (!keys) {
		*why = SG_COOKIE_EXPIRED;
		return false;
	}
	cookie = ntohl(pkt->th.ack_seq) - 1;
	synguard_pkt_tuple(pkt, &t, ntohl(pkt->th.seq) - 1);
	switch (cookie_check(keys, &t, pkt, cookie, co)) {
	case SYNGUARD_COOKIE_OK:
		/* Fleet keys: ack_keys() went by the clock already. */
		if (ks->fleet || !prev_key_overdue(sn, ks, cookie, pkt->opts.ts))
			return true;
		fallthrough;
	case SYNGUARD_COOKIE_EXPIRED:
		*why = SG_COOKIE_EXPIRED;
		return false;
	default:
		*why = SG_COOKIE_BAD_MAC;
		return false;
	}
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
	struct synguard_synopts co;
	enum synguard_stat why;

	if (!cookie_valid(sn, pkt, &co, &why)) {
		trace_synguard_ack_reject(state->net, pkt, why, kernel_may);
		if (kernel_may)
			return NF_ACCEPT;
		synguard_stat_inc(sn, why);
		return NF_DROP;
	}
	/*
	 * A valid cookie in a corrupt ACK opens nothing: the kernel drops a
	 * segment whose checksum is wrong before it looks for a cookie
	 * (tcp_v4_rcv()), and counts it (TcpInCsumErrors). Summed only once
	 * the cookie checked out: a flood of bogus ACKs costs no checksum.
	 */
	if (!synguard_pkt_csum_ok(skb, pkt, state->hook))
		return NF_ACCEPT;
	synguard_stat_inc(sn, SG_COOKIE_VALID);
	return handoff(sn, skb, pkt, &co, lsk, state->in);
}

/*
 * Gateway relay: an ACK to a protected server behind us, of no flow. As a
 * local one, in PRE_ROUTING before conntrack: a valid cookie is handed off
 * (the SYN forwarded to the server, this ACK held until it answers), so
 * that conntrack and the FORWARD firewall see the server's handshake and
 * sequence space, as the server does. Anything else goes on: it may be a
 * segment of a connection opened while we were not engaged, which only
 * conntrack can tell, in FORWARD (fwd_ack()).
 */
static unsigned int gw_on_ack(struct synguard_net *sn, struct sk_buff *skb,
			      const struct synguard_pkt *pkt,
			      const struct nf_hook_state *state)
{
	struct synguard_synopts co;
	enum synguard_stat why;

	if (READ_ONCE(sn->cfg.gateway) != SYNGUARD_GW_RELAY ||
	    !port_selected(sn, pkt->th.dest) ||
	    !synguard_gw_protected(sn, pkt) ||
	    !cookie_valid(sn, pkt, &co, &why) ||
	    /* The server drops a corrupt one: see check_cookie(). */
	    !synguard_pkt_csum_ok(skb, pkt, state->hook))
		return NF_ACCEPT;
	synguard_stat_inc(sn, SG_COOKIE_VALID);
	return handoff(sn, skb, pkt, &co, NULL, state->in);
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

	if (!cookies_expected(sn))
		return NF_ACCEPT;
	if (!synguard_pkt_to_local(state->net, pkt, state->in))
		return gw_on_ack(sn, skb, pkt, state);
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

/*
 * Has PRE_ROUTING nothing to do with @skb in a namespace without flows?
 * Then there is no segment to translate nor ICMP error quoting one; what
 * is left is an ACK that may carry a cookie, while cookies are live, and a
 * TCP header that lies about its length, counted unless mode is 0 (pure
 * pass-through: the kernel drops it all the same). SYNs are answered in
 * LOCAL_IN. Decided before any parsing, on a byte of the TCP header at
 * most: a SYN flood's packets pass here at the least cost.
 */
static bool in_idle(const struct synguard_net *sn, const struct sk_buff *skb,
		    u8 family, u8 *flags)
{
	bool live = cookies_expected(sn);

	*flags = 0;
	if (!live && READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_OFF)
		return true;
	*flags = synguard_pkt_peek_flags(skb, family);
	/* Not known to be a well-formed TCP segment: parse it. */
	if (!*flags)
		return false;
	return !live || (*flags & (TCPHDR_SYN | TCPHDR_RST)) ||
	       !(*flags & TCPHDR_ACK);
}

static bool nat_applied(const struct sk_buff *skb);
static unsigned int local_parse(struct synguard_net *sn, struct sk_buff *skb,
				const struct nf_hook_state *state,
				int nr_flows);

/* A SYN is a segment with SYN set and none of these others. */
#define SYN_FLAGS	(TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST | TCPHDR_FIN)

/*
 * May the SYN @skb be decided here, in PRE_ROUTING, as hook_local() would
 * decide it (early.c)? Not in mode 0, where hook_local() only counts it.
 */
static bool in_early(const struct synguard_net *sn, const struct sk_buff *skb,
		     const struct nf_hook_state *state)
{
	return READ_ONCE(sn->cfg.mode) != SYNGUARD_MODE_OFF &&
	       !nat_applied(skb) && synguard_early_local(sn, skb, state);
}

/*
 * A SYN decided in PRE_ROUTING: counted, and if it goes on to the kernel,
 * marked so that hook_local() does not decide it again.
 */
static unsigned int early_verdict(struct synguard_net *sn,
				  const struct sk_buff *skb,
				  unsigned int verdict)
{
	synguard_stat_inc(sn, SG_SYN_EARLY);
	if (verdict == NF_ACCEPT)
		synguard_early_pass(skb);
	return verdict;
}

static struct synguard_pkt *parsed_opts(struct sk_buff *skb,
					struct synguard_pkt *pkt)
{
	synguard_pkt_parse_opts(skb, pkt);
	return pkt;
}

/*
 * PRE_ROUTING past the quick exits. The parsed packet lives here, not in
 * the hook: the kernel zeroes such locals on entry (INIT_STACK_ALL_ZERO),
 * which would cost the packets that leave early too.
 */
static unsigned int in_parse(struct synguard_net *sn, struct sk_buff *skb,
			     const struct nf_hook_state *state, int nr_flows)
{
	struct synguard_flow *f;
	struct synguard_pkt pkt;
	bool syn;

	switch (synguard_pkt_parse_hdr(skb, state->pf, state->in, &pkt)) {
	case SYNGUARD_PKT_OTHER:
		/* An ICMP error may quote a relayed segment: never dropped. */
		synguard_icmp_in(sn, skb, state->pf, state->in);
		return NF_ACCEPT;
	case SYNGUARD_PKT_BAD:
		return on_bad(sn, &pkt, state);
	case SYNGUARD_PKT_TCP:
		break;
	}
	syn = pkt.th.syn && !pkt.th.ack;
	/* A SYN in_idle() could not peek at: spare the options. */
	if (!nr_flows && syn)
		return NF_ACCEPT;
	/*
	 * A SYN's options are read once a flow relays it or we answer it
	 * (answer_syn()): a flood's SYNs only look up the table here.
	 */
	if (!syn)
		synguard_pkt_parse_opts(skb, &pkt);
	if (nr_flows) {
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
		else if (f && syn)
			return from_client(sn, f, skb, parsed_opts(skb, &pkt));
		else if (f)
			return from_client(sn, f, skb, &pkt);
	}
	/*
	 * SYNs are answered past the firewall, in hook_local(); here where
	 * nothing lies in between (early.c).
	 */
	if ((tcp_flag_byte(&pkt.th) & SYN_FLAGS) == TCPHDR_SYN &&
	    in_early(sn, skb, state))
		return early_verdict(sn, skb, on_syn(sn, skb, &pkt, state));
	if (pkt.th.rst || pkt.th.syn || !pkt.th.ack)
		return NF_ACCEPT;
	return on_ack(sn, skb, &pkt, state);
}

/* @priv: the namespace's synguard_net (synguard_hooks_register()). */
static unsigned int hook_in(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	struct synguard_net *sn = priv;
	unsigned int verdict;
	int nr_flows;
	u8 flags;

	/* Whole packets, as without us after conntrack's defrag hook. */
	verdict = synguard_defrag(skb, state->pf, state->net);
	if (unlikely(verdict != NF_ACCEPT))
		return verdict;
	/*
	 * Local traffic cannot be a remote flood. A VRF's slave: the packet
	 * passes PRE_ROUTING again on the VRF device, where sockets bound to
	 * the VRF are found; act once, there.
	 */
	if ((state->in->flags & IFF_LOOPBACK) || netif_is_l3_slave(state->in))
		return NF_ACCEPT;
	synguard_early_forget(skb);
	nr_flows = atomic_read(&sn->nr_flows);
	if (!nr_flows && in_idle(sn, skb, state->pf, &flags)) {
		if ((flags & SYN_FLAGS) != TCPHDR_SYN ||
		    !in_early(sn, skb, state))
			return NF_ACCEPT;
		return early_verdict(sn, skb, local_parse(sn, skb, state, 0));
	}
	return in_parse(sn, skb, state, nr_flows);
}

static bool listener_assigned(const struct sk_buff *skb)
{
	return skb->sk && skb->sk->sk_state == TCP_LISTEN;
}

static bool nat_applied(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	return ct && (READ_ONCE(ct->status) & IPS_NAT_MASK);
#else
	return false;
#endif
}

/* A SYN, or what the peek could not tell, of no listener assigned. */
static unsigned int local_parse(struct synguard_net *sn, struct sk_buff *skb,
				const struct nf_hook_state *state,
				int nr_flows)
{
	struct synguard_pkt pkt;

	if (synguard_pkt_parse_hdr(skb, state->pf, state->in, &pkt) !=
	    SYNGUARD_PKT_TCP ||
	    (tcp_flag_byte(&pkt.th) & SYN_FLAGS) != TCPHDR_SYN)
		return NF_ACCEPT;
	if (nr_flows && synguard_flow_find(sn, &pkt, true))
		return NF_ACCEPT;
	return on_syn(sn, skb, &pkt, state);
}

/*
 * A SYN the firewall accepted. A flow's own SYNs (the hand-off SYN, a SYN
 * relayed on an open flow) were decided in PRE_ROUTING.
 */
static unsigned int hook_local(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct synguard_net *sn = priv;
	int nr_flows;
	u8 flags;

	if (state->in->flags & IFF_LOOPBACK)
		return NF_ACCEPT;
	/* Every segment to a local socket comes here: most are no SYN. */
	flags = synguard_pkt_peek_flags(skb, state->pf);
	if (flags && (flags & SYN_FLAGS) != TCPHDR_SYN)
		return NF_ACCEPT;
	if (synguard_early_passed(skb))
		return NF_ACCEPT;
	/*
	 * A listener already assigned (TPROXY, bpf_sk_assign), or a
	 * destination NAT rewrote (the client's ACK will come with the address
	 * and port it knows, before NAT): the kernel's.
	 */
	if (listener_assigned(skb) || nat_applied(skb))
		return NF_ACCEPT;
	nr_flows = atomic_read(&sn->nr_flows);
	/* Mode 0 and no flow the SYN could be of: on_syn()'s first exit. */
	if (flags && !nr_flows &&
	    READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_OFF) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	return local_parse(sn, skb, state, nr_flows);
}

/* ---- forwarded traffic: gateway mode ---------------------------------- */

/*
 * A SYN forwarded to a protected server: answered like a local one, less
 * what only the server's kernel knows (whether the port listens, a socket
 * owning the tuple, its policies), which judges the client's ACK in turn.
 * Stateless, the gateway answers only with fleet keys, that the server's
 * synguard shares: other cookies would fail there.
 */
static unsigned int fwd_syn(struct synguard_net *sn, struct sk_buff *skb,
			    struct synguard_pkt *pkt,
			    const struct nf_hook_state *state)
{
	if (READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_OFF) {
		synguard_stat_inc(sn, SG_PASS_OFF);
		return NF_ACCEPT;
	}
	if (!synguard_pkt_src_ok(skb, pkt))
		return NF_ACCEPT;
	if (!port_selected(sn, pkt->th.dest)) {
		synguard_stat_inc(sn, SG_PASS_PORT);
		return NF_ACCEPT;
	}
	/* A DNAT rewrote the address the client knows: see hook_local(). */
	if (nat_applied(skb))
		return NF_ACCEPT;
	/* A relaying gateway checks its cookies itself. */
	if (READ_ONCE(sn->cfg.gateway) == SYNGUARD_GW_STATELESS &&
	    !rcu_dereference(sn->keyset)->fleet) {
		synguard_stat_inc(sn, SG_PASS_NO_SECRET);
		return NF_ACCEPT;
	}
	return answer_syn(sn, skb, pkt, state, NULL);
}

/*
 * An ACK forwarded to a protected server, of no connection the gateway
 * knows it let through (synguard_gw_known()): it must carry a valid
 * cookie, ours or a fleet peer's. Stateless, the gateway forwards it
 * untouched and the server's synguard, with the same secret, hands it off
 * to its listener; anything else is dropped and counted here, before it
 * costs the server's link. (Relaying, a valid one was handed off in
 * PRE_ROUTING already.)
 */
static unsigned int fwd_ack(struct synguard_net *sn, struct sk_buff *skb,
			    struct synguard_pkt *pkt,
			    const struct nf_hook_state *state)
{
	struct synguard_synopts co;
	enum synguard_stat why;

	if (!cookies_expected(sn) || !port_selected(sn, pkt->th.dest) ||
	    synguard_gw_known(skb) || nat_applied(skb))
		return NF_ACCEPT;
	synguard_pkt_parse_opts(skb, pkt);
	if (cookie_valid(sn, pkt, &co, &why)) {
		synguard_stat_inc(sn, SG_COOKIE_VALID);
		return NF_ACCEPT;
	}
	trace_synguard_ack_reject(state->net, pkt, why, false);
	synguard_stat_inc(sn, why);
	return NF_DROP;
}

static unsigned int fwd_parse(struct synguard_net *sn, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	u8 flags = synguard_pkt_peek_flags(skb, state->pf);
	struct synguard_pkt pkt;

	/* Only a SYN, or an ACK without RST, may be ours. */
	if (flags && ((flags & TCPHDR_RST) ||
		      !(flags & (TCPHDR_SYN | TCPHDR_ACK))))
		return NF_ACCEPT;
	switch (synguard_pkt_parse_hdr(skb, state->pf, state->in, &pkt)) {
	case SYNGUARD_PKT_OTHER:
		return NF_ACCEPT;
	case SYNGUARD_PKT_BAD:
		/* The server would drop it too: spare it, and count it. */
		if (!synguard_gw_protected(sn, &pkt))
			return NF_ACCEPT;
		synguard_stat_inc(sn, SG_MALFORMED);
		return NF_DROP;
	case SYNGUARD_PKT_TCP:
		break;
	}
	if (!synguard_gw_protected(sn, &pkt))
		return NF_ACCEPT;
	/*
	 * A relayed flow's segments (our hand-off SYN among them) were
	 * decided in PRE_ROUTING.
	 */
	if (atomic_read(&sn->nr_flows) && synguard_flow_find(sn, &pkt, true))
		return NF_ACCEPT;
	if ((tcp_flag_byte(&pkt.th) & SYN_FLAGS) == TCPHDR_SYN)
		return fwd_syn(sn, skb, &pkt, state);
	if (pkt.th.ack && !pkt.th.syn && !pkt.th.rst)
		return fwd_ack(sn, skb, &pkt, state);
	return NF_ACCEPT;
}

/*
 * Gateway mode acts in FORWARD, not PRE_ROUTING: routing has decided the
 * packet is not ours (local destinations are the local path's), dropped
 * martian sources and applied rp_filter, and found the route on to the
 * server; the hook runs after every FORWARD filter chain, so that a
 * server or port the firewall closes to a source gets no SYN+ACK from us
 * either, and what it drops costs no cookie; and a DNAT done in
 * PRE_ROUTING is visible (nat_applied()) and left alone.
 */
static unsigned int hook_fwd(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct synguard_net *sn = priv;

	if (READ_ONCE(sn->cfg.gateway) == SYNGUARD_GW_OFF)
		return NF_ACCEPT;
	return fwd_parse(sn, skb, state);
}

/*
 * What the hand-off SYN of @f offered a server behind a relaying gateway:
 * what its answer can tell us (SYNGUARD_GW_KNOW_* bits). Read before the
 * answer establishes the flow, which settles f->ts.
 */
static u8 offered(const struct synguard_flow *f)
{
	return SYNGUARD_GW_KNOW_MSS |
	       (f->client_ws != SYNGUARD_WSCALE_NONE ?
		SYNGUARD_GW_KNOW_WSCALE : 0) |
	       (f->client_sack ? SYNGUARD_GW_KNOW_SACK : 0) |
	       (READ_ONCE(f->ts) ? SYNGUARD_GW_KNOW_TS : 0);
}

/*
 * A server behind a relaying gateway answered the hand-off SYN that
 * offered @known: remember what it announces, for the next SYN+ACK we send
 * in its name. What our SYN did not offer, its answer cannot tell.
 */
static void learn(struct synguard_net *sn, u8 known,
		  const struct synguard_pkt *synack)
{
	struct synguard_gw_server offer = { .known = known };

	synguard_gw_learn(sn, synack, &offer);
}

/*
 * A server behind a relaying gateway answers our hand-off SYN with a plain
 * ACK (no SYN, no RST) of exactly the sequence after the SYN's: it has this
 * connection open already, and is waiting for that byte (the challenge ACK
 * of RFC 5961 to a SYN in a synchronised state). We did not open it (it
 * began while we did not answer SYNs), and a segment of it passed our
 * cookie check by chance: its seq made our SYN's. Its segments are not
 * ours to translate: the flow passes them as they are from now on, the
 * ones it held first, and the challenge ACK goes on to the client.
 * Counted as a failed hand-off. (Any other plain ACK, e.g. a TIME_WAIT
 * socket's to a SYN it will not take, is dropped as before: the SYN is
 * sent again.)
 */
static bool server_has_it(struct synguard_net *sn, struct synguard_flow *f,
			  const struct sk_buff *skb,
			  const struct synguard_pkt *pkt)
{
	if (!pkt->th.ack || pkt->th.syn || pkt->th.rst ||
	    ntohl(pkt->th.ack_seq) != f->client_isn + 1 ||
	    !synguard_pkt_via_route(sn->net, skb, pkt) ||
	    !synguard_flow_passthrough(f))
		return false;
	synguard_stat_inc(sn, SG_HANDOFF_FAIL);
	synguard_flow_release(sn, f);
	return true;
}

static unsigned int from_listener(struct synguard_net *sn,
				  struct synguard_flow *f, struct sk_buff *skb,
				  const struct synguard_pkt *pkt)
{
	if (synguard_flow_state(f) == SG_FLOW_HANDOFF) {
		if (f->fwd && server_has_it(sn, f, skb, pkt))
			return NF_ACCEPT;
		/*
		 * From the network, behind a gateway: only an answer to our
		 * hand-off SYN, which acknowledges it, may end the hand-off.
		 */
		if (f->fwd && (!pkt->th.ack ||
			       ntohl(pkt->th.ack_seq) != f->client_isn + 1 ||
			       !synguard_pkt_via_route(sn->net, skb, pkt)))
			return NF_DROP;
		if (pkt->th.syn && pkt->th.ack) {
			u8 known = offered(f);

			/* Another copy, or the GC, ended the hand-off. */
			if (!synguard_flow_establish(f, skb, pkt))
				return NF_DROP;
			if (f->fwd)
				learn(sn, known, pkt);
			consume_skb(skb);
			/*
			 * A server behind a gateway, or a deferred local
			 * hand-off (set before the establish, under the
			 * flow's lock): now the ACK it holds, and data.
			 */
			if (synguard_flow_deferred(f)) {
				synguard_stat_inc(sn, SG_HANDOFF_OK);
				synguard_flow_release(sn, f);
			}
			return NF_STOLEN;
		}
		if (!pkt->th.rst || synguard_flow_fix_rst(f, skb, pkt))
			return NF_DROP;
		/*
		 * The hand-off refused (a closed port): the RST goes on to the
		 * client, the flow and what it holds go now; during a local
		 * hand-off's own SYN, handoff() sees the refusal and does it.
		 */
		if (synguard_flow_abandon(f)) {
			if (synguard_flow_deferred(f)) {
				synguard_stat_inc(sn, SG_HANDOFF_FAIL);
				synguard_flow_del(sn, f);
			}
			return NF_ACCEPT;
		}
		/*
		 * Ended already: by a SYN+ACK (a copy?), whose connection
		 * stands, or by the GC, which deletes the flow itself.
		 */
		return synguard_flow_state(f) == SG_FLOW_ESTABLISHED ?
		       NF_DROP : NF_ACCEPT;
	}
	synguard_flow_track(f, skb, pkt, false);
	if (synguard_flow_xlate(f, skb, pkt, false))
		return NF_DROP;
	synguard_stat_inc(sn, SG_RELAY_OUT);
	return NF_ACCEPT;
}

static unsigned int out_parse(struct synguard_net *sn, struct sk_buff *skb,
			      const struct nf_hook_state *state)
{
	struct synguard_flow *f;
	struct synguard_pkt pkt;

	if (synguard_pkt_parse(skb, state->pf, state->out, &pkt) !=
	    SYNGUARD_PKT_TCP)
		return NF_ACCEPT;
	f = synguard_flow_find(sn, &pkt, false);
	if (!f)
		return NF_ACCEPT;
	return from_listener(sn, f, skb, &pkt);
}

static unsigned int hook_out(void *priv, struct sk_buff *skb,
			     const struct nf_hook_state *state)
{
	struct synguard_net *sn = priv;

	/*
	 * In a VRF, POST_ROUTING runs on the VRF device, then on the real one.
	 * A segment of ours (a SYN+ACK, a RST) belongs to no flow.
	 */
	if (!atomic_read(&sn->nr_flows) || netif_is_l3_master(state->out) ||
	    synguard_pkt_own_tx(skb))
		return NF_ACCEPT;
	return out_parse(sn, skb, state);
}

static const struct nf_hook_ops hook_templates[] = {
	{
		.hook = hook_in,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = HOOK_PRIO_IN,
	},
	{
		.hook = hook_local,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = HOOK_PRIO_LOCAL,
	},
	{
		.hook = hook_fwd,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_FORWARD,
		.priority = HOOK_PRIO_FWD,
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
		.hook = hook_local,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_LOCAL_IN,
		.priority = HOOK_PRIO_LOCAL,
	},
	{
		.hook = hook_fwd,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_FORWARD,
		.priority = HOOK_PRIO_FWD,
	},
	{
		.hook = hook_out,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = HOOK_PRIO_OUT,
	},
};

/*
 * Each namespace registers its own copy of the hooks, whose priv is its
 * synguard_net: a hook finds its state without a net_generic() lookup, and
 * the RCU read-side section that opens, per packet. The copies live in @sn,
 * which outlives the unregistration.
 */
int synguard_hooks_register(struct synguard_net *sn)
{
	int i;

	/* Whole packets only: after the defragmentation netns.c enables. */
	BUILD_BUG_ON(HOOK_PRIO_IN - NF_IP_PRI_CONNTRACK_DEFRAG <= 0 ||
		     HOOK_PRIO_IN - NF_IP6_PRI_CONNTRACK_DEFRAG <= 0);
	BUILD_BUG_ON(ARRAY_SIZE(hook_templates) != SYNGUARD_NR_HOOKS);
	for (i = 0; i < SYNGUARD_NR_HOOKS; i++) {
		sn->hook_ops[i] = hook_templates[i];
		sn->hook_ops[i].priv = sn;
	}
	return nf_register_net_hooks(sn->net, sn->hook_ops, SYNGUARD_NR_HOOKS);
}

void synguard_hooks_unregister(struct synguard_net *sn)
{
	nf_unregister_net_hooks(sn->net, sn->hook_ops, SYNGUARD_NR_HOOKS);
}
