/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_ICMP_H
#define _SYNGUARD_ICMP_H

#include <linux/skbuff.h>
#include "netns.h"

void synguard_icmp_in(struct synguard_net *sn, struct sk_buff *skb,
		      u8 family, const struct net_device *in);

#endif /* _SYNGUARD_ICMP_H */
