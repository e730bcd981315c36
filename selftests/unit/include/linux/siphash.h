/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for <linux/siphash.h>. The key type is the kernel's,
 * word for word; siphash() computes SipHash-2-4 with the same conventions
 * as lib/siphash.c: the two key words are used as integers, the message is
 * read as little-endian 64-bit words, the output is the 64-bit tag;
 * siphash_3u64() and siphash_4u64() hash three or four such words, a 24- or
 * 32-byte message.
 * Implemented in selftests/unit/siphash.c.
 */
#ifndef _UNIT_SHIM_LINUX_SIPHASH_H
#define _UNIT_SHIM_LINUX_SIPHASH_H

#include <linux/types.h>

typedef struct {
	u64 key[2];
} siphash_key_t;

u64 siphash(const void *data, size_t len, const siphash_key_t *key);
u64 siphash_3u64(u64 a, u64 b, u64 c, const siphash_key_t *key);
u64 siphash_4u64(u64 a, u64 b, u64 c, u64 d, const siphash_key_t *key);

#endif /* _UNIT_SHIM_LINUX_SIPHASH_H */
