/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/kernel.h>: ARRAY_SIZE, min_t. */
#ifndef _UNIT_SHIM_LINUX_KERNEL_H
#define _UNIT_SHIM_LINUX_KERNEL_H

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef min_t
#define min_t(type, a, b)	((type)(a) < (type)(b) ? (type)(a) : (type)(b))
#endif

#endif /* _UNIT_SHIM_LINUX_KERNEL_H */
