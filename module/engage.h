/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_ENGAGE_H
#define _SYNGUARD_ENGAGE_H

#include <net/sock.h>
#include "netns.h"

/* What engaged adaptive mode (the synguard_engage tracepoint's trigger). */
enum synguard_trigger {
	SG_TRIGGER_RATE,	/* the namespace's SYN rate */
	SG_TRIGGER_QUEUE,	/* a listener's SYN-queue fill */
};

bool synguard_engage(struct synguard_net *sn, const struct sock *lsk,
		     u16 port);
u32 synguard_engage_rate(struct synguard_net *sn);
void synguard_engage_init(struct synguard_net *sn);
void synguard_engage_exit(struct synguard_net *sn);

#endif /* _SYNGUARD_ENGAGE_H */
