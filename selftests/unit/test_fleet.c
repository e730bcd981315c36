// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests of the fleet clock and key derivation in module/fleet.c,
 * compiled unchanged against the shims in include/linux/, with the cookies
 * of module/cookie.c on top: epochs and their edges, the skew allowance,
 * the keys of an epoch against a known answer, the key set (current,
 * previous, old) and the next epoch's set, and which cookies one host
 * accepts from another whose clock differs.
 */
#include <stdio.h>
#include <string.h>

#include "fleet.h"
#include "unit.h"

#define NS	1000000000ULL
#define MSLS	{ 1, 2, 3, 4, 7, 8, 20, 21, 30 }

/* Key bytes 00..0f, as test_siphash.c's reference key. */
static const siphash_key_t secret_a = {
	{ 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL }
};
static const siphash_key_t secret_b = {
	{ 0x0706050403020100ULL, 0x0f0e0d0c0b0a0909ULL }
};

static const struct synguard_tuple tuple = {
	.saddr = { 0x0100000aU },	/* 10.0.0.1 */
	.daddr = { 0x0909090aU },	/* 10.9.9.9 */
	.sport = 0x409c,
	.dport = 0x901f,
	.isn = 7000000,
};

static const struct synguard_synopts opts = {
	.mss = 1460,
	.wscale = 7,
	.sack = true,
};

static struct synguard_fleet_clock clock_of(int msl, int offset)
{
	struct synguard_fleet_clock c;

	synguard_fleet_clock_init(&c, msl, offset);
	return c;
}

static bool key_eq(const siphash_key_t *a, const siphash_key_t *b)
{
	return a->key[0] == b->key[0] && a->key[1] == b->key[1];
}

static bool keys_eq(const struct synguard_keys *a,
		    const struct synguard_keys *b)
{
	return key_eq(&a->cur, &b->cur) && key_eq(&a->prev, &b->prev) &&
	       key_eq(&a->old, &b->old) && a->gen == b->gen;
}

/* K(e) alone: the current key of epoch e's set. */
static siphash_key_t key_of(const siphash_key_t *secret, int msl, u32 epoch)
{
	struct synguard_fleet_clock c = clock_of(msl, 0);
	struct synguard_keys k;

	synguard_fleet_derive(secret, &c, epoch, &k);
	return k.cur;
}

/* skew = min(5 s, msl / 4): a cookie always lives at least 3/4 MSL. */
static void fleet_skew_allowance(void)
{
	static const struct { int msl; u32 skew; } want[] = {
		{ 1, 0 }, { 3, 0 }, { 4, 1 }, { 7, 1 }, { 8, 2 }, { 19, 4 },
		{ 20, 5 }, { 21, 5 }, { 30, 5 }, { 3600, 5 },
	};
	struct synguard_fleet_clock c;
	unsigned int i;
	int msl;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		c = clock_of(want[i].msl, -7);
		EXPECT_MSG(c.skew == want[i].skew, "msl %d: skew %u, want %u",
			   want[i].msl, c.skew, want[i].skew);
		EXPECT_EQ(c.msl, want[i].msl);
		EXPECT_EQ(c.offset, -7);
	}
	for (msl = 1; msl <= 3600; msl++) {
		c = clock_of(msl, 0);
		EXPECT_MSG(c.skew <= SYNGUARD_FLEET_SKEW_MAX &&
			   4 * c.skew <= (u32)msl && c.skew < (u32)msl,
			   "msl %d: skew %u", msl, c.skew);
	}
}

/* Epoch e is the seconds [e * msl, (e + 1) * msl) of realtime + offset. */
static void fleet_epoch_seconds(void)
{
	static const int msls[] = MSLS;
	const s64 base = 1800000000;	/* 2027 */
	struct synguard_fleet_clock c, o;
	unsigned int i;
	s64 t;

	for (i = 0; i < ARRAY_SIZE(msls); i++) {
		int msl = msls[i];

		c = clock_of(msl, 0);
		EXPECT_EQ(synguard_fleet_epoch(&c, 0), 0);
		EXPECT_EQ(synguard_fleet_epoch(&c, msl - 1), 0);
		EXPECT_EQ(synguard_fleet_epoch(&c, msl), 1);
		for (t = base; t < base + 3 * msl; t++) {
			u32 e = synguard_fleet_epoch(&c, t);

			EXPECT_MSG((s64)e * msl <= t && t < ((s64)e + 1) * msl,
				   "msl %d: t %lld in epoch %u", msl,
				   (long long)t, e);
		}
		/* The offset moves the clock, nothing else. */
		o = clock_of(msl, 3599);
		EXPECT_EQ(synguard_fleet_epoch(&o, base),
			  synguard_fleet_epoch(&c, base + 3599));
		o = clock_of(msl, -3600);
		EXPECT_EQ(synguard_fleet_epoch(&o, base),
			  synguard_fleet_epoch(&c, base - 3600));
	}
}

/* Before the clock's zero (a clock set to 1970, a large negative offset). */
static void fleet_epoch_before_zero(void)
{
	struct synguard_fleet_clock c = clock_of(30, -3600);

	EXPECT_EQ(synguard_fleet_epoch(&c, 3599), 0);
	EXPECT_EQ(synguard_fleet_epoch(&c, 3600), 0);
	EXPECT_EQ(synguard_fleet_epoch(&c, 3630), 1);
	EXPECT_EQ(synguard_fleet_epoch(&c, 0), 0);
	EXPECT_EQ(synguard_fleet_epoch(&c, -1), 0);
}

/* Epoch numbers wrap at 2^32; only their differences and parity count. */
static void fleet_epoch_wraps(void)
{
	struct synguard_fleet_clock c = clock_of(30, 0);
	const s64 wrap = 30LL << 32;

	EXPECT_EQ(synguard_fleet_epoch(&c, wrap - 1), 0xffffffffU);
	EXPECT_EQ(synguard_fleet_epoch(&c, wrap), 0);
	EXPECT_EQ(synguard_fleet_epoch(&c, wrap + 30), 1);
}

/* The rotation's timer: to the first nanosecond of the next epoch. */
static void fleet_ns_to_next_epoch(void)
{
	static const int msls[] = MSLS;
	static const int offsets[] = { 0, 1, -1, 7, -3600, 3600 };
	const u64 base = 1800000000ULL * NS;
	struct prng r = { 0x5eed };
	unsigned int i, j, n;

	for (i = 0; i < ARRAY_SIZE(msls); i++) {
		struct synguard_fleet_clock c = clock_of(msls[i], 0);
		u64 period = (u64)msls[i] * NS;
		u64 start = base / period * period;

		EXPECT_EQ(synguard_fleet_ns_to_next(&c, start), period);
		EXPECT_EQ(synguard_fleet_ns_to_next(&c, start - 1), 1);
		EXPECT_EQ(synguard_fleet_ns_to_next(&c, start + 1), period - 1);
		for (j = 0; j < ARRAY_SIZE(offsets); j++) {
			struct synguard_fleet_clock o = clock_of(msls[i],
								 offsets[j]);

			for (n = 0; n < 1000; n++) {
				u64 now = base + prng_u64(&r) % (1000 * NS);
				u64 next = now + synguard_fleet_ns_to_next(&o, now);
				u32 e = synguard_fleet_epoch(&o, now / NS);

				/* Still e a nanosecond before, e + 1 then. */
				EXPECT_MSG(synguard_fleet_epoch(&o, (next - 1) / NS) == e &&
					   synguard_fleet_epoch(&o, next / NS) == e + 1,
					   "msl %d offset %d now %llu: next %llu",
					   msls[i], offsets[j],
					   (unsigned long long)now,
					   (unsigned long long)next);
			}
		}
	}
}

/*
 * K(e) = SipHash_secret(e, msl, "synguard", i) for halves i = 0, 1: the
 * words little-endian, the label the ASCII of "synguard" read big-endian.
 * Known answers from OpenSSL's SipHash over those 32 bytes, so that hosts
 * built from different trees (or a reworded fleet.c) still derive the
 * same keys.
 */
static void fleet_key_known_answer(void)
{
	siphash_key_t k = key_of(&secret_a, 30, 0x12345678);
	u64 label = 0;
	unsigned int i;

	EXPECT_EQ(k.key[0], 0x679eba104aef742fULL);
	EXPECT_EQ(k.key[1], 0xa9939eae36fe546aULL);
	for (i = 0; i < 8; i++)
		label = label << 8 | (u8)"synguard"[i];
	EXPECT_EQ(k.key[0], siphash_4u64(0x12345678, 30, label, 0, &secret_a));
	EXPECT_EQ(k.key[1], siphash_4u64(0x12345678, 30, label, 1, &secret_a));
}

/*
 * The set of epoch e is K(e), K(e - 1), K(e - 2), generation e: the set of
 * e + 1 is what a random-key rotation (synguard_keys_next) would make of
 * it with K(e + 1), so cookies made before an epoch change validate after
 * it. Including across 0 and the 2^32 wrap.
 */
static void fleet_key_set_layout(void)
{
	static const u32 epochs[] = {
		0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
		59999999,
	};
	struct synguard_fleet_clock c = clock_of(30, 0);
	struct synguard_keys k, next, rotated;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(epochs); i++) {
		u32 e = epochs[i];
		siphash_key_t ke = key_of(&secret_a, 30, e);
		siphash_key_t kp = key_of(&secret_a, 30, e - 1);
		siphash_key_t ko = key_of(&secret_a, 30, e - 2);
		siphash_key_t kn = key_of(&secret_a, 30, e + 1);

		synguard_fleet_derive(&secret_a, &c, e, &k);
		EXPECT_EQ(k.gen, e);
		EXPECT_MSG(key_eq(&k.cur, &ke) && key_eq(&k.prev, &kp) &&
			   key_eq(&k.old, &ko), "epoch %u: cur, prev, old", e);
		synguard_fleet_derive(&secret_a, &c, e + 1, &next);
		synguard_keys_next(&rotated, &k, &kn);
		EXPECT_MSG(keys_eq(&next, &rotated),
			   "epoch %u: the next set is a rotation", e);
	}
}

/* Every input changes the keys: each bit of the secret, the msl, e. */
static void fleet_keys_depend_on_inputs(void)
{
	siphash_key_t base = key_of(&secret_a, 30, 1000), k;
	siphash_key_t s;
	unsigned int bit;
	u32 e;

	EXPECT(base.key[0] != base.key[1]);
	for (bit = 0; bit < 128; bit++) {
		s = secret_a;
		s.key[bit / 64] ^= 1ULL << (bit % 64);
		k = key_of(&s, 30, 1000);
		EXPECT_MSG(k.key[0] != base.key[0] && k.key[1] != base.key[1],
			   "secret bit %u flipped: same key", bit);
	}
	k = key_of(&secret_a, 31, 1000);
	EXPECT(k.key[0] != base.key[0] && k.key[1] != base.key[1]);
	for (e = 0; e < 1000; e++) {
		k = key_of(&secret_a, 30, e);
		EXPECT_MSG(k.key[0] != base.key[0] && k.key[1] != base.key[1],
			   "epochs %u and 1000: same key", e);
	}
}

/*
 * A host as netns.c and hooks.c use fleet.c: at a rotation (an epoch's
 * start, or a secret or msl written) it derives the set of its clock's
 * epoch, and the next epoch's as @ahead; an ACK is checked with the set of
 * the epoch its clock will be in skew seconds from now, NULL if it has
 * neither (the clock was stepped and the rotation has not caught up).
 */
struct host {
	struct synguard_fleet_clock clock;
	struct synguard_keys keys;
	struct synguard_keys ahead;
};

static void host_rotate(struct host *h, const siphash_key_t *secret,
			int msl, int offset, s64 now)
{
	u32 e;

	synguard_fleet_clock_init(&h->clock, msl, offset);
	e = synguard_fleet_epoch(&h->clock, now);
	synguard_fleet_derive(secret, &h->clock, e, &h->keys);
	synguard_fleet_derive(secret, &h->clock, e + 1, &h->ahead);
}

static const struct synguard_keys *host_ack_keys(const struct host *h,
						 s64 now)
{
	u32 view = synguard_fleet_epoch(&h->clock, now + h->clock.skew);

	if (view == h->keys.gen)
		return &h->keys;
	if (view == h->ahead.gen)
		return &h->ahead;
	return NULL;
}

#define NO_KEYS		(-1)

/* B's verdict on @cookie at @t_ack: a cookie result, or NO_KEYS. */
static int check_at(const struct host *b, s64 t_ack, u32 cookie)
{
	const struct synguard_keys *keys = host_ack_keys(b, t_ack);
	struct synguard_synopts got;

	if (!keys)
		return NO_KEYS;
	memset(&got, 0, sizeof(got));
	return synguard_cookie_check(keys, &tuple, cookie, &got);
}

/*
 * A's cookie for a SYN at @t_syn (realtime), checked by B at @t_ack, each
 * host rotated on time by its own clock.
 */
static int relay(const siphash_key_t *sa, int offset_a,
		 const siphash_key_t *sb, int offset_b, int msl,
		 s64 t_syn, s64 t_ack)
{
	struct host a, b;
	u32 cookie;

	host_rotate(&a, sa, msl, offset_a, t_syn);
	cookie = synguard_cookie_make(&a.keys, &tuple, &opts);
	host_rotate(&b, sb, msl, offset_b, t_ack);
	return check_at(&b, t_ack, cookie);
}

/* Same secret: accepted; another secret or another msl: a bad MAC. */
static void fleet_hosts_agree(void)
{
	const s64 t = 1800000000;

	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, t, t),
		  SYNGUARD_COOKIE_OK);
	EXPECT_EQ(relay(&secret_a, 0, &secret_b, 0, 30, t, t),
		  SYNGUARD_COOKIE_BAD_MAC);
	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, t, t + 1),
		  SYNGUARD_COOKIE_OK);
}

static int relay_msl(int msl_a, int msl_b, s64 t)
{
	struct host a, b;
	u32 cookie;

	host_rotate(&a, &secret_a, msl_a, 0, t);
	cookie = synguard_cookie_make(&a.keys, &tuple, &opts);
	host_rotate(&b, &secret_a, msl_b, 0, t);
	return check_at(&b, t, cookie);
}

static void fleet_msl_must_agree(void)
{
	s64 t;

	/* Whatever the instant; at 0 even the epoch numbers agree. */
	for (t = 1800000000; t < 1800000000 + 120; t++) {
		EXPECT_EQ(relay_msl(30, 30, t), SYNGUARD_COOKIE_OK);
		EXPECT_EQ(relay_msl(30, 31, t), SYNGUARD_COOKIE_BAD_MAC);
	}
	EXPECT_EQ(relay_msl(30, 31, 0), SYNGUARD_COOKIE_BAD_MAC);
}

/*
 * One clock: a cookie made in epoch e is accepted while the clock plus
 * skew is in e or e + 1, so by its age, for at least MSL - skew and less
 * than 2 MSL - skew. Then it is expired (its key is the set's old one)
 * for an epoch, then a bad MAC (that key is gone).
 */
static void fleet_cookie_lifetime(void)
{
	static const int msls[] = MSLS;
	const s64 base = 1800000000;
	unsigned int i;
	s64 t, age;

	for (i = 0; i < ARRAY_SIZE(msls); i++) {
		int msl = msls[i];
		struct synguard_fleet_clock c = clock_of(msl, 0);
		s64 start = base / msl * msl;
		u32 e = synguard_fleet_epoch(&c, start);

		for (t = start; t < start + msl; t++) {
			for (age = 0; age <= 4 * msl; age++) {
				u32 view = synguard_fleet_epoch(&c, t + age + c.skew);
				int want = view - e <= 1 ? SYNGUARD_COOKIE_OK :
					   view - e == 2 ? SYNGUARD_COOKIE_EXPIRED :
					   SYNGUARD_COOKIE_BAD_MAC;
				int got = relay(&secret_a, 0, &secret_a, 0,
						msl, t, t + age);

				EXPECT_MSG(got == want,
					   "msl %d: SYN at %+lld s, ACK %lld s later: %d, want %d",
					   msl, (long long)(t - start),
					   (long long)age, got, want);
				if (age < msl - (s64)c.skew)
					EXPECT(got == SYNGUARD_COOKIE_OK);
				if (age >= 2 * msl - (s64)c.skew)
					EXPECT(got != SYNGUARD_COOKIE_OK);
			}
		}
	}
}

/*
 * Two clocks, A's @d seconds ahead of B's (behind if negative), the ACK
 * at once: accepted in every second of an epoch for -(MSL - skew) <= d <=
 * skew; one more second either way and some SYN second fails.
 */
static bool all_phases_ok(int msl, int d)
{
	const s64 base = 1800000000LL / msl * msl;
	s64 t;
	bool ok = true;

	/* B's clock is realtime; A's runs d ahead of it. */
	for (t = base - 2 * msl; t < base + 2 * msl; t++)
		ok &= relay(&secret_a, d, &secret_a, 0, msl, t, t) ==
		      SYNGUARD_COOKIE_OK;
	return ok;
}

static void fleet_skew_window(void)
{
	static const int msls[] = MSLS;
	unsigned int i;
	int d;

	for (i = 0; i < ARRAY_SIZE(msls); i++) {
		int msl = msls[i];
		int skew = clock_of(msl, 0).skew;

		for (d = -(msl - skew); d <= skew; d++)
			EXPECT_MSG(all_phases_ok(msl, d),
				   "msl %d: A %+d s from B refused", msl, d);
		EXPECT_MSG(!all_phases_ok(msl, skew + 1),
			   "msl %d: A %d s ahead always accepted", msl,
			   skew + 1);
		EXPECT_MSG(!all_phases_ok(msl, -(msl - skew) - 1),
			   "msl %d: A %d s behind always accepted", msl,
			   msl - skew + 1);
	}
}

/*
 * In its last skew seconds of an epoch a host checks ACKs with the next
 * epoch's set: the SYN went to a host whose clock is already there.
 */
static void fleet_ahead_set_used(void)
{
	struct host b;
	const s64 start = 1800000000LL / 8 * 8;
	s64 t;

	for (t = start; t < start + 8; t++) {
		host_rotate(&b, &secret_a, 8, 0, t);
		EXPECT_EQ(b.ahead.gen, b.keys.gen + 1);
		EXPECT(host_ack_keys(&b, t) ==
		       (t - start >= 8 - 2 ? &b.ahead : &b.keys));
	}
	/* A key set an epoch behind the clock (a step): none. */
	host_rotate(&b, &secret_a, 8, 0, start);
	EXPECT(host_ack_keys(&b, start + 16) == NULL);
	EXPECT(host_ack_keys(&b, start - 8) == NULL);
	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 8, start + 7, start + 7),
		  SYNGUARD_COOKIE_OK);
}

/* Hosts either side of the 2^32 epoch wrap, and of the clock's zero. */
static void fleet_edge_epochs(void)
{
	const s64 wrap = 30LL << 32;

	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, wrap - 1, wrap),
		  SYNGUARD_COOKIE_OK);
	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, wrap - 1, wrap + 30),
		  SYNGUARD_COOKIE_EXPIRED);
	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, wrap - 31, wrap + 10),
		  SYNGUARD_COOKIE_EXPIRED);
	EXPECT_EQ(relay(&secret_a, 0, &secret_a, 0, 30, 0, 29),
		  SYNGUARD_COOKIE_OK);
	EXPECT_EQ(relay(&secret_a, -3600, &secret_a, 0, 30, 10, 10),
		  SYNGUARD_COOKIE_OK);
}

static const struct unit_test tests[] = {
	UNIT_TEST(fleet_skew_allowance),
	UNIT_TEST(fleet_epoch_seconds),
	UNIT_TEST(fleet_epoch_before_zero),
	UNIT_TEST(fleet_epoch_wraps),
	UNIT_TEST(fleet_ns_to_next_epoch),
	UNIT_TEST(fleet_key_known_answer),
	UNIT_TEST(fleet_key_set_layout),
	UNIT_TEST(fleet_keys_depend_on_inputs),
	UNIT_TEST(fleet_hosts_agree),
	UNIT_TEST(fleet_msl_must_agree),
	UNIT_TEST(fleet_cookie_lifetime),
	UNIT_TEST(fleet_skew_window),
	UNIT_TEST(fleet_ahead_set_used),
	UNIT_TEST(fleet_edge_epochs),
};

int main(void)
{
	return unit_main(tests, ARRAY_SIZE(tests));
}
