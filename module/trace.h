/* SPDX-License-Identifier: GPL-2.0 */
/*
 * synguard's tracepoints, system "synguard": one connection's path through
 * the module (cookie sent, ACK rejected, hand-off, flow states) and adaptive
 * mode's switches, for perf trace, trace-cmd, bpftrace or tracefs.
 *
 * A disabled tracepoint is a static branch over the call: its arguments are
 * plain pointers, and everything an event records is worked out in the
 * assignments below, which run only when it is enabled.
 *
 * Addresses are stored as sockaddrs, printed with %pISpc (an IPv4 client
 * shows as 10.0.1.1:43000, IPv6 as [fd00::1]:43000); the ports are also
 * fields of their own, in host order, for filters ("cport == 43000").
 * This file is read several times by trace/define_trace.h from trace.c, the
 * one file that instantiates the events.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM synguard

#if !defined(_SYNGUARD_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _SYNGUARD_TRACE_H

#include <linux/tracepoint.h>
#include <linux/in.h>
#include <linux/in6.h>
#include "engage.h"
#include "flow.h"
#include "packet.h"
#include "stats.h"

#ifndef _SYNGUARD_TRACE_HELPERS
#define _SYNGUARD_TRACE_HELPERS

/* One end of a connection as a sockaddr that %pISpc prints. */
static inline void synguard_tp_addr(u8 *out, u8 family,
				    const struct in6_addr *a, __be16 port)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
	struct sockaddr_in *s4 = (struct sockaddr_in *)out;

	memset(out, 0, sizeof(*s6));
	if (family == NFPROTO_IPV4) {
		s4->sin_family = AF_INET;
		s4->sin_port = port;
		s4->sin_addr.s_addr = a->s6_addr32[0];
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = port;
		s6->sin6_addr = *a;
	}
}

#endif /* _SYNGUARD_TRACE_HELPERS */

/*
 * Every event about one connection starts with the same fields: netns,
 * cport, lport (host order), client and local (sockaddrs, with the ports),
 * and its output with "netns=N client=A local=A". No two of these events
 * have the same fields after those, so they cannot share an event class
 * (DECLARE_EVENT_CLASS: one field list and format for all its events).
 * Instead each one's TP_STRUCT__entry and TP_printk are written through
 * the two macros below, which put the common part first; its
 * TP_fast_assign begins with SG_TP_CONN_FROM_PKT or SG_TP_CONN_FROM_FLOW.
 */
#define SG_TP_CONN_ENTRY(fields...)					\
	TP_STRUCT__entry(						\
		__field(u32, netns)					\
		__field(u16, cport)					\
		__field(u16, lport)					\
		__array(u8, client, sizeof(struct sockaddr_in6))	\
		__array(u8, local, sizeof(struct sockaddr_in6))	\
		fields							\
	)

#define SG_TP_CONN_PRINTK(fmt, args...)					\
	TP_printk("netns=%u client=%pISpc local=%pISpc" fmt,		\
		  __entry->netns, __entry->client, __entry->local, ##args)

/* A segment from the client (SYN or ACK) fills them: saddr is the client's. */
#define SG_TP_CONN_FROM_PKT(net, pkt)					\
	do {								\
		__entry->netns = (net)->ns.inum;			\
		__entry->cport = ntohs((pkt)->th.source);		\
		__entry->lport = ntohs((pkt)->th.dest);			\
		synguard_tp_addr(__entry->client, (pkt)->family,	\
				 &(pkt)->saddr, (pkt)->th.source);	\
		synguard_tp_addr(__entry->local, (pkt)->family,		\
				 &(pkt)->daddr, (pkt)->th.dest);	\
	} while (0)

/* So does a flow, from its key. */
#define SG_TP_CONN_FROM_FLOW(f)						\
	do {								\
		__entry->netns = (f)->netns;				\
		__entry->cport = ntohs((f)->key.cport);			\
		__entry->lport = ntohs((f)->key.lport);			\
		synguard_tp_addr(__entry->client, (f)->key.family,	\
				 &(f)->key.caddr, (f)->key.cport);	\
		synguard_tp_addr(__entry->local, (f)->key.family,	\
				 &(f)->key.laddr, (f)->key.lport);	\
	} while (0)

TRACE_DEFINE_ENUM(SG_COOKIE_BAD_MAC);
TRACE_DEFINE_ENUM(SG_COOKIE_EXPIRED);
TRACE_DEFINE_ENUM(SG_MALFORMED);

TRACE_DEFINE_ENUM(SG_PHASE_HANDOFF);
TRACE_DEFINE_ENUM(SG_PHASE_ESTABLISHED);
TRACE_DEFINE_ENUM(SG_PHASE_FIN_CLIENT);
TRACE_DEFINE_ENUM(SG_PHASE_FIN_LISTENER);
TRACE_DEFINE_ENUM(SG_PHASE_CLOSING);
TRACE_DEFINE_ENUM(SG_PHASE_TIME_WAIT);
TRACE_DEFINE_ENUM(SG_PHASE_FREED);

TRACE_DEFINE_ENUM(SG_TRIGGER_RATE);
TRACE_DEFINE_ENUM(SG_TRIGGER_QUEUE);

/* A SYN answered with a cookie SYN+ACK (counted in cookie_sent). */
TRACE_EVENT(synguard_cookie_sent,
	TP_PROTO(const struct net *net, const struct synguard_pkt *syn),
	TP_ARGS(net, syn),
	SG_TP_CONN_ENTRY(
		__field(u16, mss)
	),
	TP_fast_assign(
		SG_TP_CONN_FROM_PKT(net, syn);
		__entry->mss = syn->opts.mss;
	),
	SG_TP_CONN_PRINTK(" mss=%u", __entry->mss)
);

/*
 * An ACK for no connection whose cookie did not check out. kernel=1: the
 * kernel may own it (a TIME_WAIT socket, its own syncookies), so it went on
 * to the kernel uncounted; kernel=0: dropped, counted by its reason.
 */
TRACE_EVENT(synguard_ack_reject,
	TP_PROTO(const struct net *net, const struct synguard_pkt *ack,
		 enum synguard_stat why, bool to_kernel),
	TP_ARGS(net, ack, why, to_kernel),
	SG_TP_CONN_ENTRY(
		__field(u32, cookie)
		__field(int, reason)
		__field(bool, kernel)
	),
	TP_fast_assign(
		SG_TP_CONN_FROM_PKT(net, ack);
		__entry->cookie = ntohl(ack->th.ack_seq) - 1;
		__entry->reason = why;
		__entry->kernel = to_kernel;
	),
	SG_TP_CONN_PRINTK(" cookie=%08x reason=%s kernel=%d",
			  __entry->cookie,
			  __print_symbolic(__entry->reason,
					   { SG_COOKIE_BAD_MAC, "bad_mac" },
					   { SG_COOKIE_EXPIRED, "expired" },
					   { SG_MALFORMED, "malformed" }),
			  __entry->kernel)
);

/* The listener took the connection: the options the cookie gave it. */
TRACE_EVENT(synguard_handoff_ok,
	TP_PROTO(const struct net *net, const struct synguard_pkt *ack,
		 const struct synguard_synopts *co),
	TP_ARGS(net, ack, co),
	SG_TP_CONN_ENTRY(
		__field(u16, mss)
		__field(s8, wscale)
		__field(bool, sack)
		__field(bool, ts)
	),
	TP_fast_assign(
		SG_TP_CONN_FROM_PKT(net, ack);
		__entry->mss = co->mss;
		/* -1: the client offered no window scaling. */
		__entry->wscale = co->wscale == SYNGUARD_WSCALE_NONE ? -1 :
								 co->wscale;
		__entry->sack = co->sack;
		__entry->ts = ack->opts.ts;
	),
	SG_TP_CONN_PRINTK(" mss=%u wscale=%d sack=%d ts=%d",
			  __entry->mss, __entry->wscale,
			  __entry->sack, __entry->ts)
);

/*
 * A valid cookie that opened no connection. @err, a negative errno, says
 * why; the event keeps it positive, the way the symbols below read it.
 */
TRACE_EVENT(synguard_handoff_fail,
	TP_PROTO(const struct net *net, const struct synguard_pkt *ack,
		 int err),
	TP_ARGS(net, ack, err),
	SG_TP_CONN_ENTRY(
		__field(int, reason)
	),
	TP_fast_assign(
		SG_TP_CONN_FROM_PKT(net, ack);
		__entry->reason = -err;
	),
	SG_TP_CONN_PRINTK(" reason=%s",
			  __print_symbolic(__entry->reason,
					   { ENOSPC, "flows_full" },
					   { EDQUOT, "flows_quota" },
					   { ENOMEM, "no_memory" },
					   { EEXIST, "duplicate" },
					   { ENETUNREACH, "no_route" },
					   { ECONNREFUSED, "no_synack" }))
);

/*
 * A flow entered a state: the ones /proc/net/synguard_flows shows, and
 * "freed" when it leaves the table. @freed: it has just been unlinked.
 */
TRACE_EVENT(synguard_flow_state,
	TP_PROTO(const struct synguard_flow *f, bool freed),
	TP_ARGS(f, freed),
	SG_TP_CONN_ENTRY(
		__field(int, state)
		__field(u32, age_ms)
	),
	TP_fast_assign(
		SG_TP_CONN_FROM_FLOW(f);
		__entry->state = freed ? SG_PHASE_FREED : synguard_flow_phase(f);
		__entry->age_ms = jiffies_to_msecs(jiffies - f->created);
	),
	SG_TP_CONN_PRINTK(" state=%s age_ms=%u",
			  __print_symbolic(__entry->state,
					   { SG_PHASE_HANDOFF, "handoff" },
					   { SG_PHASE_ESTABLISHED, "established" },
					   { SG_PHASE_FIN_CLIENT, "fin_client" },
					   { SG_PHASE_FIN_LISTENER, "fin_listener" },
					   { SG_PHASE_CLOSING, "closing" },
					   { SG_PHASE_TIME_WAIT, "time_wait" },
					   { SG_PHASE_FREED, "freed" }),
			  __entry->age_ms)
);

/*
 * Adaptive mode engaged: which trigger (the SYN rate, SYNs/s, or the SYN
 * queue of the listener on @port, % of its backlog) reached which value
 * against its high threshold.
 */
TRACE_EVENT(synguard_engage,
	TP_PROTO(const struct net *net, enum synguard_trigger trigger,
		 u32 value, u32 high, u16 port),
	TP_ARGS(net, trigger, value, high, port),
	TP_STRUCT__entry(
		__field(u32, netns)
		__field(int, trigger)
		__field(u32, value)
		__field(u32, high)
		__field(u16, port)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->trigger = trigger;
		__entry->value = value;
		__entry->high = high;
		__entry->port = port;
	),
	TP_printk("netns=%u trigger=%s value=%u high=%u port=%u",
		  __entry->netns,
		  __print_symbolic(__entry->trigger,
				   { SG_TRIGGER_RATE, "syn_rate" },
				   { SG_TRIGGER_QUEUE, "queue_fill" }),
		  __entry->value, __entry->high, __entry->port)
);

/* Adaptive mode let go: how long it was engaged, how many cookies it sent. */
TRACE_EVENT(synguard_disengage,
	TP_PROTO(const struct net *net, u32 ms, u32 cookies),
	TP_ARGS(net, ms, cookies),
	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u32, ms)
		__field(u32, cookies)
	),
	TP_fast_assign(
		__entry->netns = net->ns.inum;
		__entry->ms = ms;
		__entry->cookies = cookies;
	),
	TP_printk("netns=%u ms=%u cookies=%u", __entry->netns, __entry->ms,
		  __entry->cookies)
);

#endif /* _SYNGUARD_TRACE_H */

/*
 * Out of tree, define_trace.h must find this file again: "." relative to
 * the include path Kbuild adds for trace.c (-I module/, see Kbuild).
 */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
