// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests of the SYN cookie math in module/cookie.c, compiled
 * unchanged against the shims in include/linux/.
 *
 * All randomness comes from fixed-seed PRNGs, so a run is reproducible:
 * the same cookie.c always gives the same counts and cannot flake. The
 * statistical bounds are 6 sd (or a factor of 2) wide, so a correct change
 * to cookie.c fails them only with negligible probability.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie_ref.h"
#include "unit.h"

#define FORGE_TRIES	10000000u	/* 10^7 forged ACKs per experiment */
#define FORGE_MAX_HITS	5		/* expected 10^7 / 2^24 = 0.60 */
#define MAC_SHIFT	8		/* cookie bits 8..31 are the MAC */
#define MAC12_MASK	0x000fff00u	/* the MAC's low 12 bits */
#define MAC12_BUCKETS	4096

static const char *result_name(enum synguard_cookie_result r)
{
	switch (r) {
	case SYNGUARD_COOKIE_OK:
		return "OK";
	case SYNGUARD_COOKIE_BAD_MAC:
		return "BAD_MAC";
	case SYNGUARD_COOKIE_EXPIRED:
		return "EXPIRED";
	}
	return "(invalid)";
}

static void rand_key(struct prng *r, siphash_key_t *k)
{
	k->key[0] = prng_u64(r);
	k->key[1] = prng_u64(r);
}

static void rand_keys(struct prng *r, struct synguard_keys *k, u32 gen)
{
	rand_key(r, &k->cur);
	rand_key(r, &k->prev);
	rand_key(r, &k->old);
	k->gen = gen;
}

/* IPv4 uses address word 0 only, as cookie.h asks. */
static void rand_tuple(struct prng *r, struct synguard_tuple *t, bool ipv6)
{
	unsigned int i, words = ipv6 ? 4 : 1;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < words; i++) {
		t->saddr[i] = prng_u32(r);
		t->daddr[i] = prng_u32(r);
	}
	t->sport = prng_u32(r);
	t->dport = prng_u32(r);
	t->isn = prng_u32(r);
	t->ipv6 = ipv6;
}

/* Any u8 window scale: mostly 0..15, sometimes an out-of-range value. */
static void rand_opts(struct prng *r, struct synguard_synopts *o)
{
	u32 ws = prng_below(r, 20);

	o->mss = prng_u32(r);
	o->wscale = ws < 16 ? ws : 16 + prng_below(r, 240);
	o->sack = prng_u32(r) & 1;
}

/* make() then check() with the same keys must give the options back. */
static void roundtrip_one(const struct synguard_keys *k,
			  const struct synguard_tuple *t,
			  const struct synguard_synopts *in)
{
	struct synguard_synopts out = { 0 };
	enum synguard_cookie_result r;
	u32 c = synguard_cookie_make(k, t, in);

	r = synguard_cookie_check(k, t, c, &out);
	EXPECT_MSG(r == SYNGUARD_COOKIE_OK &&
		   out.mss == ref_expect_mss(t->ipv6, in->mss) &&
		   out.wscale == ref_expect_wscale(in->wscale) &&
		   out.sack == in->sack,
		   "v%d gen %u mss %u ws %u sack %d: cookie %08x -> %s mss %u ws %u sack %d",
		   t->ipv6 ? 6 : 4, k->gen, in->mss, in->wscale, in->sack, c,
		   result_name(r), out.mss, out.wscale, out.sack);
}

/* The MSS tables: ascending, starting at the protocol default. */
static void cookie_mss_table(void)
{
	unsigned int i;

	EXPECT_EQ(synguard_cookie_mss_value(false, 0), 536);	/* RFC 9293 */
	EXPECT_EQ(synguard_cookie_mss_value(true, 0), 536);	/* Linux's default too */
	for (i = 1; i < SYNGUARD_MSS_SLOTS; i++) {
		EXPECT(synguard_cookie_mss_value(false, i) >
		       synguard_cookie_mss_value(false, i - 1));
		EXPECT(synguard_cookie_mss_value(true, i) >
		       synguard_cookie_mss_value(true, i - 1));
	}
}

/* The low byte is laid out as the comment in cookie.c draws it. */
static void cookie_layout(void)
{
	struct prng r = { 0x6c61796f7574ULL };
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o;
	u32 gen, ws, sack, idx, low;

	for (gen = 0; gen < 2; gen++) {
		rand_keys(&r, &k, 0x1000 + gen);
		for (ws = 0; ws <= 15; ws++)
			for (sack = 0; sack < 2; sack++)
				for (idx = 0; idx < SYNGUARD_MSS_SLOTS; idx++) {
					rand_tuple(&r, &t, idx & 1);
					o.mss = synguard_cookie_mss_value(t.ipv6, idx);
					o.wscale = ws;
					o.sack = sack;
					low = gen << 7 | sack << 6 | ws << 2 | idx;
					EXPECT_EQ(synguard_cookie_make(&k, &t, &o) & 0xff,
						  low);
				}
	}
}

/* Every MSS 0..65535 in both families, cycling through the other options. */
static void cookie_roundtrip_every_mss(void)
{
	static const u8 ws_cycle[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 255,
	};
	struct prng r = { 0x65766572796d7373ULL };
	struct synguard_keys k[2];
	struct synguard_tuple t;
	struct synguard_synopts o;
	u32 mss, v6;

	rand_keys(&r, &k[0], 0x2468);
	rand_keys(&r, &k[1], 0x2469);
	for (v6 = 0; v6 < 2; v6++)
		for (mss = 0; mss <= 0xffff; mss++) {
			rand_tuple(&r, &t, v6);
			o.mss = mss;
			o.wscale = ws_cycle[mss % ARRAY_SIZE(ws_cycle)];
			o.sack = (mss / ARRAY_SIZE(ws_cycle)) & 1;
			roundtrip_one(&k[(mss >> 3) & 1], &t, &o);
		}
}

/*
 * Table edges and odd values, crossed with every u8 window scale (0..14,
 * 15 = none, the rest clamped to 14), SACK on and off, both families and
 * both key parities.
 */
static void cookie_roundtrip_options(void)
{
	static const u16 odd_mss[] = {
		0, 1, 88, 500, 1000, 1024, 1280, 1500, 4096, 8960, 9000,
		65495, 65534, 65535,
	};
	u16 mss[ARRAY_SIZE(odd_mss) + 2 * 3 * SYNGUARD_MSS_SLOTS];
	struct prng r = { 0x6f7074696f6e73ULL };
	struct synguard_keys k[2];
	struct synguard_tuple t;
	struct synguard_synopts o;
	unsigned int n = 0, i, ws, sack, v6, gen;

	for (i = 0; i < ARRAY_SIZE(odd_mss); i++)
		mss[n++] = odd_mss[i];
	for (v6 = 0; v6 < 2; v6++)
		for (i = 0; i < SYNGUARD_MSS_SLOTS; i++) {
			u16 e = synguard_cookie_mss_value(v6, i);

			mss[n++] = e - 1;
			mss[n++] = e;
			mss[n++] = e + 1;
		}

	rand_keys(&r, &k[0], 0xfffffffe);
	rand_keys(&r, &k[1], 0xffffffff);
	for (i = 0; i < n; i++)
		for (ws = 0; ws <= 0xff; ws++)
			for (sack = 0; sack < 2; sack++)
				for (v6 = 0; v6 < 2; v6++)
					for (gen = 0; gen < 2; gen++) {
						rand_tuple(&r, &t, v6);
						o.mss = mss[i];
						o.wscale = ws;
						o.sack = sack;
						roundtrip_one(&k[gen], &t, &o);
					}
}

/* Bit @bit of the tuple's fields, numbered field by field. */
enum flip_field {
	FLIP_SADDR, FLIP_DADDR, FLIP_SPORT, FLIP_DPORT, FLIP_ISN, FLIP_IPV6,
	FLIP_COOKIE, FLIP_NR
};

static const struct {
	const char *name;
	unsigned int bits;
} flip_fields[FLIP_NR] = {
	[FLIP_SADDR] = { "saddr", 128 },
	[FLIP_DADDR] = { "daddr", 128 },
	[FLIP_SPORT] = { "sport", 16 },
	[FLIP_DPORT] = { "dport", 16 },
	[FLIP_ISN] = { "isn", 32 },
	[FLIP_IPV6] = { "ipv6", 1 },
	[FLIP_COOKIE] = { "cookie", 32 },
};

static void flip(struct synguard_tuple *t, u32 *cookie, enum flip_field f,
		 unsigned int bit)
{
	switch (f) {
	case FLIP_SADDR:
		t->saddr[bit / 32] ^= 1u << (bit % 32);
		break;
	case FLIP_DADDR:
		t->daddr[bit / 32] ^= 1u << (bit % 32);
		break;
	case FLIP_SPORT:
		t->sport ^= 1u << bit;
		break;
	case FLIP_DPORT:
		t->dport ^= 1u << bit;
		break;
	case FLIP_ISN:
		t->isn ^= 1u << bit;
		break;
	case FLIP_IPV6:
		t->ipv6 = !t->ipv6;
		break;
	default:
		*cookie ^= 1u << bit;
		break;
	}
}

/* Flip each input bit of one valid (tuple, cookie) in turn: all must fail. */
static void bitflips_one(const struct synguard_keys *k,
			 const struct synguard_tuple *t0, u32 c0,
			 unsigned long *ok, unsigned long *not_bad)
{
	struct synguard_synopts o;
	enum synguard_cookie_result r;
	unsigned int f, bit;

	EXPECT_EQ(synguard_cookie_check(k, t0, c0, &o), SYNGUARD_COOKIE_OK);
	for (f = 0; f < FLIP_NR; f++)
		for (bit = 0; bit < flip_fields[f].bits; bit++) {
			struct synguard_tuple t = *t0;
			u32 c = c0;

			flip(&t, &c, f, bit);
			r = synguard_cookie_check(k, &t, c, &o);
			*ok += r == SYNGUARD_COOKIE_OK;
			*not_bad += r != SYNGUARD_COOKIE_BAD_MAC;
			EXPECT_MSG(r == SYNGUARD_COOKIE_BAD_MAC,
				   "v%d gen %u %s bit %u flipped: %s",
				   t0->ipv6 ? 6 : 4, k->gen, flip_fields[f].name,
				   bit, result_name(r));
		}
}

/*
 * Every single-bit change of the addresses (all four words, also for IPv4),
 * ports, client ISN, family and of each of the 32 cookie bits is BAD_MAC.
 * Checked for cookies validated by the current key and, after a rotation,
 * by the previous one.
 */
static void cookie_bitflip_rejected(void)
{
	struct prng r = { 0x626974666c6970ULL };
	struct synguard_keys k, next;
	struct synguard_tuple t;
	struct synguard_synopts o;
	siphash_key_t fresh;
	unsigned long ok = 0, not_bad = 0;
	unsigned int i;
	u32 c;

	for (i = 0; i < 512; i++) {
		rand_keys(&r, &k, prng_u32(&r));
		rand_tuple(&r, &t, i & 1);
		rand_opts(&r, &o);
		c = synguard_cookie_make(&k, &t, &o);
		bitflips_one(&k, &t, c, &ok, &not_bad);
		rand_key(&r, &fresh);
		synguard_keys_next(&next, &k, &fresh);
		bitflips_one(&next, &t, c, &ok, &not_bad);
	}
	unit_note("1024 cookies x 353 single-bit changes: %lu OK, %lu not BAD_MAC",
		  ok, not_bad);
	EXPECT_EQ(ok, 0);
}

/* synguard_keys_next() shifts cur -> prev -> old and counts gen, wrapping. */
static void cookie_keys_next(void)
{
	struct prng r = { 0x6b6579736e657874ULL };
	struct synguard_keys k, n;
	siphash_key_t fresh;

	rand_keys(&r, &k, 0xffffffff);
	rand_key(&r, &fresh);
	synguard_keys_next(&n, &k, &fresh);
	EXPECT(!memcmp(&n.cur, &fresh, sizeof(fresh)));
	EXPECT(!memcmp(&n.prev, &k.cur, sizeof(k.cur)));
	EXPECT(!memcmp(&n.old, &k.prev, sizeof(k.prev)));
	EXPECT_EQ(n.gen, 0);
}

/*
 * A cookie made at generation g, checked after 0..6 rotations:
 *   0, 1: OK with its options (key current, then previous);
 *   2:    EXPIRED (its key is now the retired "old" one, same parity);
 *   3+:   BAD_MAC. After three rotations the key bit has the parity of the
 *         previous key again, and the key that made the cookie is no longer
 *         held anywhere, so check() cannot tell it from a forgery.
 * Generations start next to 2^32 so that the counter wraps on the way.
 */
static void cookie_rotation(void)
{
	static const enum synguard_cookie_result want[] = {
		SYNGUARD_COOKIE_OK, SYNGUARD_COOKIE_OK,
		SYNGUARD_COOKIE_EXPIRED, SYNGUARD_COOKIE_BAD_MAC,
		SYNGUARD_COOKIE_BAD_MAC, SYNGUARD_COOKIE_BAD_MAC,
		SYNGUARD_COOKIE_BAD_MAC,
	};
	struct prng r = { 0x726f746174696f6eULL };
	struct synguard_keys k[ARRAY_SIZE(want)];
	struct synguard_tuple t;
	struct synguard_synopts in, out;
	enum synguard_cookie_result res;
	unsigned int i, age;
	siphash_key_t fresh;
	u32 c;

	for (i = 0; i < 2000; i++) {
		rand_keys(&r, &k[0], i & 1 ? prng_u32(&r) : 0xfffffffc + i % 8);
		for (age = 1; age < ARRAY_SIZE(want); age++) {
			rand_key(&r, &fresh);
			synguard_keys_next(&k[age], &k[age - 1], &fresh);
		}
		rand_tuple(&r, &t, i & 2);
		rand_opts(&r, &in);
		c = synguard_cookie_make(&k[0], &t, &in);
		for (age = 0; age < ARRAY_SIZE(want); age++) {
			memset(&out, 0, sizeof(out));
			res = synguard_cookie_check(&k[age], &t, c, &out);
			EXPECT_MSG(res == want[age],
				   "gen %u, %u rotations: %s, want %s",
				   k[0].gen, age, result_name(res),
				   result_name(want[age]));
			if (res != SYNGUARD_COOKIE_OK)
				continue;
			EXPECT(out.mss == ref_expect_mss(t.ipv6, in.mss) &&
			       out.wscale == ref_expect_wscale(in.wscale) &&
			       out.sack == in.sack);
		}
	}
}

/*
 * A cookie made with an unrelated key set is BAD_MAC whatever that set's
 * generation: never OK, and never EXPIRED (that would claim it was ours).
 */
static void cookie_other_keyset(void)
{
	struct prng r = { 0x6f746865726b6579ULL };
	struct synguard_keys mine, other;
	struct synguard_tuple t;
	struct synguard_synopts o;
	enum synguard_cookie_result res;
	unsigned int i, d;
	u32 c;

	for (i = 0; i < 3000; i++) {
		rand_keys(&r, &mine, prng_u32(&r));
		rand_tuple(&r, &t, i & 1);
		rand_opts(&r, &o);
		c = synguard_cookie_make(&mine, &t, &o);
		for (d = 0; d < 3; d++) {
			rand_keys(&r, &other, mine.gen + d);
			res = synguard_cookie_check(&other, &t, c, &o);
			EXPECT_MSG(res == SYNGUARD_COOKIE_BAD_MAC,
				   "other keys, gen +%u: %s", d,
				   result_name(res));
		}
	}
}

/*
 * Blind forgery: 10^7 ACKs with a random tuple and a random cookie. Each
 * is accepted with probability 2^-24 (0.60 expected in all); it may also
 * be reported EXPIRED with 2^-24 when its key bit names the current key.
 */
static void cookie_forged_random(void)
{
	struct prng r = { 0x666f72676564ULL };
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o;
	unsigned long hits = 0, expired = 0;
	enum synguard_cookie_result res;
	u32 i;

	rand_keys(&r, &k, 0x31337);
	for (i = 0; i < FORGE_TRIES; i++) {
		rand_tuple(&r, &t, i & 1);
		res = synguard_cookie_check(&k, &t, prng_u32(&r), &o);
		hits += res == SYNGUARD_COOKIE_OK;
		expired += res == SYNGUARD_COOKIE_EXPIRED;
	}
	unit_note("random forgeries accepted: %lu of %u (theory %.2f), expired: %lu (theory %.2f)",
		  hits, FORGE_TRIES, FORGE_TRIES / 16777216.0, expired,
		  FORGE_TRIES / 33554432.0);
	EXPECT(hits <= FORGE_MAX_HITS);
	EXPECT(expired <= FORGE_MAX_HITS);
}

/* The forged tuples: a sweep of ISNs next to the attacker's, or random. */
static void replay_tuple(struct prng *r, const struct synguard_tuple *t0,
			 u32 i, struct synguard_tuple *t)
{
	if (i & 1) {
		rand_tuple(r, t, i & 2);
		return;
	}
	*t = *t0;
	t->isn += (i >> 1) + 1;
}

/* Every MAC bit is set in half of the cookies, within 6 sd (sqrt(N)/2). */
static void expect_bits_balanced(const u32 *ones, u32 n)
{
	double sd = 0.5 * sqrt(n);
	unsigned int b, worst = MAC_SHIFT;

	for (b = MAC_SHIFT; b < 32; b++) {
		if (fabs(ones[b] - n / 2.0) > fabs(ones[worst] - n / 2.0))
			worst = b;
		EXPECT_MSG(fabs(ones[b] - n / 2.0) < 6 * sd,
			   "cookie bit %u set %u times in %u", b, ones[b], n);
	}
	unit_note("MAC bits set: worst is bit %u, %+.1f sd from n/2",
		  worst, (ones[worst] - n / 2.0) / sd);
}

static double chi_square(const u32 *hist, unsigned int n, double expect)
{
	double chi2 = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		chi2 += (hist[i] - expect) * (hist[i] - expect) / expect;
	return chi2;
}

/*
 * Replay forgery, and the check that makes the rate above meaningful: a
 * uniformly random cookie hits 2^-24 whatever the MAC is, but a fixed one
 * only does if the MAC is spread uniformly over tuples. The attacker takes
 * its own valid cookie c0 and replays it against 10^7 other tuples (half a
 * sweep of ISNs next to its own, half random ones).
 *  - c0 matches the true MAC in its low 12 bits (cookie bits 8..19) for
 *    1/4096 of them, 2441 expected: must be within a factor of 2;
 *  - those 12 bits are uniform: chi-square over 4096 buckets, 4095 degrees
 *    of freedom (sd 90.5) must lie within 6 sd of 4095, neither lumpy
 *    nor too regular (as a MAC linear in the ISN would be);
 *  - each of the 24 MAC bits of the true cookies is set for half of them
 *    (within 6 sd): a MAC narrower than the field it fills shows here;
 *  - check() accepts c0 for at most 5 (0.60 expected).
 */
static void cookie_forged_replay_uniformity(void)
{
	struct prng r = { 0x756e69666f726dULL };
	struct synguard_keys k;
	struct synguard_tuple t0, t;
	struct synguard_synopts o;
	unsigned long match12 = 0, match24 = 0, hits = 0, low_bad = 0;
	double expect = (double)FORGE_TRIES / MAC12_BUCKETS, chi2;
	u32 *hist = calloc(MAC12_BUCKETS, sizeof(*hist));
	u32 ones[32] = { 0 };
	u32 i, b, c0, c;

	if (!hist) {
		EXPECT(hist);
		return;
	}
	rand_keys(&r, &k, 0x4242);
	rand_tuple(&r, &t0, false);
	rand_opts(&r, &o);
	c0 = synguard_cookie_make(&k, &t0, &o);
	for (i = 0; i < FORGE_TRIES; i++) {
		replay_tuple(&r, &t0, i, &t);
		c = ref_true_cookie(&k, &t, c0);
		low_bad += (c ^ c0) & 0xff;
		match12 += !((c ^ c0) & MAC12_MASK);
		match24 += !((c ^ c0) >> MAC_SHIFT);
		hist[(c & MAC12_MASK) >> MAC_SHIFT]++;
		for (b = MAC_SHIFT; b < 32; b++)
			ones[b] += (c >> b) & 1;
		hits += synguard_cookie_check(&k, &t, c0, &o) == SYNGUARD_COOKIE_OK;
	}
	chi2 = chi_square(hist, MAC12_BUCKETS, expect);
	free(hist);
	unit_note("replayed cookie, 12-bit MAC matches: %lu (theory %.0f), chi2 %.0f (theory 4095 +- 91)",
		  match12, expect, chi2);
	unit_note("replayed cookie accepted: %lu of %u (theory %.2f)",
		  hits, FORGE_TRIES, FORGE_TRIES / 16777216.0);
	expect_bits_balanced(ones, FORGE_TRIES);
	EXPECT_EQ(low_bad, 0);
	EXPECT(match12 >= expect / 2 && match12 <= expect * 2);
	EXPECT(chi2 > 4095 - 6 * 90.5 && chi2 < 4095 + 6 * 90.5);
	EXPECT(hits <= FORGE_MAX_HITS);
	EXPECT_EQ(hits, match24);
}


/* ---- timestamp cookies ----------------------------------------------- */

/* The ts table entry <= @mss; 0 stays 0 (no option), 1..47 become 48. */
static u16 ref_expect_mss_ts(u32 mss)
{
	u16 best = 0;
	unsigned int i;

	if (!mss)
		return 0;
	for (i = 1; i < SYNGUARD_TS_MSS_SLOTS; i++)
		if (synguard_cookie_mss_ts(i) <= mss)
			best = synguard_cookie_mss_ts(i);
	return best ? best : synguard_cookie_mss_ts(1);
}

static void ts_roundtrip_one(const struct synguard_keys *k,
			     const struct synguard_tuple *t,
			     const struct synguard_synopts *in)
{
	struct synguard_synopts out = { 0 };
	enum synguard_cookie_result r;
	u32 isn, tsval;

	synguard_cookie_make_ts(k, t, in, &isn, &tsval);
	r = synguard_cookie_check_ts(k, t, isn, tsval, &out);
	EXPECT_MSG(r == SYNGUARD_COOKIE_OK &&
		   out.mss == ref_expect_mss_ts(in->mss) &&
		   out.wscale == ref_expect_wscale(in->wscale) &&
		   out.aws == ref_expect_wscale(in->aws) &&
		   out.sack == in->sack && out.ecn == in->ecn &&
		   out.time == (in->time & ((1u << SYNGUARD_TS_TIME_BITS) - 1)),
		   "ts mss %u ws %u aws %u sack %d ecn %d time %u: %08x/%08x -> %s mss %u ws %u aws %u sack %d ecn %d time %u",
		   in->mss, in->wscale, in->aws, in->sack, in->ecn, in->time,
		   isn, tsval, result_name(r), out.mss, out.wscale, out.aws,
		   out.sack, out.ecn, out.time);
}

/* The table: ascending, exact for every even MSS 536..1460 and the usual. */
static void cookie_ts_mss_table(void)
{
	static const u16 exact[] = { 536, 1000, 1100, 1220, 1360, 1380, 1400,
				     1436, 1440, 1452, 1460, 8940, 8960 };
	unsigned int i;

	EXPECT_EQ(synguard_cookie_mss_ts(0), 0);
	for (i = 2; i < SYNGUARD_TS_MSS_SLOTS; i++)
		EXPECT(synguard_cookie_mss_ts(i) > synguard_cookie_mss_ts(i - 1));
	for (i = 536; i <= 1460; i += 2)
		EXPECT_EQ(ref_expect_mss_ts(i), i);
	for (i = 0; i < ARRAY_SIZE(exact); i++)
		EXPECT_EQ(ref_expect_mss_ts(exact[i]), exact[i]);
}

/* Every MSS, every window scale pair, both flags, times across the wrap. */
static void cookie_ts_roundtrip(void)
{
	struct prng r = { 0x7473636f6f6bULL };
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o;
	u32 mss, ws, aws;

	rand_keys(&r, &k, 7);
	for (mss = 0; mss <= 0xffff; mss++) {
		rand_tuple(&r, &t, mss & 1);
		o.mss = mss;
		o.wscale = mss % 16;
		o.aws = (mss / 16) % 16;
		o.sack = mss & 2;
		o.ecn = mss & 4;
		o.time = prng_u32(&r);
		ts_roundtrip_one(&k, &t, &o);
	}
	for (ws = 0; ws < 256; ws++)
		for (aws = 0; aws < 256; aws += 17) {
			rand_tuple(&r, &t, ws & 1);
			o.mss = 1460;
			o.wscale = ws;
			o.aws = aws;
			o.sack = aws & 1;
			o.ecn = ws & 1;
			o.time = ws << 8 | aws;
			ts_roundtrip_one(&k, &t, &o);
		}
}

/*
 * Every single bit of the 64 fails the check, and so does the compact
 * cookie's MAC for the same tuple (the two kinds never validate each other).
 */
static void cookie_ts_bitflip_rejected(void)
{
	struct prng r = { 0x666c6970ULL };
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o, out;
	u32 isn, tsval, i, bit, c;

	for (i = 0; i < 2000; i++) {
		rand_keys(&r, &k, i);
		rand_tuple(&r, &t, i & 1);
		rand_opts(&r, &o);
		o.aws = prng_below(&r, 16);
		o.ecn = i & 2;
		o.time = prng_u32(&r);
		synguard_cookie_make_ts(&k, &t, &o, &isn, &tsval);
		for (bit = 0; bit < 32; bit++) {
			EXPECT(synguard_cookie_check_ts(&k, &t, isn ^ 1u << bit,
							tsval, &out) !=
			       SYNGUARD_COOKIE_OK);
			EXPECT(synguard_cookie_check_ts(&k, &t, isn,
							tsval ^ 1u << bit,
							&out) !=
			       SYNGUARD_COOKIE_OK);
		}
		c = synguard_cookie_make(&k, &t, &o);
		EXPECT(synguard_cookie_check_ts(&k, &t, c, tsval, &out) !=
		       SYNGUARD_COOKIE_OK);
		EXPECT(synguard_cookie_check(&k, &t, isn, &out) !=
		       SYNGUARD_COOKIE_OK);
	}
}

/* Valid for the current and the previous key, expired after that. */
static void cookie_ts_rotation(void)
{
	struct prng r = { 0x726f74ULL };
	struct synguard_keys k[4];
	struct synguard_tuple t;
	struct synguard_synopts o = { .mss = 1460, .wscale = 7, .aws = 9 };
	siphash_key_t fresh;
	u32 isn, tsval, i;

	rand_keys(&r, &k[0], 41);
	for (i = 1; i < 4; i++) {
		rand_key(&r, &fresh);
		synguard_keys_next(&k[i], &k[i - 1], &fresh);
	}
	rand_tuple(&r, &t, false);
	synguard_cookie_make_ts(&k[0], &t, &o, &isn, &tsval);
	EXPECT_EQ(synguard_cookie_check_ts(&k[0], &t, isn, tsval, &o),
		  SYNGUARD_COOKIE_OK);
	EXPECT(synguard_cookie_is_current(&k[0], isn, true));
	EXPECT_EQ(synguard_cookie_check_ts(&k[1], &t, isn, tsval, &o),
		  SYNGUARD_COOKIE_OK);
	EXPECT(!synguard_cookie_is_current(&k[1], isn, true));
	EXPECT_EQ(synguard_cookie_check_ts(&k[2], &t, isn, tsval, &o),
		  SYNGUARD_COOKIE_EXPIRED);
	EXPECT_EQ(synguard_cookie_check_ts(&k[3], &t, isn, tsval, &o),
		  SYNGUARD_COOKIE_BAD_MAC);
}

/* Blind forgery: random ISN and tsval pairs, 2^-29 each. */
static void cookie_ts_forged_random(void)
{
	struct prng r = { 0x666f726765ULL };
	struct synguard_keys k;
	struct synguard_tuple t;
	struct synguard_synopts o;
	u32 i, hits = 0;

	rand_keys(&r, &k, 3);
	rand_tuple(&r, &t, false);
	for (i = 0; i < FORGE_TRIES; i++)
		hits += synguard_cookie_check_ts(&k, &t, prng_u32(&r),
						 prng_u32(&r), &o) ==
			SYNGUARD_COOKIE_OK;
	unit_note("random timestamp cookies accepted: %u of %u (theory %.3f)",
		  hits, FORGE_TRIES, FORGE_TRIES / 536870912.0);
	EXPECT(hits <= 2);
}

/* The age wraps with the 15-bit field. */
static void cookie_ts_age(void)
{
	EXPECT_EQ(synguard_cookie_age(100, 40), 60);
	EXPECT_EQ(synguard_cookie_age(5, 0x7ffe), 7);
	EXPECT_EQ(synguard_cookie_age(0x12345, 0x2345), 0);
	EXPECT_EQ(synguard_cookie_age(0x8000, 1), 0x7fff);
}

static const struct unit_test tests[] = {
	UNIT_TEST(cookie_ts_mss_table),
	UNIT_TEST(cookie_ts_roundtrip),
	UNIT_TEST(cookie_ts_bitflip_rejected),
	UNIT_TEST(cookie_ts_rotation),
	UNIT_TEST(cookie_ts_forged_random),
	UNIT_TEST(cookie_ts_age),
	UNIT_TEST(cookie_mss_table),
	UNIT_TEST(cookie_layout),
	UNIT_TEST(cookie_roundtrip_every_mss),
	UNIT_TEST(cookie_roundtrip_options),
	UNIT_TEST(cookie_bitflip_rejected),
	UNIT_TEST(cookie_keys_next),
	UNIT_TEST(cookie_rotation),
	UNIT_TEST(cookie_other_keyset),
	UNIT_TEST(cookie_forged_random),
	UNIT_TEST(cookie_forged_replay_uniformity),
};

int main(void)
{
	return unit_main(tests, ARRAY_SIZE(tests));
}
