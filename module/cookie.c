// SPDX-License-Identifier: GPL-2.0
/*
 * SipHash SYN cookies.
 *
 * The 32-bit ISN of our SYN+ACK:
 *
 *   31                                 8   7    6    5      2  1    0
 *  +-------------------------------------+----+----+---------+--------+
 *  |        MAC, 24 bits of SipHash      |key |sack| wscale  |mss idx |
 *  +-------------------------------------+----+----+---------+--------+
 *
 * key:    parity of the key generation that made the MAC. Keys rotate every
 *         MSL and the current and previous one validate, so a cookie lives
 *         between MSL and 2 * MSL.
 * sack:   the client offered SACK.
 * wscale: the client's window scale, 0..14, or 15 when it offered none.
 * mss:    index into a per-family table of the client's MSS, rounded down.
 *
 * The MAC covers the addresses, ports, the client's ISN and the low 8 bits,
 * so none of the options can be altered without breaking it. Everything the
 * hand-off needs is in the ISN itself: unlike Linux and SYNPROXY cookies,
 * window scale and SACK survive for clients that send no timestamps.
 *
 * Clients that send timestamps echo our SYN+ACK's tsval in every ACK, so a
 * timestamp cookie has 64 bits, the ISN and the tsval:
 *
 *   ISN  31                                            3    2    1    0
 *       +-----------------------------------------------+----+----+----+
 *       |           MAC, 29 bits of SipHash             |key |sack|ecn |
 *       +-----------------------------------------------+----+----+----+
 *   tsval 31               17 16              8 7       4 3       0
 *       +-------------------+-----------------+---------+---------+
 *       | time, 15 bits     | MSS index, 9    | wscale  |  aws    |
 *       +-------------------+-----------------+---------+---------+
 *
 * time:   when the SYN+ACK left, in 2^20 ns units modulo 2^15 (~34 s): the
 *         hand-off tells the listener how long ago that was, so its first
 *         RTT sample is the path's, not the hand-off's.
 * MSS:    an index into a 512-entry table that is exact for every even MSS
 *         from 536 to 1460 (synguard_cookie_mss_ts()); 0 is "no option".
 * wscale: the client's, as in the ISN layout above.
 * aws:    the window scale our SYN+ACK announced, so the relay rescales
 *         with what the client was told even if the listener's buffer or
 *         the sysctls changed before the ACK came.
 * ecn:    the SYN asked for ECN and the SYN+ACK agreed.
 *
 * The MAC covers everything else of the 64 bits, so a blind forger must
 * guess 29 bits: 2^-29 per ACK, like Linux's own cookies (24 bits of MAC
 * plus its counter and MSS-index checks). A compact cookie carries 5 more
 * option bits than Linux's and so has 2^-24.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include "cookie.h"

#define COOKIE_MAC_SHIFT	8
#define COOKIE_KEY_BIT		0x80u
#define COOKIE_SACK_BIT		0x40u
#define COOKIE_WS_SHIFT		2
#define COOKIE_WS_MASK		0x3cu
#define COOKIE_MSS_MASK		0x03u

#define TS_MAC_SHIFT		3
#define TS_MAC_BITS		29
#define TS_KEY_BIT		0x4u
#define TS_SACK_BIT		0x2u
#define TS_ECN_BIT		0x1u
#define TS_LOW_MASK		0x7u
#define TS_TIME_SHIFT		17
#define TS_TIME_MASK		((1u << SYNGUARD_TS_TIME_BITS) - 1)
#define TS_MSS_SHIFT		8
#define TS_MSS_MASK		(SYNGUARD_TS_MSS_SLOTS - 1)
#define TS_WS_SHIFT		4
#define TS_WS_MASK		0xfu
#define TS_EXTRA_TS		(1ULL << 16)

/*
 * The timestamp cookie's MSS table, ascending. 0: the SYN had no MSS option
 * (the hand-off SYN has none either). 1..30: 48 (the least Linux sends
 * to, tcp_min_snd_mss) to 512 in steps of 16, for tiny-MTU links. 31..493: every even value from 536 to 1460, the range of
 * real Internet paths (tunnels, PPPoE, VPNs), exact. 494..511: jumbo and
 * other large MTUs (FDDI/POS 4470, 9000 and 9216 for IPv4 and IPv6, ...).
 */
#define TS_MSS_LOW_N		31
#define TS_MSS_MID_FIRST	536
#define TS_MSS_MID_LAST		1460
#define TS_MSS_HIGH_IDX		(TS_MSS_LOW_N + \
				 (TS_MSS_MID_LAST - TS_MSS_MID_FIRST) / 2 + 1)
static const u16 ts_mss_high[SYNGUARD_TS_MSS_SLOTS - TS_MSS_HIGH_IDX] = {
	1480, 1500, 2000, 3000, 4000, 4052, 4410, 4430, 6000,
	8000, 8940, 8960, 9156, 9176, 12000, 16344, 32000, 65483,
};

/*
 * MSS values, ascending: the first is the default a client without an MSS
 * option gets (RFC 9293; Linux uses it for IPv6 too); 1460 and 1440 are
 * Ethernet's for IPv4 and IPv6, and 1440 also PPPoE's for IPv4; 1220 is the
 * IPv6 minimum MTU's (RFC 8200); the others cover tunnels. An MSS below the
 * first entry is announced as the first entry, as Linux's own cookies do.
 */
static const u16 cookie_mss_v4[SYNGUARD_MSS_SLOTS] = { 536, 1300, 1440, 1460 };
static const u16 cookie_mss_v6[SYNGUARD_MSS_SLOTS] = { 536, 1220, 1360, 1440 };

u16 synguard_cookie_mss_value(bool ipv6, unsigned int idx)
{
	const u16 *tab = ipv6 ? cookie_mss_v6 : cookie_mss_v4;

	return tab[idx & COOKIE_MSS_MASK];
}

static u32 mss_index(bool ipv6, u16 mss)
{
	const u16 *tab = ipv6 ? cookie_mss_v6 : cookie_mss_v4;
	u32 i;

	for (i = SYNGUARD_MSS_SLOTS - 1; i > 0; i--)
		if (mss >= tab[i])
			break;
	return i;
}

/*
 * SipHash over the whole tuple and @extra, the option bits. Compact cookies
 * put the family at bit 32 of @extra's word; timestamp cookies set bit 16,
 * which compact ones never do, so no MAC of one kind checks as the other.
 *
 * An IPv4 tuple is packed into three words (both addresses in the first),
 * half the input of an IPv6 one, which needs six: every SYN pays for its
 * MAC. SipHash hashes the input's length too, so the two layouts cannot
 * collide whatever the words hold. An IPv4 tuple whose unused address words
 * are not zero (none should be) takes the full layout: no bit of the tuple
 * is left out of the MAC.
 */
static u64 cookie_hash(const siphash_key_t *key,
		       const struct synguard_tuple *t, u64 extra)
{
	u64 ports = (u64)t->sport << 48 | (u64)t->dport << 32 | t->isn;
	u64 in[6];

	if (!t->ipv6 && !(t->saddr[1] | t->saddr[2] | t->saddr[3] |
			  t->daddr[1] | t->daddr[2] | t->daddr[3]))
		return siphash_3u64((u64)t->saddr[0] << 32 | t->daddr[0],
				    ports, extra, key);
	memcpy(&in[0], t->saddr, sizeof(t->saddr));
	memcpy(&in[2], t->daddr, sizeof(t->daddr));
	in[4] = ports;
	in[5] = extra;
	return siphash(in, sizeof(in), key);
}

/* 24 bits of SipHash over the whole tuple and the 8 option bits. */
static u32 cookie_mac(const siphash_key_t *key, const struct synguard_tuple *t,
		      u32 low)
{
	return (u32)(cookie_hash(key, t, (u64)t->ipv6 << 32 | low) >> 40);
}

static u32 cookie_low(const struct synguard_synopts *o, bool ipv6, u32 gen)
{
	u32 ws = o->wscale;

	if (ws > SYNGUARD_WSCALE_MAX && ws != SYNGUARD_WSCALE_NONE)
		ws = SYNGUARD_WSCALE_MAX;
	return (gen & 1 ? COOKIE_KEY_BIT : 0) |
	       (o->sack ? COOKIE_SACK_BIT : 0) |
	       ws << COOKIE_WS_SHIFT | mss_index(ipv6, o->mss);
}

u32 synguard_cookie_make(const struct synguard_keys *keys,
			 const struct synguard_tuple *t,
			 const struct synguard_synopts *o)
{
	u32 low = cookie_low(o, t->ipv6, keys->gen);

	return cookie_mac(&keys->cur, t, low) << COOKIE_MAC_SHIFT | low;
}

/*
 * Was @cookie (an ISN; @ts: a timestamp cookie's) made with the current key
 * rather than the previous one?
 */
bool synguard_cookie_is_current(const struct synguard_keys *keys, u32 cookie,
				bool ts)
{
	return !!(cookie & (ts ? TS_KEY_BIT : COOKIE_KEY_BIT)) ==
	       !!(keys->gen & 1);
}

enum synguard_cookie_result
synguard_cookie_check(const struct synguard_keys *keys,
		      const struct synguard_tuple *t, u32 cookie,
		      struct synguard_synopts *o)
{
	u32 low = cookie & 0xffu, mac = cookie >> COOKIE_MAC_SHIFT;
	bool is_cur = synguard_cookie_is_current(keys, cookie, false);

	if (cookie_mac(is_cur ? &keys->cur : &keys->prev, t, low) != mac) {
		/* Same parity as the current key: maybe made by the retired one. */
		if (is_cur && cookie_mac(&keys->old, t, low) == mac)
			return SYNGUARD_COOKIE_EXPIRED;
		return SYNGUARD_COOKIE_BAD_MAC;
	}
	o->mss = synguard_cookie_mss_value(t->ipv6, low & COOKIE_MSS_MASK);
	o->wscale = (low & COOKIE_WS_MASK) >> COOKIE_WS_SHIFT;
	o->sack = !!(low & COOKIE_SACK_BIT);
	return SYNGUARD_COOKIE_OK;
}

/* One rotation: the current key becomes previous, @fresh becomes current. */
void synguard_keys_next(struct synguard_keys *next,
			const struct synguard_keys *cur,
			const siphash_key_t *fresh)
{
	next->old = cur->prev;
	next->prev = cur->cur;
	next->cur = *fresh;
	next->gen = cur->gen + 1;
}

/* ---- timestamp cookies ------------------------------------------------ */

u16 synguard_cookie_mss_ts(unsigned int idx)
{
	idx &= TS_MSS_MASK;
	if (idx < TS_MSS_LOW_N)
		return idx ? 48 + 16 * (idx - 1) : 0;
	if (idx < TS_MSS_HIGH_IDX)
		return TS_MSS_MID_FIRST + 2 * (idx - TS_MSS_LOW_N);
	return ts_mss_high[idx - TS_MSS_HIGH_IDX];
}

/* The index of the largest entry <= @mss (0 for no MSS option). */
static u32 ts_mss_index(u16 mss)
{
	u32 i;

	if (mss < 48)
		return mss ? 1 : 0;
	if (mss < TS_MSS_MID_FIRST)
		return min_t(u32, 1 + (mss - 48) / 16, TS_MSS_LOW_N - 1);
	if (mss <= TS_MSS_MID_LAST)
		return TS_MSS_LOW_N + (mss - TS_MSS_MID_FIRST) / 2;
	for (i = ARRAY_SIZE(ts_mss_high); i > 0; i--)
		if (mss >= ts_mss_high[i - 1])
			break;
	return TS_MSS_HIGH_IDX - 1 + i;
}

static u32 ts_ws(u8 ws)
{
	return ws > SYNGUARD_WSCALE_MAX && ws != SYNGUARD_WSCALE_NONE ?
	       SYNGUARD_WSCALE_MAX : ws;
}

static u32 ts_mac(const siphash_key_t *key, const struct synguard_tuple *t,
		  u32 low, u32 tsval)
{
	u64 extra = (u64)tsval << 32 | TS_EXTRA_TS | (u64)t->ipv6 << 8 | low;

	return (u32)(cookie_hash(key, t, extra) >> (64 - TS_MAC_BITS));
}

void synguard_cookie_make_ts(const struct synguard_keys *keys,
			     const struct synguard_tuple *t,
			     const struct synguard_synopts *o,
			     u32 *isn, u32 *tsval)
{
	u32 low = (keys->gen & 1 ? TS_KEY_BIT : 0) |
		  (o->sack ? TS_SACK_BIT : 0) | (o->ecn ? TS_ECN_BIT : 0);

	*tsval = (o->time & TS_TIME_MASK) << TS_TIME_SHIFT |
		 ts_mss_index(o->mss) << TS_MSS_SHIFT |
		 ts_ws(o->wscale) << TS_WS_SHIFT | ts_ws(o->aws);
	*isn = ts_mac(&keys->cur, t, low, *tsval) << TS_MAC_SHIFT | low;
}

enum synguard_cookie_result
synguard_cookie_check_ts(const struct synguard_keys *keys,
			 const struct synguard_tuple *t, u32 isn, u32 tsval,
			 struct synguard_synopts *o)
{
	u32 low = isn & TS_LOW_MASK, mac = isn >> TS_MAC_SHIFT;
	bool is_cur = synguard_cookie_is_current(keys, isn, true);

	if (ts_mac(is_cur ? &keys->cur : &keys->prev, t, low, tsval) != mac) {
		if (is_cur && ts_mac(&keys->old, t, low, tsval) == mac)
			return SYNGUARD_COOKIE_EXPIRED;
		return SYNGUARD_COOKIE_BAD_MAC;
	}
	o->mss = synguard_cookie_mss_ts(tsval >> TS_MSS_SHIFT);
	o->wscale = (tsval >> TS_WS_SHIFT) & TS_WS_MASK;
	o->aws = tsval & TS_WS_MASK;
	o->sack = !!(low & TS_SACK_BIT);
	o->ecn = !!(low & TS_ECN_BIT);
	o->time = tsval >> TS_TIME_SHIFT;
	return SYNGUARD_COOKIE_OK;
}

/* Units of time between a cookie's @time and @now, modulo the field. */
u32 synguard_cookie_age(u32 now, u32 time)
{
	return (now - time) & TS_TIME_MASK;
}
