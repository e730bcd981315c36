/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels synguard builds for (Debian's 6.1 and
 * 6.12 LTS) lives here, force-included into every file by Kbuild and keyed
 * on the feature, not on a version number.
 */
#ifndef _SYNGUARD_COMPAT_H
#define _SYNGUARD_COMPAT_H

#include <linux/sysctl.h>
#include <net/net_namespace.h>

/*
 * 6.11 made proc handlers take a const ctl_table. Kbuild greps the kernel's
 * proc_handler typedef and defines SYNGUARD_HAVE_CONST_CTL_TABLE.
 */
#ifdef SYNGUARD_HAVE_CONST_CTL_TABLE
#define SYNGUARD_CTL_CONST const
#else
#define SYNGUARD_CTL_CONST
#endif

/*
 * 6.6 sized sysctl tables: register_net_sysctl() became a macro around
 * register_net_sysctl_sz() and tables lost their empty terminating entry.
 */
#ifdef register_net_sysctl
#define SYNGUARD_CTL_SENTINEL	0
#define synguard_register_net_sysctl register_net_sysctl_sz
#else
#define SYNGUARD_CTL_SENTINEL	1
static inline struct ctl_table_header *
synguard_register_net_sysctl(struct net *net, const char *path,
			     struct ctl_table *table, size_t n)
{
	return register_net_sysctl(net, path, table);
}
#endif

#endif /* _SYNGUARD_COMPAT_H */
