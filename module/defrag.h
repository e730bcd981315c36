/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SYNGUARD_DEFRAG_H
#define SYNGUARD_DEFRAG_H

#include <linux/skbuff.h>

unsigned int synguard_defrag(struct sk_buff *skb, u8 pf, struct net *net);

#endif
