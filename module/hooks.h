/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_HOOKS_H
#define _SYNGUARD_HOOKS_H

#include "netns.h"

int synguard_hooks_register(struct synguard_net *sn);
void synguard_hooks_unregister(struct synguard_net *sn);

#endif /* _SYNGUARD_HOOKS_H */
