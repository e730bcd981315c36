/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the cookie functions must return, stated independently of
 * module/cookie.c. Shared by test_cookie.c and fuzz_cookie.c.
 */
#ifndef _UNIT_COOKIE_REF_H
#define _UNIT_COOKIE_REF_H

#include "cookie.h"

#define REF_COOKIE_KEY_BIT	0x80u
#define REF_COOKIE_SACK_BIT	0x40u

/* The table entry <= @mss, or the smallest entry when there is none. */
static inline u16 ref_expect_mss(bool ipv6, u32 mss)
{
	u16 best = 0, min = 0xffff;
	unsigned int i;

	for (i = 0; i < SYNGUARD_MSS_SLOTS; i++) {
		u16 e = synguard_cookie_mss_value(ipv6, i);

		if (e <= mss && e > best)
			best = e;
		if (e < min)
			min = e;
	}
	return best ? best : min;
}

/* 0..14 exact, 15 means "none", anything larger is clamped to 14. */
static inline u8 ref_expect_wscale(u8 ws)
{
	if (ws <= SYNGUARD_WSCALE_MAX || ws == SYNGUARD_WSCALE_NONE)
		return ws;
	return SYNGUARD_WSCALE_MAX;
}

/*
 * The one cookie with @c's option bits (low byte) that check() accepts for
 * @t: made by the current key if @c's key bit has the generation's parity,
 * else by the previous key.
 */
static inline u32 ref_true_cookie(const struct synguard_keys *k,
				  const struct synguard_tuple *t, u32 c)
{
	struct synguard_keys mk = *k;
	struct synguard_synopts o = {
		.mss = synguard_cookie_mss_value(t->ipv6, c & 3),
		.wscale = (c >> 2) & 0xf,
		.sack = c & REF_COOKIE_SACK_BIT,
	};

	if (!(c & REF_COOKIE_KEY_BIT) != !(k->gen & 1)) {
		mk.cur = k->prev;
		mk.gen = k->gen - 1;
	}
	return synguard_cookie_make(&mk, t, &o);
}

#endif /* _UNIT_COOKIE_REF_H */
