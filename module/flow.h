/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_FLOW_H
#define _SYNGUARD_FLOW_H

#include <linux/rhashtable.h>
#include "cookie.h"
#include "netns.h"
#include "packet.h"

enum synguard_flow_state {
	SG_FLOW_HANDOFF,	/* SYN injected, listener's SYN+ACK awaited */
	SG_FLOW_ESTABLISHED,	/* relaying; the close is tracked in @flags */
};

/* Bits of synguard_flow.flags: the close, as both sides see it. */
enum {
	SG_FL_CLIENT_FIN,	/* client sent FIN; c_fin_end is valid */
	SG_FL_LISTENER_FIN,	/* listener sent FIN; l_fin_end is valid */
	SG_FL_CLIENT_FIN_ACKED,
	SG_FL_LISTENER_FIN_ACKED,
	SG_FL_CLOSED,		/* both FINs acked, or a RST: lingering */
	SG_FL_NO_SOCKET,	/* the GC's last look found no local socket */
	SG_FL_RST,		/* closed by a RST: no TIME_WAIT to keep */
	SG_FL_ABANDONED,	/* hand-off given up: synguard_flow_abandon() */
	SG_FL_DEFERRED,		/* local hand-off, answered later: flow_defer */
};

/*
 * Where a flow is in the close, as /proc/net/synguard_flows and the
 * synguard_flow_state tracepoint show it (see synguard_flow_phase()).
 */
enum synguard_flow_phase {
	SG_PHASE_HANDOFF,
	SG_PHASE_ESTABLISHED,
	SG_PHASE_FIN_CLIENT,	/* the client sent FIN */
	SG_PHASE_FIN_LISTENER,	/* the listener sent FIN */
	SG_PHASE_CLOSING,	/* both FINs seen */
	SG_PHASE_TIME_WAIT,	/* closed, lingering */
	SG_PHASE_FREED,		/* out of the table (tracepoint only) */
};

/* Client and local endpoint; zero-padded so the whole struct is the key. */
struct synguard_flow_key {
	struct in6_addr caddr;
	struct in6_addr laddr;
	__be16 cport;
	__be16 lport;
	u8 family;
	u8 pad[3];
	int l3index;	/* VRF: identical tuples in two VRFs differ here */
};

/*
 * One proxied connection. Everything but @state is written before the flow
 * becomes ESTABLISHED (a release store) and only read after (an acquire
 * load), so readers in softirq on other CPUs need no lock.
 */
struct synguard_flow {
	struct rhash_head node;
	struct synguard_flow_key key;
	u32 cookie;		/* our ISN toward the client */
	u32 isn_delta;		/* listener ISN - cookie */
	u32 our_tsval;		/* tsval of our SYN+ACK, as the client echoed */
	u32 synack_time;	/* when we sent it (timestamp cookies only) */
	u32 ts_delta;		/* listener tsval - our tsval */
	u8 state;
	u8 client_ws;		/* from the cookie, SYNGUARD_WSCALE_NONE: none */
	bool client_sack;	/* from the cookie */
	u8 announced_ws;	/* in our SYN+ACK, SYNGUARD_WSCALE_NONE: none */
	/*
	 * Window shifts, listener -> client: the listener's own, the one we
	 * announced; client -> listener: the client's, the one the listener
	 * applies (0 when its SYN+ACK turned scaling down).
	 */
	u8 win_from, win_to;
	u8 cwin_from, cwin_to;
	bool ts;		/* timestamps on, tsval/tsecr translated */
	int ifindex;		/* where the client came from */
	int sdif;		/* VRF: the slave it came in on, else 0 */
	u16 src_bucket;		/* its client's share of the table, see flow.c */
	u32 netns;		/* its namespace's inode number, for tracing */
	unsigned long flags;	/* SG_FL_* bits, atomic: both directions */
	u32 c_fin_end;		/* sequence after the client's FIN */
	u32 l_fin_end;		/* after the listener's FIN, its space */
	unsigned long created;	/* jiffies */
	unsigned long closed_at;	/* jiffies, once SG_FL_CLOSED */
	/*
	 * Gateway relay (@fwd): the listener is a server behind us, whose
	 * SYN+ACK comes an RTT after the hand-off. Until then the client's
	 * segments wait in @held (under its lock, with @held_bytes); @seen
	 * dates the last segment, for the idle timeout that stands in for
	 * the local socket the GC cannot look up.
	 */
	bool fwd;
	u32 client_isn;		/* the hand-off SYN's, which answers ack + 1 */
	struct sk_buff_head held;
	unsigned int held_bytes;
	unsigned long seen;	/* jiffies */
	/*
	 * The hand-off SYN, kept (under @held's lock) until the server
	 * answers, for the GC to send again: when it was last sent and how
	 * often it was sent again (GC only).
	 */
	struct sk_buff *syn;
	unsigned long syn_sent;	/* jiffies */
	u8 syn_tries;
	struct rcu_head rcu;
};

int synguard_flow_cache_init(void);
void synguard_flow_cache_exit(void);
int synguard_flows_init(struct synguard_net *sn);
void synguard_flows_exit(struct synguard_net *sn);

struct synguard_flow *synguard_flow_find(struct synguard_net *sn,
					 const struct synguard_pkt *pkt,
					 bool from_client);
struct synguard_flow *synguard_flow_add(struct synguard_net *sn,
					const struct synguard_pkt *ack,
					const struct synguard_synopts *co,
					u8 announced_ws, int ifindex,
					const struct sock *lsk);
void synguard_flow_del(struct synguard_net *sn, struct synguard_flow *f);
bool synguard_flow_establish(struct synguard_flow *f, const struct sk_buff *skb,
			     const struct synguard_pkt *synack);
bool synguard_flow_passthrough(struct synguard_flow *f);
bool synguard_flow_abandon(struct synguard_flow *f);
int synguard_flow_xlate(const struct synguard_flow *f, struct sk_buff *skb,
			const struct synguard_pkt *pkt, bool from_client);
void synguard_flow_track(struct synguard_flow *f, const struct sk_buff *skb,
			 const struct synguard_pkt *pkt, bool from_client);
enum synguard_flow_phase synguard_flow_phase(const struct synguard_flow *f);
int synguard_flow_hold(struct synguard_flow *f, struct sk_buff *skb);
int synguard_flow_defer(struct synguard_flow *f, struct sk_buff *ack);
void synguard_flow_keep_syn(struct synguard_flow *f, struct sk_buff *syn);
void synguard_flow_release(struct synguard_net *sn, struct synguard_flow *f);
int synguard_flow_fix_rst(const struct synguard_flow *f, struct sk_buff *skb,
			  const struct synguard_pkt *pkt);

/*
 * Is @f's hand-off answered after it began, its client segments held
 * meanwhile? A gateway's always; a local one if deferred (its SYN was
 * taken away on its way to the listener: synguard_flow_defer()).
 */
static inline bool synguard_flow_deferred(const struct synguard_flow *f)
{
	return f->fwd || test_bit(SG_FL_DEFERRED, &f->flags);
}

static inline bool synguard_flow_closed(const struct synguard_flow *f)
{
	return test_bit(SG_FL_CLOSED, &f->flags);
}

static inline u8 synguard_flow_state(const struct synguard_flow *f)
{
	/* Pairs with the release in synguard_flow_establish(). */
	return smp_load_acquire(&f->state);
}

#endif /* _SYNGUARD_FLOW_H */
