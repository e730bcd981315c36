/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Gateway mode: the destinations behind a forwarding host that synguard
 * protects (net.synguard.gateway_prefixes), and what the gateway may know
 * of a forwarded connection without keeping state of its own.
 */
#ifndef _SYNGUARD_GATEWAY_H
#define _SYNGUARD_GATEWAY_H

#include <linux/in6.h>
#include <linux/skbuff.h>
#include <linux/types.h>

struct synguard_net;
struct synguard_pkt;

/* At most this many prefixes: each forwarded SYN and ACK scans them. */
#define SYNGUARD_GW_PREFIXES_MAX	64
/* "ffff:...:ffff/128," is 44 characters: the longest list, with room. */
#define SYNGUARD_GW_PREFIXES_TEXT	(SYNGUARD_GW_PREFIXES_MAX * 48)

/* net.synguard.gateway */
enum synguard_gw_mode {
	SYNGUARD_GW_OFF = 0,
	SYNGUARD_GW_STATELESS = 1,
	SYNGUARD_GW_RELAY = 2,
};

struct synguard_prefix {
	struct in6_addr addr;	/* IPv4 in word 0, as in synguard_pkt */
	u8 family;		/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	u8 len;			/* prefix length in bits */
};

/* The prefix list, replaced whole under RCU so readers never tear. */
struct synguard_prefixes {
	struct rcu_head rcu;
	unsigned int n;
	struct synguard_prefix p[];
};

struct synguard_prefixes *synguard_gw_prefixes_parse(const char *text);
int synguard_gw_prefixes_check(const char *text);
int synguard_gw_prefixes_set(struct synguard_net *sn, const char *text);
int synguard_gw_prefixes_format(struct synguard_net *sn, char *buf,
				size_t size);
void synguard_gw_prefixes_free(struct synguard_net *sn);
bool synguard_gw_protected(const struct synguard_net *sn,
			   const struct synguard_pkt *pkt);
bool synguard_gw_known(const struct sk_buff *skb);

#endif /* _SYNGUARD_GATEWAY_H */
