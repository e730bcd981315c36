// SPDX-License-Identifier: GPL-2.0
/*
 * Parsing, building and sending segments. IPv4 and IPv6 share every step;
 * only the leaves (header layout, routing, lookups) differ by family.
 *
 * All functions run in softirq context under the RCU read lock the netfilter
 * core holds around hooks; sockets returned by lookups are RCU-protected
 * listeners and are not used after the hook returns.
 */
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <net/addrconf.h>
#include <net/inet_hashtables.h>
#include <net/inet6_hashtables.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/route.h>
#include <net/tcp.h>
#include <net/xfrm.h>
#include "cookie.h"
#include "packet.h"

static bool is_v4(const struct synguard_pkt *pkt)
{
	return pkt->family == NFPROTO_IPV4;
}

/* ---- parsing ---------------------------------------------------------- */

/* The IP layer validated the fixed header before PRE_ROUTING/POST_ROUTING. */
static bool parse_l3_v4(struct sk_buff *skb, struct synguard_pkt *pkt)
{
	const struct iphdr *iph = ip_hdr(skb);

	if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return false;
	pkt->saddr.s6_addr32[0] = iph->saddr;
	pkt->daddr.s6_addr32[0] = iph->daddr;
	pkt->thoff = skb_network_offset(skb) + ip_hdrlen(skb);
	pkt->ttl = iph->ttl;
	pkt->tos = iph->tos;
	return true;
}

static bool parse_l3_v6(struct sk_buff *skb, struct synguard_pkt *pkt)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	u8 nexthdr = ip6h->nexthdr;
	__be16 frag_off;
	int off;

	off = ipv6_skip_exthdr(skb, skb_network_offset(skb) + sizeof(*ip6h),
			       &nexthdr, &frag_off);
	if (off < 0 || nexthdr != IPPROTO_TCP || frag_off)
		return false;
	pkt->saddr = ip6h->saddr;
	pkt->daddr = ip6h->daddr;
	pkt->thoff = off;
	pkt->ttl = ip6h->hop_limit;
	pkt->tos = ipv6_get_dsfield(ip6h);
	return true;
}

/*
 * @dev: the device the hook runs for. Its L3 domain (VRF) is part of a
 * flow's key: identical tuples in two VRFs are two connections.
 */
enum synguard_pkt_kind synguard_pkt_parse_hdr(struct sk_buff *skb, u8 family,
					      const struct net_device *dev,
					      struct synguard_pkt *pkt)
{
	const struct tcphdr *th;

	memset(&pkt->saddr, 0, sizeof(pkt->saddr));
	memset(&pkt->daddr, 0, sizeof(pkt->daddr));
	pkt->family = family;
	if (!(family == NFPROTO_IPV4 ? parse_l3_v4(skb, pkt) :
				       parse_l3_v6(skb, pkt)))
		return SYNGUARD_PKT_OTHER;
	/* Socket lookups match VRF bindings on it, as the kernel's do. */
	pkt->sdif = family == NFPROTO_IPV4 ? inet_sdif(skb) : inet6_sdif(skb);
	pkt->l3index = synguard_l3index(dev);

	th = skb_header_pointer(skb, pkt->thoff, sizeof(pkt->th), &pkt->th);
	if (!th)
		return SYNGUARD_PKT_BAD;
	pkt->th = *th;
	pkt->hdrlen = th->doff * 4;
	if (pkt->hdrlen < sizeof(*th) || pkt->thoff + pkt->hdrlen > skb->len)
		return SYNGUARD_PKT_BAD;
	return SYNGUARD_PKT_TCP;
}

/*
 * The TCP flags of @skb, read before any other parsing so that a hook can
 * pass the segments it has nothing to do with (a SYN in PRE_ROUTING, a
 * relayed segment in LOCAL_IN) for the price of a header read. 0 when it
 * cannot tell cheaply: not TCP, an IPv6 extension header, a fragment, a
 * header that lies about its length (synguard_pkt_parse_hdr() says which),
 * or a segment without flags; the caller then parses it in full. The IP
 * layer validated the fixed IP header before any hook we use.
 */
u8 synguard_pkt_peek_flags(const struct sk_buff *skb, u8 family)
{
	unsigned int thoff = skb_network_offset(skb);
	const u8 *w;
	u8 buf[2];

	if (family == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
			return 0;
		thoff += ip_hdrlen(skb);
	} else {
		if (ipv6_hdr(skb)->nexthdr != IPPROTO_TCP)
			return 0;
		thoff += sizeof(struct ipv6hdr);
	}
	/* Data offset (high nibble) and flags: bytes 12 and 13. */
	w = skb_header_pointer(skb, thoff + 12, sizeof(buf), buf);
	if (!w || (w[0] >> 4) < sizeof(struct tcphdr) / 4 ||
	    thoff + (w[0] >> 4) * 4 > skb->len)
		return 0;
	return w[1];
}

/* The options of a segment synguard_pkt_parse_hdr() found whole. */
void synguard_pkt_parse_opts(struct sk_buff *skb, struct synguard_pkt *pkt)
{
	unsigned int optlen = pkt->hdrlen - sizeof(struct tcphdr);
	const u8 *opt;

	/* Within skb->len, as parse_hdr() checked: this cannot fail. */
	opt = skb_header_pointer(skb, pkt->thoff + sizeof(struct tcphdr),
				 optlen, pkt->optbuf);
	/*
	 * Bad options are the caller's call: Linux ignores the rest of such a
	 * list, so ordinary connections must not lose the segment to us.
	 */
	pkt->opts_bad = !opt ||
			synguard_tcpopt_parse(opt, optlen, &pkt->opts) != 0;
}

enum synguard_pkt_kind synguard_pkt_parse(struct sk_buff *skb, u8 family,
					  const struct net_device *dev,
					  struct synguard_pkt *pkt)
{
	enum synguard_pkt_kind kind;

	kind = synguard_pkt_parse_hdr(skb, family, dev, pkt);
	if (kind == SYNGUARD_PKT_TCP)
		synguard_pkt_parse_opts(skb, pkt);
	return kind;
}

void synguard_pkt_tuple(const struct synguard_pkt *pkt,
			struct synguard_tuple *t, u32 isn)
{
	memcpy(t->saddr, &pkt->saddr, sizeof(t->saddr));
	memcpy(t->daddr, &pkt->daddr, sizeof(t->daddr));
	t->sport = (__force u16)pkt->th.source;
	t->dport = (__force u16)pkt->th.dest;
	t->isn = isn;
	t->ipv6 = !is_v4(pkt);
}

/* ---- lookups ---------------------------------------------------------- */

/* For one of our addresses? In a VRF, in the VRF's table. */
bool synguard_pkt_to_local(struct net *net, const struct synguard_pkt *pkt,
			   const struct net_device *in)
{
	if (is_v4(pkt))
		return inet_addr_type_dev_table(net, in,
						pkt->daddr.s6_addr32[0]) ==
		       RTN_LOCAL;
	return ipv6_chk_addr(net, &pkt->daddr, in, 0);
}

/*
 * Past routing (LOCAL_IN): was this segment routed to one of our unicast
 * addresses? tcp_v4_conn_request() and tcp_v6_conn_request() drop SYNs to
 * broadcast and multicast destinations, which also reach LOCAL_IN.
 */
bool synguard_pkt_dst_local(const struct sk_buff *skb,
			    const struct synguard_pkt *pkt)
{
	if (!skb_dst(skb))
		return false;
	if (is_v4(pkt))
		return skb_rtable(skb)->rt_type == RTN_LOCAL;
	return ipv6_unicast_destination(skb);
}

/*
 * Would the kernel answer this SYN at all? Not if it came as a link-layer
 * broadcast or multicast (tcp_v4_rcv() drops those), nor from a source no
 * TCP peer can have: routing drops such martians only after our hook, and
 * answering them would send a SYN+ACK to a broadcast address. IPv6 drops
 * v4-mapped sources (tcp_v6_conn_request()).
 */
bool synguard_pkt_src_ok(const struct sk_buff *skb,
			 const struct synguard_pkt *pkt)
{
	__be32 s = pkt->saddr.s6_addr32[0];

	if (skb->pkt_type != PACKET_HOST)
		return false;
	if (!is_v4(pkt))
		return !ipv6_addr_any(&pkt->saddr) &&
		       !ipv6_addr_is_multicast(&pkt->saddr) &&
		       !ipv6_addr_loopback(&pkt->saddr) &&
		       !ipv6_addr_v4mapped(&pkt->saddr);
	return !ipv4_is_multicast(s) && !ipv4_is_lbcast(s) &&
	       !ipv4_is_zeronet(s) && !ipv4_is_loopback(s);
}

/*
 * No skb is passed: it would only steer a reuseport BPF program, which
 * expects the skb at the transport header; any group member tells us what
 * we need (that the port listens, its buffer and MSS settings).
 */
struct sock *synguard_pkt_listener(struct net *net,
				   const struct synguard_pkt *pkt,
				   const struct net_device *in)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;

	if (is_v4(pkt))
		return __inet_lookup_listener(net, hinfo, NULL, 0,
					      pkt->saddr.s6_addr32[0],
					      pkt->th.source,
					      pkt->daddr.s6_addr32[0],
					      ntohs(pkt->th.dest),
					      in->ifindex, pkt->sdif);
	return inet6_lookup_listener(net, hinfo, NULL, 0, &pkt->saddr,
				     pkt->th.source, &pkt->daddr,
				     ntohs(pkt->th.dest), in->ifindex,
				     pkt->sdif);
}

/*
 * The established, TIME_WAIT or request socket of a connection from
 * @caddr:@cport to the local @laddr:@lport, with a reference, or NULL.
 */
struct sock *synguard_sock_lookup(struct net *net, u8 family,
				  const struct in6_addr *caddr, __be16 cport,
				  const struct in6_addr *laddr, __be16 lport,
				  int ifindex, int sdif)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;

	if (family == NFPROTO_IPV4)
		return __inet_lookup_established(net, hinfo, caddr->s6_addr32[0],
						 cport, laddr->s6_addr32[0],
						 ntohs(lport), ifindex, sdif);
	return __inet6_lookup_established(net, hinfo, caddr, cport, laddr,
					  ntohs(lport), ifindex, sdif);
}

/*
 * Which kind of socket owns this segment's tuple. A TIME_WAIT socket is
 * told apart from an open one: a new connection may reuse its ports (the
 * kernel accepts a fresh SYN there, tcp_timewait_state_process()), and the
 * ACK of our cookie for such a connection must be handed off, not given to
 * the TIME_WAIT socket, which would answer with the old connection's
 * sequence numbers.
 */
enum synguard_owner synguard_pkt_owner(struct net *net,
				       const struct synguard_pkt *pkt,
				       const struct net_device *in)
{
	enum synguard_owner owner;
	struct sock *sk;

	sk = synguard_sock_lookup(net, pkt->family, &pkt->saddr,
				  pkt->th.source, &pkt->daddr, pkt->th.dest,
				  in->ifindex, pkt->sdif);
	if (!sk)
		return SYNGUARD_OWNER_NONE;
	owner = sk->sk_state == TCP_TIME_WAIT ? SYNGUARD_OWNER_TW :
						 SYNGUARD_OWNER_OPEN;
	sock_gen_put(sk);
	return owner;
}

/*
 * Would a TIME_WAIT socket take this SYN as a new connection? The test of
 * tcp_timewait_state_process(): a sequence number past the old connection's,
 * or a newer timestamp, and not rejected by PAWS. Otherwise it answers with
 * an ACK of the old connection, and that answer must stay the kernel's.
 */
static bool tw_takes_syn(const struct sock *sk, const struct synguard_pkt *syn)
{
	const struct tcp_timewait_sock *tw = tcp_twsk(sk);
	s32 ts_age = (s32)(READ_ONCE(tw->tw_ts_recent) - syn->opts.tsval);
	bool ts = syn->opts.ts && READ_ONCE(tw->tw_ts_recent_stamp);

	/* A FIN_WAIT2 "timewait" socket never takes a SYN. */
	if (READ_ONCE(inet_twsk(sk)->tw_substate) != TCP_TIME_WAIT ||
	    (ts && ts_age > 0))
		return false;
	return after(ntohl(syn->th.seq), READ_ONCE(tw->tw_rcv_nxt)) ||
	       (ts && ts_age < 0);
}

/*
 * Is this SYN for a new connection? Not when a socket owns its tuple: an
 * established or request socket answers with a challenge ACK (RFC 5961),
 * a TIME_WAIT one unless it takes the SYN (tw_takes_syn()).
 */
static bool sk_takes_syn(const struct sock *sk, const struct synguard_pkt *syn)
{
	return sk->sk_state == TCP_TIME_WAIT && tw_takes_syn(sk, syn);
}

bool synguard_syn_is_new(struct net *net, const struct sk_buff *skb,
			 const struct synguard_pkt *syn,
			 const struct net_device *in)
{
	struct sock *sk;
	bool is_new;

	/* Early demux may have found it already (and holds it for the skb). */
	if (skb->sk)
		return sk_takes_syn(skb->sk, syn);
	sk = synguard_sock_lookup(net, syn->family, &syn->saddr,
				  syn->th.source, &syn->daddr, syn->th.dest,
				  in->ifindex, syn->sdif);
	if (!sk)
		return true;
	is_new = sk_takes_syn(sk, syn);
	sock_gen_put(sk);
	return is_new;
}

/*
 * The kernel drops a segment whose checksum is wrong (tcp_v4_rcv()); so do
 * we before answering one. Cheap when the device verified it already: then
 * nf_checksum() checks the device's sum, or finds it checked. Summed here,
 * in software, where nobody summed it (CHECKSUM_NONE: a veth's, a
 * tunnel's): only the TCP bytes and the pseudo-header, as the kernel's own
 * check, without nf_checksum()'s generic walk of the whole packet; marked
 * checked, as nf_checksum() leaves it, for the kernel if we pass the SYN
 * on. nf_checksum() also takes a CHECKSUM_COMPLETE sum on trust outside
 * PRE_ROUTING and LOCAL_IN. A routed SYN reaches FORWARD without one
 * (ip_forward() turns it into CHECKSUM_NONE), but a bridged one
 * (br_netfilter, a transparent gateway) may keep it, and nobody has
 * checked it: the server would drop the SYN we are about to answer in its
 * name. So that one is summed in software too: a SYN is short, and only
 * one we would answer gets this far.
 */
bool synguard_pkt_csum_ok(struct sk_buff *skb, const struct synguard_pkt *pkt,
			  unsigned int hook)
{
	unsigned int len = skb->len - pkt->thoff;
	bool none = skb->ip_summed == CHECKSUM_NONE;
	__wsum sum;
	bool ok;

	if (!none && (hook != NF_INET_FORWARD ||
		      skb->ip_summed != CHECKSUM_COMPLETE))
		return !nf_checksum(skb, hook, pkt->thoff, IPPROTO_TCP,
				    pkt->family);
	if (skb_is_nonlinear(skb))
		sum = skb_checksum(skb, pkt->thoff, len, 0);
	else
		sum = csum_partial(skb->data + pkt->thoff, len, 0);
	if (is_v4(pkt))
		ok = !csum_tcpudp_magic(pkt->saddr.s6_addr32[0],
					pkt->daddr.s6_addr32[0], len,
					IPPROTO_TCP, sum);
	else
		ok = !csum_ipv6_magic(&pkt->saddr, &pkt->daddr, len,
				      IPPROTO_TCP, sum);
	if (ok && none && !skb_shared(skb))
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	return ok;
}

/* ---- building --------------------------------------------------------- */

/*
 * A segment for the output path (@out) leaves its TCP checksum to the
 * device, or to validate_xmit_skb() where the device cannot sum: the
 * pseudo-header's sum, CHECKSUM_PARTIAL, as the kernel's own segments. One
 * we inject into the receive path is summed in full here.
 */
static void seg_csum_partial(struct sk_buff *skb)
{
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_transport_header(skb) - skb->head;
	skb->csum_offset = offsetof(struct tcphdr, check);
}

/* @out: __ip_local_out() sets the total length and the header checksum. */
static void push_l3_v4(struct sk_buff *skb, const struct synguard_seg *seg,
		       struct tcphdr *th, unsigned int tcplen, bool out)
{
	struct iphdr *iph = __skb_push(skb, sizeof(*iph));

	skb_reset_network_header(skb);
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = seg->tos;
	iph->id = 0;
	iph->frag_off = htons(IP_DF);
	iph->ttl = seg->ttl;
	iph->protocol = IPPROTO_TCP;
	iph->saddr = seg->saddr->s6_addr32[0];
	iph->daddr = seg->daddr->s6_addr32[0];
	skb->protocol = htons(ETH_P_IP);
	if (out) {
		th->check = ~tcp_v4_check(tcplen, iph->saddr, iph->daddr, 0);
		seg_csum_partial(skb);
		return;
	}
	iph->tot_len = htons(skb->len);
	ip_send_check(iph);
	th->check = tcp_v4_check(tcplen, iph->saddr, iph->daddr,
				 csum_partial(th, tcplen, 0));
}

static void push_l3_v6(struct sk_buff *skb, const struct synguard_seg *seg,
		       struct tcphdr *th, unsigned int tcplen, bool out)
{
	struct ipv6hdr *ip6h = __skb_push(skb, sizeof(*ip6h));

	skb_reset_network_header(skb);
	ip6_flow_hdr(ip6h, seg->tos, seg->flowlabel);
	ip6h->payload_len = htons(tcplen);
	ip6h->nexthdr = IPPROTO_TCP;
	ip6h->hop_limit = seg->ttl;
	ip6h->saddr = *seg->saddr;
	ip6h->daddr = *seg->daddr;
	skb->protocol = htons(ETH_P_IPV6);
	if (out) {
		th->check = ~tcp_v6_check(tcplen, &ip6h->saddr, &ip6h->daddr, 0);
		seg_csum_partial(skb);
		return;
	}
	th->check = tcp_v6_check(tcplen, &ip6h->saddr, &ip6h->daddr,
				 csum_partial(th, tcplen, 0));
}

/*
 * Empty @skb, a segment we received and answer, to carry the answer: one
 * skb allocation and free less per SYN. Only when nobody else sees its
 * buffer (not shared, not cloned, e.g. by a packet socket), it is linear
 * and its buffer holds @room: the headers, pushed back from its end, and
 * the link-layer header in front of them. What the receive path left on it
 * is scrubbed, so that it leaves as a freshly allocated local packet would:
 * no socket, route, conntrack, extensions, mark, timestamp, hash, VLAN tag,
 * priority, control block or device (the output path's POST_ROUTING hooks
 * see no input device, as for alloc_skb()). NULL if it cannot be reused.
 */
static struct sk_buff *seg_recycle(struct sk_buff *skb, unsigned int room)
{
	if (!skb || skb_shared(skb) || skb_cloned(skb) ||
	    skb_is_nonlinear(skb) || skb_end_offset(skb) < room)
		return NULL;
	skb_orphan(skb);
	skb_scrub_packet(skb, true);
	skb_set_delivery_time(skb, 0, 0);
	skb_clear_hash(skb);
	skb_reset_redirect(skb);
	skb_gso_reset(skb);
	__vlan_hwaccel_clear_tag(skb);
#if IS_ENABLED(CONFIG_NETWORK_SECMARK)
	skb->secmark = 0;
#endif
	skb->priority = 0;
	skb->queue_mapping = 0;
	skb->encapsulation = 0;
	skb->ip_summed = CHECKSUM_NONE;
	skb->dev = NULL;
	memset(skb->cb, 0, sizeof(skb->cb));
	skb_unset_mac_header(skb);
	skb->data = skb->head;
	skb->len = 0;
	skb_reset_tail_pointer(skb);
	skb_reserve(skb, room);
	return skb;
}

/*
 * A complete segment, skb->data at L3, for the output path (@out: the
 * checksums are finished there, see seg_csum_partial()) or with both
 * checksums filled in. In @reuse if seg_recycle() can, else in a new skb.
 */
static struct sk_buff *seg_build(u8 family, const struct synguard_seg *seg,
				 struct sk_buff *reuse, unsigned int headroom,
				 bool out)
{
	unsigned int tcplen = sizeof(struct tcphdr) +
			      synguard_tcpopt_len(&seg->opts);
	unsigned int l3len = family == NFPROTO_IPV4 ? sizeof(struct iphdr) :
						      sizeof(struct ipv6hdr);
	struct sk_buff *skb;
	struct tcphdr *th;

	skb = seg_recycle(reuse, headroom + l3len + tcplen);
	if (!skb) {
		skb = alloc_skb(MAX_TCP_HEADER + tcplen, GFP_ATOMIC);
		if (!skb)
			return NULL;
		skb_reserve(skb, MAX_TCP_HEADER);
	}
	/* Both ways the headroom holds the headers: no checked skb_push(). */
	th = __skb_push(skb, tcplen);
	skb_reset_transport_header(skb);
	memset(th, 0, sizeof(*th));
	th->source = seg->sport;
	th->dest = seg->dport;
	th->seq = htonl(seg->seq);
	th->ack_seq = htonl(seg->ack);
	th->doff = tcplen / 4;
	tcp_flag_byte(th) = seg->flags;
	th->window = htons(seg->window);
	synguard_tcpopt_build((u8 *)(th + 1), &seg->opts);

	if (family == NFPROTO_IPV4)
		push_l3_v4(skb, seg, th, tcplen, out);
	else
		push_l3_v6(skb, seg, th, tcplen, out);
	return skb;
}

/* ---- SYN+ACK to the client -------------------------------------------- */

/*
 * ip_route_output_flow(), less its IPsec lookup where it has nothing to do:
 * with no output policy in the namespace, nor one that blocks by default,
 * nor one of the listener @lsk's own, xfrm_lookup_route() returns the
 * route it is given.
 */
static struct rtable *route_output_v4(struct net *net, struct flowi4 *fl4,
				      const struct sock *lsk)
{
#if IS_ENABLED(CONFIG_XFRM)
	if (READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_OUT]) ||
	    READ_ONCE(net->xfrm.policy_default[XFRM_POLICY_OUT]) ==
	    XFRM_USERPOLICY_BLOCK ||
	    (lsk && rcu_access_pointer(lsk->sk_policy[XFRM_POLICY_OUT])))
		return ip_route_output_flow(net, fl4, lsk);
#endif
	return __ip_route_output_key(net, fl4);
}

/*
 * The device a reply must leave by: the one a listener (@lsk) is bound to,
 * else in a VRF (the SYN arrived on its device, see hook_local()) the
 * VRF's, whose table the route is looked up in. As the kernel's request
 * sockets have it (inet_request_bound_dev_if()): a listener that is not
 * bound only took a SYN from a VRF with tcp_l3mdev_accept, and then the
 * VRF is the SYN's.
 */
static int route_oif(const struct sock *lsk, const struct net_device *in)
{
	int bound = lsk ? READ_ONCE(lsk->sk_bound_dev_if) : 0;

	return bound ?: synguard_l3index(in);
}

/*
 * Back the way the SYN came, as the listener's kernel would route its own
 * reply (inet_csk_route_req()): by its bound device, @mark, owner, TOS and
 * scope (SO_DONTROUTE), which policy routing and routes may select on.
 * The source is the address the SYN was sent to: ours, or on a gateway
 * (@lsk NULL) the server's, which only ANYSRC lets a route have (as for
 * transparent proxies).
 */
static struct dst_entry *route_v4(struct net *net,
				  const struct synguard_pkt *syn,
				  const struct net_device *in,
				  const struct sock *lsk, u32 mark)
{
	struct flowi4 fl4 = {
		.flowi4_oif = route_oif(lsk, in),
		.flowi4_mark = mark,
		.flowi4_tos = lsk ? ip_sock_rt_tos(lsk) : 0,
		.flowi4_scope = lsk ? ip_sock_rt_scope(lsk) : RT_SCOPE_UNIVERSE,
		.flowi4_uid = sock_net_uid(net, lsk),
		.daddr = syn->saddr.s6_addr32[0],
		.saddr = syn->daddr.s6_addr32[0],
		.flowi4_proto = IPPROTO_TCP,
		.fl4_sport = syn->th.dest,
		.fl4_dport = syn->th.source,
		.flowi4_flags = FLOWI_FLAG_ANYSRC,
	};
	struct rtable *rt = route_output_v4(net, &fl4, lsk);

	if (IS_ERR(rt))
		return ERR_CAST(rt);
	/* A subnet's broadcast address is no peer either. */
	if (rt->rt_type != RTN_UNICAST) {
		ip_rt_put(rt);
		return ERR_PTR(-EINVAL);
	}
	return &rt->dst;
}

static struct dst_entry *route_v6(struct net *net,
				  const struct synguard_pkt *syn,
				  const struct net_device *in,
				  const struct sock *lsk, u32 mark)
{
	struct flowi6 fl6 = {
		.flowi6_oif = route_oif(lsk, in),
		.flowi6_mark = mark,
		.flowi6_uid = sock_net_uid(net, lsk),
		.daddr = syn->saddr,
		.saddr = syn->daddr,
		.flowi6_proto = IPPROTO_TCP,
		.fl6_sport = syn->th.dest,
		.fl6_dport = syn->th.source,
	};

	/*
	 * A link-local peer is only reachable through the interface it used
	 * (tcp_v6_init_req(): unless the listener is bound).
	 */
	if (!(lsk && READ_ONCE(lsk->sk_bound_dev_if)) &&
	    (ipv6_addr_type(&syn->saddr) & IPV6_ADDR_LINKLOCAL))
		fl6.flowi6_oif = in->ifindex;
	/*
	 * With the IPsec policy lookup, as route_output_v4(). The listener
	 * also makes a route by its bound device the only one
	 * (RT6_LOOKUP_F_IFACE), as for its own reply.
	 */
	return ip6_dst_lookup_flow(net, lsk, &fl6, NULL);
}

static u8 announced_wscale(const struct synguard_net *sn, u8 client_ws,
			   u8 listener_ws)
{
	int cfg = READ_ONCE(sn->cfg.wscale);

	if (client_ws == SYNGUARD_WSCALE_NONE ||
	    listener_ws == SYNGUARD_WSCALE_NONE)
		return SYNGUARD_WSCALE_NONE;
	return cfg ? cfg : listener_ws;
}

/*
 * The initial window and window scale the kernel offers for a connection to
 * @lsk, by the rules of tcp_openreq_init_rwin() and
 * tcp_select_initial_window() (not exported to modules on every kernel):
 * the scale covers the largest window the socket may ever advertise, the
 * first window is the buffer space, rounded to whole segments. @lsk NULL
 * (a server behind a gateway): a listener with this namespace's default
 * buffers, and a first window of 64 KiB.
 */
static void listener_window(const struct net *net, const struct sock *lsk,
			    const struct dst_entry *dst, u32 mss, bool ws_ok,
			    u32 *wnd, u8 *ws)
{
	u32 space = lsk ? max(tcp_full_space(lsk), 0) : U16_MAX;
	u32 clamp = lsk ? READ_ONCE(tcp_sk(lsk)->window_clamp) : 0;
	u32 init_segs = dst_metric(dst, RTAX_INITRWND);

	if (!clamp)
		clamp = dst_metric(dst, RTAX_WINDOW);
	if (lsk && (lsk->sk_userlocks & SOCK_RCVBUF_LOCK) &&
	    (clamp > space || !clamp))
		clamp = space;
	if (!clamp)
		clamp = U16_MAX << TCP_MAX_WSCALE;
	space = min(space, clamp);
	if (mss && space > mss)
		space = rounddown(space, mss);
	*wnd = space;
	if (READ_ONCE(net->ipv4.sysctl_tcp_workaround_signed_windows))
		*wnd = min_t(u32, *wnd, MAX_TCP_WINDOW);
	if (init_segs)
		*wnd = min(*wnd, init_segs * mss);

	*ws = 0;
	if (!ws_ok)
		return;
	space = max_t(u32, space, READ_ONCE(net->ipv4.sysctl_tcp_rmem[2]));
	space = max_t(u32, space, READ_ONCE(sysctl_rmem_max));
	space = min(space, clamp);
	*ws = clamp_t(int, ilog2(space) - 15, 0, TCP_MAX_WSCALE);
}

/* Does the server say @what (a SYNGUARD_GW_KNOW_* bit)? Else @fallback. */
static bool learned(const struct synguard_gw_server *srv, u8 what, bool said,
		    bool fallback)
{
	return srv && (srv->known & what) ? said : fallback;
}

/*
 * Announce what the listener itself would: MSS from the route clamped by
 * TCP_MAXSEG, the window and scale the kernel computes for the listener's
 * receive buffer. The sysctls override MSS and scale. @mss_dst: the route
 * whose MSS the listener announces, the one back to the client; on a
 * gateway (@lsk NULL) the one on to the server, the link the server has.
 * @srv: on a relaying gateway, what the server announced last, which wins
 * over this host's settings.
 */
static void synack_opts(const struct synguard_net *sn,
			const struct synguard_tcpopt *copts,
			const struct sock *lsk, const struct dst_entry *dst,
			const struct dst_entry *mss_dst,
			const struct synguard_gw_server *srv,
			struct synguard_seg *seg)
{
	struct net *net = sn->net;
	struct synguard_tcpopt *o = &seg->opts;
	const struct synguard_gw_server *ws_srv = srv;
	int cfg_mss = READ_ONCE(sn->cfg.mss);
	u32 mss, user_mss, wnd;
	bool ws_ok;
	u8 ws;

	mss = dst_metric_advmss(mss_dst);
	if (srv && (srv->known & SYNGUARD_GW_KNOW_MSS))
		mss = srv->mss;
	user_mss = lsk ? READ_ONCE(tcp_sk(lsk)->rx_opt.user_mss) : 0;
	if (user_mss && user_mss < mss)
		mss = user_mss;
	o->mss = cfg_mss ? cfg_mss : mss;
	o->sack_ok = copts->sack_ok &&
		     learned(srv, SYNGUARD_GW_KNOW_SACK, srv && srv->sack,
			     READ_ONCE(net->ipv4.sysctl_tcp_sack));
	o->ts = copts->ts &&
		learned(srv, SYNGUARD_GW_KNOW_TS, srv && srv->ts,
			READ_ONCE(net->ipv4.sysctl_tcp_timestamps));
	/* tsval is set with the cookie, in synguard_send_synack(). */
	o->tsecr = o->ts ? copts->tsval : 0;
	/*
	 * A SYN+ACK without timestamps carries a compact cookie, with no room
	 * for the scale we announce: the hand-off works it out again
	 * (synguard_handoff_wscale()) and must come to the same answer, up to
	 * 2 MSL later. By then what we learned of the server may be forgotten
	 * or its slot taken by another: then this host's own scale is
	 * announced, and the relay rescales the windows between the two.
	 */
	if (!o->ts)
		ws_srv = NULL;
	ws_ok = copts->wscale != SYNGUARD_WSCALE_NONE &&
		learned(ws_srv, SYNGUARD_GW_KNOW_WSCALE,
			ws_srv && ws_srv->wscale != SYNGUARD_WSCALE_NONE,
			READ_ONCE(net->ipv4.sysctl_tcp_window_scaling));
	listener_window(net, lsk, dst, o->mss - (o->ts ? TCPOLEN_TSTAMP_ALIGNED : 0),
			ws_ok, &wnd, &ws);
	if (ws_ok && ws_srv && (ws_srv->known & SYNGUARD_GW_KNOW_WSCALE))
		ws = ws_srv->wscale;
	o->wscale = announced_wscale(sn, copts->wscale,
				     ws_ok ? ws : SYNGUARD_WSCALE_NONE);
	seg->window = min_t(u32, wnd, U16_MAX);
}

/* @lsk, @mark: for a listener's reply (route_v4()); NULL, 0 for ours. */
static struct dst_entry *route(struct net *net, const struct synguard_pkt *pkt,
			       const struct net_device *in,
			       const struct sock *lsk, u32 mark)
{
	return is_v4(pkt) ? route_v4(net, pkt, in, lsk, mark) :
			    route_v6(net, pkt, in, lsk, mark);
}

/*
 * Did @skb come in through the interface by which the route back to its
 * source (@pkt's) leaves? A strict reverse-path check, for the one packet
 * that must come from a server behind a gateway: its answer to a hand-off
 * SYN, whose ack number the client chose (its ISN), so a client could
 * otherwise forge it through the gateway. In a VRF the interface is the
 * slave it came in on (@pkt->sdif): the VRF has made its own device the
 * input interface, which every slave shares, the client's too; a route
 * whose device is the VRF itself accepts any of its slaves. Called under
 * RCU (a netfilter hook).
 */
bool synguard_pkt_via_route(struct net *net, const struct sk_buff *skb,
			    const struct synguard_pkt *pkt)
{
	struct net_device *in;
	struct dst_entry *dst;
	bool ok;

	in = dev_get_by_index_rcu(net, pkt->sdif ?: skb->skb_iif);
	if (!in)
		return false;
	dst = route(net, pkt, in, NULL, 0);
	if (IS_ERR(dst))
		return false;
	ok = dst->dev == in ||
	     (netif_is_l3_master(dst->dev) &&
	      synguard_l3index(in) == dst->dev->ifindex);
	dst_release(dst);
	return ok;
}

/*
 * The window scale our SYN+ACK announced, worked out again at hand-off the
 * way synguard_send_synack() did (the cookie has no room for it), from the
 * client's options as the cookie and its ACK (@skb, whose mark stands for
 * the SYN's) tell them, on the same route. Fails if the route back to the
 * client went away since: the client retransmits its ACK.
 */
int synguard_handoff_wscale(struct synguard_net *sn, struct sk_buff *skb,
			    const struct synguard_pkt *ack,
			    const struct sock *lsk,
			    const struct synguard_synopts *co,
			    const struct net_device *in, u8 *ws)
{
	struct synguard_tcpopt copts = {
		.wscale = co->wscale,
		.sack_ok = co->sack,
		.ts = ack->opts.ts,
	};
	struct synguard_seg seg = {};
	struct dst_entry *dst = route(sn->net, ack, in, lsk,
				      lsk ? inet_request_mark(lsk, skb) : 0);
	struct synguard_gw_server srv;
	bool known = !lsk && synguard_gw_recall(sn, ack, &srv);

	if (IS_ERR(dst))
		return PTR_ERR(dst);
	synack_opts(sn, &copts, lsk, dst, dst, known ? &srv : NULL, &seg);
	dst_release(dst);
	*ws = seg.opts.wscale;
	return 0;
}

/* Our SYN+ACK is stateless: keep conntrack from creating an entry for it. */
static void seg_untrack(struct sk_buff *skb)
{
#if IS_ENABLED(CONFIG_NF_CONNTRACK)
	nf_ct_set(skb, NULL, IP_CT_UNTRACKED);
#endif
}

/*
 * Would the listener's kernel agree to ECN for this SYN? The rules of
 * tcp_ecn_create_request(): the SYN asks with ECE and CWR and is not itself
 * ECN-capable (unless it sets the reserved bit of AccECN), and the sysctl or
 * the route allows it; or the listener's congestion control needs ECN. On
 * a gateway (@lsk NULL), by this namespace's sysctl and routes.
 */
static bool synack_ecn(const struct net *net, const struct synguard_pkt *syn,
		       const struct sock *lsk, const struct dst_entry *dst)
{
	u32 ecn_dst = dst_feature(dst, DST_FEATURE_ECN_MASK);
	bool ecn_ok = READ_ONCE(net->ipv4.sysctl_tcp_ecn) || ecn_dst;
	bool ect = !INET_ECN_is_not_ect(syn->tos);

	if (!syn->th.ece || !syn->th.cwr)
		return false;
	return ((!ect || syn->th.res1) && ecn_ok) ||
	       (lsk && tcp_ca_needs_ecn(lsk)) ||
	       (ecn_dst & DST_FEATURE_ECN_CA);
}

/*
 * The cookie and, for a client that sends timestamps, the tsval it echoes:
 * then the 64 bits carry what the ISN alone cannot (the exact MSS, the
 * scale we announced, ECN, when we sent the SYN+ACK).
 */
static void synack_cookie(const struct net *net,
			  const struct synguard_pkt *syn,
			  const struct sock *lsk, const struct dst_entry *dst,
			  const struct synguard_keys *keys,
			  struct synguard_seg *seg)
{
	struct synguard_synopts co = {
		.mss = syn->opts.mss,
		.wscale = syn->opts.wscale,
		.sack = syn->opts.sack_ok,
	};
	struct synguard_tuple t;

	synguard_pkt_tuple(syn, &t, ntohl(syn->th.seq));
	if (!seg->opts.ts) {
		seg->seq = synguard_cookie_make(keys, &t, &co);
		return;
	}
	co.ecn = synack_ecn(net, syn, lsk, dst);
	co.aws = seg->opts.wscale;
	co.time = synguard_ts_now();
	synguard_cookie_make_ts(keys, &t, &co, &seg->seq, &seg->opts.tsval);
	if (co.ecn)
		seg->flags |= TCPHDR_ECE;
}

/*
 * What the listener's kernel gives its own SYN+ACK besides TCP and the
 * route (tcp_v4_send_synack() and ip_build_and_send_pkt(),
 * tcp_v6_send_synack() and ip6_xmit()): the hop limit it set (IP_TTL,
 * IPV6_UNICAST_HOPS), its TOS or traffic class (with tcp_reflect_tos the
 * SYN's DSCP and its own ECN bits), its priority and the request's @mark.
 * An IPv4 SYN to an IPv6 listener gets the listener's IPv4 settings.
 */
static void listener_ip(const struct net *net, const struct sock *lsk,
			const struct synguard_pkt *syn, u32 mark,
			struct synguard_seg *seg)
{
	int hl;
	u8 tos;

	if (is_v4(syn)) {
		hl = READ_ONCE(inet_sk(lsk)->uc_ttl);
		tos = READ_ONCE(inet_sk(lsk)->tos);
	} else {
		hl = synguard_np_hop_limit(inet6_sk(lsk));
		tos = READ_ONCE(inet6_sk(lsk)->tclass);
	}
	if (READ_ONCE(net->ipv4.sysctl_tcp_reflect_tos))
		tos = (syn->tos & ~INET_ECN_MASK) | (tos & INET_ECN_MASK);
	seg->ttl = hl > 0 ? hl : 0;
	seg->tos = tos;
	seg->mark = mark;
	seg->priority = READ_ONCE(lsk->sk_priority);
}

/*
 * ip4_dst_hoplimit(), less the RCU read lock it takes around finding the
 * route's namespace (out of line on a preemptible-RCU kernel, twice per
 * SYN): we know it, the route was looked up in @net.
 */
static u8 route_ttl_v4(const struct net *net, const struct dst_entry *dst)
{
	return dst_metric_raw(dst, RTAX_HOPLIMIT) ?:
	       READ_ONCE(net->ipv4.sysctl_ip_default_ttl);
}

/*
 * The flow label of an IPv6 listener's own SYN+ACK (tcp_v6_send_synack(),
 * ip6_make_flowlabel()): the SYN's (@syn, not yet reused) if the listener
 * reflects labels; else where automatic labels are on for it, 20 bits of a
 * hash of the connection (there the request's random txhash); ours, of
 * the cookie's MAC (@isn), as unpredictable. An automatic label is not the
 * one the connection goes on with: the listener draws its own at hand-off,
 * as it does for a SYN it answers itself from a syncookie.
 */
static __be32 listener_flowlabel(struct net *net, const struct sock *lsk,
				 const struct sk_buff *syn, u32 isn)
{
	u8 mode = READ_ONCE(net->ipv6.sysctl.auto_flowlabels);
	__be32 label = synguard_repflow(lsk) ?
		       ip6_flowlabel(ipv6_hdr(syn)) : 0;

	if (label || mode == IP6_AUTO_FLOW_LABEL_OFF ||
	    (mode != IP6_AUTO_FLOW_LABEL_FORCED &&
	     !synguard_autoflowlabel(net, lsk)))
		return label;
	label = htonl(isn >> 12) & IPV6_FLOWLABEL_MASK;
	if (READ_ONCE(net->ipv6.sysctl.flowlabel_state_ranges))
		label |= IPV6_FLOWLABEL_STATELESS_FLAG;
	return label;
}

/*
 * The segment this CPU is sending from seg_send() right now, for
 * synguard_pkt_own_tx(): set and cleared around the output call, which
 * runs POST_ROUTING's hooks before it returns. A segment a queue (NFQUEUE)
 * sends on later is looked up as any other.
 */
DEFINE_PER_CPU(const struct sk_buff *, synguard_own_tx);

/*
 * ip_local_out() or ip6_local_out() of our @skb, marked as ours meanwhile.
 * With BHs off, as in the softirq that runs our hooks, nothing else runs
 * on this CPU until the mark is cleared, and the task cannot move: no
 * other packet, nor one that reuses @skb's memory once it is freed, can
 * be taken for it. Hooks after an NFQUEUE verdict run in process context:
 * BHs are turned off there.
 */
static int seg_output(struct net *net, u8 family, struct sk_buff *skb)
{
	bool bh_on = !in_softirq();
	int err;

	if (bh_on)
		local_bh_disable();
	this_cpu_write(synguard_own_tx, skb);
	if (family == NFPROTO_IPV4)
		err = ip_local_out(net, NULL, skb);
	else
		err = ip6_local_out(net, NULL, skb);
	this_cpu_write(synguard_own_tx, NULL);
	if (bh_on)
		local_bh_enable();
	return err;
}

/*
 * Build @seg and send it on @dst (whose reference it takes), untracked,
 * with the hop limit of that route unless @seg has one, and @seg's mark
 * and priority. @in: the segment answered; its buffer carries @seg if it
 * can. Returns a negative error if nothing was sent (and @in is
 * untouched), else @in is consumed and the result is 0, or 1 if the
 * output path dropped the segment (a firewall rule, a full qdisc).
 */
static int seg_send(struct synguard_net *sn, u8 family,
		    struct synguard_seg *seg, struct dst_entry *dst,
		    struct sk_buff *in)
{
	struct sk_buff *skb;
	int err;

	if (!seg->ttl)
		seg->ttl = family == NFPROTO_IPV4 ? route_ttl_v4(sn->net, dst) :
						    ip6_dst_hoplimit(dst);
	skb = seg_build(family, seg, in, LL_RESERVED_SPACE(dst->dev), true);

	if (!skb) {
		dst_release(dst);
		return -ENOMEM;
	}
	if (in && skb != in)
		consume_skb(in);
	skb->mark = seg->mark;
	skb->priority = seg->priority;
	skb_dst_set(skb, dst);
	seg_untrack(skb);
	err = seg_output(sn->net, family, skb);
	return net_xmit_eval(err) ? 1 : 0;
}

/*
 * Answer the SYN @skb with a cookie SYN+ACK, in the SYN's own buffer when
 * it can (see seg_send() for the result and what becomes of @skb). For a
 * local @listener; NULL on a gateway, where @skb is a SYN being forwarded
 * to a server behind us (its route, skb_dst(), leads there).
 */
int synguard_send_synack(struct synguard_net *sn, struct sk_buff *skb,
			 const struct synguard_pkt *syn,
			 const struct sock *listener,
			 const struct synguard_keys *keys,
			 const struct net_device *in)
{
	struct synguard_seg seg = {
		.saddr = &syn->daddr,
		.daddr = &syn->saddr,
		.sport = syn->th.dest,
		.dport = syn->th.source,
		.ack = ntohl(syn->th.seq) + 1,
		.flags = TCPHDR_SYN | TCPHDR_ACK,
	};
	struct synguard_gw_server srv;
	struct dst_entry *dst;
	bool known = !listener && READ_ONCE(sn->cfg.gateway) ==
				  SYNGUARD_GW_RELAY &&
		     synguard_gw_recall(sn, syn, &srv);
	u32 mark = listener ? inet_request_mark(listener, skb) : 0;

	dst = route(sn->net, syn, in, listener, mark);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	if (listener)
		listener_ip(sn->net, listener, syn, mark, &seg);
	synack_opts(sn, &syn->opts, listener, dst,
		    listener ? dst : skb_dst(skb) ?: dst, known ? &srv : NULL,
		    &seg);
	/*
	 * Our tsval is the cookie's second word, not a clock: the relay maps
	 * the listener's clock onto it so that the client's view runs on from
	 * it in real time (synguard_flow_establish()).
	 */
	synack_cookie(sn->net, syn, listener, dst, keys, &seg);
	if (listener && !is_v4(syn))
		seg.flowlabel = listener_flowlabel(sn->net, listener, skb,
						   seg.seq);

	return seg_send(sn, syn->family, &seg, dst, skb);
}

/*
 * A RST for the client of @ack (RFC 9293: seq = the ACK's ack, no ACK bit),
 * back the way the ACK (@skb) came, as the kernel's own RST for a segment
 * of no socket (tcp_v4_send_reset(), tcp_v6_send_reset()): with the ACK's
 * DSCP, and its mark where fwmark_reflect says so, for the route too.
 * Best effort: the client's retransmission meets the same answer.
 */
void synguard_send_rst(struct synguard_net *sn, const struct sk_buff *skb,
		       const struct synguard_pkt *ack,
		       const struct net_device *in)
{
	u32 mark = is_v4(ack) ? IP4_REPLY_MARK(sn->net, skb->mark) :
				IP6_REPLY_MARK(sn->net, skb->mark);
	struct synguard_seg seg = {
		.saddr = &ack->daddr,
		.daddr = &ack->saddr,
		.sport = ack->th.dest,
		.dport = ack->th.source,
		.seq = ntohl(ack->th.ack_seq),
		.flags = TCPHDR_RST,
		.tos = ack->tos & ~INET_ECN_MASK,
		.mark = mark,
		.opts.wscale = SYNGUARD_WSCALE_NONE,
	};
	struct dst_entry *dst = route(sn->net, ack, in, NULL, mark);

	if (IS_ERR(dst))
		return;
	seg_send(sn, ack->family, &seg, dst, NULL);
}

/* ---- SYN to the listener ---------------------------------------------- */

/*
 * The ACK's IPsec secpath, and only that (not its other extensions, which
 * belong to its own path through tc and bridges): an input policy that
 * requires ESP must find the SYN came the same, decrypted, way.
 */
static int secpath_copy(struct sk_buff *skb, const struct sk_buff *ack)
{
#ifdef CONFIG_XFRM
	const struct sec_path *from = skb_sec_path(ack);
	struct sec_path *sp;
	int i;

	if (!from)
		return 0;
	sp = secpath_set(skb);
	if (!sp)
		return -ENOMEM;
	for (i = 0; i < from->len; i++) {
		xfrm_state_hold(from->xvec[i]);
		sp->xvec[i] = from->xvec[i];
	}
	sp->len = from->len;
#endif
	return 0;
}

/*
 * Feed @skb (on skb->dev) to the receive path now, synchronously. Softirq,
 * usually; but hooks after an NFQUEUE verdict, and the GC's SYN
 * retransmissions, run in process context, and the receive path wants BHs
 * off.
 */
static int receive_now(struct sk_buff *skb)
{
	int err;

	local_bh_disable();
	err = netif_receive_skb_core(skb);
	local_bh_enable();
	return err;
}

/*
 * Rebuild the client's SYN from the validated ACK and the options the cookie
 * carried, and feed it to the normal receive path as if it had just arrived
 * on the ACK's interface: tc, taps, netfilter (conntrack, INPUT rules) and
 * the listener all see the real client. netif_receive_skb_core() processes
 * it synchronously, bypassing RPS, so the listener's SYN+ACK has been
 * captured by the time this returns. @keep (or NULL) gets a copy of the
 * SYN as injected, for synguard_reinject_syn(); NULL if there is no memory.
 */
int synguard_inject_syn(const struct sk_buff *ack,
			const struct synguard_pkt *pkt,
			const struct synguard_synopts *o, struct sk_buff **keep)
{
	struct synguard_seg seg = {
		.saddr = &pkt->saddr,
		.daddr = &pkt->daddr,
		.sport = pkt->th.source,
		.dport = pkt->th.dest,
		.seq = ntohl(pkt->th.seq) - 1,
		.flags = TCPHDR_SYN | (o->ecn ? TCPHDR_ECE | TCPHDR_CWR : 0),
		.ttl = pkt->ttl,
		/*
		 * The ACK's DSCP for the SYN's, which tcp_reflect_tos gives
		 * the connection; not ECN-capable, as a SYN that asks for ECN.
		 */
		.tos = pkt->tos & ~INET_ECN_MASK,
		.window = ntohs(pkt->th.window),
		.opts = {
			.mss = o->mss,
			.wscale = o->wscale,
			.sack_ok = o->sack,
			.ts = pkt->opts.ts,
			.tsval = pkt->opts.tsval,
		},
	};
	struct sk_buff *skb = seg_build(pkt->family, &seg, NULL, 0, false);

	if (!skb)
		return -ENOMEM;
	/*
	 * In a VRF the ACK is on the VRF device by now: enter on the slave it
	 * came in on, so that sockets bound to the slave see it as the kernel
	 * would (and the VRF pass follows as usual).
	 */
	skb->dev = ack->dev;
	if (pkt->sdif)
		skb->dev = dev_get_by_index_rcu(dev_net(ack->dev), pkt->sdif);
	if (!skb->dev) {
		kfree_skb(skb);
		return -ENODEV;
	}
	skb->pkt_type = PACKET_HOST;
	skb->mark = ack->mark;
	if (secpath_copy(skb, ack)) {
		kfree_skb(skb);
		return -ENOMEM;
	}
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	/* Same link-layer header as the ACK, so packet taps decode it. */
	if (skb_mac_header_was_set(ack) && ack->mac_len &&
	    skb_headroom(skb) >= ack->mac_len) {
		memcpy(skb_push(skb, ack->mac_len), skb_mac_header(ack),
		       ack->mac_len);
		skb_reset_mac_header(skb);
		skb_pull(skb, ack->mac_len);
	} else {
		skb_reset_mac_header(skb);
	}
	if (keep) {
		*keep = skb_copy(skb, GFP_ATOMIC);
		/* Its device may go while the copy waits: found by index. */
		if (*keep)
			(*keep)->dev = NULL;
	}
	return receive_now(skb);
}

/*
 * Inject @syn, a copy kept by synguard_inject_syn(), again, on the
 * interface @ifindex the client's ACK came in on: a retransmission of a
 * gateway's hand-off SYN. Consumes @syn. Under RCU (the device lookup),
 * in process context or softirq.
 */
int synguard_reinject_syn(struct net *net, struct sk_buff *syn, int ifindex)
{
	syn->dev = dev_get_by_index_rcu(net, ifindex);
	if (!syn->dev) {
		kfree_skb(syn);
		return -ENODEV;
	}
	return receive_now(syn);
}
