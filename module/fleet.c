// SPDX-License-Identifier: GPL-2.0
/*
 * Fleet secrets: the keys of epoch e, K(e), are a pseudo-random function of
 * the fleet's secret, so hosts that share it and agree on the time (NTP)
 * and on the MSL derive the same keys without talking to each other.
 *
 *   epoch  = (realtime seconds + offset) / msl
 *   K(e)   = SipHash_secret(e, msl, label, 0) || SipHash_secret(..., 1)
 *
 * SipHash is a PRF keyed by the 128-bit secret: one epoch's keys tell
 * nothing about another's, nor about the secret. The msl is an input so
 * that hosts configured with different MSLs (different epoch numbers for
 * the same instant) never accept each other's cookies by accident.
 *
 * A key set for epoch e is laid out as the random one (cookie.h): cur
 * K(e), prev K(e - 1), old K(e - 2), gen e. Cookies carry the parity of
 * their epoch, so exactly one key is tried per ACK (see hooks.c).
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/time64.h>
#include "fleet.h"

/* "synguard": keys of other uses of the secret would differ. */
#define FLEET_LABEL	0x73796e6775617264ULL

void synguard_fleet_clock_init(struct synguard_fleet_clock *c, int msl,
			       int offset)
{
	c->msl = msl;
	c->skew = min_t(u32, SYNGUARD_FLEET_SKEW_MAX, c->msl / 4);
	c->offset = offset;
}

/*
 * The epoch at @now (realtime seconds). Epochs start on whole seconds, so
 * the seconds alone place an instant exactly. Epoch numbers wrap at 2^32:
 * only their differences and parity matter.
 */
u32 synguard_fleet_epoch(const struct synguard_fleet_clock *c, s64 now)
{
	now += c->offset;
	return now > 0 ? (u32)div_u64(now, c->msl) : 0;
}

/* Nanoseconds from @now_ns (realtime) to the start of the next epoch. */
u64 synguard_fleet_ns_to_next(const struct synguard_fleet_clock *c,
			      u64 now_ns)
{
	u64 period = (u64)c->msl * NSEC_PER_SEC, rem;

	now_ns += (s64)c->offset * NSEC_PER_SEC;
	div64_u64_rem(now_ns, period, &rem);
	return period - rem;
}

static void fleet_key(const siphash_key_t *secret,
		      const struct synguard_fleet_clock *c, u32 epoch,
		      siphash_key_t *key)
{
	key->key[0] = siphash_4u64(epoch, c->msl, FLEET_LABEL, 0, secret);
	key->key[1] = siphash_4u64(epoch, c->msl, FLEET_LABEL, 1, secret);
}

/* The key set whose current key is that of @epoch. */
void synguard_fleet_derive(const siphash_key_t *secret,
			   const struct synguard_fleet_clock *c, u32 epoch,
			   struct synguard_keys *keys)
{
	fleet_key(secret, c, epoch, &keys->cur);
	fleet_key(secret, c, epoch - 1, &keys->prev);
	fleet_key(secret, c, epoch - 2, &keys->old);
	keys->gen = epoch;
}
