// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target for synguard_cookie_check() (and make()) with arbitrary keys,
 * generation, tuple, cookie and options taken from the input.
 *
 * Checked for every input: check() of the given cookie (or, if the input
 * asks, of the valid cookie with the given option bits) returns a defined
 * result, and OK only for exactly the cookie make() would give, with the
 * options its low byte carries; a cookie just made round-trips, survives
 * one key rotation, is EXPIRED after two, and fails with a bit flipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie_ref.h"
#include "fuzz.h"

/* Input layout, zero-padded when the input is shorter. */
struct fuzz_in {
	u8 keys[3][16];		/* cur, prev, old */
	u8 gen[4];
	u8 saddr[16];
	u8 daddr[16];
	u8 sport[2];
	u8 dport[2];
	u8 isn[4];
	u8 flags;		/* bit 0: IPv6; bit 1: keep v4's unused words;
				 * bit 2: make the cookie valid */
	u8 cookie[4];
	u8 mss[2];
	u8 wscale;
	u8 sack;
	u8 flip;		/* which cookie bit to flip */
};

static unsigned long n_res[3], n_expired_rot;

static void die(const char *why, const struct synguard_tuple *t, u32 c)
{
	fprintf(stderr, "fuzz_cookie: %s (v%d sport %u dport %u isn %08x cookie %08x)\n",
		why, t->ipv6 ? 6 : 4, t->sport, t->dport, t->isn, c);
	abort();
}

static void decode(const struct fuzz_in *in, struct synguard_keys *k,
		   struct synguard_tuple *t, struct synguard_synopts *o)
{
	memcpy(&k->cur, in->keys[0], sizeof(k->cur));
	memcpy(&k->prev, in->keys[1], sizeof(k->prev));
	memcpy(&k->old, in->keys[2], sizeof(k->old));
	memcpy(&k->gen, in->gen, sizeof(k->gen));
	memset(t, 0, sizeof(*t));
	memcpy(t->saddr, in->saddr, sizeof(t->saddr));
	memcpy(t->daddr, in->daddr, sizeof(t->daddr));
	memcpy(&t->sport, in->sport, sizeof(t->sport));
	memcpy(&t->dport, in->dport, sizeof(t->dport));
	memcpy(&t->isn, in->isn, sizeof(t->isn));
	t->ipv6 = in->flags & 1;
	if (!t->ipv6 && !(in->flags & 2))
		memset(&t->saddr[1], 0, 3 * sizeof(u32));
	memcpy(&o->mss, in->mss, sizeof(o->mss));
	o->wscale = in->wscale;
	o->sack = in->sack & 1;
}

/* The input's own cookie: mostly a forgery. */
static void check_given(const struct synguard_keys *k,
			const struct synguard_tuple *t, u32 c)
{
	struct synguard_synopts o;
	enum synguard_cookie_result r = synguard_cookie_check(k, t, c, &o);

	if (r > SYNGUARD_COOKIE_EXPIRED)
		die("undefined result", t, c);
	n_res[r]++;
	if (r != SYNGUARD_COOKIE_OK)
		return;
	if (o.mss != synguard_cookie_mss_value(t->ipv6, c & 3) ||
	    o.wscale != ((c >> 2) & 0xf) || o.sack != !!(c & REF_COOKIE_SACK_BIT))
		die("accepted cookie decodes to other options than it carries", t, c);
	if (ref_true_cookie(k, t, c) != c)
		die("accepted a cookie make() would not give", t, c);
}

static void check_made(const struct synguard_keys *k,
		       const struct synguard_tuple *t,
		       const struct synguard_synopts *in, unsigned int bit)
{
	struct synguard_keys k1, k2;
	struct synguard_synopts o;
	enum synguard_cookie_result r;
	u32 c = synguard_cookie_make(k, t, in);

	if (synguard_cookie_check(k, t, c, &o) != SYNGUARD_COOKIE_OK ||
	    o.mss != ref_expect_mss(t->ipv6, in->mss) ||
	    o.wscale != ref_expect_wscale(in->wscale) || o.sack != in->sack)
		die("round trip", t, c);
	if (synguard_cookie_check(k, t, c ^ 1u << bit, &o) == SYNGUARD_COOKIE_OK)
		die("cookie with a flipped bit accepted", t, c ^ 1u << bit);

	/* rotate in the old key, then the previous one, as fresh keys */
	synguard_keys_next(&k1, k, &k->old);
	if (synguard_cookie_check(&k1, t, c, &o) != SYNGUARD_COOKIE_OK)
		die("rejected after one rotation", t, c);
	synguard_keys_next(&k2, &k1, &k->prev);
	r = synguard_cookie_check(&k2, t, c, &o);
	/* unless the input made the new key equal to the one that made c */
	if (!memcmp(&k->prev, &k->cur, sizeof(k->cur))) {
		if (r != SYNGUARD_COOKIE_OK)
			die("rejected by a current key equal to its own", t, c);
		return;
	}
	if (r != SYNGUARD_COOKIE_EXPIRED)
		die("not EXPIRED after two rotations", t, c);
	n_expired_rot++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in *in = calloc(1, sizeof(*in));
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o;
	u32 c;

	if (!in)
		return 0;
	memcpy(in, data, size < sizeof(*in) ? size : sizeof(*in));
	decode(in, &k, &t, &o);
	memcpy(&c, in->cookie, sizeof(c));
	if (in->flags & 4)
		c = ref_true_cookie(&k, &t, c);
	check_given(&k, &t, c);
	check_made(&k, &t, &o, in->flip & 31);
	free(in);
	return 0;
}

static const struct fuzz_in seed_zero;
static const struct fuzz_in seed_valid_v6 = {
	.keys = { { 1 }, { 2 }, { 3 } },
	.gen = { 7 },
	.saddr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	.daddr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 },
	.sport = { 0xc3, 0x50 },
	.dport = { 0, 80 },
	.flags = 5,
	.cookie = { 0x7d },
	.mss = { 0x05, 0xa0 },
	.wscale = 7,
	.sack = 1,
};

const struct fuzz_seed fuzz_seeds[] = {
	{ (const uint8_t *)&seed_zero, sizeof(seed_zero) },
	{ (const uint8_t *)&seed_valid_v6, sizeof(seed_valid_v6) },
};
const unsigned int fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const size_t fuzz_max_len = sizeof(struct fuzz_in) + 8;

int fuzz_report(unsigned long runs)
{
	printf("# given cookies: %lu OK, %lu BAD_MAC, %lu EXPIRED; made cookies EXPIRED after two rotations: %lu of %lu\n",
	       n_res[SYNGUARD_COOKIE_OK], n_res[SYNGUARD_COOKIE_BAD_MAC],
	       n_res[SYNGUARD_COOKIE_EXPIRED], n_expired_rot, runs);
	return !n_res[SYNGUARD_COOKIE_OK] ||
	       n_res[SYNGUARD_COOKIE_BAD_MAC] < runs / 4 ||
	       n_expired_rot < runs / 4;
}
