/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP option parsing and building over plain byte buffers, so that the
 * parser can be unit-tested and fuzzed in userspace.
 */
#ifndef _SYNGUARD_TCPOPT_H
#define _SYNGUARD_TCPOPT_H

#include <linux/types.h>

#define SYNGUARD_TCPOPT_MAXLEN	40	/* 60-byte header minus 20 fixed */
#define SYNGUARD_SYNOPT_MAXLEN	20	/* MSS, SACK-perm + TS, NOP + WS */

struct synguard_tcpopt {
	u16 mss;		/* 0: absent */
	u8 wscale;		/* SYNGUARD_WSCALE_NONE: absent */
	bool sack_ok;
	bool ts;
	u32 tsval;
	u32 tsecr;
	u8 ts_off;		/* offset of the TS kind byte in the options */
	u8 sack_off;		/* offset of the first SACK block, 0: none */
	u8 sack_blocks;		/* number of SACK blocks (1..4) */
	bool md5;		/* a well-formed TCP-MD5 option (RFC 2385) */
	bool ao;		/* a well-formed TCP-AO option (RFC 5925) */
};

int synguard_tcpopt_parse(const u8 *opt, unsigned int len,
			  struct synguard_tcpopt *out);
unsigned int synguard_tcpopt_build(u8 *p, const struct synguard_tcpopt *o);
unsigned int synguard_tcpopt_len(const struct synguard_tcpopt *o);

static inline u32 synguard_get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/* (The masks keep sparse quiet when @v is a constant; the code is the same.) */
static inline void synguard_put_be32(u8 *p, u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

#endif /* _SYNGUARD_TCPOPT_H */
