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
 */
#include <linux/string.h>
#include "cookie.h"

#define COOKIE_MAC_SHIFT	8
#define COOKIE_KEY_BIT		0x80u
#define COOKIE_SACK_BIT		0x40u
#define COOKIE_WS_SHIFT		2
#define COOKIE_WS_MASK		0x3cu
#define COOKIE_MSS_MASK		0x03u

/*
 * MSS values, ascending: the first is the protocol default a client without
 * an MSS option gets (RFC 9293 for IPv4, RFC 8200 minimum MTU for IPv6);
 * 1460 and 1440 are Ethernet's for IPv4 and IPv6, and 1440 also PPPoE's for
 * IPv4; the others cover tunnels. An MSS below the first entry is announced
 * as the first entry, as Linux's own cookies do.
 */
static const u16 cookie_mss_v4[SYNGUARD_MSS_SLOTS] = { 536, 1300, 1440, 1460 };
static const u16 cookie_mss_v6[SYNGUARD_MSS_SLOTS] = { 1220, 1400, 1440, 1460 };

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

/* 24 bits of SipHash over the whole tuple and the 8 option bits. */
static u32 cookie_mac(const siphash_key_t *key, const struct synguard_tuple *t,
		      u32 low)
{
	u64 in[6];

	memcpy(&in[0], t->saddr, sizeof(t->saddr));
	memcpy(&in[2], t->daddr, sizeof(t->daddr));
	in[4] = (u64)t->sport << 48 | (u64)t->dport << 32 | t->isn;
	in[5] = (u64)t->ipv6 << 32 | low;
	return (u32)(siphash(in, sizeof(in), key) >> 40);
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

/* Was @cookie made with the current key (rather than the previous one)? */
bool synguard_cookie_is_current(const struct synguard_keys *keys, u32 cookie)
{
	return !!(cookie & COOKIE_KEY_BIT) == !!(keys->gen & 1);
}

enum synguard_cookie_result
synguard_cookie_check(const struct synguard_keys *keys,
		      const struct synguard_tuple *t, u32 cookie,
		      struct synguard_synopts *o)
{
	u32 low = cookie & 0xffu, mac = cookie >> COOKIE_MAC_SHIFT;
	bool is_cur = synguard_cookie_is_current(keys, cookie);

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
