/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_HOOKS_H
#define _SYNGUARD_HOOKS_H

#include <net/net_namespace.h>

int synguard_hooks_register(struct net *net);
void synguard_hooks_unregister(struct net *net);

#endif /* _SYNGUARD_HOOKS_H */
