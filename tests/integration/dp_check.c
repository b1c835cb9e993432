/*
 * dp_check.c - helper of the dataplane integration tests (run by
 * tests/integration/dataplane.sh inside the client network namespace).
 *
 *   dp_check badinput SERVER KEYFILE AGENCY
 *       Sends every kind of bad input to biohubd (garbage, short, bad
 *       magic/version/type/length, bad tag, unknown agency, replay,
 *       fragment overlap, gap, oversize, a flood of partial messages) and
 *       checks through the stats message that each was counted under its
 *       reason and that the daemon still answers health.
 *   dp_check marker-probe SERVER KEYFILE AGENCY IMAGE MARKER
 *       Sends IMAGE (PGM) as a finger search with MARKER written into a PGM
 *       comment and over the first pixels, waits for the answer.
 *   dp_check scan PID MARKER
 *       Scans every writable mapping of process PID (/proc/PID/maps +
 *       /proc/PID/mem) for MARKER; prints the hits; exit 0 = found,
 *       3 = not found, 1 = could not scan.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_mem.h"
#include "bhp.h"
#include "bhp_client.h"

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "dp_check: FAIL %s:%d: ", __FILE__, __LINE__);             \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\n");                                                     \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* ---- stats helpers ---- */

typedef struct snapshot {
	bhp_stat s[128];
	size_t n;
} snapshot;

static void get_stats(bhp_client *c, snapshot *out)
{
	bhp_msg m = {0};
	int rc = bhp_client_call(c, BHP_T_STATS, NULL, 0, 3000, &m);
	CHECK(rc == 1, "no stats answer (%d)", rc);
	CHECK(m.type == BHP_T_STATS_OK, "stats reply type %u", m.type);
	CHECK(bhp_stats_decode(m.buf, m.len, out->s, 128, &out->n) == BH_OK, "stats decode");
	bhp_msg_free(&m);
}

static uint64_t stat_of(const snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->s[i].name, name))
			return s->s[i].value;
	fprintf(stderr, "dp_check: FAIL: no counter %s\n", name);
	exit(1);
}

static void expect_delta(const snapshot *a, const snapshot *b, const char *name, uint64_t min)
{
	uint64_t d = stat_of(b, name) - stat_of(a, name);
	printf("  %-16s +%llu\n", name, (unsigned long long)d);
	CHECK(d >= min, "%s grew by %llu, expected >= %llu", name, (unsigned long long)d,
	      (unsigned long long)min);
}

static void health_ok(bhp_client *c)
{
	bhp_msg m = {0};
	CHECK(bhp_client_call(c, BHP_T_HEALTH, NULL, 0, 3000, &m) == 1, "no health answer");
	CHECK(m.type == BHP_T_HEALTH_OK, "health type %u", m.type);
	bhp_msg_free(&m);
}

/* ---- bad input ---- */

static void raw_send(bhp_client *c, const uint8_t *f, size_t n)
{
	CHECK(send(c->fd, f, n, 0) == (ssize_t)n, "send");
}

/* Seals a fragment with arbitrary header fields under the client's key. */
static size_t forge(bhp_client *c, bhp_hdr h, const uint8_t *pt, uint8_t *out)
{
	h.version = BHP_VERSION;
	h.agency = c->tx.agency;
	h.sender = c->tx.sender;
	h.seq = c->tx.seq++;
	CHECK(bhp_seal(c->crypto, &h, pt, out) == BH_OK, "seal");
	return BHP_HDR_LEN + h.frag_len + BHP_TAG_LEN;
}

static int badinput(const char *server, const char *keyfile, uint32_t agency)
{
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	health_ok(&c);
	snapshot s0, s1;
	get_stats(&c, &s0);
	uint8_t f[BHP_FRAME_MAX + 64], pt[BHP_FRAG_MAX];
	memset(pt, 0x5a, sizeof(pt));
	size_t n;

	/* Garbage and structural errors. */
	raw_send(&c, (const uint8_t *)"hello", 5);                          /* short */
	memset(f, 0xee, 100);
	raw_send(&c, f, 100);                                               /* magic */
	bhp_hdr h = {.type = BHP_T_HEALTH, .frag_count = 1};
	n = forge(&c, h, NULL, f);
	f[2] = 9;
	raw_send(&c, f, n);                                                 /* version */
	n = forge(&c, h, NULL, f);
	f[3] = 77;
	raw_send(&c, f, n);                                                 /* type */
	n = forge(&c, h, NULL, f);
	f[3] = BHP_T_RESULT;
	raw_send(&c, f, n);                                                 /* wrong direction */
	n = forge(&c, h, NULL, f);
	f[n] = 0;
	raw_send(&c, f, n + 1);                                             /* trailing byte */
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 1, .msg_len = 40, .frag_len = 40};
	n = forge(&c, h, pt, f);
	raw_send(&c, f, n - 1);                                             /* truncated */
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 2, .msg_len = 100, .frag_len = 60};
	h.frag_off = 50;
	n = forge(&c, h, pt, f);
	raw_send(&c, f, n);                                                 /* past msg_len */
	/* Crypto: flipped tag, flipped ciphertext, unknown agency. */
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 1, .msg_len = 40, .frag_len = 40};
	n = forge(&c, h, pt, f);
	f[n - 1] ^= 1;
	raw_send(&c, f, n);
	n = forge(&c, h, pt, f);
	f[BHP_HDR_LEN] ^= 0x80;
	raw_send(&c, f, n);
	n = forge(&c, h, pt, f);
	bhp_put32(f + 8, agency + 1000);
	raw_send(&c, f, n);
	/* Replay: a valid health request sent twice (one answer only). */
	h = (bhp_hdr){.type = BHP_T_HEALTH, .frag_count = 1, .request_id = 5};
	n = forge(&c, h, NULL, f);
	raw_send(&c, f, n);
	raw_send(&c, f, n);
	/* Overlap: fragment 1 overlaps fragment 0 of the same message. */
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 3, .msg_len = 3000, .request_id = 6};
	h.frag_index = 0, h.frag_off = 0, h.frag_len = 1000;
	raw_send(&c, f, forge(&c, h, pt, f));
	h.frag_index = 1, h.frag_off = 500;
	raw_send(&c, f, forge(&c, h, pt, f));
	/* Gap: fragments 0 and 2 of 3, never 1 (expires after the timeout). */
	h.request_id = 7;
	h.frag_index = 0, h.frag_off = 0;
	raw_send(&c, f, forge(&c, h, pt, f));
	h.frag_index = 2, h.frag_off = 2000;
	raw_send(&c, f, forge(&c, h, pt, f));
	/* Oversize: a message larger than the daemon's max_msg (test config
	 * sets 1 MiB), and larger than the protocol's cap. */
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 1000, .msg_len = 1400000,
		      .request_id = 8, .frag_len = 1000};
	raw_send(&c, f, forge(&c, h, pt, f));
	h.msg_len = BHP_MAX_MSG + 1;
	raw_send(&c, f, forge(&c, h, pt, f));
	/* Flood of partial messages: far more than max_inflight_agency. */
	for (unsigned i = 0; i < 200; i++) {
		h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 2, .msg_len = 2000,
			      .request_id = 1000 + i, .frag_len = 1000};
		raw_send(&c, f, forge(&c, h, pt, f));
		if (i % 32 == 31)
			usleep(2000); /* let the rx lcore keep up; we test bounds, not loss */
	}
	/* A search message too short to hold its header, and an unknown
	 * modality: both answered with an error frame. */
	bhp_msg m = {0};
	CHECK(bhp_client_call(&c, BHP_T_SEARCH, pt, 2, 3000, &m) == 1, "no answer to short search");
	CHECK(m.type == BHP_T_ERROR, "short search: type %u", m.type);
	bhp_msg_free(&m);
	uint8_t bad_mod[8] = {9, 1, 0, 0, 1, 2, 3, 4};
	CHECK(bhp_client_call(&c, BHP_T_SEARCH, bad_mod, 8, 3000, &m) == 1, "no answer");
	CHECK(m.type == BHP_T_ERROR, "bad modality: type %u", m.type);
	bhp_msg_free(&m);

	usleep(2500 * 1000); /* > reasm_timeout_ms of the test config (1000) */
	health_ok(&c);
	get_stats(&c, &s1);
	printf("badinput counters:\n");
	expect_delta(&s0, &s1, "drop_short", 1);
	expect_delta(&s0, &s1, "drop_magic", 1);
	expect_delta(&s0, &s1, "drop_version", 1);
	expect_delta(&s0, &s1, "drop_type", 2);
	expect_delta(&s0, &s1, "drop_length", 2);
	expect_delta(&s0, &s1, "drop_fragment", 1);
	expect_delta(&s0, &s1, "drop_tag", 2);
	expect_delta(&s0, &s1, "drop_agency", 1);
	expect_delta(&s0, &s1, "drop_replay", 1);
	expect_delta(&s0, &s1, "drop_overlap", 1);
	expect_delta(&s0, &s1, "drop_timeout", 1);
	expect_delta(&s0, &s1, "drop_oversize", 2);
	expect_delta(&s0, &s1, "drop_busy", 150);
	expect_delta(&s0, &s1, "search_err", 2);
	CHECK(stat_of(&s1, "reasm_in_flight") == 0, "reassembly not drained: %llu",
	      (unsigned long long)stat_of(&s1, "reasm_in_flight"));
	CHECK(stat_of(&s1, "reasm_bytes") == 0, "reassembly bytes left");
	bhp_client_close(&c);
	printf("badinput: ok\n");
	return 0;
}

/* ---- probe wipe ---- */

static int marker_probe(const char *server, const char *keyfile, uint32_t agency,
			const char *image, const char *marker)
{
	uint8_t *img;
	size_t len;
	CHECK(bh_read_file(image, 1 << 22, &img, &len) == BH_OK, "read %s", image);
	CHECK(len > 2 && img[0] == 'P' && img[1] == '5', "%s is not a binary PGM", image);
	size_t ml = strlen(marker);
	/* "P5\n# MARKER\n" + the rest of the file, with the marker also over
	 * the first pixels (after the 3 header lines). */
	size_t out_len = 3 + 2 + ml + 1 + (len - 3);
	uint8_t *msg = malloc(4 + out_len);
	CHECK(msg, "oom");
	msg[0] = 2, msg[1] = 5, msg[2] = msg[3] = 0;
	uint8_t *p = msg + 4;
	memcpy(p, "P5\n# ", 5);
	memcpy(p + 5, marker, ml);
	p[5 + ml] = '\n';
	memcpy(p + 6 + ml, img + 3, len - 3);
	size_t hdr_lines = 0, pix = 6 + ml;
	while (pix < out_len && hdr_lines < 3)
		if (p[pix++] == '\n')
			hdr_lines++;
	if (pix + ml <= out_len)
		memcpy(p + pix, marker, ml);
	bh_wipe_free(img, len);
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	bhp_msg m = {0};
	int rc = bhp_client_call(&c, BHP_T_SEARCH, msg, 4 + out_len, 60000, &m);
	CHECK(rc == 1, "no answer to the marker probe");
	printf("marker probe answered: %s\n", m.type == BHP_T_RESULT ? "result" : "error frame");
	bhp_msg_free(&m);
	bhp_client_close(&c);
	bh_wipe_free(msg, 4 + out_len);
	return 0;
}

/* Returns hits of marker in the writable mappings of pid, or -1. */
static long scan(int pid, const char *marker)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int mem = open(path, O_RDONLY);
	if (!maps || mem < 0) {
		perror("dp_check scan");
		return -1;
	}
	size_t ml = strlen(marker), chunk = 1 << 20;
	uint8_t *buf = malloc(chunk + ml);
	long hits = 0, regions = 0, skipped = 0;
	unsigned long long bytes = 0;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3 || perms[1] != 'w')
			continue;
		if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
			continue;
		if (hi - lo > (4ull << 30)) { /* sanitizer shadow: terabytes of reserve */
			skipped++;
			continue;
		}
		regions++;
		size_t carry = 0;
		for (unsigned long long a = lo; a < hi; a += chunk) {
			size_t want = hi - a < chunk ? (size_t)(hi - a) : chunk;
			ssize_t got = pread(mem, buf + carry, want, (off_t)a);
			if (got <= 0) {
				carry = 0;
				continue;
			}
			bytes += (unsigned long long)got;
			size_t have = carry + (size_t)got;
			for (uint8_t *q = buf; (q = memmem(q, have - (size_t)(q - buf), marker, ml));
			     q++) {
				hits++;
				printf("  hit at %#llx in %s", a + (unsigned long long)(q - buf) - carry,
				       line);
			}
			carry = have >= ml - 1 ? ml - 1 : have;
			memmove(buf, buf + have - carry, carry);
		}
	}
	printf("scanned %ld writable regions, %llu MiB of pid %d (skipped %ld regions > 4 GiB): "
	       "%ld hits\n", regions, bytes >> 20, pid, skipped, hits);
	free(buf);
	fclose(maps);
	close(mem);
	return hits;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "badinput"))
		return badinput(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 10));
	if (argc == 7 && !strcmp(argv[1], "marker-probe"))
		return marker_probe(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 10), argv[5],
				    argv[6]);
	if (argc == 4 && !strcmp(argv[1], "scan")) {
		long h = scan(atoi(argv[2]), argv[3]);
		return h < 0 ? 1 : h > 0 ? 0 : 3;
	}
	fprintf(stderr, "usage: dp_check badinput|marker-probe|scan ...\n");
	return 2;
}
