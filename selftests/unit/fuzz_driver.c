// SPDX-License-Identifier: GPL-2.0
/*
 * Standalone driver for the fuzz targets, so that a plain gcc + ASan build
 * runs them without libFuzzer: random inputs and mutations of the target's
 * seeds, from a fixed-seed PRNG (reproducible), then one TAP line.
 *
 *   fuzz_X_smoke [-n runs] [-s seed] [-d dir]
 *
 * -d writes the seeds as files into an existing directory, a starting
 * corpus for the libFuzzer build. FUZZ_ITERS in the environment sets the
 * default number of runs (200000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "unit.h"

#define FUZZ_DEFAULT_RUNS	200000UL
#define FUZZ_BUF_MAX		4096

static const uint8_t interesting[] = {
	0, 1, 2, 3, 4, 5, 6, 8, 10, 18, 26, 34, 40, 41, 0x7f, 0x80, 0xfe, 0xff,
};

static uint8_t rand_byte(struct prng *r)
{
	if (prng_u32(r) & 1)
		return prng_u32(r);
	return interesting[prng_below(r, ARRAY_SIZE(interesting))];
}

/* One random edit of buf[0..len) in place; returns the new length. */
static size_t mutate(struct prng *r, uint8_t *buf, size_t len, size_t max)
{
	const struct fuzz_seed *s;
	size_t pos = len ? prng_below(r, len) : 0, n;

	switch (prng_below(r, 8)) {
	case 0:		/* flip a bit */
		if (len)
			buf[pos] ^= 1u << prng_below(r, 8);
		return len;
	case 1:		/* overwrite a byte */
		if (len)
			buf[pos] = rand_byte(r);
		return len;
	case 2:		/* insert a byte */
		if (len >= max)
			return len;
		memmove(buf + pos + 1, buf + pos, len - pos);
		buf[pos] = rand_byte(r);
		return len + 1;
	case 3:		/* erase a byte */
		if (!len)
			return len;
		memmove(buf + pos, buf + pos + 1, len - pos - 1);
		return len - 1;
	case 4:		/* truncate */
		return pos;
	case 5:		/* append random bytes */
		n = prng_below(r, 8) + 1;
		while (n-- && len < max)
			buf[len++] = rand_byte(r);
		return len;
	case 6:		/* splice in part of a seed */
		s = &fuzz_seeds[prng_below(r, fuzz_nseeds)];
		n = s->len ? prng_below(r, s->len) + 1 : 0;
		if (pos + n > max)
			n = max - pos;
		memcpy(buf + pos, s->data + s->len - n, n);
		return pos + n > len ? pos + n : len;
	default:	/* swap two bytes */
		if (len) {
			size_t q = prng_below(r, len);
			uint8_t t = buf[pos];

			buf[pos] = buf[q];
			buf[q] = t;
		}
		return len;
	}
}

/* A quarter random bytes, the rest mutated seeds. */
static size_t make_input(struct prng *r, uint8_t *buf, size_t max)
{
	const struct fuzz_seed *s;
	size_t len, i;
	unsigned int n;

	if (!fuzz_nseeds || !prng_below(r, 4)) {
		len = prng_below(r, max + 1);
		for (i = 0; i < len; i++)
			buf[i] = rand_byte(r);
		return len;
	}
	s = &fuzz_seeds[prng_below(r, fuzz_nseeds)];
	len = s->len < max ? s->len : max;
	memcpy(buf, s->data, len);
	for (n = prng_below(r, 4) + 1; n; n--)
		len = mutate(r, buf, len, max);
	return len;
}

static int dump_seeds(const char *dir)
{
	char path[4096];
	unsigned int i;
	FILE *f;

	for (i = 0; i < fuzz_nseeds; i++) {
		snprintf(path, sizeof(path), "%s/seed-%02u", dir, i);
		f = fopen(path, "wb");
		if (!f || fwrite(fuzz_seeds[i].data, 1, fuzz_seeds[i].len, f) !=
			  fuzz_seeds[i].len) {
			perror(path);
			return EXIT_FAILURE;
		}
		fclose(f);
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *env = getenv("FUZZ_ITERS");
	unsigned long runs = env ? strtoul(env, NULL, 0) : FUZZ_DEFAULT_RUNS;
	unsigned long i, seed = 1;
	static uint8_t buf[FUZZ_BUF_MAX];
	size_t max = fuzz_max_len < FUZZ_BUF_MAX ? fuzz_max_len : FUZZ_BUF_MAX;
	struct prng r;
	int c, bad;

	while ((c = getopt(argc, argv, "n:s:d:")) != -1) {
		switch (c) {
		case 'n':
			runs = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			return dump_seeds(optarg);
		default:
			fprintf(stderr, "usage: %s [-n runs] [-s seed] [-d dir]\n", name);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..1\n");
	r.s = seed;
	for (i = 0; i < runs; i++)
		LLVMFuzzerTestOneInput(buf, make_input(&r, buf, max));
	bad = fuzz_report(runs);
	printf("%sok 1 %lu random and mutated inputs, seed %lu\n",
	       bad ? "not " : "", runs, seed);
	return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}
