/*
 * dp_check.c - helper of the dataplane integration tests (run by
 * tests/integration/dataplane.sh, overload.sh and faults.sh inside the client
 * network namespace).
 *
 *   dp_check badinput SERVER KEYFILE AGENCY
 *       Sends every kind of bad input to biohubd (garbage, short, bad
 *       magic/version/type/length, bad tag, unknown agency, replay,
 *       fragment overlap, gap, oversize, a flood of partial messages) and
 *       checks through the stats message that each was counted under its
 *       reason and that the daemon still answers health.
 *   dp_check isolation SERVER KEYFILE A B MODALITY IMAGE
 *       Agencies A and B (both in KEYFILE): a frame that claims agency B but
 *       is sealed with A's key (spoofed agency, with a seq far ahead) gets
 *       no answer, is counted as drop_tag and does not move B's replay
 *       window; the fragments of one search sent from two UDP ports are
 *       dropped (drop_overlap) and answered to neither; a search whose
 *       fragments arrive shuffled (seq out of order too) gives the same
 *       result as in order; while A searches, B's socket receives only
 *       B's own answers (sealed for B, B's request ids).
 *   dp_check marker-probe SERVER KEYFILE AGENCY MODALITY KIND IMAGE MARKER EXPECT
 *       Sends one search carrying MARKER and checks the answer.  KIND:
 *       pgm (IMAGE with MARKER in a comment and over the first pixels),
 *       jpeg (IMAGE with MARKER in a COM segment), jpeg-trunc (the same cut
 *       in the middle of the scan), noise (no IMAGE: a 250x250 PGM of noise
 *       with MARKER in a comment and the pixels).  EXPECT: result, error
 *       (any error frame) or error:CODE (that BH_E* code).
 *   dp_check marker-burst SERVER KEYFILE AGENCY MODALITY IMAGE MARKER N
 *       Sends N marked PGM searches back to back; every one must be
 *       answered, at least one with a result and one with BH_EBUSY.
 *   dp_check marker-partial SERVER KEYFILE AGENCY MODALITY IMAGE MARKER
 *       Sends all fragments but the last of a marked PGM search (MARKER in
 *       the first fragment) and returns: the message stays in reassembly
 *       until its timeout drops it.
 *   dp_check answers SERVER KEYFILE AGENCY MODALITY N WINDOW LOG KILLPID IMAGE...
 *       Sends searches (WINDOW outstanding) and appends one line
 *       "request_id type code" per answer to LOG (flushed at once).  After
 *       the Nth answer it SIGKILLs KILLPID at once (0 = nobody) - so the
 *       kill lands right after an answer left - and stops when nothing
 *       comes for 3 s.
 *   dp_check scan PID MARKER [hex]
 *       Scans every writable mapping of process PID (/proc/PID/maps +
 *       /proc/PID/mem) for MARKER (hex: MARKER is hex digits of binary
 *       bytes); prints the hits; exit 0 = found, 3 = not found, 1 = could
 *       not scan.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "bh_time.h"

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

	usleep(2500 * 1000); /* > reasm_timeout_ms of the test config (1500) */
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

/* ---- isolation ---- */

/* A frame whose header says `agency` and `seq`, sealed under c's key. */
static size_t forge_as(bhp_client *c, bhp_hdr h, uint32_t agency, uint64_t seq,
		       const uint8_t *pt, uint8_t *out)
{
	h.version = BHP_VERSION;
	h.agency = agency;
	h.sender = c->tx.sender;
	h.seq = seq;
	CHECK(bhp_seal(c->crypto, &h, pt, out) == BH_OK, "seal");
	return BHP_HDR_LEN + h.frag_len + BHP_TAG_LEN;
}

/* 1 if a datagram arrives on fd within ms. */
static int datagram_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Reads a search message for IMAGE (modality m, k 5). */
static uint8_t *search_msg(const char *image, int modality, size_t *len)
{
	uint8_t *img;
	size_t n;
	CHECK(bh_read_file(image, BHP_MAX_MSG - 4, &img, &n) == BH_OK, "read %s", image);
	uint8_t *msg = malloc(n + 4);
	CHECK(msg, "oom");
	msg[0] = (uint8_t)modality, msg[1] = 5, msg[2] = msg[3] = 0;
	memcpy(msg + 4, img, n);
	bh_wipe_free(img, n);
	*len = n + 4;
	return msg;
}

/* Waits for the answer to request `req` (others are dropped). */
static int answer_of(bhp_client *c, uint64_t req, int ms, bhp_msg *m)
{
	uint64_t end = bh_now_ns() + (uint64_t)ms * 1000000u;
	while (bh_now_ns() < end) {
		int rc = bhp_client_recv(c, 50, m);
		if (rc == 1 && m->request_id == req)
			return 1;
		if (rc == 1)
			bhp_msg_free(m);
	}
	return 0;
}

/* Spoofed agency: claims b, sealed with a's key, seq far ahead of b's. */
static void spoofed_agency(bhp_client *ca, bhp_client *cb, uint32_t b)
{
	uint8_t f[BHP_FRAME_MAX], pt[64] = {2, 5, 0, 0};
	bhp_hdr h = {.type = BHP_T_HEALTH, .frag_count = 1, .request_id = 11};
	uint64_t ahead = cb->tx.seq + 1000000000000ull;
	raw_send(ca, f, forge_as(ca, h, b, ahead, NULL, f));
	h = (bhp_hdr){.type = BHP_T_SEARCH, .frag_count = 1, .msg_len = 64, .frag_len = 64,
		      .request_id = 12};
	raw_send(ca, f, forge_as(ca, h, b, ahead + 1, pt, f));
	CHECK(!datagram_within(ca->fd, 500), "a spoofed-agency frame was answered to its sender");
	CHECK(!datagram_within(cb->fd, 10), "a spoofed-agency frame was answered to the agency");
	health_ok(cb); /* b's window did not move to the forged seq */
	printf("  spoofed agency: no answer, b still served\n");
}

/* The two fragments of one search from two UDP ports: dropped, unanswered. */
static void split_peer(bhp_client *ca, const char *server)
{
	struct sockaddr_in sa;
	CHECK(bhp_parse_addr(server, &sa) == BH_OK, "server address");
	int fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd2 >= 0 && connect(fd2, (struct sockaddr *)&sa, sizeof(sa)) == 0, "second socket");
	uint8_t msg[2000] = {2, 5, 0, 0}, f[BHP_FRAME_MAX];
	uint64_t req = ca->next_req++;
	size_t n = 0;
	CHECK(bhp_sender_frame(&ca->tx, BHP_T_SEARCH, req, msg, sizeof(msg), 0, f, &n) == 0, "frame");
	raw_send(ca, f, n);
	CHECK(bhp_sender_frame(&ca->tx, BHP_T_SEARCH, req, msg, sizeof(msg), 1, f, &n) == 0, "frame");
	CHECK(send(fd2, f, n, 0) == (ssize_t)n, "send");
	CHECK(!datagram_within(ca->fd, 500), "a search split over two peers was answered");
	CHECK(!datagram_within(fd2, 10), "the second peer got an answer");
	close(fd2);
	printf("  split peer: dropped, no answer\n");
}

/* Sends msg with its fragments in a shuffled order (seq order shuffled too:
 * frames are sealed in index order first). */
static void send_shuffled(bhp_client *c, uint64_t req, const uint8_t *msg, size_t len)
{
	unsigned n = bhp_frag_count(len);
	uint8_t (*f)[BHP_FRAME_MAX] = malloc((size_t)n * BHP_FRAME_MAX);
	size_t *fl = calloc(n, sizeof(size_t));
	unsigned *order = calloc(n, sizeof(unsigned));
	CHECK(f && fl && order && n >= 3, "shuffle needs >= 3 fragments (%u)", n);
	for (unsigned i = 0; i < n; i++) {
		CHECK(bhp_sender_frame(&c->tx, BHP_T_SEARCH, req, msg, len, i, f[i], &fl[i]) == 0,
		      "frame");
		order[i] = n - 1 - i; /* reversed, then neighbours swapped */
	}
	for (unsigned i = 0; i + 1 < n; i += 2) {
		unsigned t = order[i];
		order[i] = order[i + 1], order[i + 1] = t;
	}
	for (unsigned i = 0; i < n; i++)
		raw_send(c, f[order[i]], fl[order[i]]);
	bh_wipe(f, (size_t)n * BHP_FRAME_MAX);
	free(f);
	free(fl);
	free(order);
}

static void decode_result(const bhp_msg *m, bhp_result *r, const char *what)
{
	CHECK(m->type == BHP_T_RESULT, "%s: reply type %u", what, m->type);
	CHECK(bhp_result_decode(m->buf, m->len, r) == BH_OK, "%s: result", what);
}

/* Reordered fragments give the same result as in order; meanwhile b's
 * socket sees only b's answers. */
static void reorder_and_isolation(bhp_client *ca, bhp_client *cb, int modality,
				  const char *image)
{
	size_t len;
	uint8_t *msg = search_msg(image, modality, &len);
	bhp_msg m = {0};
	CHECK(bhp_client_call(ca, BHP_T_SEARCH, msg, len, 60000, &m) == 1, "in-order search");
	static bhp_result r1, r2;
	decode_result(&m, &r1, "in-order search");
	bhp_msg_free(&m);
	uint64_t req = ca->next_req++, b_req = cb->next_req;
	send_shuffled(ca, req, msg, len);
	unsigned b_health = 0;
	int got = 0;
	for (int round = 0; round < 600 && !got; round++) {
		CHECK(bhp_client_send(cb, BHP_T_HEALTH, cb->next_req++, NULL, 0) == 0, "b health");
		bhp_msg bm = {0};
		while (bhp_client_recv(cb, 20, &bm) == 1) { /* sealed for b, else dropped */
			CHECK(bm.request_id >= b_req && bm.request_id < cb->next_req &&
			      bm.type == BHP_T_HEALTH_OK, "b received request %llu type %u",
			      (unsigned long long)bm.request_id, bm.type);
			b_health++;
			bhp_msg_free(&bm);
		}
		got = answer_of(ca, req, 80, &m);
	}
	CHECK(got, "no answer to the reordered search");
	decode_result(&m, &r2, "reordered search");
	bhp_msg_free(&m);
	CHECK(r1.n == r2.n && r1.n > 0, "reordered: %u vs %u candidates", r2.n, r1.n);
	for (unsigned i = 0; i < r1.n; i++)
		CHECK(r1.cand[i].subject_id == r2.cand[i].subject_id &&
		      r1.cand[i].score == r2.cand[i].score, "reordered: candidate %u differs", i);
	CHECK(cb->drops == 0, "b's socket received %llu frames not sealed for b",
	      (unsigned long long)cb->drops);
	CHECK(b_health > 0, "b got no health answers meanwhile");
	printf("  reordered fragments: same %u candidates; b saw only its %u answers\n", r1.n,
	       b_health);
	bh_wipe_free(msg, len);
}

static int isolation(const char *server, const char *keyfile, uint32_t a, uint32_t b,
		     int modality, const char *image)
{
	bhp_client ca, cb;
	CHECK(bhp_client_open(&ca, keyfile, a, server) == BH_OK, "client a: %s", bh_errmsg());
	CHECK(bhp_client_open(&cb, keyfile, b, server) == BH_OK, "client b: %s", bh_errmsg());
	health_ok(&ca);
	health_ok(&cb);
	snapshot s0, s1;
	get_stats(&ca, &s0);
	printf("isolation:\n");
	spoofed_agency(&ca, &cb, b);
	split_peer(&ca, server);
	reorder_and_isolation(&ca, &cb, modality, image);
	get_stats(&ca, &s1);
	expect_delta(&s0, &s1, "drop_tag", 2);
	expect_delta(&s0, &s1, "drop_overlap", 1);
	bhp_client_close(&ca);
	bhp_client_close(&cb);
	printf("isolation: ok\n");
	return 0;
}

/* ---- probe wipe ---- */

/* PGM bytes with marker in a comment line and over the first pixels. */
static uint8_t *mark_pgm(const uint8_t *img, size_t len, const char *marker, size_t *out_len)
{
	CHECK(len > 3 && img[0] == 'P' && img[1] == '5' && img[2] == '\n', "not a binary PGM");
	size_t ml = strlen(marker);
	*out_len = 3 + 2 + ml + 1 + (len - 3); /* "P5\n# MARKER\n" + the rest */
	uint8_t *p = malloc(*out_len);
	CHECK(p, "oom");
	memcpy(p, "P5\n# ", 5);
	memcpy(p + 5, marker, ml);
	p[5 + ml] = '\n';
	memcpy(p + 6 + ml, img + 3, len - 3);
	size_t lines = 0, pix = 6 + ml; /* skip width height, maxval */
	while (pix < *out_len && lines < 2)
		if (p[pix++] == '\n')
			lines++;
	if (pix + ml <= *out_len)
		memcpy(p + pix, marker, ml);
	return p;
}

/* JPEG bytes with a COM segment holding marker right after SOI; cut in the
 * middle of the rest when trunc.  The marker sits 64 bytes into the comment:
 * a freed heap chunk gets allocator pointers over its first bytes, which
 * would hide an unwiped marker placed at the very start. */
#define COM_PAD 64
static uint8_t *mark_jpeg(const uint8_t *img, size_t len, const char *marker, int trunc,
			  size_t *out_len)
{
	CHECK(len > 4 && img[0] == 0xff && img[1] == 0xd8, "not a JPEG");
	size_t ml = strlen(marker), rest = trunc ? (len - 2) / 2 : len - 2;
	size_t seg = COM_PAD + ml + 2;
	*out_len = 2 + 2 + seg + rest;
	uint8_t *p = malloc(*out_len);
	CHECK(p, "oom");
	p[0] = 0xff, p[1] = 0xd8, p[2] = 0xff, p[3] = 0xfe;
	p[4] = (uint8_t)(seg >> 8), p[5] = (uint8_t)seg;
	memset(p + 6, '.', COM_PAD);
	memcpy(p + 6 + COM_PAD, marker, ml);
	memcpy(p + 6 + COM_PAD + ml, img + 2, rest);
	return p;
}

/* A 250x250 PGM of noise (no face) with marker in a comment and pixels. */
static uint8_t *noise_pgm(const char *marker, size_t *out_len)
{
	char hdr[160];
	int hl = snprintf(hdr, sizeof(hdr), "P5\n# %s\n250 250\n255\n", marker);
	*out_len = (size_t)hl + 250 * 250;
	uint8_t *p = malloc(*out_len);
	CHECK(p, "oom");
	memcpy(p, hdr, (size_t)hl);
	uint32_t x = 12345;
	for (size_t i = (size_t)hl; i < *out_len; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (uint8_t)(x >> 24);
	}
	memcpy(p + hl, marker, strlen(marker));
	return p;
}

/* The marked image of KIND as a search message of modality. */
static uint8_t *marked_msg(const char *kind, const char *image, const char *marker,
			   int modality, size_t *msg_len)
{
	uint8_t *img = NULL, *body = NULL;
	size_t len = 0, bl = 0;
	if (strcmp(kind, "noise"))
		CHECK(bh_read_file(image, 1 << 22, &img, &len) == BH_OK, "read %s", image);
	if (!strcmp(kind, "pgm"))
		body = mark_pgm(img, len, marker, &bl);
	else if (!strcmp(kind, "jpeg") || !strcmp(kind, "jpeg-trunc"))
		body = mark_jpeg(img, len, marker, !strcmp(kind, "jpeg-trunc"), &bl);
	else if (!strcmp(kind, "noise"))
		body = noise_pgm(marker, &bl);
	else
		CHECK(0, "unknown kind %s", kind);
	bh_wipe_free(img, len);
	uint8_t *msg = malloc(4 + bl);
	CHECK(msg, "oom");
	msg[0] = (uint8_t)modality, msg[1] = 5, msg[2] = msg[3] = 0;
	memcpy(msg + 4, body, bl);
	bh_wipe_free(body, bl);
	*msg_len = 4 + bl;
	return msg;
}

/* Error code of an ERROR reply (0 for anything else). */
static int error_code(const bhp_msg *m)
{
	int code = 0;
	char text[BHP_ERR_TEXT_MAX + 1];
	if (m->type != BHP_T_ERROR || bhp_error_decode(m->buf, m->len, &code, text, sizeof(text)))
		return 0;
	printf("  error frame %d (%s): %s\n", code, bh_strerror(code), text);
	return code;
}

static int marker_probe(const char *server, const char *keyfile, uint32_t agency, int modality,
			const char *kind, const char *image, const char *marker, const char *expect)
{
	size_t len;
	uint8_t *msg = marked_msg(kind, image, marker, modality, &len);
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	bhp_msg m = {0};
	int rc = bhp_client_call(&c, BHP_T_SEARCH, msg, len, 60000, &m);
	CHECK(rc == 1, "no answer to the marker probe");
	int code = error_code(&m);
	printf("marker probe (%s) answered: %s\n", kind,
	       m.type == BHP_T_RESULT ? "result" : "error frame");
	if (!strcmp(expect, "result"))
		CHECK(m.type == BHP_T_RESULT, "expected a result");
	else if (!strncmp(expect, "error:", 6))
		CHECK(code == atoi(expect + 6), "expected error %s, got %d", expect + 6, code);
	else
		CHECK(code != 0, "expected an error frame");
	bhp_msg_free(&m);
	bhp_client_close(&c);
	bh_wipe_free(msg, len);
	return 0;
}

static int marker_burst(const char *server, const char *keyfile, uint32_t agency, int modality,
			const char *image, const char *marker, unsigned n)
{
	size_t len;
	uint8_t *msg = marked_msg("pgm", image, marker, modality, &len);
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	uint64_t base = c.next_req;
	c.next_req += n;
	for (unsigned i = 0; i < n; i++)
		CHECK(bhp_client_send(&c, BHP_T_SEARCH, base + i, msg, len) == BH_OK, "send");
	unsigned got = 0, busy = 0, results = 0;
	bhp_msg m = {0};
	while (got < n && bhp_client_recv(&c, 60000, &m) == 1) {
		if (m.request_id - base < n) {
			got++;
			busy += m.type == BHP_T_ERROR && error_code(&m) == BH_EBUSY;
			results += m.type == BHP_T_RESULT;
		}
		bhp_msg_free(&m);
	}
	printf("marker burst: %u sent, %u answered: %u results, %u busy\n", n, got, results, busy);
	CHECK(got == n, "%u of %u searches unanswered", n - got, n);
	CHECK(busy > 0 && results > 0, "the burst should get results and busy refusals");
	bhp_client_close(&c);
	bh_wipe_free(msg, len);
	return 0;
}

/* The first n - 1 fragments of a marked search: the reassembly timeout path. */
static int marker_partial(const char *server, const char *keyfile, uint32_t agency,
			  int modality, const char *image, const char *marker)
{
	size_t len, fl;
	uint8_t *msg = marked_msg("pgm", image, marker, modality, &len);
	uint8_t f[BHP_FRAME_MAX];
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	unsigned n = bhp_frag_count(len);
	CHECK(n >= 2, "a partial message needs >= 2 fragments (%u)", n);
	uint64_t req = c.next_req++;
	for (unsigned i = 0; i + 1 < n; i++) {
		CHECK(bhp_sender_frame(&c.tx, BHP_T_SEARCH, req, msg, len, i, f, &fl) == 0, "frame");
		raw_send(&c, f, fl);
	}
	printf("marker partial: %u of %u fragments sent\n", n - 1, n);
	bh_wipe(f, sizeof(f));
	bhp_client_close(&c);
	bh_wipe_free(msg, len);
	return 0;
}

/* ---- answers log (faults.sh) ---- */

static int answers(const char *server, const char *keyfile, uint32_t agency, int modality,
		   unsigned n, unsigned window, const char *log, int killpid, char **images,
		   int nimg)
{
	FILE *out = fopen(log, "a");
	CHECK(out, "open %s", log);
	bhp_client c;
	CHECK(bhp_client_open(&c, keyfile, agency, server) == BH_OK, "client: %s", bh_errmsg());
	uint8_t **msg = calloc((size_t)nimg, sizeof(*msg));
	size_t *len = calloc((size_t)nimg, sizeof(*len));
	CHECK(msg && len, "oom");
	for (int i = 0; i < nimg; i++)
		msg[i] = search_msg(images[i], modality, &len[i]);
	unsigned sent = 0, got = 0, outstanding = 0;
	for (;;) {
		while (got < n && outstanding < window) {
			int i = (int)(sent % (unsigned)nimg);
			CHECK(bhp_client_send(&c, BHP_T_SEARCH, c.next_req++, msg[i], len[i]) == 0, "send");
			sent++, outstanding++;
		}
		bhp_msg m = {0};
		if (bhp_client_recv(&c, 3000, &m) != 1)
			break; /* the daemon is gone */
		int code = m.type == BHP_T_ERROR ? error_code(&m) : 0;
		fprintf(out, "%llu %u %d\n", (unsigned long long)m.request_id, m.type, code);
		fflush(out);
		got++, outstanding--;
		bhp_msg_free(&m);
		if (got == n && killpid > 0)
			kill(killpid, SIGKILL);
		if (got == n && killpid <= 0)
			break;
	}
	printf("answers: %u sent, %u answered\n", sent, got);
	for (int i = 0; i < nimg; i++)
		bh_wipe_free(msg[i], len[i]);
	free(msg);
	free(len);
	fclose(out);
	bhp_client_close(&c);
	return 0;
}

/* Returns hits of marker (ml bytes) in the writable mappings of pid, or -1. */
static long scan(int pid, const uint8_t *marker, size_t ml)
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
	size_t chunk = 1 << 20;
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

/* Hex digits to bytes; returns the count (0 on bad input). */
static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h) / 2;
	if (strlen(h) % 2 || n > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	return n;
}

static int cmd_scan(int argc, char **argv)
{
	uint8_t pat[256];
	size_t n = strlen(argv[3]);
	if (argc == 5 && !strcmp(argv[4], "hex"))
		n = unhex(argv[3], pat, sizeof(pat));
	else if (n <= sizeof(pat))
		memcpy(pat, argv[3], n);
	else
		n = 0;
	CHECK(n > 0, "bad marker");
	long h = scan(atoi(argv[2]), pat, n);
	bh_wipe(pat, sizeof(pat));
	return h < 0 ? 1 : h > 0 ? 0 : 3;
}

static uint32_t u32(const char *s) { return (uint32_t)strtoul(s, NULL, 10); }

static int modality_arg(const char *s)
{
	int m = !strcmp(s, "face") ? 1 : !strcmp(s, "finger") ? 2 : !strcmp(s, "palm") ? 3 : 0;
	CHECK(m, "modality %s", s);
	return m;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "badinput"))
		return badinput(argv[2], argv[3], u32(argv[4]));
	if (argc == 8 && !strcmp(argv[1], "isolation"))
		return isolation(argv[2], argv[3], u32(argv[4]), u32(argv[5]),
				 modality_arg(argv[6]), argv[7]);
	if (argc == 10 && !strcmp(argv[1], "marker-probe"))
		return marker_probe(argv[2], argv[3], u32(argv[4]), modality_arg(argv[5]), argv[6],
				    argv[7], argv[8], argv[9]);
	if (argc == 9 && !strcmp(argv[1], "marker-burst"))
		return marker_burst(argv[2], argv[3], u32(argv[4]), modality_arg(argv[5]), argv[6],
				    argv[7], u32(argv[8]));
	if (argc == 8 && !strcmp(argv[1], "marker-partial"))
		return marker_partial(argv[2], argv[3], u32(argv[4]), modality_arg(argv[5]),
				      argv[6], argv[7]);
	if (argc >= 11 && !strcmp(argv[1], "answers"))
		return answers(argv[2], argv[3], u32(argv[4]), modality_arg(argv[5]), u32(argv[6]),
			       u32(argv[7]), argv[8], atoi(argv[9]), argv + 10, argc - 10);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "scan"))
		return cmd_scan(argc, argv);
	fprintf(stderr, "usage: dp_check badinput|isolation|marker-probe|marker-burst|marker-partial|"
			"answers|scan "
			"... (see dp_check.c)\n");
	return 2;
}
