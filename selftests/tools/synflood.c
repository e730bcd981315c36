// SPDX-License-Identifier: GPL-2.0
/*
 * synflood - TCP SYN/ACK flood generator for the synguard selftests.
 *
 * It only ever sends to the --dst given on the command line.  Source
 * addresses are spoofed from --src-prefix so that one process can model
 * many clients without a socket per client.  Packets are built whole (IP
 * and TCP headers with checksums) and handed to a raw socket that takes
 * the IP header from us:
 *
 *  - IPv4: AF_INET/SOCK_RAW/IPPROTO_RAW, which implies IP_HDRINCL.
 *  - IPv6: AF_INET6/SOCK_RAW/IPPROTO_RAW, which implies IPV6_HDRINCL.
 *    Unlike AF_PACKET this leaves routing, neighbour resolution and the
 *    netfilter OUTPUT hooks to the kernel, so the tool needs no link-layer
 *    knowledge; --dev only pins the egress interface (and gives a
 *    link-local --dst its scope).
 *
 * Every worker thread has its own socket and PRNG (splitmix64, seeded from
 * --seed and the worker index), so a run with the same arguments sends the
 * same packets from each worker.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL		36	/* <linux/in6.h>, Linux >= 4.5 */
#endif

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define NSEC_PER_SEC		1000000000ULL
#define NSEC_PER_MSEC		1000000ULL

#define DEFAULT_DURATION_S	10.0
#define MAX_DURATION_S		600.0
#define MAX_THREADS		128
#define MAX_RATE		100000000ULL
#define BATCH			64	/* packets per sendmmsg() */
#define PKT_MAX			128	/* IPv6 + TCP + 40 bytes of options */
#define TCPOPT_MAX		40
/* Longest sleep between stop checks, so SIGINT/--duration act promptly. */
#define SLEEP_MAX_NS		(50 * NSEC_PER_MSEC)
/* Longest a blocked send may hold a worker past its deadline. */
#define SNDTIMEO_MS		100

#define EXIT_RUNTIME		1
#define EXIT_USAGE		2

enum flood_mode { MODE_SYN, MODE_ACK, MODE_REPLAY };
enum opts_policy { OPTS_MIX, OPTS_NONE, OPTS_FULL };

union addr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t b[16];
};

/* Which --replay-* options were given; replay needs all of REPLAY_NEED. */
enum {
	R_SRC	= 1 << 0,
	R_SPORT	= 1 << 1,
	R_SEQ	= 1 << 2,
	R_ACK	= 1 << 3,
	R_TSVAL	= 1 << 4,
	R_TSECR	= 1 << 5,
	R_WIN	= 1 << 6,
};
#define REPLAY_NEED	(R_SRC | R_SPORT | R_SEQ | R_ACK)

struct config {
	int family;
	union addr dst;
	struct sockaddr_storage dst_sa;
	socklen_t dst_salen;
	uint16_t dport;

	int src_family;
	union addr src_net;
	unsigned int src_plen;
	uint16_t sport_lo, sport_hi;
	bool have_sport;

	enum flood_mode mode;
	enum opts_policy opts;
	bool have_opts;

	uint64_t rate;		/* packets per second, 0 = unlimited */
	double duration;	/* seconds, always bounded */
	uint64_t count;		/* packets, 0 = no count limit */
	unsigned int threads;
	const char *dev;
	unsigned int ifindex;
	uint64_t seed;
	bool quiet;

	struct {
		unsigned int given;
		int family;
		union addr src;
		uint16_t sport;
		uint16_t win;
		uint32_t seq, ack, tsval, tsecr;
	} replay;
};

/* One TCP segment to emit, before it is serialised into IP + TCP. */
struct tcp_desc {
	union addr src;
	uint16_t sport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint8_t ttl;
	uint32_t ip_id;		/* IPv4 ID or IPv6 flow label */
	uint8_t opt[TCPOPT_MAX];
	unsigned int optlen;	/* multiple of 4 */
};

struct worker {
	const struct config *cfg;
	pthread_t thread;
	int fd;
	uint64_t rng;
	uint64_t quota;		/* packets to send; UINT64_MAX without --count */
	double rate;		/* this worker's share of --rate; 0 = unlimited */
	double phase;		/* offset of its schedule, in packets */
	uint64_t sent;		/* accepted by the kernel */
	uint64_t tried;		/* sent + transient failures, for pacing */
	uint64_t errors;
	int fatal;		/* errno that stopped this worker, or 0 */
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	uint8_t pkt[BATCH][PKT_MAX] __attribute__((aligned(8)));
} __attribute__((aligned(64)));	/* no false sharing between workers */

static struct {
	uint64_t start_ns;
	uint64_t end_ns;
	atomic_bool stop;
} run;

static const char *prog = "synflood";

/* ---------------------------------------------------------------- usage */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s --dst ADDR --dport PORT [mode options] [limits]\n"
"\n"
"Floods ADDR:PORT with spoofed TCP segments through a raw socket.\n"
"\n"
"  --dst ADDR             destination (IPv4 or IPv6); the only address sent to\n"
"  --dport PORT           destination port (1-65535)\n"
"  --mode syn|ack|replay  what to send (default syn)\n"
"      syn     SYNs with random ISNs from random sources in --src-prefix\n"
"      ack     pure ACKs with random seq/ack (bogus cookies) from --src-prefix\n"
"      replay  the same ACK again and again (see --replay-*)\n"
"  --src-prefix P/LEN     spoofed source range, same family as --dst\n"
"                         (required for syn and ack)\n"
"  --sport-range A-B      source ports (default 1024-65535)\n"
"  --opts mix|none|full   TCP options (default mix)\n"
"      syn: none = no options, full = Linux set (MSS,SACK,TS,NOP,WS),\n"
"           mix = random among none, MSS, MSS+WS, MSS+SACK, Linux, Windows,\n"
"                 macOS and random MSS/wscale sets\n"
"      ack: none = no options, full = timestamps, mix = half with timestamps\n"
"  --replay-src ADDR --replay-sport PORT --replay-seq N --replay-ack N\n"
"                         the ACK to replay (seq/ack as sent on the wire)\n"
"  --replay-tsval N --replay-tsecr N   add a timestamp option to it\n"
"  --replay-win N         its window field (default 502)\n"
"  --rate PPS             total packets per second (default 0 = max)\n"
"  --duration SEC         stop after SEC seconds (default 10, max 600)\n"
"  --count N              stop after N packets were sent\n"
"  --threads N            worker threads, own socket each (default 1, max %d)\n"
"  --dev IFNAME           send through IFNAME only (SO_BINDTODEVICE)\n"
"  --seed N               PRNG seed; worker i uses N and i (default 0)\n"
"  --quiet                no start banner on stderr\n"
"  -h, --help             this text\n"
"\n"
"Prints \"sent=N duration=S.sss rate=PPS errors=N\" on stdout at exit.\n"
"Exit status: 0 ok, 1 runtime error, 2 bad arguments.\n",
		prog, MAX_THREADS);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad_args(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	usage(stderr);
	exit(EXIT_USAGE);
}

/* -------------------------------------------------------- argument parsing */

/*
 * Strict unsigned parse: digits only (strtoull alone would take "-1", " 5"
 * and "5x"), no overflow, and within [min, max].
 */
static uint64_t parse_uint(const char *opt, const char *s, int base,
			   uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		bad_args("%s: '%s' is not an unsigned number", opt, s);
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		bad_args("%s: '%s' is not an unsigned number", opt, s);
	if (v < min || v > max)
		bad_args("%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]",
			 opt, s, min, max);
	return v;
}

static uint16_t parse_port(const char *opt, const char *s)
{
	return parse_uint(opt, s, 10, 1, 65535);
}

/* 32-bit wire values (seq, ack, timestamps): decimal or 0x-prefixed hex. */
static uint32_t parse_u32(const char *opt, const char *s)
{
	return parse_uint(opt, s, 0, 0, UINT32_MAX);
}

/* Returns the address family of @s, or 0 if it is not a numeric address. */
static int parse_addr(const char *s, union addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, &a->v6) == 1)
		return AF_INET6;
	return 0;
}

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* A destination must be one host: no multicast, broadcast or wildcard. */
static void check_dst(const union addr *a, int family)
{
	if (family == AF_INET) {
		uint32_t h = ntohl(a->v4.s_addr);

		if (h == 0 || h == INADDR_BROADCAST || IN_MULTICAST(h))
			bad_args("--dst: not a unicast address");
	} else {
		if (IN6_IS_ADDR_UNSPECIFIED(&a->v6) ||
		    IN6_IS_ADDR_MULTICAST(&a->v6))
			bad_args("--dst: not a unicast address");
	}
}

/* Zero the host bits, so the prefix is the network itself. */
static void mask_prefix(union addr *a, int family, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < addr_len(family); i++) {
		if (plen >= 8 * (i + 1))
			continue;
		if (plen <= 8 * i)
			a->b[i] = 0;
		else
			a->b[i] &= (uint8_t)(0xff << (8 - (plen - 8 * i)));
	}
}

/*
 * The kernel drops packets from martian sources (0/8, 127/8, multicast,
 * class E) before any hook sees them, so a prefix that reaches into those
 * ranges would only waste packets.  Requiring a minimum length keeps the
 * first octet (IPv4) or 16 bits (IPv6) fixed, which makes the check exact.
 */
static void check_prefix(const union addr *a, int family, unsigned int plen)
{
	if (family == AF_INET) {
		uint8_t first = a->b[0];

		if (plen < 8)
			bad_args("--src-prefix: IPv4 prefix must be /8 or longer");
		if (first == 0 || first == 127 || first >= 224)
			bad_args("--src-prefix: not a unicast range");
	} else {
		if (plen < 16)
			bad_args("--src-prefix: IPv6 prefix must be /16 or longer");
		if (a->b[0] == 0xff || (a->b[0] == 0 && a->b[1] == 0))
			bad_args("--src-prefix: not a unicast range");
	}
}

static void parse_prefix(struct config *cfg, const char *s)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int family;

	if (alen >= INET6_ADDRSTRLEN)
		bad_args("--src-prefix: '%s' is not ADDR/LEN", s);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	family = parse_addr(buf, &cfg->src_net);
	if (!family)
		bad_args("--src-prefix: '%s' is not an address", buf);
	cfg->src_family = family;
	/* A bare address is a prefix of one host. */
	cfg->src_plen = slash ? parse_uint("--src-prefix length", slash + 1,
					   10, 0, 8 * addr_len(family))
			      : 8 * addr_len(family);
	mask_prefix(&cfg->src_net, family, cfg->src_plen);
	check_prefix(&cfg->src_net, family, cfg->src_plen);
}

static void parse_sport_range(struct config *cfg, const char *s)
{
	char buf[16];
	const char *dash = strchr(s, '-');

	if (!dash) {
		cfg->sport_lo = cfg->sport_hi = parse_port("--sport-range", s);
	} else {
		if ((size_t)(dash - s) >= sizeof(buf))
			bad_args("--sport-range: '%s' is not A-B", s);
		memcpy(buf, s, dash - s);
		buf[dash - s] = '\0';
		cfg->sport_lo = parse_port("--sport-range", buf);
		cfg->sport_hi = parse_port("--sport-range", dash + 1);
	}
	if (cfg->sport_lo > cfg->sport_hi)
		bad_args("--sport-range: %u-%u is empty",
			 cfg->sport_lo, cfg->sport_hi);
	cfg->have_sport = true;
}

static double parse_duration(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (!s[0] || *end || errno || !isfinite(d))
		bad_args("--duration: '%s' is not a number of seconds", s);
	if (d <= 0 || d > MAX_DURATION_S)
		bad_args("--duration: must be in (0, %.0f] seconds", MAX_DURATION_S);
	return d;
}

static enum flood_mode parse_mode(const char *s)
{
	if (!strcmp(s, "syn"))
		return MODE_SYN;
	if (!strcmp(s, "ack"))
		return MODE_ACK;
	if (!strcmp(s, "replay"))
		return MODE_REPLAY;
	bad_args("--mode: '%s' is not syn, ack or replay", s);
}

static enum opts_policy parse_opts(const char *s)
{
	if (!strcmp(s, "mix"))
		return OPTS_MIX;
	if (!strcmp(s, "none"))
		return OPTS_NONE;
	if (!strcmp(s, "full"))
		return OPTS_FULL;
	bad_args("--opts: '%s' is not mix, none or full", s);
}

enum {
	OPT_DST = 256, OPT_DPORT, OPT_SRC_PREFIX, OPT_SPORT_RANGE, OPT_MODE,
	OPT_RATE, OPT_DURATION, OPT_COUNT, OPT_THREADS, OPT_DEV, OPT_SEED,
	OPT_OPTS, OPT_R_SRC, OPT_R_SPORT, OPT_R_SEQ, OPT_R_ACK, OPT_R_TSVAL,
	OPT_R_TSECR, OPT_R_WIN, OPT_QUIET,
};

static const struct option long_opts[] = {
	{ "dst",		required_argument, NULL, OPT_DST },
	{ "dport",		required_argument, NULL, OPT_DPORT },
	{ "src-prefix",		required_argument, NULL, OPT_SRC_PREFIX },
	{ "sport-range",	required_argument, NULL, OPT_SPORT_RANGE },
	{ "mode",		required_argument, NULL, OPT_MODE },
	{ "rate",		required_argument, NULL, OPT_RATE },
	{ "duration",		required_argument, NULL, OPT_DURATION },
	{ "count",		required_argument, NULL, OPT_COUNT },
	{ "threads",		required_argument, NULL, OPT_THREADS },
	{ "dev",		required_argument, NULL, OPT_DEV },
	{ "seed",		required_argument, NULL, OPT_SEED },
	{ "opts",		required_argument, NULL, OPT_OPTS },
	{ "replay-src",		required_argument, NULL, OPT_R_SRC },
	{ "replay-sport",	required_argument, NULL, OPT_R_SPORT },
	{ "replay-seq",		required_argument, NULL, OPT_R_SEQ },
	{ "replay-ack",		required_argument, NULL, OPT_R_ACK },
	{ "replay-tsval",	required_argument, NULL, OPT_R_TSVAL },
	{ "replay-tsecr",	required_argument, NULL, OPT_R_TSECR },
	{ "replay-win",		required_argument, NULL, OPT_R_WIN },
	{ "quiet",		no_argument,	   NULL, OPT_QUIET },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Options whose value is a single field; returns false if @c is not one. */
static bool parse_replay_opt(struct config *cfg, int c, const char *arg)
{
	switch (c) {
	case OPT_R_SRC:
		cfg->replay.family = parse_addr(arg, &cfg->replay.src);
		if (!cfg->replay.family)
			bad_args("--replay-src: '%s' is not an address", arg);
		cfg->replay.given |= R_SRC;
		break;
	case OPT_R_SPORT:
		cfg->replay.sport = parse_port("--replay-sport", arg);
		cfg->replay.given |= R_SPORT;
		break;
	case OPT_R_SEQ:
		cfg->replay.seq = parse_u32("--replay-seq", arg);
		cfg->replay.given |= R_SEQ;
		break;
	case OPT_R_ACK:
		cfg->replay.ack = parse_u32("--replay-ack", arg);
		cfg->replay.given |= R_ACK;
		break;
	case OPT_R_TSVAL:
		cfg->replay.tsval = parse_u32("--replay-tsval", arg);
		cfg->replay.given |= R_TSVAL;
		break;
	case OPT_R_TSECR:
		cfg->replay.tsecr = parse_u32("--replay-tsecr", arg);
		cfg->replay.given |= R_TSECR;
		break;
	case OPT_R_WIN:
		cfg->replay.win = parse_uint("--replay-win", arg, 0, 0, 65535);
		cfg->replay.given |= R_WIN;
		break;
	default:
		return false;
	}
	return true;
}

static void parse_one(struct config *cfg, int c, const char *arg)
{
	switch (c) {
	case OPT_DST:
		cfg->family = parse_addr(arg, &cfg->dst);
		if (!cfg->family)
			bad_args("--dst: '%s' is not an IPv4 or IPv6 address", arg);
		check_dst(&cfg->dst, cfg->family);
		break;
	case OPT_DPORT:
		cfg->dport = parse_port("--dport", arg);
		break;
	case OPT_SRC_PREFIX:
		parse_prefix(cfg, arg);
		break;
	case OPT_SPORT_RANGE:
		parse_sport_range(cfg, arg);
		break;
	case OPT_MODE:
		cfg->mode = parse_mode(arg);
		break;
	case OPT_RATE:
		cfg->rate = parse_uint("--rate", arg, 10, 0, MAX_RATE);
		break;
	case OPT_DURATION:
		cfg->duration = parse_duration(arg);
		break;
	case OPT_COUNT:
		cfg->count = parse_uint("--count", arg, 10, 1, UINT64_MAX / 2);
		break;
	case OPT_THREADS:
		cfg->threads = parse_uint("--threads", arg, 10, 1, MAX_THREADS);
		break;
	case OPT_DEV:
		if (!arg[0] || strlen(arg) >= IFNAMSIZ)
			bad_args("--dev: '%s' is not an interface name", arg);
		cfg->dev = arg;
		break;
	case OPT_SEED:
		cfg->seed = parse_uint("--seed", arg, 0, 0, UINT64_MAX);
		break;
	case OPT_OPTS:
		cfg->opts = parse_opts(arg);
		cfg->have_opts = true;
		break;
	case OPT_QUIET:
		cfg->quiet = true;
		break;
	default:
		if (!parse_replay_opt(cfg, c, arg))
			bad_args("internal error: unhandled option %d", c);
	}
}

static bool addr_eq(const union addr *a, const union addr *b, int family)
{
	return !memcmp(a->b, b->b, addr_len(family));
}

static void check_flood_args(const struct config *cfg)
{
	if (cfg->replay.given)
		bad_args("--replay-* options need --mode replay");
	if (!cfg->src_family)
		bad_args("--src-prefix is required for --mode %s",
			 cfg->mode == MODE_SYN ? "syn" : "ack");
	if (cfg->src_family != cfg->family)
		bad_args("--src-prefix and --dst are not the same address family");
	/* pick_source() skips --dst, so a prefix of only --dst has no source. */
	if (cfg->src_plen == 8 * addr_len(cfg->family) &&
	    addr_eq(&cfg->src_net, &cfg->dst, cfg->family))
		bad_args("--src-prefix holds no address other than --dst");
}

static void check_replay_args(const struct config *cfg)
{
	unsigned int ts = cfg->replay.given & (R_TSVAL | R_TSECR);

	if ((cfg->replay.given & REPLAY_NEED) != REPLAY_NEED)
		bad_args("--mode replay needs --replay-src, --replay-sport, --replay-seq and --replay-ack");
	if (ts && ts != (R_TSVAL | R_TSECR))
		bad_args("--replay-tsval and --replay-tsecr go together");
	if (cfg->src_family || cfg->have_sport || cfg->have_opts)
		bad_args("--src-prefix, --sport-range and --opts do not apply to --mode replay");
	if (cfg->replay.family != cfg->family)
		bad_args("--replay-src and --dst are not the same address family");
}

static void resolve_dst(struct config *cfg)
{
	if (cfg->dev) {
		cfg->ifindex = if_nametoindex(cfg->dev);
		if (!cfg->ifindex)
			bad_args("--dev: no interface '%s' here", cfg->dev);
	}

	memset(&cfg->dst_sa, 0, sizeof(cfg->dst_sa));
	if (cfg->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->dst_sa;

		sin->sin_family = AF_INET;
		sin->sin_addr = cfg->dst.v4;
		cfg->dst_salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->dst_sa;

		/* sin6_port stays 0: a raw socket reads it as the protocol. */
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = cfg->dst.v6;
		if (IN6_IS_ADDR_LINKLOCAL(&cfg->dst.v6)) {
			if (!cfg->ifindex)
				bad_args("--dst: a link-local address needs --dev");
			sin6->sin6_scope_id = cfg->ifindex;
		}
		cfg->dst_salen = sizeof(*sin6);
	}
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = MODE_SYN;
	cfg->opts = OPTS_MIX;
	cfg->duration = DEFAULT_DURATION_S;
	cfg->threads = 1;
	cfg->sport_lo = 1024;
	cfg->sport_hi = 65535;
	cfg->replay.win = 502;	/* Linux's first ACK with wscale 7 */

	/* Report bad options ourselves, so every message has one format. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			bad_args("%s needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				bad_args("unknown option '-%c'", optopt);
			bad_args("unknown or ambiguous option '%s'",
				 argv[optind - 1]);
		default:
			parse_one(cfg, c, optarg);
		}
	}
	if (optind < argc)
		bad_args("unexpected argument '%s'", argv[optind]);
	if (!cfg->family)
		bad_args("--dst is required");
	if (!cfg->dport)
		bad_args("--dport is required");
	if (cfg->mode == MODE_REPLAY)
		check_replay_args(cfg);
	else
		check_flood_args(cfg);
	resolve_dst(cfg);
}

/* ------------------------------------------------------------- randomness */

/* splitmix64: one add and two multiplies per 64 bits, good enough here. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rand32(struct worker *w)
{
	return rng_next(&w->rng) >> 32;
}

/* Uniform in [0, n) by multiply-shift: no division, bias below 2^-32. */
static uint32_t rand_below(struct worker *w, uint32_t n)
{
	return ((uint64_t)rand32(w) * n) >> 32;
}

static bool coin(struct worker *w)
{
	return rng_next(&w->rng) >> 63;
}

/* ------------------------------------------------------------ TCP options */

static uint8_t *put_nop(uint8_t *p)
{
	*p = TCPOPT_NOP;
	return p + 1;
}

static uint8_t *put_mss(uint8_t *p, uint16_t mss)
{
	p[0] = TCPOPT_MAXSEG;
	p[1] = TCPOLEN_MAXSEG;
	p[2] = mss >> 8;
	p[3] = mss;
	return p + TCPOLEN_MAXSEG;
}

static uint8_t *put_wscale(uint8_t *p, uint8_t ws)
{
	p[0] = TCPOPT_WINDOW;
	p[1] = TCPOLEN_WINDOW;
	p[2] = ws;
	return p + TCPOLEN_WINDOW;
}

static uint8_t *put_sackperm(uint8_t *p)
{
	p[0] = TCPOPT_SACK_PERMITTED;
	p[1] = TCPOLEN_SACK_PERMITTED;
	return p + TCPOLEN_SACK_PERMITTED;
}

static uint8_t *put_ts(uint8_t *p, uint32_t tsval, uint32_t tsecr)
{
	uint32_t v = htonl(tsval), e = htonl(tsecr);

	p[0] = TCPOPT_TIMESTAMP;
	p[1] = TCPOLEN_TIMESTAMP;
	memcpy(p + 2, &v, 4);
	memcpy(p + 6, &e, 4);
	return p + TCPOLEN_TIMESTAMP;
}

struct synopts {
	uint16_t mss;		/* 0: none */
	int wscale;		/* -1: none */
	bool sack;
	bool ts;
	uint32_t tsval;
};

/*
 * Same order and NOP padding as Linux's tcp_options_write(), so the module
 * sees the byte layout most real clients send.
 */
static uint8_t *put_linux_opts(uint8_t *p, const struct synopts *o)
{
	if (o->mss)
		p = put_mss(p, o->mss);
	if (o->ts) {
		if (o->sack) {
			p = put_sackperm(p);
		} else {
			p = put_nop(p);
			p = put_nop(p);
		}
		p = put_ts(p, o->tsval, 0);
	}
	if (o->wscale >= 0) {
		p = put_nop(p);
		p = put_wscale(p, o->wscale);
	}
	if (o->sack && !o->ts) {
		p = put_nop(p);
		p = put_nop(p);
		p = put_sackperm(p);
	}
	return p;
}

/* Option sets a real SYN flood (or real clients during one) carry. */
enum syn_style {
	SYN_BARE,	/* no options: crafted floods, ancient stacks */
	SYN_MSS,	/* MSS only */
	SYN_MSS_WS,	/* MSS + window scale, no SACK/TS */
	SYN_MSS_SACK,	/* MSS + SACK, no TS/WS */
	SYN_LINUX,	/* MSS,SACK,TS,NOP,WS */
	SYN_WINDOWS,	/* MSS,NOP,WS,NOP,NOP,SACK (no timestamps) */
	SYN_MACOS,	/* MSS,NOP,WS,NOP,NOP,TS,SACK,EOL,EOL */
	SYN_RANDOM,	/* Linux order, random MSS/wscale/SACK/TS */
	SYN_STYLES
};

/* Typical MSS values: tunnels, PPPoE, IPv6 minimum, jumbo frames, ... */
static const uint16_t mss_table[] = {
	536, 1220, 1360, 1380, 1400, 1412, 1440, 1452, 1460, 8960,
};

static uint16_t random_mss(struct worker *w)
{
	if (coin(w))
		return mss_table[rand_below(w, ARRAY_SIZE(mss_table))];
	return 536 + rand_below(w, 9000 - 536 + 1);
}

static uint16_t base_mss(const struct worker *w)
{
	return w->cfg->family == AF_INET ? 1460 : 1440;
}

/* Fills d->opt, d->win and d->ttl for @style. */
static void syn_options(struct worker *w, enum syn_style style,
			struct tcp_desc *d)
{
	struct synopts o = { .mss = base_mss(w), .wscale = -1 };
	uint8_t *p = d->opt;

	d->ttl = 64;
	d->win = 65535;
	switch (style) {
	case SYN_BARE:
		break;
	case SYN_MSS:
		p = put_mss(p, o.mss);
		break;
	case SYN_MSS_WS:
		o.wscale = 2;
		p = put_linux_opts(p, &o);
		break;
	case SYN_MSS_SACK:
		o.sack = true;
		p = put_linux_opts(p, &o);
		break;
	case SYN_LINUX:
		o = (struct synopts){ .mss = base_mss(w), .wscale = 7,
				      .sack = true, .ts = true,
				      .tsval = rand32(w) };
		/* What tcp_select_initial_window() gives for MSS 1460/1440. */
		d->win = w->cfg->family == AF_INET ? 64240 : 64800;
		p = put_linux_opts(p, &o);
		break;
	case SYN_WINDOWS:
		p = put_mss(p, o.mss);
		p = put_nop(p);
		p = put_wscale(p, 8);
		p = put_nop(p);
		p = put_nop(p);
		p = put_sackperm(p);
		d->win = 64240;
		d->ttl = 128;
		break;
	case SYN_MACOS:
		p = put_mss(p, o.mss);
		p = put_nop(p);
		p = put_wscale(p, 6);
		p = put_nop(p);
		p = put_nop(p);
		p = put_ts(p, rand32(w), 0);
		p = put_sackperm(p);
		break;
	default:
		o = (struct synopts){ .mss = random_mss(w),
				      .wscale = coin(w) ? (int)rand_below(w, 15) : -1,
				      .sack = coin(w), .ts = coin(w),
				      .tsval = rand32(w) };
		d->win = 1024 + rand_below(w, 65535 - 1024 + 1);
		p = put_linux_opts(p, &o);
		break;
	}
	/* Pad with EOL to a multiple of 4, as the header length demands. */
	while ((p - d->opt) & 3)
		*p++ = TCPOPT_EOL;
	d->optlen = p - d->opt;
}

/* ------------------------------------------------------- packet contents */

static bool host_bits_are(const union addr *a, int family, unsigned int plen,
			  uint8_t val)
{
	unsigned int i;

	for (i = plen / 8; i < addr_len(family); i++) {
		uint8_t mask = plen > 8 * i ? 0xff >> (plen - 8 * i) : 0xff;

		if ((a->b[i] & mask) != (val & mask))
			return false;
	}
	return true;
}

/*
 * The subnet's network and (IPv4) broadcast addresses are not hosts: the
 * receiver may treat them as broadcast or anycast, so skip them, and skip
 * --dst itself, which the kernel would drop as a martian source.
 */
static bool source_ok(const struct config *cfg, const union addr *a)
{
	unsigned int bits = 8 * addr_len(cfg->family);

	if (addr_eq(a, &cfg->dst, cfg->family))
		return false;
	if (cfg->src_plen + 2 > bits)	/* /31, /32, /127, /128: all hosts */
		return true;
	if (host_bits_are(a, cfg->family, cfg->src_plen, 0x00))
		return false;
	return cfg->family == AF_INET6 ||
	       !host_bits_are(a, cfg->family, cfg->src_plen, 0xff);
}

static void random_in_prefix(struct worker *w, union addr *a)
{
	const struct config *cfg = w->cfg;
	unsigned int i, plen = cfg->src_plen;
	uint64_t r;

	*a = cfg->src_net;
	r = rng_next(&w->rng);
	for (i = plen / 8; i < addr_len(cfg->family); i++) {
		uint8_t mask = plen > 8 * i ? 0xff >> (plen - 8 * i) : 0xff;

		if (i == 8)	/* IPv6 host parts longer than 64 bits */
			r = rng_next(&w->rng);
		a->b[i] |= (uint8_t)(r >> (8 * (i & 7))) & mask;
	}
}

static void pick_source(struct worker *w, union addr *a)
{
	do {
		random_in_prefix(w, a);
	} while (!source_ok(w->cfg, a));
}

static void fill_flood_common(struct worker *w, struct tcp_desc *d)
{
	const struct config *cfg = w->cfg;

	pick_source(w, &d->src);
	d->sport = cfg->sport_lo +
		   rand_below(w, cfg->sport_hi - cfg->sport_lo + 1);
	d->ip_id = rand32(w);
	d->seq = rand32(w);
}

static void fill_syn(struct worker *w, struct tcp_desc *d)
{
	enum syn_style style;

	switch (w->cfg->opts) {
	case OPTS_NONE:
		style = SYN_BARE;
		break;
	case OPTS_FULL:
		style = SYN_LINUX;
		break;
	default:
		style = rand_below(w, SYN_STYLES);
	}
	fill_flood_common(w, d);
	d->flags = TH_SYN;
	d->ack = 0;
	syn_options(w, style, d);
}

/* A third-handshake ACK with a guessed cookie: random seq, ack and TS. */
static void fill_ack(struct worker *w, struct tcp_desc *d)
{
	bool ts = w->cfg->opts == OPTS_FULL ||
		  (w->cfg->opts == OPTS_MIX && coin(w));
	uint8_t *p = d->opt;

	fill_flood_common(w, d);
	d->flags = TH_ACK;
	d->ack = rand32(w);
	d->win = 128 + rand_below(w, 65535 - 128 + 1);
	d->ttl = 64;
	if (ts) {
		p = put_nop(p);
		p = put_nop(p);
		p = put_ts(p, rand32(w), rand32(w));
	}
	d->optlen = p - d->opt;
}

static void fill_replay(const struct config *cfg, struct tcp_desc *d)
{
	uint8_t *p = d->opt;

	memset(d, 0, sizeof(*d));
	d->src = cfg->replay.src;
	d->sport = cfg->replay.sport;
	d->seq = cfg->replay.seq;
	d->ack = cfg->replay.ack;
	d->flags = TH_ACK;
	d->win = cfg->replay.win;
	d->ttl = 64;
	d->ip_id = 0x5347;	/* fixed: every copy is the same packet */
	if (cfg->replay.given & R_TSVAL) {
		p = put_nop(p);
		p = put_nop(p);
		p = put_ts(p, cfg->replay.tsval, cfg->replay.tsecr);
	}
	d->optlen = p - d->opt;
}

/* ------------------------------------------------------ packet emission */

/* Ones' complement sum over big-endian 16-bit words (RFC 1071). */
static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/*
 * The IPv4 and IPv6 pseudo-headers sum to the same thing: both addresses,
 * the protocol and the TCP length (RFC 793, RFC 8200 section 8.1).
 */
static uint16_t tcp_csum(int family, const union addr *src,
			 const union addr *dst, const void *tcp, size_t len)
{
	uint32_t sum;

	sum = csum_add(0, src->b, addr_len(family));
	sum = csum_add(sum, dst->b, addr_len(family));
	sum += IPPROTO_TCP + len;
	return csum_fold(csum_add(sum, tcp, len));
}

static size_t emit_tcp(const struct config *cfg, const struct tcp_desc *d,
		       uint8_t *p)
{
	struct tcphdr *th = (struct tcphdr *)p;
	size_t len = sizeof(*th) + d->optlen;

	memset(th, 0, sizeof(*th));
	th->source = htons(d->sport);
	th->dest = htons(cfg->dport);
	th->seq = htonl(d->seq);
	th->ack_seq = htonl(d->ack);
	th->doff = len / 4;
	th->th_flags = d->flags;
	th->window = htons(d->win);
	memcpy(p + sizeof(*th), d->opt, d->optlen);
	th->check = htons(tcp_csum(cfg->family, &d->src, &cfg->dst, p, len));
	return len;
}

static size_t emit_ipv4(const struct config *cfg, const struct tcp_desc *d,
			uint8_t *buf)
{
	struct iphdr *iph = (struct iphdr *)buf;
	size_t tcplen = emit_tcp(cfg, d, buf + sizeof(*iph));

	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = 0;
	iph->tot_len = htons(sizeof(*iph) + tcplen);
	iph->id = htons(d->ip_id);
	iph->frag_off = htons(IP_DF);	/* as Linux TCP sends with PMTU discovery */
	iph->ttl = d->ttl;
	iph->protocol = IPPROTO_TCP;
	iph->check = 0;
	iph->saddr = d->src.v4.s_addr;
	iph->daddr = cfg->dst.v4.s_addr;
	iph->check = htons(csum_fold(csum_add(0, iph, sizeof(*iph))));
	return sizeof(*iph) + tcplen;
}

static size_t emit_ipv6(const struct config *cfg, const struct tcp_desc *d,
			uint8_t *buf)
{
	struct ip6_hdr *ip6 = (struct ip6_hdr *)buf;
	size_t tcplen = emit_tcp(cfg, d, buf + sizeof(*ip6));

	/* A random flow label per packet, as Linux picks one per flow. */
	ip6->ip6_flow = htonl(6U << 28 | (d->ip_id & 0xfffff));
	ip6->ip6_plen = htons(tcplen);
	ip6->ip6_nxt = IPPROTO_TCP;
	ip6->ip6_hlim = d->ttl;
	ip6->ip6_src = d->src.v6;
	ip6->ip6_dst = cfg->dst.v6;
	return sizeof(*ip6) + tcplen;
}

static size_t emit_packet(const struct config *cfg, const struct tcp_desc *d,
			  uint8_t *buf)
{
	if (cfg->family == AF_INET)
		return emit_ipv4(cfg, d, buf);
	return emit_ipv6(cfg, d, buf);
}

/* ------------------------------------------------------------- workers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = t / NSEC_PER_SEC,
		.tv_nsec = t % NSEC_PER_SEC,
	};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static bool stopping(void)
{
	return atomic_load_explicit(&run.stop, memory_order_relaxed);
}

static void request_stop(void)
{
	atomic_store_explicit(&run.stop, true, memory_order_relaxed);
}

static void fill_batch(struct worker *w, unsigned int n)
{
	struct tcp_desc d;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (w->cfg->mode == MODE_SYN)
			fill_syn(w, &d);
		else
			fill_ack(w, &d);
		w->iov[i].iov_len = emit_packet(w->cfg, &d, w->pkt[i]);
	}
}

/*
 * A flood is meant to overrun queues: a full qdisc (ENOBUFS), a full send
 * buffer (EAGAIN after SO_SNDTIMEO) or a failed skb allocation is counted
 * and the packet dropped.  Anything else (EPERM from a firewall, no route)
 * will not get better by retrying.
 */
static bool send_error_is_transient(int err)
{
	return err == ENOBUFS || err == EAGAIN || err == EWOULDBLOCK ||
	       err == ENOMEM;
}

static int send_batch(struct worker *w, unsigned int n)
{
	unsigned int off = 0;
	int r;

	while (off < n) {
		r = sendmmsg(w->fd, w->msg + off, n - off, 0);
		if (r > 0) {
			off += r;
			w->sent += r;
			w->tried += r;
			continue;
		}
		if (r < 0 && errno == EINTR) {
			if (stopping())
				return 0;
			continue;
		}
		if (r < 0 && send_error_is_transient(errno)) {
			/*
			 * sendmmsg() reports an error only for the first
			 * message of a call; skip that one and go on.
			 */
			off++;
			w->errors++;
			w->tried++;
			continue;
		}
		w->fatal = r < 0 ? errno : EIO;
		request_stop();
		return -1;
	}
	return 0;
}

/*
 * How many packets may go out now.  Pacing is by elapsed time since the
 * common start, not by sleeping a fixed interval per packet, so timer slack
 * and scheduling delays are made up by the next (larger) batch and the
 * long-run rate stays exact.
 */
static unsigned int batch_budget(const struct worker *w, uint64_t now)
{
	uint64_t n = BATCH, allowed;

	if (w->quota - w->sent < n)
		n = w->quota - w->sent;
	if (w->rate > 0) {
		double k = (double)(now - run.start_ns) * w->rate /
			   NSEC_PER_SEC - w->phase;

		/* Packet k is due at (k + phase) / rate; so k + 1 are due. */
		allowed = k < 0 ? 0 : (uint64_t)k + 1;
		if (allowed <= w->tried)
			return 0;
		if (allowed - w->tried < n)
			n = allowed - w->tried;
	}
	return n;
}

static void pace_wait(const struct worker *w, uint64_t now)
{
	uint64_t due = run.start_ns + 1 +
		       (uint64_t)(((double)w->tried + w->phase) *
				  NSEC_PER_SEC / w->rate);

	if (due > run.end_ns)
		due = run.end_ns;
	if (due > now + SLEEP_MAX_NS)
		due = now + SLEEP_MAX_NS;
	sleep_until(due);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	while (!stopping() && w->sent < w->quota) {
		uint64_t now = now_ns();
		unsigned int n;

		if (now >= run.end_ns)
			break;
		n = batch_budget(w, now);
		if (!n) {
			pace_wait(w, now);
			continue;
		}
		/* Replay workers send pkt[0] prepared once in setup. */
		if (w->cfg->mode != MODE_REPLAY)
			fill_batch(w, n);
		if (send_batch(w, n))
			break;
	}
	return NULL;
}

/* ---------------------------------------------------------------- setup */

static int open_socket(const struct config *cfg)
{
	struct timeval tv = { .tv_usec = SNDTIMEO_MS * 1000 };
	int one = 1, fd;

	fd = socket(cfg->family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "%s: raw socket: %s%s\n", prog, strerror(errno),
			errno == EPERM ? " (needs CAP_NET_RAW)" : "");
		return -1;
	}
	/*
	 * IPPROTO_RAW already implies HDRINCL for both families; asking
	 * again documents the intent.  IPV6_HDRINCL only exists since 4.5,
	 * so its absence is not an error.
	 */
	if (cfg->family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one));
	/*
	 * Raw sockets hide a qdisc or veth drop (ENOBUFS) unless RECVERR is
	 * set; with it, "sent" counts what really left and "errors" what was
	 * dropped on the way out.  No ICMP errors get queued in exchange:
	 * they go to raw sockets of the inner protocol (TCP), not IPPROTO_RAW.
	 */
	if (cfg->family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	/* A send blocked on a full buffer must not outlive --duration. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (cfg->dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg->dev,
				   strlen(cfg->dev) + 1)) {
		fprintf(stderr, "%s: bind to %s: %s\n", prog, cfg->dev,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void init_msgs(struct worker *w)
{
	const struct config *cfg = w->cfg;
	unsigned int i;

	for (i = 0; i < BATCH; i++) {
		w->iov[i].iov_base = w->pkt[i];
		w->msg[i].msg_hdr.msg_name = (void *)&cfg->dst_sa;
		w->msg[i].msg_hdr.msg_namelen = cfg->dst_salen;
		w->msg[i].msg_hdr.msg_iov = &w->iov[i];
		w->msg[i].msg_hdr.msg_iovlen = 1;
	}
	if (cfg->mode == MODE_REPLAY) {
		struct tcp_desc d;
		size_t len;

		fill_replay(cfg, &d);
		len = emit_packet(cfg, &d, w->pkt[0]);
		for (i = 0; i < BATCH; i++) {
			w->iov[i].iov_base = w->pkt[0];
			w->iov[i].iov_len = len;
		}
	}
}

/*
 * Splits --count and --rate evenly; the first workers take the remainder
 * of the count.  Worker i's schedule is shifted by i/n of its interval so
 * the workers interleave into one even stream, and a run of D seconds at
 * R pps sends ceil(D * R) packets however many workers share it.
 */
static int init_worker(struct worker *w, const struct config *cfg,
		       unsigned int id)
{
	unsigned int n = cfg->threads;

	w->cfg = cfg;
	w->rng = cfg->seed ^ (0xd1b54a32d192ed03ULL * (id + 1));
	w->quota = UINT64_MAX;
	if (cfg->count)
		w->quota = cfg->count / n + (id < cfg->count % n);
	w->rate = (double)cfg->rate / n;
	w->phase = (double)id / n;
	w->fd = open_socket(cfg);
	if (w->fd < 0)
		return -1;
	init_msgs(w);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	request_stop();
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void print_banner(const struct config *cfg)
{
	static const char * const modes[] = { "syn", "ack", "replay" };
	static const char * const opts[] = { "mix", "none", "full" };
	char dst[INET6_ADDRSTRLEN];

	inet_ntop(cfg->family, &cfg->dst, dst, sizeof(dst));
	fprintf(stderr,
		"%s: mode=%s dst=%s dport=%u opts=%s threads=%u rate=%" PRIu64
		" duration=%.3f count=%" PRIu64 " seed=%" PRIu64 "\n",
		prog, modes[cfg->mode], dst, cfg->dport,
		cfg->mode == MODE_REPLAY ? "-" : opts[cfg->opts], cfg->threads,
		cfg->rate, cfg->duration, cfg->count, cfg->seed);
}

static int start_workers(struct worker *w, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
		if (err) {
			fprintf(stderr, "%s: pthread_create: %s\n", prog,
				strerror(err));
			request_stop();
			break;
		}
	}
	return i;
}

static int report(const struct config *cfg, struct worker *w,
		  unsigned int started, uint64_t elapsed_ns)
{
	uint64_t sent = 0, errors = 0;
	double secs = (double)elapsed_ns / NSEC_PER_SEC;
	int fatal = 0;
	unsigned int i;

	for (i = 0; i < cfg->threads; i++) {
		sent += w[i].sent;
		errors += w[i].errors;
		if (w[i].fatal && !fatal)
			fatal = w[i].fatal;
	}
	printf("sent=%" PRIu64 " duration=%.3f rate=%.0f errors=%" PRIu64 "\n",
	       sent, secs, secs > 0 ? sent / secs : 0.0, errors);
	fflush(stdout);
	if (fatal)
		fprintf(stderr, "%s: send: %s\n", prog, strerror(fatal));
	return fatal || started < cfg->threads ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct worker *w;
	unsigned int i, started;
	int ret = EXIT_RUNTIME;

	parse_args(argc, argv, &cfg);

	w = aligned_alloc(64, sizeof(*w) * cfg.threads);
	if (!w) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_RUNTIME;
	}
	memset(w, 0, sizeof(*w) * cfg.threads);
	for (i = 0; i < cfg.threads; i++) {
		if (init_worker(&w[i], &cfg, i))
			goto out_close;
	}
	install_signals();
	if (!cfg.quiet)
		print_banner(&cfg);

	run.start_ns = now_ns();
	run.end_ns = run.start_ns + (uint64_t)(cfg.duration * NSEC_PER_SEC);
	started = start_workers(w, cfg.threads);
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	ret = report(&cfg, w, started, now_ns() - run.start_ns);
	i = cfg.threads;

out_close:
	while (i--)
		close(w[i].fd);
	free(w);
	return ret;
}
