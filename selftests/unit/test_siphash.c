// SPDX-License-Identifier: GPL-2.0
/*
 * The SipHash-2-4 shim against known answers. Every cookie test rests on
 * it computing what the kernel's lib/siphash.c computes.
 *
 * Key 00 01 .. 0f and message 00 01 .. (len - 1) are the setting of the
 * SipHash paper (appendix A: len 15 -> 0xa129ca6149be45e5) and of its
 * reference vectors; the values below are the reference list's, read as
 * little-endian 64-bit numbers, and agree with OpenSSL 3's SIPHASH MAC.
 */
#include <stdio.h>
#include <string.h>

#include <linux/siphash.h>
#include "unit.h"

struct sip_vector {
	size_t len;
	u64 tag;
};

static const struct sip_vector ref_vectors[] = {
	{ 0, 0x726fdb47dd0e0e31ULL },
	{ 1, 0x74f839c593dc67fdULL },
	{ 2, 0x0d6c8009d9a94f5aULL },
	{ 3, 0x85676696d7fb7e2dULL },
	{ 4, 0xcf2794e0277187b7ULL },
	{ 7, 0xab0200f58b01d137ULL },
	{ 8, 0x93f5f5799a932462ULL },
	{ 15, 0xa129ca6149be45e5ULL },	/* the paper's example */
	{ 16, 0x3f2acc7f57c29bdbULL },
	{ 47, 0xd06c98cd5c0975ebULL },
	{ 48, 0xe612a3cb9ecba951ULL },	/* the size of a cookie's input */
	{ 63, 0x958a324ceb064572ULL },
	{ 64, 0xacd2c40b8502cad8ULL },
};

/* Key bytes 00..0f as the kernel holds them: two native u64 words. */
static const siphash_key_t ref_key = {
	{ 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL }
};

static void siphash_paper_example(void)
{
	static const u8 msg[15] = {
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
		0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	};

	EXPECT_EQ(siphash(msg, sizeof(msg), &ref_key), 0xa129ca6149be45e5ULL);
}

static void siphash_reference_vectors(void)
{
	u8 msg[64];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = i;
	for (i = 0; i < ARRAY_SIZE(ref_vectors); i++) {
		u64 tag = siphash(msg, ref_vectors[i].len, &ref_key);

		EXPECT_MSG(tag == ref_vectors[i].tag,
			   "len %zu: got %016llx want %016llx",
			   ref_vectors[i].len, (unsigned long long)tag,
			   (unsigned long long)ref_vectors[i].tag);
	}
}

/*
 * A key whose bytes are not in order, 48 bytes of message: catches a key
 * word swapped or read big-endian, which the 00..0f key might not.
 * Tag from OpenSSL: key f0e1d2c3b4a5968778695a4b3c2d1e0f,
 * msg[i] = i * 37 + 11.
 */
static void siphash_other_key(void)
{
	static const siphash_key_t key = {
		{ 0x8796a5b4c3d2e1f0ULL, 0x0f1e2d3c4b5a6978ULL }
	};
	u8 msg[48];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = i * 37 + 11;
	EXPECT_EQ(siphash(msg, sizeof(msg), &key), 0xb98e7944a3258385ULL);
}

/* The message is read bytewise: the same bytes at any alignment agree. */
static void siphash_unaligned(void)
{
	u8 buf[64 + 8];
	size_t off, i;

	for (off = 0; off < 8; off++) {
		for (i = 0; i < 64; i++)
			buf[off + i] = i;
		EXPECT_EQ(siphash(buf + off, 48, &ref_key),
			  0xe612a3cb9ecba951ULL);
	}
}

/*
 * siphash_3u64() (IPv4 cookies) is the 24-byte message of its three words
 * in little-endian order: the reference list's entry for length 24.
 */
static void siphash_three_words(void)
{
	EXPECT_EQ(siphash_3u64(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
			       0x1716151413121110ULL, &ref_key),
		  0xb8ad50c6f649af94ULL);
}

/*
 * siphash_4u64() (fleet keys) likewise: 32 bytes. Tag from OpenSSL (the
 * reference list's entry for length 32).
 */
static void siphash_four_words(void)
{
	EXPECT_EQ(siphash_4u64(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL,
			       0x1716151413121110ULL, 0x1f1e1d1c1b1a1918ULL,
			       &ref_key),
		  0x7127512f72f27cceULL);
}

static const struct unit_test tests[] = {
	UNIT_TEST(siphash_paper_example),
	UNIT_TEST(siphash_reference_vectors),
	UNIT_TEST(siphash_other_key),
	UNIT_TEST(siphash_unaligned),
	UNIT_TEST(siphash_three_words),
	UNIT_TEST(siphash_four_words),
};

int main(void)
{
	return unit_main(tests, ARRAY_SIZE(tests));
}
