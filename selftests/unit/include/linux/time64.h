/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/time64.h>: NSEC_PER_SEC, as the kernel's. */
#ifndef _UNIT_SHIM_LINUX_TIME64_H
#define _UNIT_SHIM_LINUX_TIME64_H

#define NSEC_PER_SEC	1000000000L

#endif /* _UNIT_SHIM_LINUX_TIME64_H */
