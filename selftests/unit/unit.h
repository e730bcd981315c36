/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A very small test harness: each test is a void function that records
 * failed expectations; unit_main() runs them and prints one TAP line per
 * test ("ok N name" / "not ok N name"). run_tests.sh numbers the lines of
 * all binaries into one stream and prints the closing "N passed, N failed".
 */
#ifndef _UNIT_H
#define _UNIT_H

#include <stdbool.h>
#include <stdint.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct unit_test {
	const char *name;
	void (*fn)(void);
};

#define UNIT_TEST(fn)	{ #fn, fn }

void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void unit_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int unit_main(const struct unit_test *tests, unsigned int n);

#define EXPECT(cond)							\
	do {								\
		if (!(cond))						\
			unit_fail(__FILE__, __LINE__, "%s", #cond);	\
	} while (0)

#define EXPECT_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b)						\
			unit_fail(__FILE__, __LINE__,			\
				  "%s == %s: %lld (0x%llx) != %lld (0x%llx)", \
				  #a, #b, _a, _a, _b, _b);		\
	} while (0)

#define EXPECT_MSG(cond, fmt, ...)					\
	do {								\
		if (!(cond))						\
			unit_fail(__FILE__, __LINE__, fmt, ##__VA_ARGS__); \
	} while (0)

/*
 * splitmix64 (Steele, Lea, Flood): a fixed seed makes every test
 * deterministic; its output passes BigCrush, plenty for forging cookies.
 */
struct prng {
	uint64_t s;
};

static inline uint64_t prng_u64(struct prng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint32_t prng_u32(struct prng *r)
{
	return (uint32_t)(prng_u64(r) >> 32);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-32). */
static inline uint32_t prng_below(struct prng *r, uint32_t n)
{
	return (uint32_t)(((uint64_t)prng_u32(r) * n) >> 32);
}

#endif /* _UNIT_H */
