// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash-2-4 (Aumasson, Bernstein: "SipHash: a fast short-input PRF"),
 * written from the paper for the userspace shim of <linux/siphash.h>.
 *
 * State v0..v3 is the key xored with the four constants of the paper; each
 * 8-byte little-endian message word m is absorbed as v3 ^= m, two SipRounds,
 * v0 ^= m. The last word holds the leftover bytes and len mod 256 in its top
 * byte. Finalisation: v2 ^= 0xff, four SipRounds, v0 ^ v1 ^ v2 ^ v3.
 */
#include <linux/siphash.h>

#define SIP_C_ROUNDS	2
#define SIP_D_ROUNDS	4

static inline u64 rotl64(u64 x, unsigned int b)
{
	return x << b | x >> (64 - b);
}

static void sipround(u64 v[4])
{
	v[0] += v[1];
	v[2] += v[3];
	v[1] = rotl64(v[1], 13);
	v[3] = rotl64(v[3], 16);
	v[1] ^= v[0];
	v[3] ^= v[2];
	v[0] = rotl64(v[0], 32);
	v[2] += v[1];
	v[0] += v[3];
	v[1] = rotl64(v[1], 17);
	v[3] = rotl64(v[3], 21);
	v[1] ^= v[2];
	v[3] ^= v[0];
	v[2] = rotl64(v[2], 32);
}

/* Little-endian load of @n <= 8 bytes, whatever the host's byte order. */
static u64 load_le(const u8 *p, size_t n)
{
	u64 w = 0;
	size_t i;

	for (i = 0; i < n; i++)
		w |= (u64)p[i] << (8 * i);
	return w;
}

static void absorb(u64 v[4], u64 m)
{
	int i;

	v[3] ^= m;
	for (i = 0; i < SIP_C_ROUNDS; i++)
		sipround(v);
	v[0] ^= m;
}

u64 siphash(const void *data, size_t len, const siphash_key_t *key)
{
	const u8 *p = data;
	size_t left = len;
	u64 v[4];
	int i;

	v[0] = key->key[0] ^ 0x736f6d6570736575ULL;	/* "somepseu" */
	v[1] = key->key[1] ^ 0x646f72616e646f6dULL;	/* "dorandom" */
	v[2] = key->key[0] ^ 0x6c7967656e657261ULL;	/* "lygenera" */
	v[3] = key->key[1] ^ 0x7465646279746573ULL;	/* "tedbytes" */

	for (; left >= 8; left -= 8, p += 8)
		absorb(v, load_le(p, 8));
	absorb(v, (u64)len << 56 | load_le(p, left));

	v[2] ^= 0xff;
	for (i = 0; i < SIP_D_ROUNDS; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* @n words as the 8 * @n little-endian bytes the kernel's versions hash. */
static u64 siphash_words(const u64 *w, size_t n, const siphash_key_t *key)
{
	u8 msg[4 * sizeof(u64)];
	size_t i;

	for (i = 0; i < n * sizeof(u64); i++)
		msg[i] = w[i / 8] >> (8 * (i % 8));
	return siphash(msg, n * sizeof(u64), key);
}

u64 siphash_3u64(u64 a, u64 b, u64 c, const siphash_key_t *key)
{
	u64 w[] = { a, b, c };

	return siphash_words(w, 3, key);
}

u64 siphash_4u64(u64 a, u64 b, u64 c, u64 d, const siphash_key_t *key)
{
	u64 w[] = { a, b, c, d };

	return siphash_words(w, 4, key);
}
