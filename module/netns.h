/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_NETNS_H
#define _SYNGUARD_NETNS_H

#include <linux/netfilter.h>
#include <linux/rhashtable.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include "cookie.h"
#include "fleet.h"
#include "gateway.h"

#define SYNGUARD_PORTS	65536
#define SYNGUARD_SRC_BUCKETS	1024
/*
 * PRE_ROUTING, LOCAL_IN, FORWARD and POST_ROUTING, for IPv4 and IPv6
 * (hooks.c).
 */
#define SYNGUARD_NR_HOOKS	8

enum synguard_mode {
	SYNGUARD_MODE_OFF = 0,
	SYNGUARD_MODE_ADAPTIVE = 1,
	SYNGUARD_MODE_ALWAYS = 2,
};

/* Tunables, one set per namespace; ints so proc_dointvec_minmax serves them. */
struct synguard_cfg {
	int mode;
	int msl;		/* seconds: key lifetime, TIME_WAIT linger */
	int max_flows;
	int mss;		/* 0: from the route and the listener */
	int wscale;		/* 0: as the listener would compute it */
	/* Adaptive mode's thresholds, [0] low and [1] high (see engage.c). */
	int syn_rate[2];	/* SYNs per second; high 0: no rate trigger */
	int queue_fill[2];	/* a listener's SYN queue, % of its backlog */
	int hold;		/* seconds engaged after the last low look */
	int clock_offset;	/* test knob: seconds added to the fleet clock */
	int gateway;		/* enum synguard_gw_mode (gateway.h) */
};

/* Adaptive mode's state; written in softirq by engage.c only. */
struct synguard_adaptive {
	spinlock_t lock;	/* elects the CPU taking a rate sample */
	unsigned long stamp;	/* jiffies of the last rate sample */
	u32 seen;		/* syn_seen summed over CPUs at that sample */
	u32 rate;		/* SYNs per second over the last sample */
	unsigned long until;	/* jiffies until which SYNs are answered */
};

/*
 * One adaptive episode, from engaging to the hold time running out, for the
 * kernel log and the tracepoints (engage.c). Begun once per episode by the
 * SYN that engages, ended by a work item: no SYN need come after a flood.
 */
struct synguard_episode {
	spinlock_t lock;	/* orders a begin against the end before it */
	bool open;
	unsigned long start;	/* jiffies */
	u32 cookies;		/* cookie_sent summed when it began */
	struct delayed_work end_work;
};

/* The `ports` selection, swapped whole under RCU so readers never tear. */
struct synguard_ports {
	struct rcu_head rcu;
	bool all;		/* empty list: every listener */
	unsigned long map[BITS_TO_LONGS(SYNGUARD_PORTS)];
};

/*
 * Cookie secrets, replaced whole under RCU at every rotation. With a fleet
 * secret, @keys are those of the epoch of the last rotation and @ahead
 * those of the next one, which a peer whose clock runs ahead uses already.
 */
struct synguard_keyset {
	struct rcu_head rcu;
	struct synguard_keys keys;
	unsigned long born;	/* jiffies when these keys became current */
	bool fleet;		/* derived from the fleet secret */
	struct synguard_keys ahead;
	struct synguard_fleet_clock clock;
};

struct synguard_net {
	struct net *net;
	struct synguard_cfg cfg;
	struct synguard_ports __rcu *ports;
	/* Gateway mode's protected destinations (gateway.c); never NULL. */
	struct synguard_prefixes __rcu *gw_prefixes;
	/* What the servers behind a relaying gateway announce (gateway.c). */
	struct synguard_gw_cache *gw_cache;
	struct synguard_keyset __rcu *keyset;
	struct delayed_work rotate_work;
	/* The fleet secret, if fleet_set; under netns.c's rotate_mutex. */
	siphash_key_t fleet_secret;
	bool fleet_set;
	struct synguard_stats __percpu *stats;
	struct rhashtable flows;
	atomic_t nr_flows;
	/* Flows per client prefix (hashed with src_seed), see flow.c. */
	atomic_t src_flows[SYNGUARD_SRC_BUCKETS];
	u32 src_seed;
	struct delayed_work gc_work;
	struct rhashtable_iter gc_iter;	/* GC position, kept across runs */
	struct synguard_adaptive adaptive;
	struct synguard_episode episode;
	/* The flow table refusing hand-offs, for the kernel log (flow.c). */
	spinlock_t full_lock;
	unsigned long full_since;	/* jiffies | 1; 0 while there is room */
	u32 full_base;			/* flows_full summed when it began */
	int rotate_fails;		/* key rotations in a row without memory */
	/* jiffies until which ACKs may carry one of our cookies */
	unsigned long cookies_until;
	struct ctl_table *sysctl_table;
	struct ctl_table_header *sysctl_hdr;
	/* This namespace's hooks, their priv pointing here (hooks.c). */
	struct nf_hook_ops hook_ops[SYNGUARD_NR_HOOKS];
	bool hooked;		/* they are registered (netns.c) */
};

extern unsigned int synguard_net_id;
extern struct synguard_cfg synguard_defaults;
extern char *synguard_default_ports;
extern char *synguard_default_gw_prefixes;

static inline struct synguard_net *synguard_pernet(const struct net *net)
{
	return net_generic(net, synguard_net_id);
}

/* Are SYNs answered with cookies right now? Softirq-safe, lockless. */
static inline bool synguard_engaged(const struct synguard_net *sn)
{
	int mode = READ_ONCE(sn->cfg.mode);

	return mode == SYNGUARD_MODE_ALWAYS ||
	       (mode == SYNGUARD_MODE_ADAPTIVE &&
		time_before(jiffies, READ_ONCE(sn->adaptive.until)));
}

int synguard_netns_register(void);
void synguard_netns_unregister(void);
void synguard_keys_reschedule(struct synguard_net *sn);
int synguard_keys_set_secret(struct synguard_net *sn,
			     const siphash_key_t *secret);
int synguard_keys_set_offset(struct synguard_net *sn, int offset);
bool synguard_keys_fleet(struct synguard_net *sn);
int synguard_net_hook(struct synguard_net *sn);

#endif /* _SYNGUARD_NETNS_H */
