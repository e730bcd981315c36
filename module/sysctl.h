/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SYNGUARD_SYSCTL_H
#define _SYNGUARD_SYSCTL_H

#include "netns.h"

int synguard_sysctl_init(struct synguard_net *sn);
void synguard_sysctl_exit(struct synguard_net *sn);
int synguard_ports_set(struct synguard_net *sn, const char *list);
void synguard_ports_free(struct synguard_net *sn);
int synguard_cfg_validate(const struct synguard_cfg *cfg);

#endif /* _SYNGUARD_SYSCTL_H */
