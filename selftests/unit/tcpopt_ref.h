/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An independent model of synguard_tcpopt_parse() for differential
 * testing, and the invariants any successful parse must satisfy. Shared by
 * test_tcpopt.c and fuzz_tcpopt.c.
 *
 * The model follows RFC 9293 section 3.1 and tcpopt.h: EOL ends the list,
 * NOP is one byte, every other option is kind, length (>= 2, within the
 * list), data; known kinds must have their exact length (SACK: 2 + 8n,
 * n >= 1); unknown kinds are skipped; a list longer than 40 bytes is
 * malformed. On error, what came before the bad option stays recorded.
 */
#ifndef _UNIT_TCPOPT_REF_H
#define _UNIT_TCPOPT_REF_H

#include <errno.h>
#include <string.h>

#include "cookie.h"
#include "tcpopt.h"

static inline bool ref_len_ok(u8 kind, unsigned int size)
{
	switch (kind) {
	case 2:		/* MSS */
		return size == 4;
	case 3:		/* window scale */
		return size == 3;
	case 4:		/* SACK permitted */
		return size == 2;
	case 5:		/* SACK: 1..4 blocks of 8 bytes */
		return size >= 10 && (size - 2) % 8 == 0;
	case 8:		/* timestamps */
		return size == 10;
	default:
		return true;
	}
}

static inline void ref_record(const u8 *o, unsigned int at,
			      struct synguard_tcpopt *out)
{
	switch (o[0]) {
	case 2:
		out->mss = o[2] * 256 + o[3];
		break;
	case 3:
		out->wscale = o[2] < 14 ? o[2] : 14;
		break;
	case 4:
		out->sack_ok = true;
		break;
	case 5:
		out->sack_off = at + 2;
		out->sack_blocks = (o[1] - 2) / 8;
		break;
	case 8:
		out->ts = true;
		out->ts_off = at;
		out->tsval = synguard_get_be32(o + 2);
		out->tsecr = synguard_get_be32(o + 6);
		break;
	}
}

static inline int ref_tcpopt_parse(const u8 *opt, unsigned int len,
				   struct synguard_tcpopt *out)
{
	unsigned int i = 0, size;

	memset(out, 0, sizeof(*out));
	out->wscale = SYNGUARD_WSCALE_NONE;
	if (len > 40)
		return -EINVAL;
	for (i = 0; i < len && opt[i] != 0; i += size) {
		if (opt[i] == 1) {
			size = 1;
			continue;
		}
		if (len - i < 2)
			return -EINVAL;
		size = opt[i + 1];
		if (size < 2 || size > len - i || !ref_len_ok(opt[i], size))
			return -EINVAL;
		ref_record(opt + i, i, out);
	}
	return 0;
}

/* NULL if @a and @b agree field by field, else the first field that differs. */
static inline const char *tcpopt_diff(const struct synguard_tcpopt *a,
				      const struct synguard_tcpopt *b)
{
	if (a->mss != b->mss)
		return "mss";
	if (a->wscale != b->wscale)
		return "wscale";
	if (a->sack_ok != b->sack_ok)
		return "sack_ok";
	if (a->ts != b->ts)
		return "ts";
	if (a->tsval != b->tsval)
		return "tsval";
	if (a->tsecr != b->tsecr)
		return "tsecr";
	if (a->ts_off != b->ts_off)
		return "ts_off";
	if (a->sack_off != b->sack_off)
		return "sack_off";
	if (a->sack_blocks != b->sack_blocks)
		return "sack_blocks";
	return NULL;
}

/*
 * NULL if a parse result is self-consistent with the bytes it came from,
 * else what is wrong. The offsets it returns are what the relay will
 * rewrite, so each must point at a whole option of the right kind.
 */
static inline const char *tcpopt_insane(const u8 *opt, unsigned int len,
					int rc, const struct synguard_tcpopt *o)
{
	if (rc != 0 && rc != -EINVAL)
		return "rc neither 0 nor -EINVAL";
	if (len > SYNGUARD_TCPOPT_MAXLEN && rc == 0)
		return "list longer than 40 bytes accepted";
	if (o->wscale > SYNGUARD_WSCALE_MAX && o->wscale != SYNGUARD_WSCALE_NONE)
		return "wscale out of range";
	if (rc)
		return NULL;
	if (o->ts && (o->ts_off + 10u > len || opt[o->ts_off] != 8 ||
		      opt[o->ts_off + 1] != 10 ||
		      o->tsval != synguard_get_be32(opt + o->ts_off + 2) ||
		      o->tsecr != synguard_get_be32(opt + o->ts_off + 6)))
		return "ts_off does not point at the timestamps";
	if (!o->ts && (o->ts_off || o->tsval || o->tsecr))
		return "timestamp fields set without ts";
	if (o->sack_blocks > 4 || !o->sack_blocks != !o->sack_off)
		return "sack_blocks/sack_off inconsistent";
	if (o->sack_off && (o->sack_off < 2 || opt[o->sack_off - 2] != 5 ||
			    opt[o->sack_off - 1] != 2 + 8 * o->sack_blocks ||
			    o->sack_off + 8u * o->sack_blocks > len))
		return "sack_off does not point at the SACK blocks";
	return NULL;
}

#endif /* _UNIT_TCPOPT_REF_H */
