// SPDX-License-Identifier: GPL-2.0
/*
 * Gateway mode: the prefix list of protected destinations behind a
 * forwarding host, and what such a gateway can tell of a forwarded
 * connection without state of its own. The decisions on forwarded SYNs
 * and ACKs are made in hooks.c, with the local path's own steps.
 *
 * The list is written under gw_mutex (process context, sysctl writes and
 * namespace set-up) and read under RCU in softirq, by the FORWARD hooks.
 */
#include <linux/inet.h>
#include <linux/jhash.h>
#include <linux/random.h>
#include <linux/ipv6.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include "gateway.h"
#include "netns.h"
#include "packet.h"

/* Serialises writers of every namespace's prefix list. */
static DEFINE_MUTEX(gw_mutex);

/*
 * "ADDR" or "ADDR/LEN", IPv4 or IPv6, into @p. The address must be the
 * prefix itself (no host bits set), as `ip route` wants it: a typo such as
 * 10.0.2.1/24 is refused rather than silently widened.
 */
static int prefix_parse(char *tok, struct synguard_prefix *p)
{
	char *slash = strchr(tok, '/');
	bool v6 = strchr(tok, ':');
	unsigned int max = v6 ? 128 : 32;
	struct in6_addr masked;
	const char *end;
	u8 len = max;

	if (slash) {
		*slash = '\0';
		if (kstrtou8(slash + 1, 10, &len) || len > max)
			return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	if (v6 ? !in6_pton(tok, -1, p->addr.s6_addr, -1, &end) :
		 !in4_pton(tok, -1, p->addr.s6_addr, -1, &end))
		return -EINVAL;
	if (*end)
		return -EINVAL;
	p->family = v6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	p->len = len;
	ipv6_addr_prefix(&masked, &p->addr, len);
	return ipv6_addr_equal(&masked, &p->addr) ? 0 : -EINVAL;
}

/*
 * A new list from @text: prefixes separated by commas or white space; an
 * empty text makes an empty list (gateway off). NULL or an ERR_PTR.
 */
struct synguard_prefixes *synguard_gw_prefixes_parse(const char *text)
{
	struct synguard_prefixes *set;
	char *copy, *rest, *tok;
	int err = 0;

	if (strlen(text) > SYNGUARD_GW_PREFIXES_TEXT)
		return ERR_PTR(-EINVAL);
	set = kzalloc(struct_size(set, p, SYNGUARD_GW_PREFIXES_MAX),
		      GFP_KERNEL);
	copy = kstrdup(text, GFP_KERNEL);
	if (!set || !copy) {
		err = -ENOMEM;
		goto out;
	}
	rest = copy;
	while ((tok = strsep(&rest, ", \t\n"))) {
		if (!*tok)
			continue;
		if (set->n == SYNGUARD_GW_PREFIXES_MAX) {
			err = -EINVAL;
			break;
		}
		err = prefix_parse(tok, &set->p[set->n]);
		if (err)
			break;
		set->n++;
	}
out:
	kfree(copy);
	if (err) {
		kfree(set);
		return ERR_PTR(err);
	}
	return set;
}

/* Is @text a valid list (the module parameter, checked at load)? */
int synguard_gw_prefixes_check(const char *text)
{
	struct synguard_prefixes *set = synguard_gw_prefixes_parse(text ? text : "");

	if (IS_ERR(set))
		return PTR_ERR(set);
	kfree(set);
	return 0;
}

/* Publish a new list parsed from @text; on error nothing changes. */
int synguard_gw_prefixes_set(struct synguard_net *sn, const char *text)
{
	struct synguard_prefixes *old, *next;

	next = synguard_gw_prefixes_parse(text ? text : "");
	if (IS_ERR(next))
		return PTR_ERR(next);
	mutex_lock(&gw_mutex);
	old = rcu_replace_pointer(sn->gw_prefixes, next,
				  lockdep_is_held(&gw_mutex));
	mutex_unlock(&gw_mutex);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/* The list as `ip route` prints prefixes, comma-separated, into @buf. */
int synguard_gw_prefixes_format(struct synguard_net *sn, char *buf,
				size_t size)
{
	const struct synguard_prefixes *set;
	const struct synguard_prefix *p;
	size_t off = 0;
	unsigned int i;

	mutex_lock(&gw_mutex);
	set = rcu_dereference_protected(sn->gw_prefixes,
					lockdep_is_held(&gw_mutex));
	buf[0] = '\0';
	for (i = 0; set && i < set->n; i++) {
		p = &set->p[i];
		if (p->family == NFPROTO_IPV4)
			off += scnprintf(buf + off, size - off, "%s%pI4/%u",
					 i ? "," : "", &p->addr.s6_addr32[0],
					 p->len);
		else
			off += scnprintf(buf + off, size - off, "%s%pI6c/%u",
					 i ? "," : "", &p->addr, p->len);
	}
	mutex_unlock(&gw_mutex);
	return 0;
}

void synguard_gw_prefixes_free(struct synguard_net *sn)
{
	kfree(rcu_dereference_protected(sn->gw_prefixes, true));
}

static bool prefix_match(const struct synguard_prefix *p,
			 const struct synguard_pkt *pkt)
{
	return p->family == pkt->family &&
	       ipv6_prefix_equal(&p->addr, &pkt->daddr, p->len);
}

/*
 * Is @pkt for a destination behind us that we protect (its port is the
 * caller's)? Softirq, under the hooks' RCU read lock.
 */
bool synguard_gw_protected(const struct synguard_net *sn,
			   const struct synguard_pkt *pkt)
{
	const struct synguard_prefixes *set = rcu_dereference(sn->gw_prefixes);
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (prefix_match(&set->p[i], pkt))
			return true;
	return false;
}

/* ---- what the servers announce ------------------------------------------ */

int synguard_gw_cache_init(struct synguard_net *sn)
{
	struct synguard_gw_cache *c = kvzalloc(sizeof(*c), GFP_KERNEL);
	int i;

	if (!c)
		return -ENOMEM;
	c->seed = get_random_u32();
	for (i = 0; i < SYNGUARD_GW_SERVERS; i++)
		seqlock_init(&c->slot[i].lock);
	sn->gw_cache = c;
	return 0;
}

void synguard_gw_cache_exit(struct synguard_net *sn)
{
	kvfree(sn->gw_cache);
}

/* The slot of the server @addr:@port; the seed keeps collisions unaimed. */
static struct synguard_gw_slot *slot_of(const struct synguard_net *sn,
					const struct in6_addr *addr,
					__be16 port)
{
	struct synguard_gw_cache *c = sn->gw_cache;
	/* Hashed as raw bits, like the flow table's keys. */
	u32 h = jhash2((__force const u32 *)addr->s6_addr32, 4,
		       c->seed ^ (__force u16)port);

	return &c->slot[h % SYNGUARD_GW_SERVERS];
}

/* @new, and from @old what @new does not know. */
static struct synguard_gw_server merge(const struct synguard_gw_server *old,
				       const struct synguard_gw_server *new)
{
	struct synguard_gw_server m = *new;
	u8 keep = old->known & ~new->known;

	if (keep & SYNGUARD_GW_KNOW_MSS)
		m.mss = old->mss;
	if (keep & SYNGUARD_GW_KNOW_WSCALE)
		m.wscale = old->wscale;
	if (keep & SYNGUARD_GW_KNOW_SACK)
		m.sack = old->sack;
	if (keep & SYNGUARD_GW_KNOW_TS)
		m.ts = old->ts;
	m.known |= keep;
	return m;
}

/*
 * The server's SYN+ACK @synack answered a hand-off SYN that offered what
 * @offered says (its known bits): remember what the server announced.
 * Softirq; writers of one slot are serialised by its seqlock.
 */
void synguard_gw_learn(struct synguard_net *sn,
		       const struct synguard_pkt *synack,
		       const struct synguard_gw_server *offered)
{
	struct synguard_gw_slot *s = slot_of(sn, &synack->saddr,
					     synack->th.source);
	const struct synguard_tcpopt *o = &synack->opts;
	struct synguard_gw_server learned = {
		.known = offered->known,
		.wscale = o->wscale,
		.sack = o->sack_ok,
		.ts = o->ts,
		.mss = o->mss,
	};
	unsigned long flags;

	/*
	 * An MSS no TCP could use is not learned: our SYN+ACKs would announce
	 * it, and the window is rounded down to a multiple of it less the
	 * timestamp option (a divisor of 0 or a wrapped one).
	 */
	if (o->mss < TCP_MIN_MSS || o->mss > SYNGUARD_GW_MSS_MAX)
		learned.known &= ~SYNGUARD_GW_KNOW_MSS;
	write_seqlock_irqsave(&s->lock, flags);
	/*
	 * The same server: what this answer cannot tell stays as learned
	 * before (our SYN+ACK may not have offered it to the client, whose
	 * hand-off SYN then did not ask) - for one MSL after an answer that
	 * told everything. Then it is forgotten: the next SYN+ACK offers
	 * this host's defaults, and the hand-off SYN asks the server again,
	 * so that a server turning timestamps or window scaling back on is
	 * noticed.
	 */
	if (learned.known == SYNGUARD_GW_KNOW_ALL)
		s->told_all = jiffies;
	else if (s->family == synack->family &&
		 s->port == synack->th.source &&
		 ipv6_addr_equal(&s->addr, &synack->saddr) &&
		 time_before(jiffies, s->told_all +
			     READ_ONCE(sn->cfg.msl) * HZ))
		learned = merge(&s->opts, &learned);
	s->addr = synack->saddr;
	s->port = synack->th.source;
	s->family = synack->family;
	s->opts = learned;
	write_sequnlock_irqrestore(&s->lock, flags);
}

/*
 * What the server @pkt is for (its destination) announced last, if we
 * know it. Softirq, lockless: a read that raced a writer is retried.
 */
bool synguard_gw_recall(const struct synguard_net *sn,
			const struct synguard_pkt *pkt,
			struct synguard_gw_server *out)
{
	const struct synguard_gw_slot *s = slot_of(sn, &pkt->daddr,
						   pkt->th.dest);
	unsigned int seq;
	bool hit;

	do {
		seq = read_seqbegin(&s->lock);
		hit = s->family == pkt->family && s->port == pkt->th.dest &&
		      ipv6_addr_equal(&s->addr, &pkt->daddr);
		*out = s->opts;
	} while (read_seqretry(&s->lock, seq));
	return hit && out->known;
}

/*
 * May @skb belong to a connection the gateway let through already? A
 * stateless gateway keeps nothing of its own, and a segment of an open
 * connection looks like a third ACK whose cookie is wrong: only conntrack,
 * where the namespace runs it, can tell. An entry it confirmed was made by
 * a packet that passed (a third ACK we validated, or traffic from before
 * the gateway was on); an ACK we drop never confirms its entry, so a flood
 * of bogus ACKs leaves none behind. Without conntrack (or untracked, or a
 * packet conntrack found invalid, which it leaves without an entry) we
 * cannot tell: the ACK goes on, and the server's synguard checks it.
 */
bool synguard_gw_known(const struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	enum ip_conntrack_info ctinfo;
	const struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	return !ct || nf_ct_is_confirmed(ct);
#else
	return true;
#endif
}
