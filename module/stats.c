// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/stat/synguard: a header row, then one row of hex fields per
 * possible CPU, the format lnstat reads. lnstat sums the rows, so the
 * gauges (flows, engaged, syn_rate) are printed in the first CPU's row only
 * and are zero in the others.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include "engage.h"
#include "netns.h"
#include "stats.h"

static const char * const stat_names[SG_STAT_MAX] = {
	[SG_SYN_SEEN] = "syn_seen",
	[SG_COOKIE_SENT] = "cookie_sent",
	[SG_COOKIE_VALID] = "cookie_valid",
	[SG_COOKIE_BAD_MAC] = "cookie_bad_mac",
	[SG_COOKIE_EXPIRED] = "cookie_expired",
	[SG_MALFORMED] = "malformed",
	[SG_HANDOFF_OK] = "handoff_ok",
	[SG_HANDOFF_FAIL] = "handoff_fail",
	[SG_FLOWS_FULL] = "flows_full",
	[SG_FLOWS_QUOTA] = "flows_quota",
	[SG_PASS_NO_LISTENER] = "pass_no_listener",
	[SG_PASS_PORT] = "pass_port",
	[SG_PASS_OFF] = "pass_off",
	[SG_PASS_AUTH] = "pass_auth",
	[SG_PASS_SOCKET] = "pass_socket",
	[SG_RELAY_IN] = "relay_in",
	[SG_RELAY_OUT] = "relay_out",
	[SG_SEND_FAIL] = "send_fail",
	[SG_FLOWS_EXPIRED] = "flows_expired",
	[SG_GC_REAPED] = "gc_reaped",
	[SG_ENGAGE_ON] = "engage_on",
	[SG_ICMP_XLATE] = "icmp_xlate",
	[SG_PASS_NO_SECRET] = "pass_no_secret",
	[SG_HANDOFF_RESENT] = "handoff_resent",
	[SG_SYN_EARLY] = "syn_early",
	[SG_HANDOFF_DEFERRED] = "handoff_deferred",
};

/*
 * Position 0 is the header (SEQ_START_TOKEN, which is 1), position cpu + 1
 * the row of that CPU, whose cookie is cpu + 2 so it never equals the token.
 */
static void *stats_seq_start(struct seq_file *seq, loff_t *pos)
{
	int cpu;

	if (*pos == 0)
		return SEQ_START_TOKEN;
	for (cpu = *pos - 1; cpu < nr_cpu_ids; cpu++) {
		if (!cpu_possible(cpu))
			continue;
		*pos = cpu + 1;
		return (void *)(unsigned long)(cpu + 2);
	}
	return NULL;
}

static void *stats_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	(*pos)++;
	return stats_seq_start(seq, pos);
}

static void stats_seq_stop(struct seq_file *seq, void *v)
{
}

static int stats_seq_show(struct seq_file *seq, void *v)
{
	struct synguard_net *sn = synguard_pernet(seq_file_net(seq));
	const struct synguard_stats *st;
	int cpu, i;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "flows engaged syn_rate");
		for (i = 0; i < SG_STAT_MAX; i++)
			seq_printf(seq, " %s", stat_names[i]);
		seq_putc(seq, '\n');
		return 0;
	}
	cpu = (unsigned long)v - 2;
	st = per_cpu_ptr(sn->stats, cpu);
	if (cpu == cpumask_first(cpu_possible_mask))
		seq_printf(seq, "%08x %08x %08x", atomic_read(&sn->nr_flows),
			   synguard_engaged(sn), synguard_engage_rate(sn));
	else
		seq_puts(seq, "00000000 00000000 00000000");
	for (i = 0; i < SG_STAT_MAX; i++)
		seq_printf(seq, " %08x", READ_ONCE(st->cnt[i]));
	seq_putc(seq, '\n');
	return 0;
}

static const struct seq_operations stats_seq_ops = {
	.start = stats_seq_start,
	.next = stats_seq_next,
	.stop = stats_seq_stop,
	.show = stats_seq_show,
};

/* A counter summed over CPUs; it wraps as the per-CPU ones do. */
u32 synguard_stat_sum(struct synguard_net *sn, enum synguard_stat s)
{
	u32 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(sn->stats, cpu)->cnt[s]);
	return sum;
}

int synguard_stats_init(struct synguard_net *sn)
{
	sn->stats = alloc_percpu(struct synguard_stats);
	if (!sn->stats)
		return -ENOMEM;
	if (!proc_create_net("synguard", 0444, sn->net->proc_net_stat,
			     &stats_seq_ops, sizeof(struct seq_net_private))) {
		free_percpu(sn->stats);
		return -ENOMEM;
	}
	return 0;
}

void synguard_stats_exit(struct synguard_net *sn)
{
	remove_proc_entry("synguard", sn->net->proc_net_stat);
	free_percpu(sn->stats);
}
