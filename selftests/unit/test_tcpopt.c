// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace tests of TCP option parsing and building (module/tcpopt.c).
 *
 * Every parse goes through parse(): the bytes are copied into a heap
 * buffer of exactly their length, so ASan reports any read past the end,
 * and the result is compared with the reference model of tcpopt_ref.h and
 * checked for self-consistency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpopt_ref.h"
#include "unit.h"

#define EOL	0
#define NOP	1
#define TSV	0x11, 0x22, 0x33, 0x44	/* tsval */
#define TSE	0xa1, 0xb2, 0xc3, 0xd4	/* tsecr */
#define TSVAL	0x11223344u
#define TSECR	0xa1b2c3d4u

static int parse_at(const u8 *bytes, unsigned int len,
		    struct synguard_tcpopt *out, int line)
{
	struct synguard_tcpopt ref;
	const char *why;
	u8 *buf = malloc(len ? len : 1);
	int rc, ref_rc;

	if (!buf) {
		unit_fail(__FILE__, line, "out of memory");
		return -ENOMEM;
	}
	memcpy(buf, bytes, len);
	rc = synguard_tcpopt_parse(buf, len, out);
	ref_rc = ref_tcpopt_parse(buf, len, &ref);
	why = tcpopt_insane(buf, len, rc, out);
	free(buf);
	if (why)
		unit_fail(__FILE__, line, "len %u: %s", len, why);
	if (rc != ref_rc)
		unit_fail(__FILE__, line, "len %u: rc %d, model says %d",
			  len, rc, ref_rc);
	else if ((why = tcpopt_diff(out, &ref)))
		unit_fail(__FILE__, line, "len %u: %s differs from the model",
			  len, why);
	return rc;
}

#define parse(b, l, o)	parse_at(b, l, o, __LINE__)
#define PARSE(arr, o)	parse(arr, sizeof(arr), o)

/* What a packet without options parses to. */
static void expect_nothing(const struct synguard_tcpopt *o)
{
	EXPECT_EQ(o->mss, 0);
	EXPECT_EQ(o->wscale, SYNGUARD_WSCALE_NONE);
	EXPECT(!o->sack_ok);
	EXPECT(!o->ts);
	EXPECT_EQ(o->sack_off, 0);
	EXPECT_EQ(o->sack_blocks, 0);
}

/* Linux 6.x SYN: MSS, SACK_PERM, TS, NOP, WS. */
static void tcpopt_linux_syn(void)
{
	static const u8 opt[] = {
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, TSV, TSE, NOP, 3, 3, 7,
	};
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), 0);
	EXPECT_EQ(o.mss, 1460);
	EXPECT(o.sack_ok);
	EXPECT(o.ts);
	EXPECT_EQ(o.ts_off, 6);
	EXPECT_EQ(o.tsval, TSVAL);
	EXPECT_EQ(o.tsecr, TSECR);
	EXPECT_EQ(o.wscale, 7);
	EXPECT_EQ(o.sack_off, 0);
	EXPECT_EQ(o.sack_blocks, 0);
}

/*
 * The Linux layout has a fast path in the parser: with random values in
 * its variable bytes, and each of its 20 bytes in turn set to every value
 * (so that near misses take the walk), every parse agrees with the model.
 */
static void tcpopt_linux_syn_near(void)
{
	static const u8 linux_syn[] = {
		2, 4, 0x05, 0xb4, 4, 2, 8, 10, TSV, TSE, NOP, 3, 3, 7,
	};
	struct prng r = { 0x6c696e7578737ULL };
	struct synguard_tcpopt o;
	unsigned int at, v, i;
	u8 opt[sizeof(linux_syn)];

	for (at = 0; at < sizeof(opt); at++)
		for (v = 0; v < 256; v++) {
			memcpy(opt, linux_syn, sizeof(opt));
			for (i = 2; i < 4; i++)
				opt[i] = prng_u32(&r);
			for (i = 8; i < 16; i++)
				opt[i] = prng_u32(&r);
			opt[19] = prng_u32(&r);
			opt[at] = v;
			parse(opt, sizeof(opt), &o);
		}
}

/* Windows 10/11 SYN: MSS, NOP, WS, NOP, NOP, SACK_PERM. */
static void tcpopt_windows_syn(void)
{
	static const u8 opt[] = {
		2, 4, 0x05, 0xb4, NOP, 3, 3, 8, NOP, NOP, 4, 2,
	};
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), 0);
	EXPECT_EQ(o.mss, 1460);
	EXPECT_EQ(o.wscale, 8);
	EXPECT(o.sack_ok);
	EXPECT(!o.ts);
	EXPECT_EQ(o.ts_off, 0);
}

/* An established-connection segment: NOP, NOP, TS. */
static void tcpopt_data_ts(void)
{
	static const u8 opt[] = { NOP, NOP, 8, 10, TSV, TSE };
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), 0);
	EXPECT(o.ts);
	EXPECT_EQ(o.ts_off, 2);
	EXPECT_EQ(o.tsval, TSVAL);
	EXPECT_EQ(o.tsecr, TSECR);
	EXPECT_EQ(o.mss, 0);
	EXPECT_EQ(o.wscale, SYNGUARD_WSCALE_NONE);
	EXPECT(!o.sack_ok);
	EXPECT_EQ(o.sack_blocks, 0);
}

/* NOP NOP [TS NOP NOP] SACK with @n blocks, the way Linux sends it. */
static unsigned int make_sack(u8 *p, unsigned int n, bool ts)
{
	static const u8 ts_opt[] = { NOP, NOP, 8, 10, TSV, TSE };
	unsigned int len = 0, i;

	if (ts) {
		memcpy(p, ts_opt, sizeof(ts_opt));
		len = sizeof(ts_opt);
	}
	p[len++] = NOP;
	p[len++] = NOP;
	p[len++] = 5;
	p[len++] = 2 + 8 * n;
	for (i = 0; i < 2 * n; i++, len += 4)
		synguard_put_be32(p + len, 0x10000000u * (i + 1) + i);
	return len;
}

/* SACK with 1..4 blocks alone, 1..3 next to timestamps (40 bytes max). */
static void tcpopt_sack_blocks(void)
{
	struct synguard_tcpopt o;
	unsigned int n, ts, len, i;
	u8 opt[40];

	for (ts = 0; ts < 2; ts++)
		for (n = 1; n <= (ts ? 3 : 4); n++) {
			len = make_sack(opt, n, ts);
			EXPECT_EQ(parse(opt, len, &o), 0);
			EXPECT_EQ(o.sack_blocks, n);
			EXPECT_EQ(o.sack_off, ts ? 16 : 4);
			EXPECT_EQ(o.ts, ts);
			EXPECT_EQ(o.ts_off, ts ? 2 : 0);
			for (i = 0; i < 2 * n; i++)
				EXPECT_EQ(synguard_get_be32(opt + o.sack_off + 4 * i),
					  0x10000000u * (i + 1) + i);
		}
}

/* SACK first, then TS: the offsets follow the options, not a fixed layout. */
static void tcpopt_sack_then_ts(void)
{
	static const u8 opt[] = {
		5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
		8, 10, TSV, TSE,
	};
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), 0);
	EXPECT_EQ(o.sack_off, 2);
	EXPECT_EQ(o.sack_blocks, 2);
	EXPECT_EQ(o.ts_off, 18);
	EXPECT_EQ(o.tsval, TSVAL);
}

/* EOL ends the list: what follows it, even garbage, is padding. */
static void tcpopt_eol_padding(void)
{
	static const u8 mss_eol[] = { 2, 4, 0x02, 0x18, EOL, EOL, EOL, EOL };
	static const u8 garbage[] = { NOP, 3, 3, 2, EOL, 2, 1, 0xff };
	static const u8 eol_only[] = { EOL, 2, 4, 5, 0xb4 };
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(mss_eol, &o), 0);
	EXPECT_EQ(o.mss, 536);
	EXPECT_EQ(PARSE(garbage, &o), 0);
	EXPECT_EQ(o.wscale, 2);
	EXPECT_EQ(o.mss, 0);
	EXPECT_EQ(PARSE(eol_only, &o), 0);
	expect_nothing(&o);
}

/* Options we do not know (MPTCP, TFO, MD5, experimental) are stepped over. */
static void tcpopt_unknown_skipped(void)
{
	static const u8 opt[] = {
		30, 12, 0, 0x81, 1, 2, 3, 4, 5, 6, 7, 8,	/* MP_CAPABLE */
		34, 6, 0xde, 0xad, 0xbe, 0xef,			/* TFO cookie */
		253, 4, 0xf9, 0x89,				/* RFC 6994 */
		2, 4, 0x05, 0x8c, 4, 2, 3, 3, 9, NOP,
		19, 2, 99, 2,					/* odd kinds */
	};
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), 0);
	EXPECT_EQ(o.mss, 1420);
	EXPECT(o.sack_ok);
	EXPECT_EQ(o.wscale, 9);
	EXPECT(!o.ts);
}

/* RFC 7323 2.3: a shift above 14 is used as 14. */
static void tcpopt_wscale_clamped(void)
{
	struct synguard_tcpopt o;
	u8 opt[] = { 3, 3, 0 };
	unsigned int ws;

	for (ws = 0; ws <= 0xff; ws++) {
		opt[2] = ws;
		EXPECT_EQ(PARSE(opt, &o), 0);
		EXPECT_EQ(o.wscale, ws < 14 ? ws : 14);
	}
}

/* No options, only NOPs (up to 40), only EOLs: nothing recorded. */
static void tcpopt_empty(void)
{
	struct synguard_tcpopt o;
	u8 opt[40];
	unsigned int len;

	memset(opt, 0xaa, sizeof(opt));
	o.mss = 1;
	EXPECT_EQ(parse(opt, 0, &o), 0);
	expect_nothing(&o);
	for (len = 1; len <= sizeof(opt); len++) {
		memset(opt, NOP, len);
		EXPECT_EQ(parse(opt, len, &o), 0);
		expect_nothing(&o);
		memset(opt, EOL, len);
		EXPECT_EQ(parse(opt, len, &o), 0);
		expect_nothing(&o);
	}
}

/* Expect -EINVAL; on success report which list was wrongly accepted. */
static void expect_bad_at(const u8 *opt, unsigned int len, int line)
{
	struct synguard_tcpopt o;

	if (parse_at(opt, len, &o, line) != -EINVAL)
		unit_fail(__FILE__, line, "malformed list of %u bytes, kind %u len %u, not rejected",
			  len, len ? opt[0] : 0, len > 1 ? opt[1] : 0);
}

#define expect_bad(opt, len)	expect_bad_at(opt, len, __LINE__)

/* A length of 0 or 1 for any kind but EOL/NOP (0 would loop forever). */
static void tcpopt_bad_length_0_1(void)
{
	u8 opt[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	unsigned int kind, l;

	for (kind = 2; kind <= 0xff; kind++)
		for (l = 0; l < 2; l++) {
			opt[0] = kind;
			opt[1] = l;
			expect_bad(opt, sizeof(opt));
			/* also behind a valid option */
			opt[4] = kind;
			opt[5] = l;
			opt[0] = 4;
			opt[1] = 2;
			opt[2] = NOP;
			opt[3] = NOP;
			expect_bad(opt, sizeof(opt));
			memset(opt, 0, sizeof(opt));
		}
}

/* An option whose length runs past the end of the list. */
static void tcpopt_bad_past_end(void)
{
	static const u8 mss3[] = { 2, 4, 0x05 };
	static const u8 ts9[] = { NOP, NOP, 8, 10, TSV, 0xa1 };
	static const u8 unknown[] = { NOP, 30, 20, 1, 2, 3, 4, 5 };
	static const u8 ws_cut[] = { 2, 4, 5, 0xb4, 3, 3 };
	u8 opt[40];
	unsigned int len, l;

	expect_bad(mss3, sizeof(mss3));
	expect_bad(ts9, sizeof(ts9));
	expect_bad(unknown, sizeof(unknown));
	expect_bad(ws_cut, sizeof(ws_cut));
	/* an unknown option claiming 1..255 more bytes than there are */
	for (len = 2; len <= sizeof(opt); len++)
		for (l = len + 1; l <= 0xff; l++) {
			memset(opt, 0x5a, len);
			opt[0] = 99;
			opt[1] = l;
			expect_bad(opt, len);
		}
}

/* A kind byte other than EOL/NOP as the very last byte. */
static void tcpopt_bad_truncated_kind(void)
{
	static const u8 tail_mss[] = { NOP, NOP, NOP, 2 };
	static const u8 tail_ts[] = { 4, 2, NOP, 8 };
	static const u8 lone_sack[] = { 5 };
	u8 opt[40];
	unsigned int kind;

	expect_bad(tail_mss, sizeof(tail_mss));
	expect_bad(tail_ts, sizeof(tail_ts));
	expect_bad(lone_sack, sizeof(lone_sack));
	memset(opt, NOP, sizeof(opt));
	for (kind = 2; kind <= 0xff; kind++) {
		opt[sizeof(opt) - 1] = kind;
		expect_bad(opt, sizeof(opt));
		expect_bad(opt + sizeof(opt) - 1, 1);
	}
}

/* Every length but the right one, for a kind of fixed length. */
static void bad_fixed_len(u8 kind, unsigned int good, int line)
{
	u8 opt[40];
	unsigned int l;

	for (l = 2; l <= sizeof(opt); l++) {
		if (l == good)
			continue;
		memset(opt, NOP, sizeof(opt));
		opt[0] = kind;
		opt[1] = l;
		expect_bad_at(opt, sizeof(opt), line);
	}
}

static void tcpopt_bad_mss_len(void)
{
	bad_fixed_len(2, 4, __LINE__);
}

static void tcpopt_bad_ts_len(void)
{
	bad_fixed_len(8, 10, __LINE__);
}

static void tcpopt_bad_ws_sackperm_len(void)
{
	bad_fixed_len(3, 3, __LINE__);
	bad_fixed_len(4, 2, __LINE__);
}

/* SACK with no block, or a length that is not 2 + 8n. */
static void tcpopt_bad_sack_len(void)
{
	static const u8 zero_blocks[] = { NOP, NOP, 5, 2 };
	u8 opt[40];
	unsigned int l;

	expect_bad(zero_blocks, sizeof(zero_blocks));
	for (l = 2; l <= sizeof(opt); l++) {
		if (l >= 10 && (l - 2) % 8 == 0)
			continue;
		memset(opt, NOP, sizeof(opt));
		opt[0] = 5;
		opt[1] = l;
		expect_bad(opt, sizeof(opt));
	}
}

/* More than 40 bytes cannot come from a TCP header: rejected outright. */
static void tcpopt_too_long(void)
{
	u8 opt[64];
	unsigned int len;

	memset(opt, NOP, sizeof(opt));
	for (len = SYNGUARD_TCPOPT_MAXLEN + 1; len <= sizeof(opt); len++)
		expect_bad(opt, len);
	memset(opt, EOL, sizeof(opt));
	expect_bad(opt, SYNGUARD_TCPOPT_MAXLEN + 1);
}

/* As tcpopt.c documents: options before the malformed one stay parsed. */
static void tcpopt_partial_kept(void)
{
	static const u8 opt[] = { 2, 4, 0x05, 0xb4, 3, 3, 5, 8, 4 };
	struct synguard_tcpopt o;

	EXPECT_EQ(PARSE(opt, &o), -EINVAL);
	EXPECT_EQ(o.mss, 1460);
	EXPECT_EQ(o.wscale, 5);
}

/* Odometer: the next @len-digit string in base @nalpha, false after the last. */
static bool next_string(unsigned int *idx, unsigned int len,
			unsigned int nalpha)
{
	unsigned int i;

	for (i = 0; i < len; i++) {
		if (++idx[i] < nalpha)
			return true;
		idx[i] = 0;
	}
	return false;
}

/*
 * Every list of 1..3 bytes, and every list of 4..6 bytes over the bytes
 * that matter (kinds, their lengths, extremes), against the model.
 */
static void tcpopt_exhaustive_short(void)
{
	static const u8 alpha[] = { 0, 1, 2, 3, 4, 5, 6, 8, 10, 18, 40, 255 };
	struct synguard_tcpopt o, ref;
	unsigned long n = 0, bad = 0;
	unsigned int len, i, idx[6];
	u8 *buf;
	int rc;

	for (len = 1; len <= 6; len++) {
		unsigned int nalpha = len <= 3 ? 256 : ARRAY_SIZE(alpha);

		buf = malloc(len);
		if (!buf) {
			EXPECT(buf);
			return;
		}
		memset(idx, 0, sizeof(idx));
		do {
			for (i = 0; i < len; i++)
				buf[i] = len <= 3 ? idx[i] : alpha[idx[i]];
			rc = synguard_tcpopt_parse(buf, len, &o);
			n++;
			if (rc != ref_tcpopt_parse(buf, len, &ref) ||
			    tcpopt_diff(&o, &ref) ||
			    tcpopt_insane(buf, len, rc, &o)) {
				bad++;
				EXPECT_MSG(false, "len %u %02x %02x...: rc %d", len,
					   buf[0], len > 1 ? buf[1] : 0, rc);
			}
		} while (next_string(idx, len, nalpha));
		free(buf);
	}
	unit_note("%lu short lists, %lu differ from the model", n, bad);
}

/* The exact bytes Linux puts in a SYN+ACK, for each combination. */
static void tcpopt_build_layout(void)
{
	static const u8 all[] = {
		2, 4, 0x05, 0xa0, 4, 2, 8, 10, TSV, TSE, NOP, 3, 3, 7,
	};
	static const u8 ts_only[] = { 2, 4, 0x05, 0xa0, NOP, NOP, 8, 10, TSV, TSE };
	static const u8 sack_ws[] = { 2, 4, 0x05, 0xa0, NOP, NOP, 4, 2, NOP, 3, 3, 7 };
	static const u8 mss_only[] = { 2, 4, 0x05, 0xa0 };
	struct synguard_tcpopt o = {
		.mss = 1440, .wscale = 7, .sack_ok = true, .ts = true,
		.tsval = TSVAL, .tsecr = TSECR,
	};
	u8 p[SYNGUARD_SYNOPT_MAXLEN];

	EXPECT_EQ(synguard_tcpopt_build(p, &o), sizeof(all));
	EXPECT_EQ(synguard_tcpopt_len(&o), sizeof(all));
	EXPECT(!memcmp(p, all, sizeof(all)));
	o.sack_ok = false;
	o.wscale = SYNGUARD_WSCALE_NONE;
	EXPECT_EQ(synguard_tcpopt_build(p, &o), sizeof(ts_only));
	EXPECT_EQ(synguard_tcpopt_len(&o), sizeof(ts_only));
	EXPECT(!memcmp(p, ts_only, sizeof(ts_only)));
	o.ts = false;
	o.sack_ok = true;
	o.wscale = 7;
	EXPECT_EQ(synguard_tcpopt_build(p, &o), sizeof(sack_ws));
	EXPECT_EQ(synguard_tcpopt_len(&o), sizeof(sack_ws));
	EXPECT(!memcmp(p, sack_ws, sizeof(sack_ws)));
	o.sack_ok = false;
	o.wscale = SYNGUARD_WSCALE_NONE;
	EXPECT_EQ(synguard_tcpopt_build(p, &o), sizeof(mss_only));
	EXPECT_EQ(synguard_tcpopt_len(&o), sizeof(mss_only));
	EXPECT(!memcmp(p, mss_only, sizeof(mss_only)));
}

static void build_roundtrip_one(const struct synguard_tcpopt *in)
{
	unsigned int len, want = in->mss ? 4 : 0;	/* 0: no MSS option */
	struct synguard_tcpopt out;
	u8 *p = malloc(SYNGUARD_SYNOPT_MAXLEN);	/* ASan: no byte more */

	if (!p) {
		EXPECT(p);
		return;
	}
	want += in->ts ? 12 : in->sack_ok ? 4 : 0;
	want += in->wscale != SYNGUARD_WSCALE_NONE ? 4 : 0;
	len = synguard_tcpopt_build(p, in);
	EXPECT_EQ(len, want);
	EXPECT_EQ(synguard_tcpopt_len(in), want);
	EXPECT_EQ(len % 4, 0);
	EXPECT(len <= SYNGUARD_SYNOPT_MAXLEN);
	EXPECT_EQ(parse(p, len, &out), 0);
	free(p);
	EXPECT_EQ(out.mss, in->mss);
	EXPECT_EQ(out.wscale, in->wscale);
	EXPECT_EQ(out.sack_ok, in->sack_ok);
	EXPECT_EQ(out.ts, in->ts);
	EXPECT_EQ(out.tsval, in->ts ? in->tsval : 0);
	EXPECT_EQ(out.tsecr, in->ts ? in->tsecr : 0);
	EXPECT_EQ(out.sack_blocks, 0);
}

/* build() then parse() for ts x sack x wscale (none, 0..14) x MSS. */
static void tcpopt_build_roundtrip(void)
{
	static const u16 mss[] = { 0, 1, 536, 1220, 1460, 8960, 65535 };
	struct prng r = { 0x6275696c64ULL };
	struct synguard_tcpopt in;
	unsigned int ts, sack, ws, i;

	for (ts = 0; ts < 2; ts++)
		for (sack = 0; sack < 2; sack++)
			for (ws = 0; ws <= SYNGUARD_WSCALE_NONE; ws++)
				for (i = 0; i < ARRAY_SIZE(mss); i++) {
					memset(&in, 0, sizeof(in));
					in.mss = mss[i];
					in.ts = ts;
					in.sack_ok = sack;
					in.wscale = ws;
					in.tsval = prng_u32(&r);
					in.tsecr = prng_u32(&r);
					build_roundtrip_one(&in);
				}
}

static const struct unit_test tests[] = {
	UNIT_TEST(tcpopt_linux_syn),
	UNIT_TEST(tcpopt_linux_syn_near),
	UNIT_TEST(tcpopt_windows_syn),
	UNIT_TEST(tcpopt_data_ts),
	UNIT_TEST(tcpopt_sack_blocks),
	UNIT_TEST(tcpopt_sack_then_ts),
	UNIT_TEST(tcpopt_eol_padding),
	UNIT_TEST(tcpopt_unknown_skipped),
	UNIT_TEST(tcpopt_wscale_clamped),
	UNIT_TEST(tcpopt_empty),
	UNIT_TEST(tcpopt_bad_length_0_1),
	UNIT_TEST(tcpopt_bad_past_end),
	UNIT_TEST(tcpopt_bad_truncated_kind),
	UNIT_TEST(tcpopt_bad_mss_len),
	UNIT_TEST(tcpopt_bad_ts_len),
	UNIT_TEST(tcpopt_bad_ws_sackperm_len),
	UNIT_TEST(tcpopt_bad_sack_len),
	UNIT_TEST(tcpopt_too_long),
	UNIT_TEST(tcpopt_partial_kept),
	UNIT_TEST(tcpopt_exhaustive_short),
	UNIT_TEST(tcpopt_build_layout),
	UNIT_TEST(tcpopt_build_roundtrip),
};

int main(void)
{
	return unit_main(tests, ARRAY_SIZE(tests));
}
