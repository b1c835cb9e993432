/* test_bhp.c - BHP/1 codec: header parsing, AES-256-GCM seal/open, replay
 * window, key files, reassembly bounds and payload codecs.  Every malformed
 * input must map to its drop reason; a real image survives fragmentation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bhp.h"

static const uint8_t KEY_A[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t KEY_B[32] = {32, 31, 30};

/* Builds one sealed frame of a message; returns its length. */
static size_t one_frame(bhp_sender *s, unsigned type, uint64_t req, const uint8_t *msg,
			size_t len, unsigned i, uint8_t *out)
{
	size_t fl = 0;
	assert_int_equal(bhp_sender_frame(s, type, req, msg, len, i, out, &fl), BH_OK);
	return fl;
}

static void test_seal_open(void **state)
{
	(void)state;
	bhp_crypto *ca, *cb;
	assert_int_equal(bhp_crypto_new(KEY_A, &ca), BH_OK);
	assert_int_equal(bhp_crypto_new(KEY_B, &cb), BH_OK);
	bhp_sender s;
	bhp_sender_init(&s, 7, ca);
	uint8_t msg[300], f[BHP_FRAME_MAX], pt[BHP_FRAG_MAX];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	size_t fl = one_frame(&s, BHP_T_SEARCH, 42, msg, sizeof(msg), 0, f);
	assert_int_equal(fl, BHP_HDR_LEN + 300 + BHP_TAG_LEN);
	assert_null(memmem(f, fl, msg + 10, 32)); /* ciphertext, not plaintext */
	bhp_hdr h;
	assert_int_equal(bhp_parse(f, fl, 1, &h), BHP_DROP_COUNT);
	assert_int_equal(h.agency, 7);
	assert_int_equal(h.request_id, 42);
	assert_int_equal(h.msg_len, 300);
	assert_int_equal(bhp_open(ca, &h, f, pt), BH_OK);
	assert_memory_equal(pt, msg, 300);
	/* Wrong key. */
	assert_int_equal(bhp_open(cb, &h, f, pt), BH_ECRYPTO);
	/* Every single-bit flip is refused: by the parser or by the tag. */
	for (size_t i = 0; i < fl; i++) {
		f[i] ^= 0x10;
		bhp_hdr h2;
		int p = bhp_parse(f, fl, 1, &h2);
		if (p == BHP_DROP_COUNT)
			assert_int_equal(bhp_open(ca, &h2, f, pt), BH_ECRYPTO);
		f[i] ^= 0x10;
	}
	/* Client must not accept a request type, server not a reply type. */
	assert_int_equal(bhp_parse(f, fl, 0, &h), BHP_DROP_TYPE);
	bhp_crypto_free(ca);
	bhp_crypto_free(cb);
}

static void test_parse_bad(void **state)
{
	(void)state;
	bhp_crypto *c;
	assert_int_equal(bhp_crypto_new(KEY_A, &c), BH_OK);
	bhp_sender s;
	bhp_sender_init(&s, 3, c);
	uint8_t f[BHP_FRAME_MAX + 8], g[BHP_FRAME_MAX + 8];
	size_t fl = one_frame(&s, BHP_T_HEALTH, 1, NULL, 0, 0, f);
	bhp_hdr h;
	assert_int_equal(bhp_parse(f, fl, 1, &h), BHP_DROP_COUNT);
	assert_int_equal(bhp_parse(f, 10, 1, &h), BHP_DROP_SHORT);
	assert_int_equal(bhp_parse(f, fl - 1, 1, &h), BHP_DROP_SHORT);
	memcpy(g, f, fl);
	g[0] = 'X';
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_MAGIC);
	memcpy(g, f, fl);
	g[2] = 2;
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_VERSION);
	memcpy(g, f, fl);
	g[3] = 99;
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_TYPE);
	memcpy(g, f, fl);
	g[4] = 1;
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_LENGTH);
	memcpy(g, f, fl);
	g[fl] = 0;
	assert_int_equal(bhp_parse(g, fl + 1, 1, &h), BHP_DROP_LENGTH);
	memcpy(g, f, fl);
	bhp_put16(g + 6, 0); /* frag_count 0 */
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_FRAG);
	memcpy(g, f, fl);
	bhp_put16(g + 40, 1); /* index >= count */
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_FRAG);
	memcpy(g, f, fl);
	bhp_put32(g + 32, BHP_MAX_MSG + 1);
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_OVERSIZE);
	/* A fragment that reaches past msg_len. */
	uint8_t msg[100] = {0};
	fl = one_frame(&s, BHP_T_SEARCH, 2, msg, sizeof(msg), 0, f);
	memcpy(g, f, fl);
	bhp_put32(g + 36, 1);
	assert_int_equal(bhp_parse(g, fl, 1, &h), BHP_DROP_FRAG);
	/* Random garbage of every length: never accepted without a key. */
	srand(1);
	for (int it = 0; it < 20000; it++) {
		size_t n = (size_t)rand() % (BHP_FRAME_MAX + 8);
		for (size_t i = 0; i < n; i++)
			g[i] = (uint8_t)rand();
		if (n >= 2 && it % 2)
			bhp_put16(g, BHP_MAGIC), g[2] = 1, g[3] = 1, g[4] = g[5] = 0;
		if (bhp_parse(g, n, 1, &h) == BHP_DROP_COUNT) {
			uint8_t pt[BHP_FRAG_MAX];
			assert_int_equal(bhp_open(c, &h, g, pt), BH_ECRYPTO);
		}
	}
	bhp_crypto_free(c);
}

static void test_replay(void **state)
{
	(void)state;
	bhp_replay r;
	memset(&r, 0, sizeof(r));
	assert_false(bhp_replay_check(&r, 0));
	assert_true(bhp_replay_check(&r, 1000));
	bhp_replay_update(&r, 1000);
	assert_false(bhp_replay_check(&r, 1000));
	assert_true(bhp_replay_check(&r, 999)); /* reordered, inside the window */
	bhp_replay_update(&r, 999);
	assert_false(bhp_replay_check(&r, 999));
	assert_true(bhp_replay_check(&r, 1001));
	bhp_replay_update(&r, 1500);
	assert_false(bhp_replay_check(&r, 1000));
	assert_true(bhp_replay_check(&r, 1001));
	assert_false(bhp_replay_check(&r, 1500 - BHP_REPLAY_WIN)); /* too old */
	bhp_replay_update(&r, 1500 + 5 * BHP_REPLAY_WIN);
	assert_false(bhp_replay_check(&r, 1500));
	assert_true(bhp_replay_check(&r, 1500 + 5 * BHP_REPLAY_WIN - 1));
	/* Slot reuse after a slide: seq and seq+WIN share a bit. */
	uint64_t t = r.top;
	bhp_replay_update(&r, t + 1);
	assert_true(bhp_replay_check(&r, t + 2 - BHP_REPLAY_WIN + 1));
}

static void test_keys(void **state)
{
	(void)state;
	char path[] = "/tmp/bhp-keys-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *txt = "# test keys\n"
			  "7 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 border\n"
			  "\n  9 FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n";
	assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
	close(fd);
	bhp_key k[4];
	size_t n = 0;
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(bhp_keys_load(path, k, 4, &n), BH_OK);
	assert_int_equal(n, 2);
	assert_int_equal(k[0].agency, 7);
	assert_memory_equal(k[0].key, KEY_A, 32);
	assert_string_equal(k[0].name, "border");
	assert_int_equal(k[1].agency, 9);
	assert_string_equal(k[1].name, "9");
	bhp_keys_wipe(k, n);
	assert_int_equal(k[0].key[0], 0);
	/* Group/other readable: refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(bhp_keys_load(path, k, 4, &n), BH_EINVAL);
	assert_int_equal(chmod(path, 0600), 0);
	/* Too many agencies for the table. */
	assert_int_equal(bhp_keys_load(path, k, 1, &n), BH_ETOOBIG);
	/* Bad hex / short key / duplicate agency. */
	const char *bad[] = {"7 01zz\n", "7 0102\n",
			     "7 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g20\n",
			     "x 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n",
			     /* one file with agency 7 twice (two lines, one string) */
			     ("7 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"
			      "7 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"),
			     "# nothing\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		assert_int_not_equal(bhp_keys_load(path, k, 4, &n), BH_OK);
		assert_int_equal(n, 0);
	}
	unlink(path);
	assert_int_equal(bhp_keys_load(path, k, 4, &n), BH_EIO);
}

typedef struct frames {
	uint8_t f[64][BHP_FRAME_MAX];
	size_t len[64];
	unsigned n;
} frames;

/* Seals a whole message into fr (<= 64 fragments). */
static void seal_msg(bhp_sender *s, unsigned type, uint64_t req, const uint8_t *m, size_t len,
		     frames *fr)
{
	fr->n = bhp_frag_count(len);
	assert_true(fr->n <= 64);
	for (unsigned i = 0; i < fr->n; i++)
		fr->len[i] = one_frame(s, type, req, m, len, i, fr->f[i]);
}

/* Opens frame i and offers it to the reassembler. */
static int offer(bhp_reasm *r, bhp_crypto *c, const frames *fr, unsigned i, uint64_t peer,
		 uint64_t now, bhp_msg *done)
{
	bhp_hdr h;
	uint8_t pt[BHP_FRAG_MAX];
	assert_int_equal(bhp_parse(fr->f[i], fr->len[i], 1, &h), BHP_DROP_COUNT);
	assert_int_equal(bhp_open(c, &h, fr->f[i], pt), BH_OK);
	return bhp_reasm_add(r, &h, peer, pt, now, done);
}

static frames fr_a, fr_b;

static void test_reasm(void **state)
{
	(void)state;
	bhp_crypto *c;
	assert_int_equal(bhp_crypto_new(KEY_A, &c), BH_OK);
	bhp_sender s;
	bhp_sender_init(&s, 5, c);
	bhp_reasm_limits lim = {.max_msg = 64 * BHP_FRAG_MAX, .max_per_agency = 2,
				.max_total = 3, .max_bytes = 20 * BHP_FRAG_MAX,
				.timeout_ns = 1000};
	bhp_reasm *r;
	assert_int_equal(bhp_reasm_new(&lim, &r), BH_OK);
	size_t len = 5 * BHP_FRAG_MAX + 17;
	uint8_t *m = malloc(len);
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(i ^ (i >> 8));
	seal_msg(&s, BHP_T_SEARCH, 11, m, len, &fr_a);
	assert_int_equal(fr_a.n, 6);
	bhp_msg done = {0};
	/* Reverse order completes. */
	for (unsigned i = fr_a.n; i-- > 1;)
		assert_int_equal(offer(r, c, &fr_a, i, 77, 10, &done), 0);
	assert_int_equal(bhp_reasm_in_flight(r), 1);
	assert_int_equal(offer(r, c, &fr_a, 0, 77, 10, &done), 1);
	assert_int_equal(done.len, len);
	assert_int_equal(done.request_id, 11);
	assert_memory_equal(done.buf, m, len);
	bhp_msg_free(&done);
	assert_int_equal(bhp_reasm_in_flight(r), 0);
	assert_int_equal(bhp_reasm_bytes(r), 0);

	/* Duplicate fragment (a re-sent copy with a new seq) drops the message. */
	seal_msg(&s, BHP_T_SEARCH, 12, m, len, &fr_a);
	assert_int_equal(offer(r, c, &fr_a, 0, 77, 10, &done), 0);
	seal_msg(&s, BHP_T_SEARCH, 12, m, len, &fr_b);
	assert_int_equal(offer(r, c, &fr_b, 0, 77, 10, &done), BHP_REASM_DROP(BHP_DROP_OVERLAP));
	assert_int_equal(bhp_reasm_in_flight(r), 0);

	/* Overlap: a forged-by-the-agency fragment whose interval covers
	 * another's, and a peer change mid-message. */
	bhp_hdr h = {.version = 1, .type = BHP_T_SEARCH, .agency = 5, .sender = 1, .seq = 1,
		     .request_id = 13, .msg_len = 3000, .frag_count = 3};
	uint8_t pt[BHP_FRAG_MAX] = {0};
	h.frag_index = 0, h.frag_off = 0, h.frag_len = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), 0);
	h.frag_index = 1, h.frag_off = 999, h.frag_len = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), BHP_REASM_DROP(BHP_DROP_OVERLAP));
	h.frag_index = 0, h.frag_off = 0, h.frag_len = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), 0);
	h.frag_index = 1, h.frag_off = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 2, pt, 0, &done), BHP_REASM_DROP(BHP_DROP_OVERLAP));
	/* Gap: three fragments that do not cover the message. */
	h.frag_index = 0, h.frag_off = 0;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), 0);
	h.frag_index = 1, h.frag_off = 1000, h.frag_len = 500;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), 0);
	h.frag_index = 2, h.frag_off = 2000, h.frag_len = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), BHP_REASM_DROP(BHP_DROP_FRAG));
	/* Disagreeing msg_len. */
	h.frag_index = 0, h.frag_off = 0, h.frag_len = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), 0);
	h.frag_index = 1, h.msg_len = 4000, h.frag_off = 1000;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 0, &done), BHP_REASM_DROP(BHP_DROP_OVERLAP));
	assert_int_equal(bhp_reasm_in_flight(r), 0);

	/* Limits: 2 per agency, 3 total, then timeout frees everything. */
	h.msg_len = 3000, h.frag_index = 0, h.frag_off = 0, h.frag_len = 1000;
	for (uint64_t q = 100; q < 102; q++) {
		h.request_id = q;
		assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), 0);
	}
	h.request_id = 102;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), BHP_REASM_DROP(BHP_DROP_BUSY));
	h.agency = 6;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), 0);
	h.agency = 8;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), BHP_REASM_DROP(BHP_DROP_BUSY));
	assert_int_equal(bhp_reasm_in_flight(r), 3);
	assert_int_equal(bhp_reasm_expire(r, 1000), 0);
	assert_int_equal(bhp_reasm_expire(r, 1101), 3);
	assert_int_equal(bhp_reasm_in_flight(r), 0);
	assert_int_equal(bhp_reasm_bytes(r), 0);
	/* Byte budget and max_msg. */
	h.msg_len = 30 * BHP_FRAG_MAX;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), BHP_REASM_DROP(BHP_DROP_BUSY));
	h.msg_len = 65 * BHP_FRAG_MAX, h.frag_count = 65;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done),
			 BHP_REASM_DROP(BHP_DROP_OVERSIZE));
	/* A pending message is wiped and freed by bhp_reasm_free (ASan checks). */
	h.msg_len = 3000, h.frag_count = 3;
	assert_int_equal(bhp_reasm_add(r, &h, 1, pt, 100, &done), 0);
	bhp_reasm_free(r);
	free(m);
	bhp_crypto_free(c);
}

/* A real fingerprint image survives fragment, seal, open, reassemble. */
static void test_real_image(void **state)
{
	(void)state;
	uint8_t *img;
	size_t len;
	if (bh_read_file(BH_SHARED_DATA_DIR "/palm/polyu/Multispectral_G/001/1_01_s.pgm", 1 << 22,
			 &img, &len) != BH_OK)
		skip();
	bhp_crypto *c;
	assert_int_equal(bhp_crypto_new(KEY_A, &c), BH_OK);
	bhp_sender s;
	bhp_sender_init(&s, 5, c);
	bhp_reasm_limits lim = {.max_msg = BHP_MAX_MSG, .max_per_agency = 4, .max_total = 8,
				.max_bytes = 8 * BHP_MAX_MSG, .timeout_ns = 1000000000};
	bhp_reasm *r;
	assert_int_equal(bhp_reasm_new(&lim, &r), BH_OK);
	seal_msg(&s, BHP_T_SEARCH, 99, img, len, &fr_a);
	bhp_msg done = {0};
	int rc = 0;
	for (unsigned i = 0; i < fr_a.n; i++)
		rc = offer(r, c, &fr_a, fr_a.n - 1 - i, 1, 0, &done);
	assert_int_equal(rc, 1);
	assert_int_equal(done.len, len);
	assert_memory_equal(done.buf, img, len);
	bhp_msg_free(&done);
	bhp_reasm_free(r);
	bhp_crypto_free(c);
	free(img);
}

static void test_payloads(void **state)
{
	(void)state;
	bhp_result a = {.modality = 2, .n = 3, .search_us = 1234}, b;
	snprintf(a.backend, sizeof(a.backend), "avx2");
	snprintf(a.warning, sizeof(a.warning), "low quality");
	for (int i = 0; i < 3; i++) {
		a.cand[i].subject_id = 1000 + i;
		a.cand[i].score = -5 + i * 1000;
		a.cand[i].position = (uint8_t)i;
		a.cand[i].match = i == 0;
		snprintf(a.cand[i].external_ref, 64, "subject-%d", i);
	}
	uint8_t buf[BHP_RESULT_HDR + BHP_MAX_K * BHP_CAND_SIZE];
	size_t n = bhp_result_encode(&a, buf);
	assert_int_equal(n, BHP_RESULT_HDR + 3 * BHP_CAND_SIZE);
	assert_int_equal(bhp_result_decode(buf, n, &b), BH_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.cand[0].score, -5);
	assert_int_equal(b.cand[2].subject_id, 1002);
	assert_string_equal(b.cand[1].external_ref, "subject-1");
	assert_string_equal(b.backend, "avx2");
	assert_int_equal(bhp_result_decode(buf, n - 1, &b), BH_EFORMAT);
	buf[1] = 200;
	assert_int_equal(bhp_result_decode(buf, n, &b), BH_EFORMAT);

	int code;
	char text[64];
	n = bhp_error_encode(BH_EBUSY, "overloaded", buf);
	assert_int_equal(bhp_error_decode(buf, n, &code, text, sizeof(text)), BH_OK);
	assert_int_equal(code, BH_EBUSY);
	assert_string_equal(text, "overloaded");
	assert_int_equal(bhp_error_decode(buf, 3, &code, text, sizeof(text)), BH_EFORMAT);

	bhp_stat st[3] = {{"frames_in", 5}, {"drop_tag", 1ull << 40}, {"x", 0}}, out[3];
	n = bhp_stats_encode(st, 3, buf, sizeof(buf));
	assert_true(n > 0);
	size_t k;
	assert_int_equal(bhp_stats_decode(buf, n, out, 3, &k), BH_OK);
	assert_int_equal(k, 3);
	assert_string_equal(out[1].name, "drop_tag");
	assert_int_equal(out[1].value, 1ull << 40);
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(bhp_stats_decode(buf, cut, out, 3, &k), BH_EFORMAT);
	assert_int_equal(bhp_stats_encode(st, 3, buf, 10), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open),  cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_replay),     cmocka_unit_test(test_keys),
		cmocka_unit_test(test_reasm),      cmocka_unit_test(test_real_image),
		cmocka_unit_test(test_payloads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
