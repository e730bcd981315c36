/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_STATS_H
#define _SYNGUARD_STATS_H

#include <linux/percpu.h>
#include "netns.h"

/* Keep in step with the column names in stats.c. */
enum synguard_stat {
	SG_SYN_SEEN,		/* SYNs to a local address (mode 1 or 2) */
	SG_COOKIE_SENT,		/* SYN+ACKs sent with a cookie */
	SG_COOKIE_VALID,	/* ACKs whose cookie checked out */
	SG_COOKIE_BAD_MAC,	/* ACKs with a forged or mangled cookie */
	SG_COOKIE_EXPIRED,	/* ACKs with a cookie older than 2 * MSL */
	SG_MALFORMED,		/* TCP packets with broken headers/options */
	SG_HANDOFF_OK,		/* connections opened to the listener */
	SG_HANDOFF_FAIL,	/* listener did not answer the hand-off SYN */
	SG_FLOWS_FULL,		/* hand-offs refused: max_flows reached */
	SG_FLOWS_QUOTA,		/* hand-offs refused: the client's share is used */
	SG_PASS_NO_LISTENER,	/* SYNs passed: nothing listens (kernel RSTs) */
	SG_PASS_PORT,		/* SYNs passed: port not in `ports` */
	SG_PASS_OFF,		/* SYNs passed: mode 0 or not engaged */
	SG_PASS_AUTH,		/* SYNs passed: TCP-MD5/AO, the kernel's to sign */
	SG_PASS_SOCKET,		/* SYNs passed: a socket owns the tuple */
	SG_RELAY_IN,		/* client packets translated */
	SG_RELAY_OUT,		/* listener packets translated */
	SG_SEND_FAIL,		/* SYN+ACKs that could not be built or routed */
	SG_FLOWS_EXPIRED,	/* flows freed after their 2 * MSL linger */
	SG_GC_REAPED,		/* flows freed because their socket was gone */
	SG_ENGAGE_ON,		/* times adaptive mode engaged */
	SG_ICMP_XLATE,		/* ICMP errors quoting a relayed segment, translated */
	SG_PASS_NO_SECRET,	/* forwarded SYNs passed: gateway without a secret */
	SG_HANDOFF_RESENT,	/* hand-off SYNs sent again to a silent server */
	SG_SYN_EARLY,		/* SYNs decided in PRE_ROUTING (early.c) */
	SG_HANDOFF_DEFERRED,	/* local hand-offs answered later (NFQUEUE) */
	SG_STAT_MAX
};

struct synguard_stats {
	u32 cnt[SG_STAT_MAX];
};

/* this_cpu ops are safe from softirq and from preemptible process context. */
static inline void synguard_stat_inc(struct synguard_net *sn,
				     enum synguard_stat s)
{
	this_cpu_inc(sn->stats->cnt[s]);
}

u32 synguard_stat_sum(struct synguard_net *sn, enum synguard_stat s);
int synguard_stats_init(struct synguard_net *sn);
void synguard_stats_exit(struct synguard_net *sn);

#endif /* _SYNGUARD_STATS_H */
