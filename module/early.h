/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_EARLY_H
#define _SYNGUARD_EARLY_H

#include "netns.h"

bool synguard_early_local(const struct synguard_net *sn,
			  const struct sk_buff *skb,
			  const struct nf_hook_state *state);
void synguard_early_pass(const struct sk_buff *skb);
void synguard_early_forget(const struct sk_buff *skb);
bool synguard_early_passed(const struct sk_buff *skb);

#endif /* _SYNGUARD_EARLY_H */
