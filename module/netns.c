// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace state: configuration, cookie secrets and their rotation,
 * counters, flows, sysctls and hooks, set up and torn down in one order.
 */
#include <linux/random.h>
#include <linux/slab.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/netns/generic.h>
#include "engage.h"
#include "flow.h"
#include "hooks.h"
#include "netns.h"
#include "stats.h"
#include "sysctl.h"

unsigned int synguard_net_id __read_mostly;

static struct synguard_keyset *keyset_alloc(void)
{
	struct synguard_keyset *ks = kzalloc(sizeof(*ks), GFP_KERNEL);

	if (ks) {
		ks->born = jiffies;
		get_random_bytes(&ks->keys.cur, sizeof(ks->keys.cur));
		get_random_bytes(&ks->keys.prev, sizeof(ks->keys.prev));
		get_random_bytes(&ks->keys.old, sizeof(ks->keys.old));
	}
	return ks;
}

/* Secrets are wiped, not just freed. Module exit waits with rcu_barrier(). */
static void keyset_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct synguard_keyset, rcu));
}

/*
 * Serialises the rotation's schedule: keys_rotate() publishing a new key
 * set and re-arming, against an msl write re-arming from the current set's
 * birth. Without it a write could read the birth of the set being replaced
 * and re-arm the work for "now" just after the rotation: one rotation too
 * many, and cookies of the previous key expiring early.
 */
static DEFINE_MUTEX(rotate_mutex);

/*
 * The rotation is due one MSL after the current key was born, or at once
 * if that is past. Re-arming from "now" instead would let periodic msl
 * writes postpone the rotation forever. Process context, rotate_mutex held.
 */
static void keys_schedule(struct synguard_net *sn)
{
	const struct synguard_keyset *ks;
	unsigned long now = jiffies, due, delay = 0;

	ks = rcu_dereference_protected(sn->keyset,
				       lockdep_is_held(&rotate_mutex));
	due = ks->born + READ_ONCE(sn->cfg.msl) * HZ;
	if (time_after(due, now))
		delay = due - now;
	mod_delayed_work(system_wq, &sn->rotate_work, delay);
}

/*
 * Every MSL a fresh key becomes current. The work item is the only writer
 * of sn->keyset (workqueue items never run concurrently with themselves);
 * softirq readers see either the old or the new set, whole.
 */
static void keys_rotate(struct work_struct *work)
{
	struct synguard_net *sn = container_of(to_delayed_work(work),
					       struct synguard_net,
					       rotate_work);
	struct synguard_keyset *old, *next;
	siphash_key_t fresh;

	next = kzalloc(sizeof(*next), GFP_KERNEL);
	if (!next) {
		/* Old keys meanwhile: the hooks expire them by age anyway. */
		mod_delayed_work(system_wq, &sn->rotate_work, HZ);
		return;
	}
	mutex_lock(&rotate_mutex);
	old = rcu_dereference_protected(sn->keyset,
					lockdep_is_held(&rotate_mutex));
	get_random_bytes(&fresh, sizeof(fresh));
	synguard_keys_next(&next->keys, &old->keys, &fresh);
	next->born = jiffies;
	memzero_explicit(&fresh, sizeof(fresh));
	rcu_assign_pointer(sn->keyset, next);
	keys_schedule(sn);
	mutex_unlock(&rotate_mutex);
	call_rcu(&old->rcu, keyset_free_rcu);
}

void synguard_keys_reschedule(struct synguard_net *sn)
{
	mutex_lock(&rotate_mutex);
	keys_schedule(sn);
	mutex_unlock(&rotate_mutex);
}

/*
 * synguard must see whole packets: a SYN or a relayed segment sent in
 * fragments would otherwise pass PRE_ROUTING in pieces and be reassembled
 * only at local delivery, behind our back. Conntrack would reassemble first
 * (its defrag hook runs at NF_IP_PRI_CONNTRACK_DEFRAG, before ours), but it
 * need not be loaded: ask for the same defragmentation ourselves. Both
 * calls count their users per namespace, so conntrack's own use is
 * unaffected.
 */
static int defrag_enable(struct net *net)
{
	int err = nf_defrag_ipv4_enable(net);

	if (err)
		return err;
	err = nf_defrag_ipv6_enable(net);
	if (err)
		nf_defrag_ipv4_disable(net);
	return err;
}

static void defrag_disable(struct net *net)
{
	nf_defrag_ipv6_disable(net);
	nf_defrag_ipv4_disable(net);
}

static int __net_init synguard_net_init(struct net *net)
{
	struct synguard_net *sn = synguard_pernet(net);
	int err;

	sn->net = net;
	sn->cfg = synguard_defaults;
	sn->cookies_until = jiffies;
	synguard_engage_init(sn);
	INIT_DELAYED_WORK(&sn->rotate_work, keys_rotate);
	RCU_INIT_POINTER(sn->keyset, keyset_alloc());
	if (!rcu_access_pointer(sn->keyset))
		return -ENOMEM;
	err = synguard_ports_set(sn, synguard_default_ports);
	if (err)
		goto free_keys;
	err = synguard_stats_init(sn);
	if (err)
		goto free_ports;
	err = synguard_flows_init(sn);
	if (err)
		goto free_stats;
	err = synguard_sysctl_init(sn);
	if (err)
		goto free_flows;
	/* Defragmentation first: no packet reaches our hooks in pieces. */
	err = defrag_enable(net);
	if (err)
		goto free_sysctl;
	err = synguard_hooks_register(sn);
	if (err)
		goto no_defrag;
	synguard_keys_reschedule(sn);
	return 0;

no_defrag:
	defrag_disable(net);
free_sysctl:
	synguard_sysctl_exit(sn);
free_flows:
	synguard_flows_exit(sn);
free_stats:
	synguard_stats_exit(sn);
free_ports:
	synguard_ports_free(sn);
free_keys:
	kfree_sensitive(rcu_access_pointer(sn->keyset));
	return err;
}

static void __net_exit synguard_net_exit(struct net *net)
{
	struct synguard_net *sn = synguard_pernet(net);

	synguard_hooks_unregister(sn);
	defrag_disable(net);
	/* No sysctl write can re-arm the rotation past this point. */
	synguard_sysctl_exit(sn);
	cancel_delayed_work_sync(&sn->rotate_work);
	/* Hooks still running on other CPUs use flows, keys and counters. */
	synchronize_net();
	synguard_flows_exit(sn);
	synguard_stats_exit(sn);
	synguard_ports_free(sn);
	kfree_sensitive(rcu_access_pointer(sn->keyset));
}

static struct pernet_operations synguard_net_ops = {
	.init = synguard_net_init,
	.exit = synguard_net_exit,
	.id = &synguard_net_id,
	.size = sizeof(struct synguard_net),
};

int synguard_netns_register(void)
{
	return register_pernet_subsys(&synguard_net_ops);
}

void synguard_netns_unregister(void)
{
	unregister_pernet_subsys(&synguard_net_ops);
}
