/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Gateway mode: the destinations behind a forwarding host that synguard
 * protects (net.synguard.gateway_prefixes), and what the gateway may know
 * of a forwarded connection without keeping state of its own.
 */
#ifndef _SYNGUARD_GATEWAY_H
#define _SYNGUARD_GATEWAY_H

#include <linux/in6.h>
#include <linux/seqlock.h>
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

/*
 * What a relaying gateway learned of a server (address and port) from its
 * last SYN+ACK: the options it announces itself, for our SYN+ACKs to
 * announce them too. @known says which fields were learned: an option the
 * hand-off SYN did not offer says nothing when the answer lacks it.
 */
enum {
	SYNGUARD_GW_KNOW_MSS = 1,
	SYNGUARD_GW_KNOW_WSCALE = 2,
	SYNGUARD_GW_KNOW_SACK = 4,
	SYNGUARD_GW_KNOW_TS = 8,
};

struct synguard_gw_server {
	u8 known;
	u8 wscale;		/* SYNGUARD_WSCALE_NONE: it does not scale */
	bool sack;
	bool ts;
	u16 mss;
};

#define SYNGUARD_GW_KNOW_ALL	15

/* The largest MSS learned: a 64 KiB IPv4 datagram less its headers. */
#define SYNGUARD_GW_MSS_MAX	65495

/* The cache: a small table, one server a slot, the last one in wins. */
#define SYNGUARD_GW_SERVERS	256

struct synguard_gw_slot {
	seqlock_t lock;		/* one writer (a SYN+ACK), many readers */
	struct in6_addr addr;
	__be16 port;
	u8 family;
	struct synguard_gw_server opts;
	unsigned long told_all;	/* jiffies: the last answer to tell all */
};

struct synguard_gw_cache {
	u32 seed;
	struct synguard_gw_slot slot[SYNGUARD_GW_SERVERS];
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
int synguard_gw_cache_init(struct synguard_net *sn);
void synguard_gw_cache_exit(struct synguard_net *sn);
void synguard_gw_learn(struct synguard_net *sn,
		       const struct synguard_pkt *synack,
		       const struct synguard_gw_server *offered);
bool synguard_gw_recall(const struct synguard_net *sn,
			const struct synguard_pkt *pkt,
			struct synguard_gw_server *out);

#endif /* _SYNGUARD_GATEWAY_H */
