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

/*
 * A listener's IPV6_UNICAST_HOPS (-1: unset). 6.7 made ipv6_pinfo's
 * hop_limit a plain s16, read without the socket lock; before, it was a
 * 9-bit field, whose address READ_ONCE() cannot take. Kbuild greps
 * include/linux/ipv6.h and defines SYNGUARD_HAVE_HOPLIMIT_BITFIELD.
 */
#ifdef SYNGUARD_HAVE_HOPLIMIT_BITFIELD
#define synguard_np_hop_limit(np)	((int)(np)->hop_limit)
#else
#define synguard_np_hop_limit(np)	((int)READ_ONCE((np)->hop_limit))
#endif

/*
 * Does an IPv6 socket label its flows (IPV6_AUTOFLOWLABEL, else the
 * namespace's default)? As ip6_autoflowlabel(), which is not exported.
 * Does it reflect its peer's label (flowlabel_reflect, IPV6_FL_F_REFLECT)?
 * Macros, as synguard_np_hop_limit(): only packet.c has the headers.
 * 6.7 moved the socket's choice from ipv6_pinfo bit fields to inet_sock's
 * flags; Kbuild greps include/net/inet_sock.h and defines
 * SYNGUARD_HAVE_INET6_FLAGS.
 */
#ifdef SYNGUARD_HAVE_INET6_FLAGS
#define synguard_autoflowlabel(net, sk)					\
	(inet6_test_bit(AUTOFLOWLABEL_SET, sk) ?			\
	 inet6_test_bit(AUTOFLOWLABEL, sk) :				\
	 !!ip6_default_np_autolabel(net))
#define synguard_repflow(sk)	inet6_test_bit(REPFLOW, sk)
#else
#define synguard_autoflowlabel(net, sk)					\
	(inet6_sk(sk)->autoflowlabel_set ? inet6_sk(sk)->autoflowlabel :	\
	 !!ip6_default_np_autolabel(net))
#define synguard_repflow(sk)	(!!inet6_sk(sk)->repflow)
#endif

#endif /* _SYNGUARD_COMPAT_H */
