// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target for synguard_tcpopt_parse().
 *
 * The input is copied into a heap buffer of exactly its size, so ASan
 * traps any read past the end. Beyond not crashing, each parse must agree
 * with the model in tcpopt_ref.h, its offsets must point at the options
 * they name, and what it accepted must survive build() and a second parse.
 *
 * libFuzzer:  make fuzz && build/fuzz_tcpopt corpus/
 * standalone: build/fuzz_tcpopt_smoke (what "make run" does)
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "tcpopt_ref.h"

static unsigned long n_ok, n_bad, n_ts, n_sack, n_syn;

static void die(const char *why, const u8 *p, size_t len)
{
	size_t i;

	fprintf(stderr, "fuzz_tcpopt: %s; input (%zu bytes):", why, len);
	for (i = 0; i < len; i++)
		fprintf(stderr, " %02x", p[i]);
	fputc('\n', stderr);
	abort();
}

/* Options a SYN+ACK built from the parse must carry back unchanged. */
static void check_rebuild(const struct synguard_tcpopt *in)
{
	struct synguard_tcpopt out;
	u8 *p = malloc(SYNGUARD_SYNOPT_MAXLEN);
	unsigned int len;

	if (!p)
		return;
	len = synguard_tcpopt_build(p, in);
	if (len % 4 || len > SYNGUARD_SYNOPT_MAXLEN)
		die("build() length", p, len);
	if (synguard_tcpopt_parse(p, len, &out) || out.mss != in->mss ||
	    out.wscale != in->wscale || out.sack_ok != in->sack_ok ||
	    out.ts != in->ts || out.tsval != in->tsval ||
	    out.tsecr != in->tsecr)
		die("build() output does not parse back", p, len);
	free(p);
}

static void check_parse(const u8 *buf, unsigned int len)
{
	struct synguard_tcpopt o, ref;
	const char *why;
	int rc;

	rc = synguard_tcpopt_parse(buf, len, &o);
	why = tcpopt_insane(buf, len, rc, &o);
	if (why)
		die(why, buf, len);
	if (rc != ref_tcpopt_parse(buf, len, &ref) || tcpopt_diff(&o, &ref))
		die("differs from the model", buf, len);
	if (rc) {
		n_bad++;
		return;
	}
	n_ok++;
	n_ts += o.ts;
	n_sack += !!o.sack_blocks;
	n_syn += o.mss && o.wscale != SYNGUARD_WSCALE_NONE;
	check_rebuild(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	u8 *buf;

	if (size > 4096)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check_parse(buf, size);
	/* a long input's last 40 bytes, still ending at the buffer's end */
	if (size > SYNGUARD_TCPOPT_MAXLEN)
		check_parse(buf + size - SYNGUARD_TCPOPT_MAXLEN,
			    SYNGUARD_TCPOPT_MAXLEN);
	free(buf);
	return 0;
}

/* Real option lists to mutate. */
static const u8 seed_linux_syn[] = {
	2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
};
static const u8 seed_windows_syn[] = { 2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2 };
static const u8 seed_data_ts[] = { 1, 1, 8, 10, 9, 8, 7, 6, 5, 4, 3, 2 };
static const u8 seed_sack3_ts[] = {
	1, 1, 8, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 5, 26,
	0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0,
	0, 0, 5, 0, 0, 0, 6, 0,
};
static const u8 seed_sack4[] = {
	1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
	0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8,
};
static const u8 seed_mptcp[] = {
	2, 4, 5, 0x8c, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7,
	30, 12, 0, 0x81, 1, 2, 3, 4, 5, 6, 7, 8,
};
static const u8 seed_eol[] = { 2, 4, 2, 0x18, 0, 0, 0, 0 };

const struct fuzz_seed fuzz_seeds[] = {
	FUZZ_SEED(seed_linux_syn),
	FUZZ_SEED(seed_windows_syn),
	FUZZ_SEED(seed_data_ts),
	FUZZ_SEED(seed_sack3_ts),
	FUZZ_SEED(seed_sack4),
	FUZZ_SEED(seed_mptcp),
	FUZZ_SEED(seed_eol),
};
const unsigned int fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);
const size_t fuzz_max_len = 48;

/* A smoke run must see both verdicts and every kind of option recorded. */
int fuzz_report(unsigned long runs)
{
	printf("# parsed %lu, rejected %lu; with TS %lu, SACK blocks %lu, MSS+WS %lu\n",
	       n_ok, n_bad, n_ts, n_sack, n_syn);
	return n_ok < runs / 10 || n_bad < runs / 10 || !n_ts || !n_sack ||
	       !n_syn;
}
