/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fleet secrets: cookie keys derived from a secret that a fleet of hosts
 * shares and from the wall-clock epoch (realtime / msl), so that every host
 * makes and accepts the same cookies. Integers in, integers out: the clock
 * is read by the callers.
 */
#ifndef _SYNGUARD_FLEET_H
#define _SYNGUARD_FLEET_H

#include <linux/types.h>
#include <linux/siphash.h>
#include "cookie.h"

/* A secret is one SipHash key, written as 32 hex digits. */
#define SYNGUARD_FLEET_SECRET_LEN	16

/*
 * How far (seconds) another host's clock may run ahead of ours, at most.
 * Capped at msl / 4 so that a cookie still lives at least 3/4 MSL.
 */
#define SYNGUARD_FLEET_SKEW_MAX		5

/* How a namespace counts epochs; fixed for the life of one key set. */
struct synguard_fleet_clock {
	u32 msl;	/* seconds per epoch */
	u32 skew;	/* seconds a peer's clock may be ahead of ours */
	int offset;	/* seconds added to realtime (the test knob) */
};

void synguard_fleet_clock_init(struct synguard_fleet_clock *c, int msl,
			       int offset);
u32 synguard_fleet_epoch(const struct synguard_fleet_clock *c, s64 now);
u64 synguard_fleet_ns_to_next(const struct synguard_fleet_clock *c,
			      u64 now_ns);
void synguard_fleet_derive(const siphash_key_t *secret,
			   const struct synguard_fleet_clock *c, u32 epoch,
			   struct synguard_keys *keys);

#endif /* _SYNGUARD_FLEET_H */
