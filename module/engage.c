// SPDX-License-Identifier: GPL-2.0
/*
 * Adaptive mode (mode 1): when SYNs are answered with cookies.
 *
 * Two triggers, each with a low and a high threshold:
 *  - the namespace's SYN rate: SYNs to local addresses per second, sampled
 *    at most every RATE_SAMPLE from the per-CPU syn_seen counters by the CPU
 *    that first sees a SYN once a sample is due (no timer, so an idle
 *    namespace costs nothing);
 *  - the fill of the SYN queue of the listener a SYN is for, in percent of
 *    its backlog, looked at for every SYN.
 * Protection engages when either trigger reaches its high threshold. While
 * engaged, a look at or above a low threshold re-arms the hold time; it
 * disengages `hold` seconds after the last such look. Between low and high
 * nothing changes: that gap is the hysteresis that keeps a flood hovering
 * near one threshold from switching protection on and off.
 *
 * Once synguard answers a flood, the listener's SYN queue empties, so the
 * queue trigger alone lets go after the hold time and catches the flood
 * again when the queue refills; the rate trigger, which counts SYNs whoever
 * answers them, keeps protection engaged for as long as the flood lasts.
 */
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <net/inet_connection_sock.h>
#include "engage.h"
#include "stats.h"
#include "trace.h"

#define RATE_SAMPLE	(HZ / 10)

static void episode_watch(struct work_struct *work);

void synguard_engage_init(struct synguard_net *sn)
{
	struct synguard_adaptive *a = &sn->adaptive;

	spin_lock_init(&a->lock);
	a->stamp = jiffies;
	a->until = jiffies;
	spin_lock_init(&sn->episode.lock);
	INIT_DELAYED_WORK(&sn->episode.end_work, episode_watch);
}

/* After the hooks are gone and synchronize_net(): nothing re-arms it. */
void synguard_engage_exit(struct synguard_net *sn)
{
	cancel_delayed_work_sync(&sn->episode.end_work);
}

/* SYNs per second between two syn_seen sums @elapsed jiffies apart. */
static u32 rate_between(u32 then, u32 now_seen, unsigned long elapsed)
{
	/* u32 counters wrap; their difference stays right. */
	return div64_ul((u64)(now_seen - then) * HZ, elapsed);
}

/*
 * Take a rate sample if one is due, and return the rate (SYNs/s) of the
 * last one. Softirq only; the trylock elects one sampling CPU, the others
 * use the previous sample.
 */
static u32 syn_rate(struct synguard_net *sn, unsigned long now)
{
	struct synguard_adaptive *a = &sn->adaptive;
	unsigned long elapsed;
	u32 seen;

	if (time_before(now, READ_ONCE(a->stamp) + RATE_SAMPLE) ||
	    !spin_trylock(&a->lock))
		return READ_ONCE(a->rate);
	/* Another CPU may have sampled since we looked: now is older then. */
	elapsed = now - a->stamp;
	if (time_after_eq(now, a->stamp + RATE_SAMPLE)) {
		seen = synguard_stat_sum(sn, SG_SYN_SEEN);
		WRITE_ONCE(a->rate, rate_between(a->seen, seen, elapsed));
		WRITE_ONCE(a->seen, seen);
		WRITE_ONCE(a->stamp, now);
	}
	spin_unlock(&a->lock);
	return READ_ONCE(a->rate);
}

/*
 * The rate for operators (/proc/net/stat/synguard): the last sample, or,
 * when no SYN came to take one for a while, the rate since that sample.
 */
u32 synguard_engage_rate(struct synguard_net *sn)
{
	const struct synguard_adaptive *a = &sn->adaptive;
	unsigned long stamp = READ_ONCE(a->stamp);
	unsigned long elapsed = jiffies - stamp;

	if (elapsed < 2 * RATE_SAMPLE)
		return READ_ONCE(a->rate);
	return rate_between(READ_ONCE(a->seen),
			    synguard_stat_sum(sn, SG_SYN_SEEN), elapsed);
}

/*
 * Is the listener's SYN queue at least @pct percent of its backlog? A SYN
 * forwarded by a gateway has no listener here (@lsk NULL): only the rate
 * trigger serves there.
 */
static bool queue_at(const struct sock *lsk, int pct)
{
	u64 qlen;

	if (!lsk)
		return false;
	qlen = inet_csk_reqsk_queue_len(lsk);

	return qlen * 100 >= (u64)READ_ONCE(lsk->sk_max_ack_backlog) * pct;
}

/* Which threshold does this SYN reach: 2 high, 1 low, 0 neither. */
static int level(struct synguard_net *sn, const struct sock *lsk,
		 unsigned long now)
{
	const struct synguard_cfg *cfg = &sn->cfg;
	int rate_high = READ_ONCE(cfg->syn_rate[1]);
	u32 rate = syn_rate(sn, now);

	if ((rate_high && rate >= rate_high) ||
	    queue_at(lsk, READ_ONCE(cfg->queue_fill[1])))
		return 2;
	if ((rate_high && rate >= READ_ONCE(cfg->syn_rate[0])) ||
	    queue_at(lsk, READ_ONCE(cfg->queue_fill[0])))
		return 1;
	return 0;
}

/* ---- episodes: the kernel log and the tracepoints ---------------------- */

/*
 * One line per switch, never per SYN: a switch needs a hold time (at least
 * a second) after the last, and the printk ratelimit (per line, shared by
 * every namespace) bounds what many namespaces switching together can log.
 */

/* The episode ended at @end (jiffies). ep->lock held. */
static void episode_end(struct synguard_net *sn, unsigned long end)
{
	struct synguard_episode *ep = &sn->episode;
	u32 ms = jiffies_to_msecs(end - ep->start);
	u32 cookies = synguard_stat_sum(sn, SG_COOKIE_SENT) - ep->cookies;

	ep->open = false;
	pr_info_ratelimited("synguard: netns %u: disengaged after %u.%03u s: %u cookies sent.\n",
			    sn->net->ns.inum, ms / 1000, ms % 1000, cookies);
	trace_synguard_disengage(sn->net, ms, cookies);
}

/*
 * Say which trigger engaged us for a SYN to @port (of listener @lsk, or
 * NULL if forwarded): level() saw one high.
 */
static void episode_say(struct synguard_net *sn, const struct sock *lsk,
			u16 port)
{
	const struct synguard_cfg *cfg = &sn->cfg;
	int rate_high = READ_ONCE(cfg->syn_rate[1]);
	u32 rate = READ_ONCE(sn->adaptive.rate);
	u32 qlen, backlog, pct;

	if (!lsk || (rate_high && rate >= rate_high)) {
		pr_info_ratelimited("synguard: netns %u: engaged by SYN rate %u/s (high %d) on port %u. Sending cookies.\n",
				    sn->net->ns.inum, rate, rate_high, port);
		trace_synguard_engage(sn->net, SG_TRIGGER_RATE, rate,
				      rate_high, port);
		return;
	}
	qlen = inet_csk_reqsk_queue_len(lsk);
	backlog = READ_ONCE(lsk->sk_max_ack_backlog);
	pct = backlog ? div_u64((u64)qlen * 100, backlog) : 100;
	pr_info_ratelimited("synguard: netns %u: engaged by SYN queue of port %u: %u of %u (%u%%, high %d%%). Sending cookies.\n",
			    sn->net->ns.inum, port, qlen, backlog, pct,
			    READ_ONCE(cfg->queue_fill[1]));
	trace_synguard_engage(sn->net, SG_TRIGGER_QUEUE, pct,
			      READ_ONCE(cfg->queue_fill[1]), port);
}

/*
 * Adaptive mode just engaged, for the SYN to @port; @prev_until is
 * when the episode before ended. Its end work may not have run yet (a busy
 * system): then it is ended here, so every episode gets its two lines, in
 * order. Once per episode, by the one CPU that switched it on.
 */
static void episode_begin(struct synguard_net *sn, const struct sock *lsk,
			  u16 port, unsigned long now,
			  unsigned long prev_until)
{
	struct synguard_episode *ep = &sn->episode;

	/* _bh: after an NFQUEUE verdict, hooks run in process context. */
	spin_lock_bh(&ep->lock);
	if (ep->open)
		episode_end(sn, prev_until);
	ep->open = true;
	ep->start = now;
	ep->cookies = synguard_stat_sum(sn, SG_COOKIE_SENT);
	episode_say(sn, lsk, port);
	spin_unlock_bh(&ep->lock);
	schedule_delayed_work(&ep->end_work,
			      READ_ONCE(sn->adaptive.until) - now);
}

/*
 * The hold time should be over: end the episode, or wait for the new end
 * if SYNs above a low threshold moved it meanwhile.
 */
static void episode_watch(struct work_struct *work)
{
	struct synguard_net *sn = container_of(to_delayed_work(work),
					       struct synguard_net,
					       episode.end_work);
	struct synguard_episode *ep = &sn->episode;
	unsigned long until, now = jiffies;

	spin_lock_bh(&ep->lock);
	until = READ_ONCE(sn->adaptive.until);
	if (ep->open && !time_before(now, until))
		episode_end(sn, until);
	else if (ep->open)
		schedule_delayed_work(&ep->end_work, until - now);
	spin_unlock_bh(&ep->lock);
}

/* ---- engaging ---------------------------------------------------------- */

/*
 * (Re-)arm the hold time. Under a flood every SYN gets here: write the
 * shared line only when that moves the end by more than a sample, and count
 * the switch on once, however many CPUs race to it.
 */
static void arm(struct synguard_net *sn, const struct sock *lsk, u16 port,
		unsigned long now, unsigned long until, bool engaged)
{
	unsigned long next = now + READ_ONCE(sn->cfg.hold) * HZ;

	if (engaged && time_before(next, until + RATE_SAMPLE))
		return;
	if (cmpxchg(&sn->adaptive.until, until, next) == until && !engaged) {
		synguard_stat_inc(sn, SG_ENGAGE_ON);
		episode_begin(sn, lsk, port, now, until);
	}
}

/*
 * Answer this SYN to @port (for listener @lsk; NULL for a SYN a gateway
 * forwards) with a cookie? Softirq, lockless.
 */
bool synguard_engage(struct synguard_net *sn, const struct sock *lsk,
		     u16 port)
{
	unsigned long now = jiffies, until = READ_ONCE(sn->adaptive.until);
	bool engaged = time_before(now, until);
	int lvl;

	if (READ_ONCE(sn->cfg.mode) == SYNGUARD_MODE_ALWAYS) {
		/* Keep the syn_rate gauge live in every mode. */
		syn_rate(sn, now);
		return true;
	}
	lvl = level(sn, lsk, now);
	if (lvl == 2 || (lvl == 1 && engaged)) {
		arm(sn, lsk, port, now, until, engaged);
		return true;
	}
	return engaged;
}
