/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_PACKET_H
#define _SYNGUARD_PACKET_H

#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/in6.h>
#include <linux/percpu.h>
#include <linux/timekeeping.h>
#include <net/l3mdev.h>
#include "netns.h"
#include "tcpopt.h"

/* What synguard_pkt_parse() found. */
enum synguard_pkt_kind {
	SYNGUARD_PKT_OTHER,	/* not TCP, or a fragment: not ours */
	SYNGUARD_PKT_TCP,
	SYNGUARD_PKT_BAD,	/* TCP whose header lies about its length */
};

/*
 * A parsed TCP segment. Addresses are IPv6-sized; an IPv4 address sits in
 * word 0 and the other words are zero, the layout the cookie and the flow
 * key use too.
 */
struct synguard_pkt {
	u8 family;			/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	u8 ttl;
	u8 tos;				/* IPv4 TOS / IPv6 traffic class */
	int sdif;			/* VRF: the slave it came in on */
	int l3index;			/* VRF: its device's ifindex, else 0 */
	struct in6_addr saddr;
	struct in6_addr daddr;
	unsigned int thoff;		/* TCP header offset from skb->data */
	unsigned int hdrlen;		/* TCP header length with options */
	struct tcphdr th;		/* copy of the fixed header */
	struct synguard_tcpopt opts;	/* what parsed before any bad option */
	bool opts_bad;			/* the option list is malformed */
	u8 optbuf[SYNGUARD_TCPOPT_MAXLEN];
};

/* A segment synguard writes: the SYN+ACK to a client, the SYN to a listener. */
struct synguard_seg {
	const struct in6_addr *saddr;
	const struct in6_addr *daddr;
	__be16 sport;
	__be16 dport;
	u32 seq;
	u32 ack;
	u8 flags;			/* TCPHDR_* */
	u8 ttl;				/* sent: 0 for the route's */
	u8 tos;				/* IPv4 TOS, IPv6 traffic class */
	u16 window;
	__be32 flowlabel;		/* IPv6 */
	u32 mark;			/* sent: skb->mark, skb->priority */
	u32 priority;
	struct synguard_tcpopt opts;
};

/*
 * The ifindex of @dev's VRF (its own if it is one), 0 if none: as
 * l3mdev_master_ifindex_rcu(), which is out of line, for the devices in
 * no VRF that carry most packets. Under RCU.
 */
static inline int synguard_l3index(const struct net_device *dev)
{
	if (!netif_is_l3_master(dev) && !netif_is_l3_slave(dev))
		return 0;
	return l3mdev_master_ifindex_rcu(dev);
}

/*
 * Now, in the units of a timestamp cookie's time field. The monotonic clock
 * (the one TCP's own timestamps use) is the same on every CPU.
 */
static inline u32 synguard_ts_now(void)
{
	return ktime_get_ns() >> SYNGUARD_TS_TIME_SHIFT;
}

DECLARE_PER_CPU(const struct sk_buff *, synguard_own_tx);

/*
 * Is @skb a segment synguard itself is sending on this CPU (seg_send()),
 * seen by its own POST_ROUTING hook? Compared, never dereferenced.
 */
static inline bool synguard_pkt_own_tx(const struct sk_buff *skb)
{
	return this_cpu_read(synguard_own_tx) == skb;
}

enum synguard_pkt_kind synguard_pkt_parse_hdr(struct sk_buff *skb, u8 family,
					      const struct net_device *dev,
					      struct synguard_pkt *pkt);
u8 synguard_pkt_peek_flags(const struct sk_buff *skb, u8 family);
void synguard_pkt_parse_opts(struct sk_buff *skb, struct synguard_pkt *pkt);
enum synguard_pkt_kind synguard_pkt_parse(struct sk_buff *skb, u8 family,
					  const struct net_device *dev,
					  struct synguard_pkt *pkt);
bool synguard_pkt_to_local(struct net *net, const struct synguard_pkt *pkt,
			   const struct net_device *in);
bool synguard_pkt_dst_local(const struct sk_buff *skb,
			    const struct synguard_pkt *pkt);
bool synguard_pkt_via_route(struct net *net, const struct sk_buff *skb,
			    const struct synguard_pkt *pkt);
bool synguard_pkt_src_ok(const struct sk_buff *skb,
			 const struct synguard_pkt *pkt);
struct sock *synguard_pkt_listener(struct net *net,
				   const struct synguard_pkt *pkt,
				   const struct net_device *in);
struct sock *synguard_sock_lookup(struct net *net, u8 family,
				  const struct in6_addr *caddr, __be16 cport,
				  const struct in6_addr *laddr, __be16 lport,
				  int ifindex, int sdif);
enum synguard_owner {
	SYNGUARD_OWNER_NONE,	/* no socket for this tuple */
	SYNGUARD_OWNER_TW,	/* a TIME_WAIT socket */
	SYNGUARD_OWNER_OPEN,	/* an established or request socket */
};

enum synguard_owner synguard_pkt_owner(struct net *net,
				       const struct synguard_pkt *pkt,
				       const struct net_device *in);
bool synguard_syn_is_new(struct net *net, const struct sk_buff *skb,
			 const struct synguard_pkt *syn,
			 const struct net_device *in);
bool synguard_pkt_csum_ok(struct sk_buff *skb, const struct synguard_pkt *pkt,
			  unsigned int hook);
void synguard_pkt_tuple(const struct synguard_pkt *pkt,
			struct synguard_tuple *t, u32 isn);
int synguard_send_synack(struct synguard_net *sn, struct sk_buff *skb,
			 const struct synguard_pkt *syn,
			 const struct sock *listener,
			 const struct synguard_keys *keys,
			 const struct net_device *in);
int synguard_handoff_wscale(struct synguard_net *sn, struct sk_buff *skb,
			    const struct synguard_pkt *ack,
			    const struct sock *lsk,
			    const struct synguard_synopts *co,
			    const struct net_device *in, u8 *ws);
void synguard_send_rst(struct synguard_net *sn, const struct sk_buff *skb,
		       const struct synguard_pkt *ack,
		       const struct net_device *in);
int synguard_inject_syn(const struct sk_buff *ack,
			const struct synguard_pkt *pkt,
			const struct synguard_synopts *o, struct sk_buff **keep);
int synguard_reinject_syn(struct net *net, struct sk_buff *syn, int ifindex);

#endif /* _SYNGUARD_PACKET_H */
