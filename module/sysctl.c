// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/sys/net/synguard/: one table per network namespace, copied from a
 * template whose .data pointers are then aimed at that namespace's config.
 * Every value is bounds-checked; a rejected write returns -EINVAL and
 * changes nothing.
 */
#include <linux/capability.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/user_namespace.h>
#include "netns.h"
#include "sysctl.h"

enum {
	CTL_MODE,
	CTL_MSL,
	CTL_PORTS,
	CTL_MAX_FLOWS,
	CTL_MSS,
	CTL_WSCALE,
	CTL_SYN_RATE,
	CTL_QUEUE_FILL,
	CTL_HOLD,
	CTL_SECRET,
	CTL_CLOCK_OFFSET,
	CTL_GATEWAY,
	CTL_GW_PREFIXES,
	CTL_COUNT
};

#define SG_MSS_MIN	88		/* TCP_MIN_MSS */
#define SG_MSS_MAX	65495		/* 64 KiB IPv4 datagram minus headers */

static const int mode_max = SYNGUARD_MODE_ALWAYS;
static const int msl_min = 1, msl_max = 3600;
static const int flows_min = 1, flows_max = 1 << 24;
static const int wscale_max = SYNGUARD_WSCALE_MAX;
static const int pct_min = 1, pct_max = 100;
static const int rate_max = 100000000;
static const int hold_min = 1, hold_max = 3600;
static const int offset_min = -3600, offset_max = 3600;
static const int gateway_max = SYNGUARD_GW_RELAY;

/* Serialises writers of the port set; readers use RCU. */
static DEFINE_MUTEX(ports_mutex);

static bool in(int v, int min, int max)
{
	return v >= min && v <= max;
}

/* A threshold pair: low <= high, and a low of 0 only when high is 0 (off). */
static bool pair_ok(const int *p, int min, int max)
{
	return in(p[0], min, max) && in(p[1], min, max) && p[0] <= p[1] &&
	       (p[0] || !p[1]);
}

/* The bounds in one place: module parameters are checked against them too. */
int synguard_cfg_validate(const struct synguard_cfg *cfg)
{
	if (cfg->mode < 0 || cfg->mode > mode_max ||
	    cfg->msl < msl_min || cfg->msl > msl_max ||
	    cfg->max_flows < flows_min || cfg->max_flows > flows_max ||
	    (cfg->mss && (cfg->mss < SG_MSS_MIN || cfg->mss > SG_MSS_MAX)) ||
	    cfg->wscale < 0 || cfg->wscale > wscale_max ||
	    !pair_ok(cfg->syn_rate, 0, rate_max) ||
	    !pair_ok(cfg->queue_fill, pct_min, pct_max) ||
	    !in(cfg->hold, hold_min, hold_max) ||
	    !in(cfg->clock_offset, offset_min, offset_max) ||
	    !in(cfg->gateway, 0, gateway_max))
		return -EINVAL;
	return 0;
}

/*
 * Parse @buf (ip_local_reserved_ports syntax: "80,443,8000-8080") into a new
 * port set and publish it. @ppos != 0 continues a write, adding to the set.
 */
static int ports_write(struct synguard_net *sn, void *buf, size_t *lenp,
		       loff_t *ppos)
{
	struct synguard_ports *old, *next;
	unsigned long *map;
	struct ctl_table tmp = { .data = &map, .maxlen = SYNGUARD_PORTS };
	int err;

	next = kzalloc(sizeof(*next), GFP_KERNEL);
	if (!next)
		return -ENOMEM;
	map = next->map;
	mutex_lock(&ports_mutex);
	old = rcu_dereference_protected(sn->ports,
					lockdep_is_held(&ports_mutex));
	if (*ppos && old)
		bitmap_copy(next->map, old->map, SYNGUARD_PORTS);
	err = proc_do_large_bitmap(&tmp, 1, buf, lenp, ppos);
	if (!err && test_bit(0, next->map))
		err = -EINVAL;		/* port 0 is not a port */
	if (err) {
		mutex_unlock(&ports_mutex);
		kfree(next);
		return err;
	}
	next->all = bitmap_empty(next->map, SYNGUARD_PORTS);
	rcu_assign_pointer(sn->ports, next);
	mutex_unlock(&ports_mutex);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

int synguard_ports_set(struct synguard_net *sn, const char *list)
{
	/* A newline-terminated write, as from `sysctl -w`; "\n" alone clears. */
	char *buf = kasprintf(GFP_KERNEL, "%s\n", list ? list : "");
	size_t len;
	loff_t pos = 0;
	int err;

	if (!buf)
		return -ENOMEM;
	len = strlen(buf);
	err = ports_write(sn, buf, &len, &pos);
	kfree(buf);
	return err;
}

void synguard_ports_free(struct synguard_net *sn)
{
	kfree(rcu_dereference_protected(sn->ports, true));
}

static int proc_ports(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		      void *buffer, size_t *lenp, loff_t *ppos)
{
	struct synguard_net *sn = table->data;
	struct synguard_ports *cur;
	unsigned long *map;
	struct ctl_table tmp = { .data = &map, .maxlen = SYNGUARD_PORTS };
	int err;

	if (write)
		return ports_write(sn, buffer, lenp, ppos);
	mutex_lock(&ports_mutex);
	cur = rcu_dereference_protected(sn->ports,
					lockdep_is_held(&ports_mutex));
	map = cur->map;
	err = proc_do_large_bitmap(&tmp, 0, buffer, lenp, ppos);
	mutex_unlock(&ports_mutex);
	return err;
}

/*
 * A namespace created by an unprivileged user (one whose user namespace is
 * not the initial one: Debian lets anyone make those) must not get more
 * than the host gives: it may lower the limits that size its memory, flow
 * count and linger time, and raise them only up to the initial namespace's
 * current values. The field at the same offset of init_net's state is the
 * cap; read without a lock, as it may change at any time anyway.
 */
static int proc_limit(struct synguard_net *sn,
		      SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		      void *buffer, size_t *lenp, loff_t *ppos)
{
	int *data = table->data, val = READ_ONCE(*data), cap, err;
	struct ctl_table tmp = *table;

	tmp.data = &val;
	err = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (sn->net->user_ns != &init_user_ns) {
		cap = READ_ONCE(*(int *)((char *)synguard_pernet(&init_net) +
					 ((char *)data - (char *)sn)));
		if (val > cap && val > READ_ONCE(*data))
			return -EINVAL;
	}
	WRITE_ONCE(*data, val);
	return 0;
}

static int proc_max_flows(SYNGUARD_CTL_CONST struct ctl_table *table,
			  int write, void *buffer, size_t *lenp, loff_t *ppos)
{
	return proc_limit(container_of(table->data, struct synguard_net,
				       cfg.max_flows),
			  table, write, buffer, lenp, ppos);
}

/*
 * A new MSL takes effect at once: the next rotation is due one new MSL
 * after the current key was born (now, if that is past). A write never
 * postpones a rotation that is already due.
 */
static int proc_msl(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		    void *buffer, size_t *lenp, loff_t *ppos)
{
	struct synguard_net *sn = container_of(table->data, struct synguard_net,
					       cfg.msl);
	int err = proc_limit(sn, table, write, buffer, lenp, ppos);

	if (!err && write)
		synguard_keys_reschedule(sn);
	return err;
}

/*
 * A mode other than 0 hooks synguard into the namespace if it is not yet
 * (synguard_net_hook()); if that fails, the mode stays as it was.
 */
static int proc_mode(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		     void *buffer, size_t *lenp, loff_t *ppos)
{
	struct synguard_net *sn = container_of(table->data, struct synguard_net,
					       cfg.mode);
	int val = READ_ONCE(sn->cfg.mode), err;
	struct ctl_table tmp = *table;

	tmp.data = &val;
	err = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (val != SYNGUARD_MODE_OFF) {
		err = synguard_net_hook(sn);
		if (err)
			return err;
	}
	WRITE_ONCE(sn->cfg.mode, val);
	return 0;
}

/* 0 (automatic) or a real MSS: the range has a hole minmax cannot express. */
static int proc_mss(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		    void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tmp = *table;
	int val = READ_ONCE(*(int *)table->data), err;

	tmp.data = &val;
	err = proc_dointvec(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (val && (val < SG_MSS_MIN || val > SG_MSS_MAX))
		return -EINVAL;
	WRITE_ONCE(*(int *)table->data, val);
	return 0;
}

/*
 * "LOW HIGH", like ip_local_port_range: checked together, so both can move
 * in one write in either direction. Each within extra1..extra2.
 */
static int proc_pair(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		     void *buffer, size_t *lenp, loff_t *ppos)
{
	int *data = table->data;
	int val[2] = { READ_ONCE(data[0]), READ_ONCE(data[1]) };
	struct ctl_table tmp = *table;
	int err;

	tmp.data = val;
	err = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (!pair_ok(val, *(int *)table->extra1, *(int *)table->extra2))
		return -EINVAL;
	/* Readers may see one old and one new value for a moment: harmless. */
	WRITE_ONCE(data[0], val[0]);
	WRITE_ONCE(data[1], val[1]);
	return 0;
}

/*
 * The fleet secret is root's alone: CAP_NET_ADMIN in the initial user
 * namespace. Root of a user namespace that owns this network namespace
 * passes the file's mode (net sysctls map it to the owner) but may neither
 * read nor write: a secret shared by a fleet must not be set, probed or
 * cleared from a container.
 */
static bool fleet_admin(void)
{
	return capable(CAP_NET_ADMIN);
}

#define SECRET_UNSET	"unset"

/* Reading says "set" or "unset", never the secret. */
static int secret_read(struct synguard_net *sn, void *buffer, size_t *lenp,
		       loff_t *ppos)
{
	char state[8];
	struct ctl_table tmp = { .data = state, .maxlen = sizeof(state) };

	strscpy(state, synguard_keys_fleet(sn) ? "set" : SECRET_UNSET,
		sizeof(state));
	return proc_dostring(&tmp, 0, buffer, lenp, ppos);
}

/*
 * One write, whole: 32 hex digits (the 128-bit secret, read as two
 * little-endian words, so hosts of either byte order agree) or "unset", each with
 * an optional newline. Anything else, or a write continued at an offset,
 * is -EINVAL. Every copy of the secret on the stack is wiped.
 */
static int secret_write(struct synguard_net *sn, char *buf, size_t *lenp,
			loff_t *ppos)
{
	__le64 raw[SYNGUARD_FLEET_SECRET_LEN / sizeof(__le64)];
	siphash_key_t key;
	size_t len = *lenp;
	int err = -EINVAL;

	if (*ppos)
		return -EINVAL;
	if (len && buf[len - 1] == '\n')
		len--;
	if (len == strlen(SECRET_UNSET) && !memcmp(buf, SECRET_UNSET, len)) {
		err = synguard_keys_set_secret(sn, NULL);
	} else if (len == 2 * sizeof(raw) &&
		   !hex2bin((u8 *)raw, buf, sizeof(raw))) {
		key.key[0] = le64_to_cpu(raw[0]);
		key.key[1] = le64_to_cpu(raw[1]);
		err = synguard_keys_set_secret(sn, &key);
		memzero_explicit(&key, sizeof(key));
	}
	memzero_explicit(raw, sizeof(raw));
	if (!err)
		*ppos += *lenp;
	return err;
}

static int proc_secret(SYNGUARD_CTL_CONST struct ctl_table *table, int write,
		       void *buffer, size_t *lenp, loff_t *ppos)
{
	if (!fleet_admin())
		return -EPERM;
	if (write)
		return secret_write(table->data, buffer, lenp, ppos);
	return secret_read(table->data, buffer, lenp, ppos);
}

/*
 * A test knob: seconds added to the wall clock that fleet keys follow, so
 * that namespaces of one host, which share its clock, can play hosts whose
 * clocks differ. Root only, like the secret.
 */
static int proc_clock_offset(SYNGUARD_CTL_CONST struct ctl_table *table,
			     int write, void *buffer, size_t *lenp,
			     loff_t *ppos)
{
	struct synguard_net *sn = container_of(table->data, struct synguard_net,
					       cfg.clock_offset);
	int val = READ_ONCE(sn->cfg.clock_offset), err;
	struct ctl_table tmp = *table;

	if (write && !fleet_admin())
		return -EPERM;
	tmp.data = &val;
	err = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	return synguard_keys_set_offset(sn, val);
}

/*
 * The gateway's protected destinations: one write, whole, at offset 0 (a
 * list cut in two by a continued write would half-apply); a bad list is
 * -EINVAL and changes nothing. Reads print the list as parsed.
 */
static int proc_gw_prefixes(SYNGUARD_CTL_CONST struct ctl_table *table,
			    int write, void *buffer, size_t *lenp,
			    loff_t *ppos)
{
	struct synguard_net *sn = table->data;
	struct ctl_table tmp = { .maxlen = SYNGUARD_GW_PREFIXES_TEXT + 1 };
	char *text;
	int err;

	if (write && (*ppos || *lenp > SYNGUARD_GW_PREFIXES_TEXT))
		return -EINVAL;
	text = kzalloc(tmp.maxlen, GFP_KERNEL);
	if (!text)
		return -ENOMEM;
	tmp.data = text;
	if (write) {
		/*
		 * The whole write, newlines and all (proc_dostring() would stop
		 * at the first one and apply the list's first line only).
		 */
		memcpy(text, buffer, *lenp);
		err = synguard_gw_prefixes_set(sn, text);
		if (!err)
			*ppos += *lenp;
	} else {
		synguard_gw_prefixes_format(sn, text, tmp.maxlen);
		err = proc_dostring(&tmp, 0, buffer, lenp, ppos);
	}
	kfree(text);
	return err;
}

#define CTL_INT(_name, _handler, _min, _max)			\
	{							\
		.procname = _name,				\
		.maxlen = sizeof(int),				\
		.mode = 0644,					\
		.proc_handler = _handler,			\
		.extra1 = (void *)(_min),			\
		.extra2 = (void *)(_max),			\
	}

static const struct ctl_table ctl_template[CTL_COUNT + SYNGUARD_CTL_SENTINEL] = {
	[CTL_MODE] = CTL_INT("mode", proc_mode, SYSCTL_ZERO, &mode_max),
	[CTL_MSL] = CTL_INT("msl", proc_msl, &msl_min, &msl_max),
	[CTL_PORTS] = {
		.procname = "ports",
		.mode = 0644,
		.proc_handler = proc_ports,
	},
	[CTL_MAX_FLOWS] = CTL_INT("max_flows", proc_max_flows,
				  &flows_min, &flows_max),
	[CTL_MSS] = CTL_INT("mss", proc_mss, NULL, NULL),
	[CTL_WSCALE] = CTL_INT("wscale", proc_dointvec_minmax, SYSCTL_ZERO,
			       &wscale_max),
	[CTL_SYN_RATE] = {
		.procname = "syn_rate",
		.maxlen = 2 * sizeof(int),
		.mode = 0644,
		.proc_handler = proc_pair,
		.extra1 = SYSCTL_ZERO,
		.extra2 = (void *)&rate_max,
	},
	[CTL_QUEUE_FILL] = {
		.procname = "queue_fill",
		.maxlen = 2 * sizeof(int),
		.mode = 0644,
		.proc_handler = proc_pair,
		.extra1 = (void *)&pct_min,
		.extra2 = (void *)&pct_max,
	},
	[CTL_HOLD] = CTL_INT("hold", proc_dointvec_minmax, &hold_min, &hold_max),
	[CTL_SECRET] = {
		.procname = "secret",
		.mode = 0600,
		.proc_handler = proc_secret,
	},
	[CTL_CLOCK_OFFSET] = CTL_INT("fleet_clock_offset", proc_clock_offset,
				     &offset_min, &offset_max),
	[CTL_GATEWAY] = CTL_INT("gateway", proc_dointvec_minmax, SYSCTL_ZERO,
				&gateway_max),
	[CTL_GW_PREFIXES] = {
		.procname = "gateway_prefixes",
		.mode = 0644,
		.proc_handler = proc_gw_prefixes,
	},
};

int synguard_sysctl_init(struct synguard_net *sn)
{
	struct ctl_table *t;

	t = kmemdup(ctl_template, sizeof(ctl_template), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t[CTL_MODE].data = &sn->cfg.mode;
	t[CTL_MSL].data = &sn->cfg.msl;
	t[CTL_PORTS].data = sn;
	t[CTL_MAX_FLOWS].data = &sn->cfg.max_flows;
	t[CTL_MSS].data = &sn->cfg.mss;
	t[CTL_WSCALE].data = &sn->cfg.wscale;
	t[CTL_SYN_RATE].data = sn->cfg.syn_rate;
	t[CTL_QUEUE_FILL].data = sn->cfg.queue_fill;
	t[CTL_HOLD].data = &sn->cfg.hold;
	t[CTL_SECRET].data = sn;
	t[CTL_CLOCK_OFFSET].data = &sn->cfg.clock_offset;
	t[CTL_GATEWAY].data = &sn->cfg.gateway;
	t[CTL_GW_PREFIXES].data = sn;

	sn->sysctl_hdr = synguard_register_net_sysctl(sn->net, "net/synguard",
						      t, CTL_COUNT);
	if (!sn->sysctl_hdr) {
		kfree(t);
		return -ENOMEM;
	}
	sn->sysctl_table = t;
	return 0;
}

void synguard_sysctl_exit(struct synguard_net *sn)
{
	unregister_net_sysctl_table(sn->sysctl_hdr);
	kfree(sn->sysctl_table);
}
