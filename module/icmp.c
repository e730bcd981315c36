// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP and ICMPv6 errors that quote a relayed segment.
 *
 * The listener's segments leave in the cookie's sequence space (flow.c), so
 * an error a router sends about one of them quotes a sequence number the
 * listener never used. tcp_v4_err() and tcp_v6_err() ignore an error whose
 * quoted seq is outside the socket's send window (TcpExtOutOfWindowIcmps):
 * "fragmentation needed" and "packet too big" would never lower the path
 * MTU, and the connection would stall on a path with a smaller MTU. So the
 * quoted seq goes back into the listener's space here, in PRE_ROUTING,
 * before conntrack (which sees the listener's space both ways) and the ICMP
 * layer look at the error.
 *
 * Only the seq: besides the addresses and ports, the kernel's TCP error
 * handlers read nothing else of the quoted segment (not its timestamps),
 * and ICMPv4 guarantees no more than its first 8 bytes anyway. An error we
 * cannot parse is left alone: the kernel decides what to make of it.
 *
 * Runs in softirq, under the RCU read lock the netfilter core holds around
 * hooks, which keeps the flow found alive until we return.
 */
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include "flow.h"
#include "icmp.h"
#include "stats.h"

/* Bytes of the quoted TCP header we read: the ports and the seq. */
#define QUOTE_TCP_LEN	8

/*
 * An error and the segment it quotes. @seg is filled as far as the flow
 * lookup reads it: family, addresses, ports (the seq is read on its own).
 */
struct quote {
	struct in6_addr to;		/* the error's destination */
	unsigned int csum_off;		/* its checksum, from skb->data */
	unsigned int inner_off;		/* the quoted IP header */
	struct synguard_pkt seg;	/* the quoted segment */
};

/* ---- IPv4 ------------------------------------------------------------- */

/*
 * The errors icmp_rcv() hands to tcp_v4_err(), which checks the quoted seq
 * for all of them (redirects included).
 */
static bool outer_v4(const struct sk_buff *skb, struct quote *q)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int off = skb_network_offset(skb) + ip_hdrlen(skb);
	const struct icmphdr *ih;
	struct icmphdr _ih;

	if (iph->protocol != IPPROTO_ICMP || ip_is_fragment(iph))
		return false;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih || !icmp_is_err(ih->type))
		return false;
	q->to.s6_addr32[0] = iph->daddr;
	q->csum_off = off + offsetof(struct icmphdr, checksum);
	q->inner_off = off + sizeof(*ih);
	return true;
}

/* Only a first fragment (or a whole packet) quotes the TCP header. */
static bool inner_v4(const struct sk_buff *skb, struct quote *q)
{
	const struct iphdr *iph;
	struct iphdr _iph;

	iph = skb_header_pointer(skb, q->inner_off, sizeof(_iph), &_iph);
	if (!iph || iph->version != 4 || iph->ihl < 5 ||
	    iph->protocol != IPPROTO_TCP || iph->frag_off & htons(IP_OFFSET))
		return false;
	q->seg.saddr.s6_addr32[0] = iph->saddr;
	q->seg.daddr.s6_addr32[0] = iph->daddr;
	q->seg.thoff = q->inner_off + iph->ihl * 4;
	return true;
}

/* ---- IPv6 ------------------------------------------------------------- */

/*
 * Every type below 128 is an error, and icmpv6_rcv() hands even unknown
 * ones to tcp_v6_err(), which checks the quoted seq before looking at the
 * type. (A redirect is an ND message quoting in an option: not handled.)
 */
static bool outer_v6(const struct sk_buff *skb, struct quote *q)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	const struct icmp6hdr *ih;
	struct icmp6hdr _ih;
	u8 nexthdr = ip6h->nexthdr;
	__be16 frag_off;
	int off;

	off = ipv6_skip_exthdr(skb, skb_network_offset(skb) + sizeof(*ip6h),
			       &nexthdr, &frag_off);
	if (off < 0 || nexthdr != IPPROTO_ICMPV6 || frag_off)
		return false;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih || ih->icmp6_type & ICMPV6_INFOMSG_MASK)
		return false;
	q->to = ip6h->daddr;
	q->csum_off = off + offsetof(struct icmp6hdr, icmp6_cksum);
	q->inner_off = off + sizeof(*ih);
	return true;
}

/* A quoted fragment with a non-zero offset holds no TCP header. */
static bool inner_v6(const struct sk_buff *skb, struct quote *q)
{
	const struct ipv6hdr *ip6h;
	struct ipv6hdr _ip6h;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	ip6h = skb_header_pointer(skb, q->inner_off, sizeof(_ip6h), &_ip6h);
	if (!ip6h || ip6h->version != 6)
		return false;
	nexthdr = ip6h->nexthdr;
	off = ipv6_skip_exthdr(skb, q->inner_off + sizeof(*ip6h), &nexthdr,
			       &frag_off);
	if (off < 0 || nexthdr != IPPROTO_TCP || frag_off & htons(IP6_OFFSET))
		return false;
	q->seg.saddr = ip6h->saddr;
	q->seg.daddr = ip6h->daddr;
	q->seg.thoff = off;
	return true;
}

/* ---- both ------------------------------------------------------------- */

/*
 * An error sent to us about a segment we sent: the error goes to the
 * quoted source, which for a relayed flow is the listener's local address.
 * That also keeps forwarded errors (a gateway's traffic) out.
 */
static bool quote_parse(const struct sk_buff *skb, u8 family, struct quote *q)
{
	bool v4 = family == NFPROTO_IPV4;

	memset(q, 0, sizeof(*q));
	q->seg.family = family;
	if (!(v4 ? outer_v4(skb, q) && inner_v4(skb, q) :
		   outer_v6(skb, q) && inner_v6(skb, q)))
		return false;
	if (!ipv6_addr_equal(&q->to, &q->seg.saddr))
		return false;
	/* Only 8 bytes of it are sure to be there: ports and seq. */
	return !skb_copy_bits(skb, q->seg.thoff, &q->seg.th, QUOTE_TCP_LEN);
}

/*
 * The quoted seq is at an even offset from the ICMP header (the IP and
 * extension headers come in multiples of 4 bytes), so it sits in whole
 * 16-bit words of the ICMP checksum. The checksum field takes the opposite
 * change, so the sum over the message, and a CHECKSUM_COMPLETE skb->csum,
 * stay as they were; ICMPv6's pseudo header does not change.
 */
static int quote_xlate(struct sk_buff *skb, const struct quote *q, u32 delta)
{
	unsigned int seq_off = q->seg.thoff + offsetof(struct tcphdr, seq);
	__sum16 *csum;
	u32 old;
	u8 *seq;

	if (skb_ensure_writable(skb, seq_off + sizeof(__be32)))
		return -ENOMEM;
	seq = skb->data + seq_off;
	csum = (__sum16 *)(skb->data + q->csum_off);
	old = synguard_get_be32(seq);
	synguard_put_be32(seq, old + delta);
	inet_proto_csum_replace4(csum, skb, htonl(old), htonl(old + delta),
				 false);
	return 0;
}

/*
 * An ICMP or ICMPv6 packet coming in: if it is an error quoting one of the
 * listener's relayed segments, move the quoted seq into its space. Never
 * drops: what is not ours, or cannot be changed, goes on as it came.
 */
void synguard_icmp_in(struct synguard_net *sn, struct sk_buff *skb, u8 family,
		      const struct net_device *in)
{
	struct synguard_flow *f;
	struct quote q;

	if (!atomic_read(&sn->nr_flows) || !quote_parse(skb, family, &q))
		return;
	/* A flow's key has its VRF, as synguard_pkt_parse() finds it. */
	q.seg.l3index = synguard_l3index(in);
	/* The quoted segment went from the listener to the client. */
	f = synguard_flow_find(sn, &q.seg, false);
	/* In HANDOFF the listener has sent nothing the client could see. */
	if (!f || synguard_flow_state(f) != SG_FLOW_ESTABLISHED)
		return;
	if (!quote_xlate(skb, &q, f->isn_delta))
		synguard_stat_inc(sn, SG_ICMP_XLATE);
}
