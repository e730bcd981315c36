/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SYN cookie math: integers in, integers out. No skb, no locking, so the
 * same file compiles in userspace for the unit tests.
 */
#ifndef _SYNGUARD_COOKIE_H
#define _SYNGUARD_COOKIE_H

#include <linux/types.h>
#include <linux/siphash.h>

#define SYNGUARD_WSCALE_MAX	14	/* RFC 7323 limit */
#define SYNGUARD_WSCALE_NONE	15	/* client offered no window scaling */
#define SYNGUARD_MSS_SLOTS	4

/*
 * Timestamp cookies carry the SYN+ACK's send time, in units of 2^20 ns
 * (about 1.05 ms), modulo 2^15 units (about 34 s).
 */
#define SYNGUARD_TS_TIME_SHIFT	20
#define SYNGUARD_TS_TIME_BITS	15
#define SYNGUARD_TS_MSS_SLOTS	512

/* What the hand-off must recover from the client's SYN. */
struct synguard_synopts {
	u16 mss;	/* rounded down to a table entry */
	u8 wscale;	/* 0..14, or SYNGUARD_WSCALE_NONE */
	bool sack;
	/* Timestamp cookies only (synguard_cookie_*_ts()): */
	bool ecn;	/* ECN agreed in the SYN+ACK */
	u8 aws;		/* the window scale the SYN+ACK announced */
	u32 time;	/* send time, SYNGUARD_TS_TIME_SHIFT units */
};

/*
 * The connection as the client sees it. Addresses are four 32-bit words in
 * network order; IPv4 uses word 0 and leaves the rest zero.
 */
struct synguard_tuple {
	u32 saddr[4];
	u32 daddr[4];
	u16 sport;
	u16 dport;
	u32 isn;	/* the client's ISN: seq of its SYN */
	bool ipv6;
};

/*
 * Secrets: @cur made the cookies of generation @gen, @prev those of gen - 1.
 * @old (gen - 2) no longer validates anything; it is kept only to tell an
 * expired cookie from a forged one.
 */
struct synguard_keys {
	siphash_key_t cur;
	siphash_key_t prev;
	siphash_key_t old;
	u32 gen;
};

enum synguard_cookie_result {
	SYNGUARD_COOKIE_OK,
	SYNGUARD_COOKIE_BAD_MAC,
	SYNGUARD_COOKIE_EXPIRED,
};

u16 synguard_cookie_mss_value(bool ipv6, unsigned int idx);
u32 synguard_cookie_make(const struct synguard_keys *keys,
			 const struct synguard_tuple *t,
			 const struct synguard_synopts *o);
enum synguard_cookie_result
synguard_cookie_check(const struct synguard_keys *keys,
		      const struct synguard_tuple *t, u32 cookie,
		      struct synguard_synopts *o);
bool synguard_cookie_is_current(const struct synguard_keys *keys, u32 cookie,
			       bool ts);
u16 synguard_cookie_mss_ts(unsigned int idx);
void synguard_cookie_make_ts(const struct synguard_keys *keys,
			     const struct synguard_tuple *t,
			     const struct synguard_synopts *o,
			     u32 *isn, u32 *tsval);
enum synguard_cookie_result
synguard_cookie_check_ts(const struct synguard_keys *keys,
			 const struct synguard_tuple *t, u32 isn, u32 tsval,
			 struct synguard_synopts *o);
u32 synguard_cookie_age(u32 now, u32 time);
void synguard_keys_next(struct synguard_keys *next,
			const struct synguard_keys *cur,
			const siphash_key_t *fresh);

#endif /* _SYNGUARD_COOKIE_H */
