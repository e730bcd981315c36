// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace state: configuration, cookie secrets and their rotation,
 * counters, flows, sysctls and hooks, set up and torn down in one order.
 */
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/netns/generic.h>
#include "engage.h"
#include "flow.h"
#include "hooks.h"
#include "netns.h"
#include "stats.h"
#include "sysctl.h"

unsigned int synguard_net_id __read_mostly;

static void keys_random(struct synguard_keys *keys)
{
	get_random_bytes(&keys->cur, sizeof(keys->cur));
	get_random_bytes(&keys->prev, sizeof(keys->prev));
	get_random_bytes(&keys->old, sizeof(keys->old));
}

static struct synguard_keyset *keyset_alloc(void)
{
	struct synguard_keyset *ks = kzalloc(sizeof(*ks), GFP_KERNEL);

	if (ks) {
		ks->born = jiffies;
		keys_random(&ks->keys);
	}
	return ks;
}

/* Secrets are wiped, not just freed. Module exit waits with rcu_barrier(). */
static void keyset_free_rcu(struct rcu_head *head)
{
	kfree_sensitive(container_of(head, struct synguard_keyset, rcu));
}

/*
 * Serialises the writers of sn->keyset and of the fleet secret: the
 * rotation work, and sysctl writes of msl, secret and fleet_clock_offset.
 * Without it an msl write could read the birth of the set being replaced
 * and re-arm the work for "now" just after the rotation: one rotation too
 * many, and cookies of the previous key expiring early. Softirq readers
 * take no lock: they see the old or the new set, whole, under RCU.
 */
static DEFINE_MUTEX(rotate_mutex);

/* Jiffies until the next epoch of the fleet clock @c begins, rounded up. */
static unsigned long fleet_delay(const struct synguard_fleet_clock *c)
{
	u64 ns = synguard_fleet_ns_to_next(c, ktime_get_real_ns());

	return nsecs_to_jiffies(ns) + 1;
}

/*
 * The rotation is due one MSL after the current key was born, or at once
 * if that is past. Re-arming from "now" instead would let periodic msl
 * writes postpone the rotation forever. Fleet keys rotate when the epoch
 * of the wall clock ends, and at once if msl changed since they were
 * derived (their epochs are no longer the fleet's). A jiffy late rather
 * than early; a run that is early anyway finds the same epoch and re-arms.
 * Process context, rotate_mutex held.
 */
static void keys_schedule(struct synguard_net *sn)
{
	const struct synguard_keyset *ks;
	unsigned long now = jiffies, due, delay = 0;
	int msl = READ_ONCE(sn->cfg.msl);

	ks = rcu_dereference_protected(sn->keyset,
				       lockdep_is_held(&rotate_mutex));
	if (ks->fleet) {
		if (ks->clock.msl == msl)
			delay = fleet_delay(&ks->clock);
	} else {
		due = ks->born + msl * HZ;
		if (time_after(due, now))
			delay = due - now;
	}
	mod_delayed_work(system_wq, &sn->rotate_work, delay);
}

/* The fleet's keys for this epoch and the next. rotate_mutex held. */
static void keys_fleet(struct synguard_net *sn, struct synguard_keyset *ks)
{
	u32 epoch;

	synguard_fleet_clock_init(&ks->clock, READ_ONCE(sn->cfg.msl),
				  READ_ONCE(sn->cfg.clock_offset));
	epoch = synguard_fleet_epoch(&ks->clock, ktime_get_real_seconds());
	synguard_fleet_derive(&sn->fleet_secret, &ks->clock, epoch, &ks->keys);
	synguard_fleet_derive(&sn->fleet_secret, &ks->clock, epoch + 1,
			      &ks->ahead);
	ks->fleet = true;
}

/*
 * A rotation without memory leaves the current key in use past its MSL
 * (cookies of the previous key still expire on time, in the hooks): worth
 * a line at the first failure and one at the recovery, not one a retry.
 * Only the rotation work touches rotate_fails.
 */
static void keys_rotate_failed(struct synguard_net *sn)
{
	if (!sn->rotate_fails++)
		pr_warn_ratelimited("synguard: netns %u: no memory for new cookie keys: the current key stays in use, retried every second.\n",
				    sn->net->ns.inum);
}

static void keys_rotate_recovered(struct synguard_net *sn)
{
	if (sn->rotate_fails)
		pr_info_ratelimited("synguard: netns %u: cookie keys rotated after %d attempts without memory.\n",
				    sn->net->ns.inum, sn->rotate_fails);
	sn->rotate_fails = 0;
}

/*
 * Make and publish the next key set: the fleet's if a secret is set, else
 * a fresh random key as current. Keys derived from a secret that was just
 * cleared are not kept as previous ones: the new set is random throughout.
 * Process context, rotate_mutex held.
 */
static int keys_publish(struct synguard_net *sn)
{
	struct synguard_keyset *old, *next;
	siphash_key_t fresh;

	next = kzalloc(sizeof(*next), GFP_KERNEL);
	if (!next)
		return -ENOMEM;
	old = rcu_dereference_protected(sn->keyset,
					lockdep_is_held(&rotate_mutex));
	next->born = jiffies;
	if (sn->fleet_set) {
		keys_fleet(sn, next);
	} else if (old->fleet) {
		keys_random(&next->keys);
	} else {
		get_random_bytes(&fresh, sizeof(fresh));
		synguard_keys_next(&next->keys, &old->keys, &fresh);
		memzero_explicit(&fresh, sizeof(fresh));
	}
	rcu_assign_pointer(sn->keyset, next);
	keys_schedule(sn);
	call_rcu(&old->rcu, keyset_free_rcu);
	return 0;
}

/*
 * Every MSL (or epoch) a new key becomes current. Writers of sn->keyset
 * hold rotate_mutex; workqueue items never run concurrently with
 * themselves.
 */
static void keys_rotate(struct work_struct *work)
{
	struct synguard_net *sn = container_of(to_delayed_work(work),
					       struct synguard_net,
					       rotate_work);

	mutex_lock(&rotate_mutex);
	if (keys_publish(sn)) {
		keys_rotate_failed(sn);
		/* Old keys meanwhile: the hooks expire them by age anyway. */
		mod_delayed_work(system_wq, &sn->rotate_work, HZ);
	} else {
		keys_rotate_recovered(sn);
	}
	mutex_unlock(&rotate_mutex);
}

void synguard_keys_reschedule(struct synguard_net *sn)
{
	mutex_lock(&rotate_mutex);
	keys_schedule(sn);
	mutex_unlock(&rotate_mutex);
}

/*
 * Set (@secret) or clear (NULL) the fleet secret. The keys change at once:
 * cookies made with the keys before no longer validate. The old secret is
 * wiped; the caller wipes its copy of the new one.
 */
int synguard_keys_set_secret(struct synguard_net *sn,
			     const siphash_key_t *secret)
{
	siphash_key_t saved;
	bool was_set;
	int err;

	mutex_lock(&rotate_mutex);
	saved = sn->fleet_secret;
	was_set = sn->fleet_set;
	if (secret)
		sn->fleet_secret = *secret;
	else
		memzero_explicit(&sn->fleet_secret, sizeof(sn->fleet_secret));
	sn->fleet_set = !!secret;
	err = keys_publish(sn);
	if (err) {
		/* Nothing changes on failure. */
		sn->fleet_secret = saved;
		sn->fleet_set = was_set;
	}
	mutex_unlock(&rotate_mutex);
	memzero_explicit(&saved, sizeof(saved));
	return err;
}

/* The fleet clock's test offset; fleet keys are derived again at once. */
int synguard_keys_set_offset(struct synguard_net *sn, int offset)
{
	int err = 0;

	mutex_lock(&rotate_mutex);
	WRITE_ONCE(sn->cfg.clock_offset, offset);
	if (sn->fleet_set)
		err = keys_publish(sn);
	mutex_unlock(&rotate_mutex);
	return err;
}

bool synguard_keys_fleet(struct synguard_net *sn)
{
	bool set;

	mutex_lock(&rotate_mutex);
	set = sn->fleet_set;
	mutex_unlock(&rotate_mutex);
	return set;
}

/* Serialises hooking namespaces in: writers of `mode` may race. */
static DEFINE_MUTEX(hook_mutex);

/*
 * Hook synguard into @sn's namespace (whose PRE_ROUTING hook also
 * reassembles its fragments, defrag.c), from the first time its mode is not
 * 0 (at creation, if the default mode is not 0, or when `mode` is first set
 * so) until the namespace goes. One that never turns synguard on pays
 * nothing for it: no hook, no reassembly of its fragments. The hooks stay
 * when the mode goes back to 0, where flows opened before are relayed to
 * their end and ACKs with our cookies are taken for 2 MSL. Process context.
 */
int synguard_net_hook(struct synguard_net *sn)
{
	int err = 0;

	mutex_lock(&hook_mutex);
	if (sn->hooked)
		goto out;
	err = synguard_hooks_register(sn);
	if (err)
		goto out;
	sn->hooked = true;
out:
	mutex_unlock(&hook_mutex);
	return err;
}

/*
 * Undo synguard_net_hook(), if it was done: at namespace exit, or when its
 * creation fails. No `mode` write runs any more (the sysctl table is gone
 * or was never there), so sn->hooked is stable without hook_mutex.
 */
static void net_unhook(struct synguard_net *sn)
{
	if (!sn->hooked)
		return;
	synguard_hooks_unregister(sn);
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
	if (!rcu_access_pointer(sn->keyset)) {
		pr_warn_ratelimited("synguard: netns %u: no memory for cookie keys.\n",
				    net->ns.inum);
		return -ENOMEM;
	}
	err = synguard_ports_set(sn, synguard_default_ports);
	if (err)
		goto free_keys;
	err = synguard_gw_prefixes_set(sn, synguard_default_gw_prefixes);
	if (err)
		goto free_ports;
	err = synguard_gw_cache_init(sn);
	if (err)
		goto free_prefixes;
	err = synguard_stats_init(sn);
	if (err)
		goto free_cache;
	err = synguard_flows_init(sn);
	if (err)
		goto free_stats;
	if (sn->cfg.mode != SYNGUARD_MODE_OFF) {
		err = synguard_net_hook(sn);
		if (err)
			goto free_flows;
	}
	err = synguard_sysctl_init(sn);
	if (err)
		goto unhook;
	synguard_keys_reschedule(sn);
	return 0;

unhook:
	net_unhook(sn);
free_flows:
	synguard_flows_exit(sn);
free_stats:
	synguard_stats_exit(sn);
free_cache:
	synguard_gw_cache_exit(sn);
free_prefixes:
	synguard_gw_prefixes_free(sn);
free_ports:
	synguard_ports_free(sn);
free_keys:
	kfree_sensitive(rcu_access_pointer(sn->keyset));
	return err;
}

static void __net_exit synguard_net_exit(struct net *net)
{
	struct synguard_net *sn = synguard_pernet(net);

	/*
	 * No sysctl write can hook the namespace in (synguard_net_hook()) or
	 * re-arm the rotation past this point.
	 */
	synguard_sysctl_exit(sn);
	net_unhook(sn);
	cancel_delayed_work_sync(&sn->rotate_work);
	/* Hooks still running on other CPUs use flows, keys and counters. */
	synchronize_net();
	synguard_engage_exit(sn);
	synguard_flows_exit(sn);
	synguard_stats_exit(sn);
	synguard_gw_cache_exit(sn);
	synguard_gw_prefixes_free(sn);
	synguard_ports_free(sn);
	kfree_sensitive(rcu_access_pointer(sn->keyset));
	memzero_explicit(&sn->fleet_secret, sizeof(sn->fleet_secret));
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
