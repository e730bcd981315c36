/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_ENGAGE_H
#define _SYNGUARD_ENGAGE_H

#include <net/sock.h>
#include "netns.h"

bool synguard_engage(struct synguard_net *sn, const struct sock *lsk);
u32 synguard_engage_rate(struct synguard_net *sn);
void synguard_engage_init(struct synguard_net *sn);

#endif /* _SYNGUARD_ENGAGE_H */
