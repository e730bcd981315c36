/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels synguard builds for (Debian's 6.1 and
 * 6.12 LTS) lives here, force-included into every file by Kbuild. Nothing
 * outside this file tests a kernel version.
 */
#ifndef _SYNGUARD_COMPAT_H
#define _SYNGUARD_COMPAT_H

#include <linux/version.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>

/* 6.11 (commit 78eb4ea25cd5) made proc handlers take a const ctl_table. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
#define SYNGUARD_CTL_CONST const
#else
#define SYNGUARD_CTL_CONST
#endif

/*
 * 6.6 sized sysctl tables (register_net_sysctl_sz) and dropped the empty
 * terminating entry; older kernels still need it.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define SYNGUARD_CTL_SENTINEL	0
#define synguard_register_net_sysctl(net, path, table, n) \
	register_net_sysctl_sz(net, path, table, n)
#else
#define SYNGUARD_CTL_SENTINEL	1
#define synguard_register_net_sysctl(net, path, table, n) \
	register_net_sysctl(net, path, table)
#endif

#endif /* _SYNGUARD_COMPAT_H */
