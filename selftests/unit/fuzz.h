/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interface between a fuzz target and the standalone driver
 * (fuzz_driver.c). A target is a libFuzzer LLVMFuzzerTestOneInput(); for
 * the driver it also provides seeds to mutate, the longest input worth
 * trying, and a report on what the run reached.
 */
#ifndef _UNIT_FUZZ_H
#define _UNIT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_seed {
	const uint8_t *data;
	size_t len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const struct fuzz_seed fuzz_seeds[];
extern const unsigned int fuzz_nseeds;
extern const size_t fuzz_max_len;

/*
 * Print what the run reached as "# " lines; return 0 if it reached the
 * paths a meaningful smoke run must (else the smoke test fails).
 */
int fuzz_report(unsigned long runs);

#define FUZZ_SEED(arr)	{ arr, sizeof(arr) }

#endif /* _UNIT_FUZZ_H */
