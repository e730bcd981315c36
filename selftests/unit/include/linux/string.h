/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for <linux/string.h>: memcpy, memset, memcmp. */
#ifndef _UNIT_SHIM_LINUX_STRING_H
#define _UNIT_SHIM_LINUX_STRING_H

#include <string.h>

#endif /* _UNIT_SHIM_LINUX_STRING_H */
