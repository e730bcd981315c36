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
#include <linux/slab.h>
#include <net/checksum.h>
#include <net/tcp.h>
#include "flow.h"
#include "stats.h"

static struct kmem_cache *flow_cache;
static atomic_long_t flows_live;	/* allocations minus frees, all netns */

static const struct rhashtable_params flow_params = {
	.head_offset = offsetof(struct synguard_flow, node),
	.key_offset = offsetof(struct synguard_flow, key),
	.key_len = sizeof(struct synguard_flow_key),
	.automatic_shrinking = true,
};

int synguard_flow_cache_init(void)
{
	flow_cache = KMEM_CACHE(synguard_flow, 0);
	return flow_cache ? 0 : -ENOMEM;
}

/* Called after rcu_barrier(): every flow must be back by now. */
void synguard_flow_cache_exit(void)
{
	WARN(atomic_long_read(&flows_live), "synguard: %ld flows leaked\n",
	     atomic_long_read(&flows_live));
	kmem_cache_destroy(flow_cache);
}

static void flow_free(struct synguard_flow *f)
{
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

int synguard_flows_init(struct synguard_net *sn)
{
	atomic_set(&sn->nr_flows, 0);
	return rhashtable_init(&sn->flows, &flow_params);
}

/* Hooks are gone and synchronize_net() has run: no reader is left. */
void synguard_flows_exit(struct synguard_net *sn)
{
	rhashtable_free_and_destroy(&sn->flows, flow_free_now, NULL);
}

static void flow_key(const struct synguard_pkt *pkt, bool from_client,
		     struct synguard_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = pkt->family;
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
 * A flow for the client's validated ACK, in HANDOFF state. ERR_PTR(-ENOSPC)
 * when max_flows is reached, -EEXIST when a copy of the ACK got there first.
 */
struct synguard_flow *synguard_flow_add(struct synguard_net *sn,
					const struct synguard_pkt *ack,
					const struct synguard_synopts *co)
{
	struct synguard_flow *f;
	int err = -ENOSPC;

	if (atomic_inc_return(&sn->nr_flows) > READ_ONCE(sn->cfg.max_flows))
		goto undo_count;
	err = -ENOMEM;
	f = kmem_cache_zalloc(flow_cache, GFP_ATOMIC);
	if (!f)
		goto undo_count;
	atomic_long_inc(&flows_live);
	flow_key(ack, true, &f->key);
	f->cookie = ntohl(ack->th.ack_seq) - 1;
	f->ts = ack->opts.ts;
	f->our_tsval = ack->opts.tsecr;
	f->client_ws = co->wscale;
	f->state = SG_FLOW_HANDOFF;
	f->created = jiffies;
	err = rhashtable_lookup_insert_fast(&sn->flows, &f->node, flow_params);
	if (err)
		goto free;
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
	atomic_dec(&sn->nr_flows);
	call_rcu(&f->rcu, flow_free_rcu);
}

/* The listener's SYN+ACK fixes the offsets between the two spaces. */
void synguard_flow_establish(struct synguard_net *sn, struct synguard_flow *f,
			     const struct synguard_pkt *synack)
{
	u8 ws_l = synack->opts.wscale;
	u8 ws_a = synguard_announced_wscale(sn, f->client_ws, ws_l);

	f->isn_delta = ntohl(synack->th.seq) - f->cookie;
	f->ts = f->ts && synack->opts.ts;
	f->ts_delta = synack->opts.tsval - f->our_tsval;
	f->win_from = ws_l == SYNGUARD_WSCALE_NONE ? 0 : ws_l;
	f->win_to = ws_a == SYNGUARD_WSCALE_NONE ? 0 : ws_a;
	/* Publish the offsets above before the state that lets readers in. */
	smp_store_release(&f->state, SG_FLOW_ESTABLISHED);
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
static void window_rescale(struct sk_buff *skb, struct tcphdr *th,
			   const struct xlate *x)
{
	u32 win = (u32)ntohs(th->window) << x->win_from >> x->win_to;
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
