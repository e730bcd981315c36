// SPDX-License-Identifier: GPL-2.0
/*
 * TCP options. Every length byte comes from the wire: the parser never reads
 * past @len and rejects options whose length field disagrees with their
 * kind, so a malformed packet is reported instead of half-understood.
 */
#include <linux/errno.h>
#include <linux/string.h>
#include "cookie.h"
#include "tcpopt.h"

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_WS = 3,
	OPT_SACK_PERM = 4,
	OPT_SACK = 5,
	OPT_TS = 8,
	OPT_MD5 = 19,
	OPT_AO = 29,
};

#define OPTLEN_MSS		4
#define OPTLEN_WS		3
#define OPTLEN_SACK_PERM	2
#define OPTLEN_TS		10
#define SACK_BLOCK_LEN		8
#define OPTLEN_MD5		18
#define OPTLEN_AO_HDR		4	/* kind, length, key ids; then the MAC */

/* Record one option; @p points at its kind byte and @olen is trusted >= 2. */
static int parse_one(const u8 *opt, unsigned int off, unsigned int olen,
		     struct synguard_tcpopt *out)
{
	const u8 *p = opt + off;

	switch (p[0]) {
	case OPT_MSS:
		if (olen != OPTLEN_MSS)
			return -EINVAL;
		out->mss = (u16)(p[2] << 8 | p[3]);
		break;
	case OPT_WS:
		if (olen != OPTLEN_WS)
			return -EINVAL;
		out->wscale = p[2] > SYNGUARD_WSCALE_MAX ? SYNGUARD_WSCALE_MAX : p[2];
		break;
	case OPT_SACK_PERM:
		if (olen != OPTLEN_SACK_PERM)
			return -EINVAL;
		out->sack_ok = true;
		break;
	case OPT_TS:
		if (olen != OPTLEN_TS)
			return -EINVAL;
		out->ts = true;
		out->ts_off = off;
		out->tsval = synguard_get_be32(p + 2);
		out->tsecr = synguard_get_be32(p + 6);
		break;
	case OPT_SACK:
		if ((olen - 2) % SACK_BLOCK_LEN || olen < 2 + SACK_BLOCK_LEN)
			return -EINVAL;
		out->sack_off = off + 2;
		out->sack_blocks = (olen - 2) / SACK_BLOCK_LEN;
		break;
	/*
	 * Only as the kernel's tcp_do_parse_auth_options() would see them: an
	 * option it ignores makes no signed segment of a SYN.
	 */
	case OPT_MD5:
		out->md5 = olen == OPTLEN_MD5;
		break;
	case OPT_AO:
		out->ao = olen > OPTLEN_AO_HDR;
		break;
	}
	return 0;
}

/*
 * The options of a Linux SYN, which most clients send (and floods copy):
 * MSS, SACK-permitted, timestamps, NOP, window scale, 20 bytes. When the
 * fixed bytes of @opt are exactly these, the result is the walk's without
 * the walk: one SYN at a time, that walk is most of what parsing costs.
 */
#define LINUX_SYN_LEN	20

static bool parse_linux_syn(const u8 *opt, unsigned int len,
			    struct synguard_tcpopt *out)
{
	if (len != LINUX_SYN_LEN ||
	    opt[0] != OPT_MSS || opt[1] != OPTLEN_MSS ||
	    opt[4] != OPT_SACK_PERM || opt[5] != OPTLEN_SACK_PERM ||
	    opt[6] != OPT_TS || opt[7] != OPTLEN_TS ||
	    opt[16] != OPT_NOP || opt[17] != OPT_WS || opt[18] != OPTLEN_WS)
		return false;
	out->mss = (u16)(opt[2] << 8 | opt[3]);
	out->sack_ok = true;
	out->ts = true;
	out->ts_off = 6;
	out->tsval = synguard_get_be32(opt + 8);
	out->tsecr = synguard_get_be32(opt + 12);
	out->wscale = opt[19] > SYNGUARD_WSCALE_MAX ? SYNGUARD_WSCALE_MAX :
						      opt[19];
	return true;
}

/*
 * Returns 0, or -EINVAL for a malformed option list; what was parsed before
 * the malformed option is still in @out.
 */
int synguard_tcpopt_parse(const u8 *opt, unsigned int len,
			  struct synguard_tcpopt *out)
{
	unsigned int off = 0, olen;

	memset(out, 0, sizeof(*out));
	out->wscale = SYNGUARD_WSCALE_NONE;
	if (len > SYNGUARD_TCPOPT_MAXLEN)
		return -EINVAL;
	if (parse_linux_syn(opt, len, out))
		return 0;

	while (off < len) {
		if (opt[off] == OPT_EOL)
			break;
		if (opt[off] == OPT_NOP) {
			off++;
			continue;
		}
		if (off + 2 > len)
			return -EINVAL;
		olen = opt[off + 1];
		if (olen < 2 || off + olen > len)
			return -EINVAL;
		if (parse_one(opt, off, olen, out))
			return -EINVAL;
		off += olen;
	}
	return 0;
}

/*
 * Options of a SYN or SYN+ACK, in the order Linux sends them so that
 * middleboxes see nothing unusual: MSS, SACK-perm + TS (or NOP NOP TS, or
 * NOP NOP SACK-perm), NOP + WS. Returns the length, a multiple of 4.
 */
unsigned int synguard_tcpopt_build(u8 *p, const struct synguard_tcpopt *o)
{
	u8 *start = p;

	/*
	 * Whole 32-bit words, as the kernel writes them (tcp_options_write()).
	 * MSS 0: the client's SYN had none, nor has the hand-off SYN.
	 */
	if (o->mss) {
		synguard_put_be32(p, OPT_MSS << 24 | OPTLEN_MSS << 16 | o->mss);
		p += 4;
	}
	if (o->ts) {
		synguard_put_be32(p, (o->sack_ok ? OPT_SACK_PERM << 24 |
					   OPTLEN_SACK_PERM << 16 :
					   OPT_NOP << 24 | OPT_NOP << 16) |
				  OPT_TS << 8 | OPTLEN_TS);
		synguard_put_be32(p + 4, o->tsval);
		synguard_put_be32(p + 8, o->tsecr);
		p += 12;
	} else if (o->sack_ok) {
		synguard_put_be32(p, OPT_NOP << 24 | OPT_NOP << 16 |
				  OPT_SACK_PERM << 8 | OPTLEN_SACK_PERM);
		p += 4;
	}
	if (o->wscale != SYNGUARD_WSCALE_NONE) {
		synguard_put_be32(p, OPT_NOP << 24 | OPT_WS << 16 |
				  OPTLEN_WS << 8 | o->wscale);
		p += 4;
	}
	return p - start;
}

/* What synguard_tcpopt_build() writes, in bytes, without writing it. */
unsigned int synguard_tcpopt_len(const struct synguard_tcpopt *o)
{
	return (o->mss ? 4 : 0) + (o->ts ? 12 : o->sack_ok ? 4 : 0) +
	       (o->wscale != SYNGUARD_WSCALE_NONE ? 4 : 0);
}
