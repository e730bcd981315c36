// SPDX-License-Identifier: GPL-2.0
/*
 * The flow table and the relay's sequence-space translation.
 *
 * Flows live in a per-namespace rhashtable. Lookups run in softirq under the
 * RCU read lock the netfilter core holds; flows are freed through call_rcu,
 * and the module's exit waits for those callbacks with rcu_barrier().
 *
 * The client knows our cookie as the server's ISN; the listener chose its
 * own. Conntrack must see one sequence space in both directions, the
 * listener's, so client packets are translated in PRE_ROUTING before
 * conntrack and listener packets in POST_ROUTING after it.
 */
#include <linux/jhash.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <net/checksum.h>
#include <net/tcp.h>
#include "flow.h"
#include "stats.h"
#include "trace.h"

static struct kmem_cache *flow_cache;
static atomic_long_t flows_live;	/* allocations minus frees, all netns */
/* What the flows hold for gateway servers, in truesize (HOLD_TOTAL). */
static atomic_long_t held_total;

/*
 * The table's hash: jhash, seeded per table by rhashtable, as its default
 * (an attacker who picks tuples cannot aim at a bucket), but over the
 * words that vary. An IPv4 key's address words past the first are zero:
 * three words instead of the whole key's eleven, for every packet of a
 * namespace that relays, a flood's SYNs included. Equal keys have the
 * same family, so the same hash.
 */
static u32 flow_hashfn(const void *data, u32 len, u32 seed)
{
	const struct synguard_flow_key *k = data;
	u32 ports = (__force u32)k->cport << 16 | (__force u16)k->lport;

	if (k->family == NFPROTO_IPV4)
		return jhash_3words((__force u32)k->caddr.s6_addr32[0],
				    (__force u32)k->laddr.s6_addr32[0], ports,
				    seed ^ k->l3index);
	return jhash2((const u32 *)k, sizeof(*k) / sizeof(u32), seed);
}

static const struct rhashtable_params flow_params = {
	.head_offset = offsetof(struct synguard_flow, node),
	.key_offset = offsetof(struct synguard_flow, key),
	.key_len = sizeof(struct synguard_flow_key),
	.hashfn = flow_hashfn,
	.automatic_shrinking = true,
};

int synguard_flow_cache_init(void)
{
	/* Every flow is charged to a memory cgroup: see flow_alloc(). */
	flow_cache = KMEM_CACHE(synguard_flow, SLAB_ACCOUNT);
	return flow_cache ? 0 : -ENOMEM;
}

/* Called after rcu_barrier(): every flow must be back by now. */
void synguard_flow_cache_exit(void)
{
	WARN(atomic_long_read(&flows_live), "synguard: %ld flows leaked\n",
	     atomic_long_read(&flows_live));
	WARN(atomic_long_read(&held_total), "synguard: %ld held bytes unaccounted\n",
	     atomic_long_read(&held_total));
	kmem_cache_destroy(flow_cache);
}

/* Free the kept hand-off SYN, if any, and its charge. */
static void flow_drop_syn(struct sk_buff *syn)
{
	if (!syn)
		return;
	atomic_long_sub(syn->truesize, &held_total);
	consume_skb(syn);
}

static void flow_free(struct synguard_flow *f)
{
	/*
	 * Softirq (an RCU callback) or process context: both may free skbs.
	 * A gateway's flow, or a local one whose hand-off was deferred, may
	 * hold segments still.
	 */
	skb_queue_purge(&f->held);
	atomic_long_sub(f->held_bytes, &held_total);
	flow_drop_syn(f->syn);
	kmem_cache_free(flow_cache, f);
	atomic_long_dec(&flows_live);
}

static void flow_free_rcu(struct rcu_head *head)
{
	flow_free(container_of(head, struct synguard_flow, rcu));
}

static void flow_free_now(void *ptr, void *arg)
{
	flow_free(ptr);
}


/* Every byte of @key is written (it is compared whole): no memset needed. */
static void flow_key(const struct synguard_pkt *pkt, bool from_client,
		     struct synguard_flow_key *key)
{
	/* No padding the compiler could leave unwritten. */
	BUILD_BUG_ON(sizeof(*key) != offsetof(struct synguard_flow_key, l3index) +
		     sizeof(key->l3index));
	key->family = pkt->family;
	key->pad[0] = 0;
	key->pad[1] = 0;
	key->pad[2] = 0;
	key->l3index = pkt->l3index;
	if (from_client) {
		key->caddr = pkt->saddr;
		key->laddr = pkt->daddr;
		key->cport = pkt->th.source;
		key->lport = pkt->th.dest;
	} else {
		key->caddr = pkt->daddr;
		key->laddr = pkt->saddr;
		key->cport = pkt->th.dest;
		key->lport = pkt->th.source;
	}
}

struct synguard_flow *synguard_flow_find(struct synguard_net *sn,
					 const struct synguard_pkt *pkt,
					 bool from_client)
{
	struct synguard_flow_key key;

	flow_key(pkt, from_client, &key);
	return rhashtable_lookup(&sn->flows, &key, flow_params);
}

/*
 * Fairness under pressure: once the table is half full, no client prefix
 * (an IPv4 address, an IPv6 /64) may hold more than a 1/32 share of it, at
 * least SRC_QUOTA_MIN flows. A few real addresses completing cheap
 * handshakes can then take at most half of the table from everyone else.
 * Prefixes are counted in hashed buckets; the seed is per namespace and
 * secret, so an attacker cannot aim at a victim's bucket.
 */
#define SRC_QUOTA_MIN	16

static u16 src_bucket(const struct synguard_net *sn,
		      const struct synguard_flow_key *k)
{
	const u32 *a = (__force const u32 *)k->caddr.s6_addr32;
	u32 h = k->family == NFPROTO_IPV4 ?
		jhash_1word(a[0], sn->src_seed) :
		jhash_2words(a[0], a[1], sn->src_seed);

	return h & (SYNGUARD_SRC_BUCKETS - 1);
}

static bool src_over_quota(struct synguard_net *sn, u16 b, int nr, int max)
{
	if (nr <= max / 2)
		return false;
	return atomic_read(&sn->src_flows[b]) >= max(max / 32, SRC_QUOTA_MIN);
}

/*
 * Flows are made in softirq, where no task is there to be charged: without
 * help their memory would escape every memory cgroup, and a user who can
 * make hand-offs happen in a namespace of its own could pin memory beyond
 * its limits. Charge the flow to the memory cgroup of the listener it hands
 * off to, the one that socket memory accounting charges that listener's
 * buffers to (sk_memcg, on cgroup v2): the service that takes the
 * connections pays for relaying them, within its memory.max. The owner of
 * the namespace would be the other choice, but it has no memcg of its own,
 * and the listener is the one that asked for the connections.
 *
 * set_active_memcg() names the memcg for this CPU's interrupt context (for
 * the task in process context) until the old one is put back; no sleeping
 * in between. The listener's own reference keeps the memcg alive: it holds
 * one until it is freed, after an RCU grace period, and we are in the RCU
 * read section that found it. A listener without a memcg charges nothing
 * in softirq (and, like any accounted allocation, the current task in
 * process context).
 */
static struct synguard_flow *flow_alloc(const struct sock *lsk)
{
	struct mem_cgroup *old = set_active_memcg(lsk ? lsk->sk_memcg : NULL);
	struct synguard_flow *f;

	f = kmem_cache_zalloc(flow_cache, GFP_ATOMIC | __GFP_ACCOUNT);
	set_active_memcg(old);
	return f;
}

/*
 * The table refusing hand-offs, in the kernel log: one line when it fills,
 * one when it has room again, however many hand-offs it refused between
 * (flows_full counts them). "Room" is a sixteenth of the table free, so
 * that a table kept full does not end and begin an episode at every free
 * slot; the printk ratelimit bounds what is left of that.
 */
static void full_begin(struct synguard_net *sn, int max)
{
	if (READ_ONCE(sn->full_since))
		return;
	/* _bh: after an NFQUEUE verdict, hooks run in process context. */
	spin_lock_bh(&sn->full_lock);
	if (!sn->full_since) {
		WRITE_ONCE(sn->full_since, jiffies | 1);
		sn->full_base = synguard_stat_sum(sn, SG_FLOWS_FULL);
		pr_warn_ratelimited("synguard: netns %u: flow table full (max_flows %d): refusing hand-offs with RST.\n",
				    sn->net->ns.inum, max);
	}
	spin_unlock_bh(&sn->full_lock);
}

/* The GC's look, in process context, every run. */
static void full_end(struct synguard_net *sn)
{
	int max = READ_ONCE(sn->cfg.max_flows);
	u32 ms, refused;

	if (!READ_ONCE(sn->full_since) ||
	    atomic_read(&sn->nr_flows) >= max - max / 16)
		return;
	spin_lock_bh(&sn->full_lock);
	if (sn->full_since) {
		ms = jiffies_to_msecs(jiffies - sn->full_since);
		refused = synguard_stat_sum(sn, SG_FLOWS_FULL) - sn->full_base;
		WRITE_ONCE(sn->full_since, 0);
		pr_info_ratelimited("synguard: netns %u: flow table has room again after %u.%03u s: %u hand-offs refused.\n",
				    sn->net->ns.inum, ms / 1000, ms % 1000,
				    refused);
	}
	spin_unlock_bh(&sn->full_lock);
}

/*
 * A flow for the client's validated ACK, in HANDOFF state, charged to the
 * memory cgroup of @lsk, the listener it hands off to (NULL: a server
 * behind a gateway, which charges nothing). ERR_PTR(-ENOSPC)
 * when max_flows is reached, -EDQUOT when the client's prefix has its share
 * of a table under pressure, -EEXIST when a copy of the ACK got there first.
 */
struct synguard_flow *synguard_flow_add(struct synguard_net *sn,
					const struct synguard_pkt *ack,
					const struct synguard_synopts *co,
					u8 announced_ws, int ifindex,
					const struct sock *lsk)
{
	int nr, max = READ_ONCE(sn->cfg.max_flows);
	struct synguard_flow_key key;
	struct synguard_flow *f;
	int err = -ENOSPC;
	u16 b;

	flow_key(ack, true, &key);
	b = src_bucket(sn, &key);
	nr = atomic_inc_return(&sn->nr_flows);
	if (nr > max) {
		full_begin(sn, max);
		goto undo_count;
	}
	err = -EDQUOT;
	if (src_over_quota(sn, b, nr, max))
		goto undo_count;
	err = -ENOMEM;
	f = flow_alloc(lsk);
	if (!f)
		goto undo_count;
	atomic_long_inc(&flows_live);
	f->key = key;
	f->src_bucket = b;
	f->cookie = ntohl(ack->th.ack_seq) - 1;
	f->ts = ack->opts.ts;
	f->our_tsval = ack->opts.tsecr;
	f->synack_time = co->time;
	f->client_ws = co->wscale;
	f->client_sack = co->sack;
	f->announced_ws = announced_ws;
	f->ifindex = ifindex;
	f->sdif = ack->sdif;
	f->state = SG_FLOW_HANDOFF;
	f->created = jiffies;
	f->netns = sn->net->ns.inum;
	f->fwd = !lsk;
	f->client_isn = ntohl(ack->th.seq) - 1;
	f->seen = jiffies;
	f->syn = NULL;
	f->syn_sent = f->created;
	f->syn_tries = 0;
	skb_queue_head_init(&f->held);
	err = rhashtable_lookup_insert_fast(&sn->flows, &f->node, flow_params);
	if (err)
		goto free;
	atomic_inc(&sn->src_flows[b]);
	trace_synguard_flow_state(f, false);
	return f;

free:
	flow_free(f);
undo_count:
	atomic_dec(&sn->nr_flows);
	return ERR_PTR(err);
}

void synguard_flow_del(struct synguard_net *sn, struct synguard_flow *f)
{
	if (rhashtable_remove_fast(&sn->flows, &f->node, flow_params))
		return;		/* someone else removed it */
	atomic_dec(&sn->src_flows[f->src_bucket]);
	atomic_dec(&sn->nr_flows);
	trace_synguard_flow_state(f, true);
	call_rcu(&f->rcu, flow_free_rcu);
}

static u8 shift(u8 ws)
{
	return ws == SYNGUARD_WSCALE_NONE ? 0 : ws;
}

/*
 * The listener's SYN+ACK fixes the offsets between the two spaces, and the
 * window scales. It may not scale as we announced: with its SYN queue full
 * the kernel answers with its own syncookie, which drops the window scale
 * option for a client without timestamps. The client then scales its
 * windows and the listener does not: rescale both ways.
 */
/*
 * The listener's request socket behind its SYN+ACK (NULL for one of its own
 * syncookie SYN+ACKs, which belong to no socket: tcp_make_synack()).
 */
static struct request_sock *synack_req(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	return sk && sk->sk_state == TCP_NEW_SYN_RECV ? inet_reqsk(sk) : NULL;
}

/*
 * The listener's first RTT sample is the path's, not the hand-off's: its
 * SYN+ACK and the client's ACK meet in this softirq. The kernel measures
 * from the request's first SYN+ACK (tcp_synack_rtt_meas()), so date that
 * back to when ours left, known from a timestamp cookie. Without one we
 * don't know: no handshake sample, as with the kernel's own syncookies.
 * The request socket is new and this CPU holds the only segment that could
 * complete it (the client's other segments wait, from_client()).
 */
static void handoff_rtt(struct request_sock *req, bool known, u64 ago_ns)
{
	if (req)
		WRITE_ONCE(tcp_rsk(req)->snt_synack,
			   known ? tcp_clock_us() - div_u64(ago_ns, NSEC_PER_USEC) : 0);
}

/*
 * Map the listener's timestamp clock onto the tsval the client knows so the
 * client's view runs on in real time from our SYN+ACK: the hand-off ACK's
 * echo then tells the listener (its tsecr fallback when it has no request
 * socket) that our SYN+ACK left @ago_ns ago. Its own syncookies keep their
 * options in the low 6 bits of the echo (cookie_timestamp_decode()): only
 * whole 64 ms steps are added then.
 */
static u32 handoff_ts_delta(const struct synguard_flow *f, u32 l_tsval,
			    bool cookie, u64 ago_ns)
{
	u32 ago_ms = div_u64(ago_ns, NSEC_PER_MSEC);

	if (cookie)
		ago_ms &= ~63u;
	return l_tsval - f->our_tsval - ago_ms;
}

/* The offsets of a flow the listener's SYN+ACK @synack establishes. */
static void set_offsets(struct synguard_flow *f, const struct sk_buff *skb,
			const struct synguard_pkt *synack)
{
	struct request_sock *req = synack_req(skb);
	u8 ws_l = synack->opts.wscale;
	u64 ago_ns = 0;

	/*
	 * A server behind a gateway gets its own tsval back, unchanged: it
	 * may have answered with a cookie of its own (the kernel's, or its
	 * synguard's), which must see exactly what it sent. Its first RTT
	 * sample is then the gateway's, as behind SYNPROXY.
	 */
	if (f->ts && !f->fwd)
		ago_ns = (u64)synguard_cookie_age(synguard_ts_now(),
						  f->synack_time)
			 << SYNGUARD_TS_TIME_SHIFT;
	handoff_rtt(req, f->ts, ago_ns);
	f->isn_delta = ntohl(synack->th.seq) - f->cookie;
	/* (offered() in hooks.c reads it first, unlocked.) */
	WRITE_ONCE(f->ts, f->ts && synack->opts.ts);
	/* A forwarded SYN+ACK has no request socket here, nor a syncookie. */
	f->ts_delta = handoff_ts_delta(f, synack->opts.tsval, !req && !f->fwd,
				       ago_ns);
	f->win_from = shift(ws_l);
	f->win_to = shift(f->announced_ws);
	f->cwin_from = f->announced_ws == SYNGUARD_WSCALE_NONE ? 0 :
						shift(f->client_ws);
	f->cwin_to = ws_l == SYNGUARD_WSCALE_NONE ? 0 : f->cwin_from;
}

/*
 * A flow whose connection the server had before the hand-off (a gateway's
 * relay, see server_has_it() in hooks.c): translating nothing, so that its
 * segments pass as they are until it goes idle or closes, and a client's
 * ACK of it is not taken for a cookie again.
 */
static void set_passthrough(struct synguard_flow *f)
{
	f->isn_delta = 0;
	f->ts = false;
	f->ts_delta = 0;
	f->win_from = 0;
	f->win_to = 0;
	f->cwin_from = 0;
	f->cwin_to = 0;
}

/* Under the flow's lock: has nobody ended the hand-off yet? */
static bool hs_open(const struct synguard_flow *f)
{
	lockdep_assert_held(&f->held.lock);
	return synguard_flow_state(f) == SG_FLOW_HANDOFF &&
	       !test_bit(SG_FL_ABANDONED, &f->flags);
}

/*
 * The end of a hand-off is decided once, under the flow's lock: by the
 * first answer of the listener or server, which establishes the flow
 * (@synack, or NULL: passthrough), or by giving it up
 * (synguard_flow_abandon(): the GC, a server's RST). Without it a SYN+ACK
 * arriving as the GC reaps would relay a connection whose flow is gone,
 * and two copies of one SYN+ACK on two CPUs would both set it up. False if
 * it had ended already.
 */
static bool hs_end(struct synguard_flow *f, const struct sk_buff *skb,
		   const struct synguard_pkt *synack)
{
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&f->held.lock, flags);
	ok = hs_open(f);
	if (ok) {
		if (synack)
			set_offsets(f, skb, synack);
		else
			set_passthrough(f);
		/* Publish the offsets before the state that lets readers in. */
		smp_store_release(&f->state, SG_FLOW_ESTABLISHED);
	}
	spin_unlock_irqrestore(&f->held.lock, flags);
	if (ok)
		trace_synguard_flow_state(f, false);
	return ok;
}

/* False if the hand-off ended already: the SYN+ACK is not for us. */
bool synguard_flow_establish(struct synguard_flow *f, const struct sk_buff *skb,
			     const struct synguard_pkt *synack)
{
	return hs_end(f, skb, synack);
}

/* Established, translating nothing (set_passthrough()); as establish. */
bool synguard_flow_passthrough(struct synguard_flow *f)
{
	return hs_end(f, NULL, NULL);
}

/* ---- translation ------------------------------------------------------ */

/* What to add to each field of one segment. */
struct xlate {
	u32 seq, ack, tsval, tsecr, sack;
	u8 win_from, win_to;
};

/*
 * The checksum sums 16-bit words from the start of the TCP header. A field
 * at an odd offset has its bytes in the other halves of those words, so the
 * incremental update must see it rotated by one byte.
 */
static __be32 csum_align(__be32 v, unsigned int off)
{
	u8 b[4], r[4];

	if (!(off & 1))
		return v;
	memcpy(b, &v, sizeof(b));
	r[0] = b[3];
	r[1] = b[0];
	r[2] = b[1];
	r[3] = b[2];
	memcpy(&v, r, sizeof(v));
	return v;
}

static void field_add(struct sk_buff *skb, struct tcphdr *th, u8 *field,
		      u32 delta)
{
	unsigned int off = field - (u8 *)th;
	u32 old = synguard_get_be32(field), new = old + delta;

	synguard_put_be32(field, new);
	inet_proto_csum_replace4(&th->check, skb,
				 csum_align(htonl(old), off),
				 csum_align(htonl(new), off), false);
}

/* Carry the listener's window into the scale the client was told. */
/*
 * Rounded up, as the kernel rounds its own windows up to the scale
 * (__tcp_select_window()): rounding down would show a small open window
 * as zero, and the peer would stall on it.
 */
static void window_rescale(struct sk_buff *skb, struct tcphdr *th,
			   const struct xlate *x)
{
	u32 bytes = (u32)ntohs(th->window) << x->win_from;
	u32 win = DIV_ROUND_UP(bytes, 1U << x->win_to);
	__be16 new = htons(min_t(u32, win, U16_MAX));

	inet_proto_csum_replace2(&th->check, skb, th->window, new, false);
	th->window = new;
}

static void xlate_options(struct sk_buff *skb, struct tcphdr *th,
			  const struct synguard_tcpopt *opts,
			  const struct xlate *x, bool ts)
{
	u8 *opt = (u8 *)(th + 1), *blk;
	unsigned int i;

	if (ts && opts->ts) {
		if (x->tsval)
			field_add(skb, th, opt + opts->ts_off + 2, x->tsval);
		if (x->tsecr)
			field_add(skb, th, opt + opts->ts_off + 6, x->tsecr);
	}
	if (!x->sack)
		return;
	for (i = 0; i < opts->sack_blocks; i++) {
		blk = opt + opts->sack_off + i * 8;
		field_add(skb, th, blk, x->sack);
		field_add(skb, th, blk + 4, x->sack);
	}
}

/*
 * Client to listener: acknowledgments (ack, SACK edges) leave the cookie
 * space, tsecr leaves our clock. Listener to client: seq enters the cookie
 * space, tsval enters our clock, the window takes the announced scale.
 */
int synguard_flow_xlate(const struct synguard_flow *f, struct sk_buff *skb,
			const struct synguard_pkt *pkt, bool from_client)
{
	struct xlate x = {};
	struct tcphdr *th;

	if (skb_ensure_writable(skb, pkt->thoff + pkt->hdrlen))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + pkt->thoff);
	if (from_client) {
		x.ack = th->ack ? f->isn_delta : 0;
		x.sack = f->isn_delta;
		x.tsecr = f->ts_delta;
		x.win_from = f->cwin_from;
		x.win_to = f->cwin_to;
	} else {
		x.seq = -f->isn_delta;
		x.tsval = -f->ts_delta;
		x.win_from = f->win_from;
		x.win_to = f->win_to;
	}
	if (x.seq)
		field_add(skb, th, (u8 *)&th->seq, x.seq);
	if (x.ack)
		field_add(skb, th, (u8 *)&th->ack_seq, x.ack);
	xlate_options(skb, th, &pkt->opts, &x, f->ts);
	if (x.win_from != x.win_to && !th->syn)
		window_rescale(skb, th, &x);
	return 0;
}

/*
 * The listener refused the hand-off SYN with a RST (seq 0, ack ISN + 1).
 * The client is already established on the cookie: give the RST the
 * sequence number the client expects so that it is accepted.
 */
int synguard_flow_fix_rst(const struct synguard_flow *f, struct sk_buff *skb,
			  const struct synguard_pkt *pkt)
{
	struct tcphdr *th;

	if (skb_ensure_writable(skb, pkt->thoff + pkt->hdrlen))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + pkt->thoff);
	field_add(skb, th, (u8 *)&th->seq, f->cookie + 1 - ntohl(th->seq));
	return 0;
}

/* ---- gateway relay: the client's segments during the hand-off -------- */

/*
 * What a flow holds for the server at most: the client's first flight, in
 * memory (truesize) terms. And what all flows of every namespace hold at
 * most: 65536 flows of a flood whose server never answers must not pin
 * gigabytes for their second (a module-wide atomic, written only by
 * segments that arrive during a gateway hand-off).
 */
#define HOLD_SEGS	16
#define HOLD_BYTES	(128 * 1024)
#define HOLD_TOTAL	(32L << 20)

/* Charge @size bytes to every flow's total: false if it would pass it. */
static bool held_charge(unsigned int size)
{
	if (atomic_long_add_return(size, &held_total) <= HOLD_TOTAL)
		return true;
	atomic_long_sub(size, &held_total);
	return false;
}

/*
 * Under the flow's lock: queue @skb, a client segment, if the flow's and
 * every flow's bounds allow. It goes round the receive path again when
 * released, from PRE_ROUTING: what the input path attached to it (a
 * route, a conntrack entry, an early-demuxed socket: it may be held from
 * LOCAL_IN) is let go, as ip_rcv() would.
 */
static bool held_add(struct synguard_flow *f, struct sk_buff *skb)
{
	lockdep_assert_held(&f->held.lock);
	if (skb_queue_len(&f->held) >= HOLD_SEGS ||
	    f->held_bytes + skb->truesize > HOLD_BYTES ||
	    !held_charge(skb->truesize))
		return false;
	f->held_bytes += skb->truesize;
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	skb_orphan(skb);
	/* Its device may go while it waits: found again by index. */
	skb->dev = NULL;
	__skb_queue_tail(&f->held, skb);
	return true;
}

/*
 * Hold a client segment until the server's SYN+ACK arrives (a gateway's
 * flow, from PRE_ROUTING; a local one whose hand-off was deferred).
 * 0: held, the caller steals it. -EALREADY: the flow is established now,
 * relay the segment. -ENOBUFS: the flow holds its share, drop it (the
 * client retransmits). The lock orders this against synguard_flow_release().
 */
int synguard_flow_hold(struct synguard_flow *f, struct sk_buff *skb)
{
	unsigned long flags;
	int err = -ENOBUFS;

	spin_lock_irqsave(&f->held.lock, flags);
	if (synguard_flow_state(f) != SG_FLOW_HANDOFF)
		err = -EALREADY;
	else if (held_add(f, skb))
		err = 0;
	spin_unlock_irqrestore(&f->held.lock, flags);
	return err;
}

/*
 * A local listener's hand-off SYN came back from the receive path
 * unanswered: a hook on its way took it, to send it on later from another
 * context (NFQUEUE: an inline IPS reads it and gives its verdict from its
 * own system call, maybe on another CPU). The hand-off goes on as a
 * gateway's does: @ack, the client's third ACK, waits in the flow, and the
 * listener's SYN+ACK releases it (SG_FL_DEFERRED tells from_listener() in
 * hooks.c). Under the flow's lock, against that answer and the refusal:
 * 0: deferred, @ack held (the caller steals it) or, beyond the bounds, to
 * be dropped (-ENOBUFS; the client sends it again). -EALREADY: answered
 * meanwhile, relay @ack now. -ECONNREFUSED: refused (the listener's RST)
 * or given up: the caller deletes the flow.
 */
int synguard_flow_defer(struct synguard_flow *f, struct sk_buff *ack)
{
	unsigned long flags;
	int err = -ENOBUFS;

	spin_lock_irqsave(&f->held.lock, flags);
	if (synguard_flow_state(f) != SG_FLOW_HANDOFF) {
		err = -EALREADY;
	} else if (!hs_open(f)) {
		err = -ECONNREFUSED;
	} else {
		set_bit(SG_FL_DEFERRED, &f->flags);
		if (held_add(f, ack))
			err = 0;
	}
	spin_unlock_irqrestore(&f->held.lock, flags);
	return err;
}

/*
 * Keep the hand-off SYN @syn of a flow through a gateway, to send it again
 * if the server does not answer (the GC); freed at once if it has already.
 */
void synguard_flow_keep_syn(struct synguard_flow *f, struct sk_buff *syn)
{
	unsigned long flags;

	spin_lock_irqsave(&f->held.lock, flags);
	/* Charged like the held segments: it waits as long as they do. */
	if (synguard_flow_state(f) == SG_FLOW_HANDOFF && !f->syn &&
	    held_charge(syn->truesize)) {
		f->syn = syn;
		syn = NULL;
	}
	spin_unlock_irqrestore(&f->held.lock, flags);
	kfree_skb(syn);
}

/*
 * The flow is established (synguard_flow_establish()): feed the held
 * segments, the third ACK first, to the receive path of the interface the
 * client uses, as they came. PRE_ROUTING translates them into the server's
 * space, before conntrack, and they are forwarded: the server's handshake
 * completes and the client's first data goes with it, without waiting
 * for a retransmission. Through the backlog (netif_rx()), in their order,
 * not at once: we are in the output path of the server's SYN+ACK, deep in
 * a receive already, and a forward path nested in it could run out of
 * stack. (A later segment relayed at once may overtake them, or a full
 * backlog drop one: TCP copes, as with any reordering or loss.) Softirq,
 * under RCU (the device lookup).
 */
void synguard_flow_release(struct synguard_net *sn, struct synguard_flow *f)
{
	struct sk_buff *skb, *syn;
	struct sk_buff_head q;
	struct net_device *dev;
	unsigned long flags;

	__skb_queue_head_init(&q);
	spin_lock_irqsave(&f->held.lock, flags);
	skb_queue_splice_init(&f->held, &q);
	atomic_long_sub(f->held_bytes, &held_total);
	f->held_bytes = 0;
	syn = f->syn;
	f->syn = NULL;
	spin_unlock_irqrestore(&f->held.lock, flags);
	/* The server answered: its SYN is not sent again. */
	flow_drop_syn(syn);
	while ((skb = __skb_dequeue(&q))) {
		/*
		 * The device may have gone while the segment waited. In a VRF,
		 * the slave it came in on (@sdif): the VRF device itself would
		 * run PRE_ROUTING twice on it, and translate it twice.
		 */
		dev = dev_get_by_index_rcu(sn->net, f->sdif ?: f->ifindex);
		if (!dev) {
			kfree_skb(skb);
			continue;
		}
		skb->dev = dev;
		netif_rx(skb);
	}
}

/* ---- lifecycle -------------------------------------------------------- */

static void flow_close(struct synguard_flow *f)
{
	if (test_bit(SG_FL_CLOSED, &f->flags))
		return;
	WRITE_ONCE(f->closed_at, jiffies);
	/* The GC reads the bit, then the time: order the time first. */
	smp_mb__before_atomic();
	set_bit(SG_FL_CLOSED, &f->flags);
	trace_synguard_flow_state(f, false);
}

/*
 * Follow the close from the segments themselves: a FIN from each side and
 * the ACK that covers it close the flow, and so does a RST. Called before
 * translation, so client acks are still in the cookie space; every FIN end
 * is kept in the space of the side that sent it.
 */
void synguard_flow_track(struct synguard_flow *f, const struct sk_buff *skb,
			 const struct synguard_pkt *pkt, bool from_client)
{
	int fin = from_client ? SG_FL_CLIENT_FIN : SG_FL_LISTENER_FIN;
	int peer_fin = from_client ? SG_FL_LISTENER_FIN : SG_FL_CLIENT_FIN;
	int peer_acked = from_client ? SG_FL_LISTENER_FIN_ACKED :
				       SG_FL_CLIENT_FIN_ACKED;
	u32 *fin_end = from_client ? &f->c_fin_end : &f->l_fin_end;
	u32 *peer_end = from_client ? &f->l_fin_end : &f->c_fin_end;
	u32 ack = ntohl(pkt->th.ack_seq) + (from_client ? f->isn_delta : 0);
	u32 len = skb->len - pkt->thoff - pkt->hdrlen;

	/* Once a jiffy at most: a shared cache line. */
	if (f->fwd && time_after(jiffies, READ_ONCE(f->seen)))
		WRITE_ONCE(f->seen, jiffies);

	if (pkt->th.rst) {
		set_bit(SG_FL_RST, &f->flags);
		flow_close(f);
		return;
	}
	if (pkt->th.fin && !test_bit(fin, &f->flags)) {
		WRITE_ONCE(*fin_end, ntohl(pkt->th.seq) + len + 1);
		/* The end is valid before the bit says so. */
		smp_mb__before_atomic();
		set_bit(fin, &f->flags);
		trace_synguard_flow_state(f, false);
	}
	if (pkt->th.ack && test_bit(peer_fin, &f->flags)) {
		/* Pairs with the barrier above, on the peer's CPU. */
		smp_rmb();
		if (!before(ack, READ_ONCE(*peer_end)))
			set_bit(peer_acked, &f->flags);
	}
	if (test_bit(SG_FL_CLIENT_FIN_ACKED, &f->flags) &&
	    test_bit(SG_FL_LISTENER_FIN_ACKED, &f->flags))
		flow_close(f);
}

enum synguard_flow_phase synguard_flow_phase(const struct synguard_flow *f)
{
	unsigned long fl = READ_ONCE(f->flags);

	if (synguard_flow_state(f) == SG_FLOW_HANDOFF)
		return SG_PHASE_HANDOFF;
	if (fl & BIT(SG_FL_CLOSED))
		return SG_PHASE_TIME_WAIT;
	if ((fl & BIT(SG_FL_CLIENT_FIN)) && (fl & BIT(SG_FL_LISTENER_FIN)))
		return SG_PHASE_CLOSING;
	if (fl & BIT(SG_FL_CLIENT_FIN))
		return SG_PHASE_FIN_CLIENT;
	if (fl & BIT(SG_FL_LISTENER_FIN))
		return SG_PHASE_FIN_LISTENER;
	return SG_PHASE_ESTABLISHED;
}

/* The names /proc/net/synguard_flows shows. */
static const char * const phase_names[] = {
	[SG_PHASE_HANDOFF] = "handoff",
	[SG_PHASE_ESTABLISHED] = "established",
	[SG_PHASE_FIN_CLIENT] = "fin_client",
	[SG_PHASE_FIN_LISTENER] = "fin_listener",
	[SG_PHASE_CLOSING] = "closing",
	[SG_PHASE_TIME_WAIT] = "time_wait",
	[SG_PHASE_FREED] = "freed",
};

/* ---- garbage collection ----------------------------------------------- */

#define GC_INTERVAL_BUSY	(HZ / 10)
#define GC_INTERVAL_IDLE	HZ
#define GC_BUDGET		1024	/* flows examined per run */
#define HANDOFF_STALE		HZ
#define HANDOFF_SYN_RETRIES	2	/* after 1 and 3 s, given up after 7 s */
#define HANDOFF_DEFERRED	(7 * HZ)	/* as long as a gateway tries */
#define RST_GRACE		(3 * HZ)	/* RTOs 0.2 + 0.4 + 0.8 + 1.6 s */
/*
 * A relayed connection through a gateway has no local socket to tell that
 * it is gone: one idle this long is (conntrack's established timeout), or,
 * once it saw a FIN, this long (conntrack's FIN_WAIT timeout).
 */
#define FWD_IDLE		(5UL * 24 * 3600 * HZ)
#define FWD_FIN_IDLE		(120 * HZ)

enum gc_verdict { GC_KEEP, GC_REAP, GC_EXPIRE };

/*
 * Is there a local socket (established, request or TIME_WAIT) for the flow?
 * A lockless lookup can miss a socket at the instant the kernel swaps it
 * for its successor in the hash (request -> child, child -> TIME_WAIT), so
 * "none" counts only when two looks in a row, a GC run apart, agree.
 */
static bool gc_socket_gone(struct synguard_net *sn, struct synguard_flow *f,
			   bool *open)
{
	struct sock *sk;

	sk = synguard_sock_lookup(sn->net, f->key.family, &f->key.caddr,
				  f->key.cport, &f->key.laddr, f->key.lport,
				  f->ifindex, f->sdif);
	*open = sk && sk->sk_state != TCP_TIME_WAIT;
	if (sk) {
		sock_gen_put(sk);
		clear_bit(SG_FL_NO_SOCKET, &f->flags);
		return false;
	}
	return test_and_set_bit(SG_FL_NO_SOCKET, &f->flags);
}

/*
 * Is a relayed flow through a gateway gone? It has no local socket: when
 * closed there is nothing but its linger to wait for; open, it is gone
 * once idle too long, shorter after a FIN, so that a close whose last ACK
 * we never saw does not hold its slot for days.
 */
static bool fwd_gone(const struct synguard_flow *f)
{
	unsigned long idle = FWD_IDLE;

	if (synguard_flow_closed(f))
		return true;
	if (READ_ONCE(f->flags) & (BIT(SG_FL_CLIENT_FIN) |
				   BIT(SG_FL_LISTENER_FIN)))
		idle = FWD_FIN_IDLE;
	return time_after(jiffies, READ_ONCE(f->seen) + idle);
}

/*
 * A server behind a gateway that has not answered the hand-off SYN: the
 * SYN or the answer was lost, or the server is slow. Like TCP's own SYN
 * retransmissions, the SYN again after 1 s, then 2 s more; meanwhile the
 * flow and the client's first flight wait (a client that sent no data
 * would otherwise wait for the server forever). True while the hand-off
 * is still pending. Process context, under the walk's RCU read lock; only
 * the GC touches syn_sent and syn_tries.
 */
static bool gc_handoff_retry(struct synguard_net *sn, struct synguard_flow *f)
{
	struct sk_buff *syn = NULL;
	unsigned long flags;
	bool kept, answered;

	if (time_before_eq(jiffies, f->syn_sent + (HANDOFF_STALE << f->syn_tries)))
		return true;
	if (f->syn_tries >= HANDOFF_SYN_RETRIES)
		return false;
	/*
	 * The server may have answered on another CPU since gc_judge() read
	 * the state (release() took the SYN): keep the flow, the next run
	 * judges it established.
	 */
	spin_lock_irqsave(&f->held.lock, flags);
	answered = synguard_flow_state(f) != SG_FLOW_HANDOFF;
	kept = f->syn;
	if (!answered && kept)
		syn = skb_copy(f->syn, GFP_ATOMIC);
	spin_unlock_irqrestore(&f->held.lock, flags);
	if (answered)
		return true;
	/* Nothing to send again: no memory for a copy at the hand-off. */
	if (!kept)
		return false;
	/* No memory now: the next run tries again. */
	if (!syn)
		return true;
	f->syn_tries++;
	f->syn_sent = jiffies;
	if (!synguard_reinject_syn(sn->net, syn, f->sdif ?: f->ifindex))
		synguard_stat_inc(sn, SG_HANDOFF_RESENT);
	return true;
}

/*
 * May the hand-off of @f still be answered? A gateway's sends its SYN
 * again meanwhile; a local one is answered at once, unless it was
 * deferred (synguard_flow_defer()): then it waits as long as a gateway's.
 */
static bool gc_handoff_pending(struct synguard_net *sn,
			       struct synguard_flow *f)
{
	unsigned long wait = HANDOFF_STALE;

	if (f->fwd)
		return gc_handoff_retry(sn, f);
	if (test_bit(SG_FL_DEFERRED, &f->flags))
		wait = HANDOFF_DEFERRED;
	return time_before_eq(jiffies, f->created + wait);
}

/*
 * End a hand-off nobody answered (the GC), or the server refused (its RST),
 * unless an answer has just ended it (hs_end()): then no late SYN+ACK can
 * set up the flow, which the caller deletes.
 */
bool synguard_flow_abandon(struct synguard_flow *f)
{
	unsigned long flags;
	bool ok;

	spin_lock_irqsave(&f->held.lock, flags);
	ok = hs_open(f);
	if (ok)
		set_bit(SG_FL_ABANDONED, &f->flags);
	spin_unlock_irqrestore(&f->held.lock, flags);
	return ok;
}

/*
 * The local socket is the ground truth. An open flow whose socket is gone
 * is garbage, unless a FIN was seen: then the socket closed normally and the
 * flow lingers like a closed one, for the peer's retransmissions. A closed
 * flow lingers 2 * MSL (TIME_WAIT semantics), then goes unless its socket
 * is still open: the RST that closed it was refused. Runs under the RCU read
 * lock the table walk holds.
 */
static enum gc_verdict gc_judge(struct synguard_net *sn,
				struct synguard_flow *f)
{
	unsigned long linger = 2UL * READ_ONCE(sn->cfg.msl) * HZ;
	bool gone, open;

	if (synguard_flow_state(f) == SG_FLOW_HANDOFF) {
		if (gc_handoff_pending(sn, f))
			return GC_KEEP;
		/* Answered since the state was read: judged on the next run. */
		if (!synguard_flow_abandon(f))
			return GC_KEEP;
		/* A server or listener that never answered: the client retries. */
		if (synguard_flow_deferred(f))
			synguard_stat_inc(sn, SG_HANDOFF_FAIL);
		return GC_REAP;
	}
	if (f->fwd) {
		open = false;
		gone = fwd_gone(f);
	} else {
		gone = gc_socket_gone(sn, f, &open);
	}
	if (!synguard_flow_closed(f)) {
		if (!gone)
			return GC_KEEP;
		if (!(READ_ONCE(f->flags) & (BIT(SG_FL_CLIENT_FIN) |
					     BIT(SG_FL_LISTENER_FIN))))
			return GC_REAP;
		flow_close(f);
		return GC_KEEP;
	}
	/* Pairs with the barrier in flow_close(). */
	smp_rmb();
	/*
	 * A RST ends a connection without TIME_WAIT: once the socket is gone
	 * the slot is free again after a grace that lets a peer whose RST was
	 * lost retransmit into the flow, and so to the kernel, which answers
	 * with a RST. (A forged RST leaves the socket, and the flow, in place.)
	 */
	if (gone && test_bit(SG_FL_RST, &f->flags))
		linger = min(linger, RST_GRACE);
	if (time_before(jiffies, READ_ONCE(f->closed_at) + linger))
		return GC_KEEP;
	if (open) {
		clear_bit(SG_FL_RST, &f->flags);
		clear_bit(SG_FL_CLOSED, &f->flags);
		trace_synguard_flow_state(f, false);
		return GC_KEEP;
	}
	return GC_EXPIRE;
}

/* Restart a walk from the table's beginning. */
static void walk_rewind(struct rhashtable *ht, struct rhashtable_iter *it)
{
	rhashtable_walk_exit(it);
	rhashtable_walk_enter(ht, it);
}

/*
 * Process context, every 100 ms while there are flows: examine at most
 * GC_BUDGET flows, resuming where the last run stopped, so one run costs
 * the same whatever the table size.
 */
static void flows_gc(struct work_struct *work)
{
	struct synguard_net *sn = container_of(to_delayed_work(work),
					       struct synguard_net, gc_work);
	struct synguard_flow *f;
	enum gc_verdict v;
	int budget;

	rhashtable_walk_start(&sn->gc_iter);
	for (budget = GC_BUDGET; budget > 0; budget--) {
		f = rhashtable_walk_next(&sn->gc_iter);
		if (IS_ERR(f) && PTR_ERR(f) == -EAGAIN)
			continue;	/* table resized: walk goes on */
		if (IS_ERR_OR_NULL(f))
			break;
		v = gc_judge(sn, f);
		if (v == GC_KEEP)
			continue;
		synguard_flow_del(sn, f);
		synguard_stat_inc(sn, v == GC_REAP ? SG_GC_REAPED :
						     SG_FLOWS_EXPIRED);
	}
	rhashtable_walk_stop(&sn->gc_iter);
	if (budget > 0)
		walk_rewind(&sn->flows, &sn->gc_iter);
	full_end(sn);
	schedule_delayed_work(&sn->gc_work, atomic_read(&sn->nr_flows) ?
			      GC_INTERVAL_BUSY : GC_INTERVAL_IDLE);
}

/* ---- /proc/net/synguard_flows ----------------------------------------- */

static void flow_show(struct seq_file *seq, const struct synguard_flow *f)
{
	const struct synguard_flow_key *k = &f->key;
	unsigned int age = (jiffies - f->created) / HZ;

	if (k->family == NFPROTO_IPV4)
		seq_printf(seq, "ipv4 %pI4:%u %pI4:%u", &k->caddr.s6_addr32[0],
			   ntohs(k->cport), &k->laddr.s6_addr32[0],
			   ntohs(k->lport));
	else
		seq_printf(seq, "ipv6 [%pI6c]:%u [%pI6c]:%u", &k->caddr,
			   ntohs(k->cport), &k->laddr, ntohs(k->lport));
	seq_printf(seq, " %s %u\n", phase_names[synguard_flow_phase(f)], age);
}

/*
 * A seq_file over the table, one page per read. The walk's iterator lives
 * as long as the open file and keeps its place between reads, so a full
 * read costs one pass over the table however small the reads are; each
 * read still holds the RCU read lock only while it fills its page.
 * seq_file serialises the reads of one file (seq->lock), and an iterator
 * that is stopped sits on the table's list of walkers, where a resize
 * finds it and restarts it on the new table.
 */
struct flows_seq {
	struct synguard_net *sn;
	struct rhashtable_iter iter;
	loff_t pos;		/* seq position of the iterator's current flow */
};

static void flows_rewind(struct flows_seq *fs)
{
	walk_rewind(&fs->sn->flows, &fs->iter);
	fs->pos = 0;
}

/* The next flow; a resize rewinds the walk (a flow may show twice). */
static struct synguard_flow *flows_walk(struct rhashtable_iter *it)
{
	struct synguard_flow *f;

	do {
		f = rhashtable_walk_next(it);
	} while (IS_ERR(f));
	return f;
}

/*
 * Position 0 is the header, n the n-th flow. A read stops after next()
 * has fetched a flow it had no room for: the following read starts at that
 * position again and gets the same flow back from walk_peek(), or the one
 * after it if it was freed meanwhile. Going back (lseek) rewinds.
 */
static void *flows_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(RCU)
{
	struct flows_seq *fs = seq->private;
	struct synguard_flow *f;

	if (!*pos || *pos < fs->pos)
		flows_rewind(fs);
	rhashtable_walk_start(&fs->iter);
	if (!*pos)
		return SEQ_START_TOKEN;
	if (fs->pos == *pos) {
		f = rhashtable_walk_peek(&fs->iter);
		return IS_ERR(f) ? flows_walk(&fs->iter) : f;
	}
	do {
		f = flows_walk(&fs->iter);
		fs->pos++;
	} while (f && fs->pos < *pos);
	return f;
}

static void *flows_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct flows_seq *fs = seq->private;

	(*pos)++;
	fs->pos = *pos;
	return flows_walk(&fs->iter);
}

static void flows_seq_stop(struct seq_file *seq, void *v)
	__releases(RCU)
{
	struct flows_seq *fs = seq->private;

	rhashtable_walk_stop(&fs->iter);
}

static int flows_seq_show(struct seq_file *seq, void *v)
{
	if (v == SEQ_START_TOKEN)
		seq_puts(seq, "family client local state age_s\n");
	else
		flow_show(seq, v);
	return 0;
}

static const struct seq_operations flows_seq_ops = {
	.start = flows_seq_start,
	.next = flows_seq_next,
	.stop = flows_seq_stop,
	.show = flows_seq_show,
};

/*
 * Not proc_create_net(): the iterator needs a release to leave the table's
 * walkers. No reference on the namespace is needed: its exit removes this
 * file first, and proc closes (releases) every open instance then.
 */
static int flows_open(struct inode *inode, struct file *file)
{
	struct flows_seq *fs;

	fs = __seq_open_private(file, &flows_seq_ops, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->sn = pde_data(inode);
	rhashtable_walk_enter(&fs->sn->flows, &fs->iter);
	return 0;
}

static int flows_release(struct inode *inode, struct file *file)
{
	struct flows_seq *fs = ((struct seq_file *)file->private_data)->private;

	rhashtable_walk_exit(&fs->iter);
	return seq_release_private(inode, file);
}

static const struct proc_ops flows_proc_ops = {
	.proc_open = flows_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = flows_release,
};

int synguard_flows_init(struct synguard_net *sn)
{
	int err;

	atomic_set(&sn->nr_flows, 0);
	spin_lock_init(&sn->full_lock);
	sn->src_seed = get_random_u32();
	err = rhashtable_init(&sn->flows, &flow_params);
	if (err)
		return err;
	if (!proc_create_data("synguard_flows", 0444, sn->net->proc_net,
			      &flows_proc_ops, sn)) {
		rhashtable_destroy(&sn->flows);
		return -ENOMEM;
	}
	rhashtable_walk_enter(&sn->flows, &sn->gc_iter);
	INIT_DELAYED_WORK(&sn->gc_work, flows_gc);
	schedule_delayed_work(&sn->gc_work, GC_INTERVAL_IDLE);
	return 0;
}

/* Hooks are gone and synchronize_net() has run: no reader is left. */
void synguard_flows_exit(struct synguard_net *sn)
{
	cancel_delayed_work_sync(&sn->gc_work);
	rhashtable_walk_exit(&sn->gc_iter);
	remove_proc_entry("synguard_flows", sn->net->proc_net);
	rhashtable_free_and_destroy(&sn->flows, flow_free_now, NULL);
}
