/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for <linux/errno.h>. glibc's <errno.h> itself includes
 * <linux/errno.h>, i.e. this file, so take the values from the UAPI header
 * (the kernel's own numbers) rather than from <errno.h>.
 */
#ifndef _UNIT_SHIM_LINUX_ERRNO_H
#define _UNIT_SHIM_LINUX_ERRNO_H

#if defined(__has_include)
#if __has_include(<asm/errno.h>)
#include <asm/errno.h>
#define _UNIT_SHIM_HAVE_ASM_ERRNO
#endif
#endif

#ifndef _UNIT_SHIM_HAVE_ASM_ERRNO
#include <errno.h>
#endif

#endif /* _UNIT_SHIM_LINUX_ERRNO_H */
