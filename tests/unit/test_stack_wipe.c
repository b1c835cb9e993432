/* test_stack_wipe.c - bh_wipe_stack() clears what a search's kernels leave on
 * the stack (bh_mem.h).  The stack below this test's frame is painted, the
 * work of a search runs (finger extraction and MCC comparison, a face probe
 * through the whole pipeline, the engine's int8 scorer), and the painted area
 * is read back: how deep the work went, and that after bh_wipe_stack() every
 * byte it left is zero.  Also what the rx lcore's decryption leaves: biohubd
 * does not wipe that thread's stack, so no run of plaintext (or of the GCM
 * keystream, which with the ciphertext gives it) may be left there.
 *
 * Reading a dead stack area is outside what C defines; each helper is
 * noinline and is called from the same frame, so their arrays cover the
 * same addresses, and an empty asm with a memory clobber makes the compiler
 * load what is there.  Skipped under AddressSanitizer, whose stack redzones
 * and fake frames change the layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_engine.h"
#include "bhp.h"
#include "bh_err.h"
#include "bh_face.h"
#include "bh_finger.h"
#include "bh_image.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_template.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BH_ASAN 1
#endif

#define DB1 BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB1_B/"
#define LFW BH_SHARED_DATA_DIR "/face/lfw_dev/"

enum {
	AREA = 1 << 20, /* painted and read back below the test's frame */
	PAINT = 0xa5,
	TOP = 1024, /* the helpers' own frames (return address, saved registers) */
	BOTTOM = 4096, /* the helpers' arrays may start a few bytes apart */
};

__attribute__((noinline)) static void paint(void)
{
	uint8_t a[AREA];
	memset(a, PAINT, sizeof a);
	__asm__ volatile("" : : "r"(a) : "memory");
}

/* Depth below the frame reached since paint() (painted bytes changed), and
 * the non-zero bytes among the `span` bytes below the frame, not counting
 * the top TOP (span 0: the whole depth). */
__attribute__((noinline)) static void read_back(size_t span, size_t *depth, size_t *nonzero)
{
	uint8_t a[AREA];
	__asm__ volatile("" : : "r"(a) : "memory");
	size_t low = BOTTOM;
	while (low < AREA && a[low] == PAINT)
		low++;
	size_t from = span ? AREA - span : low, nz = 0;
	for (size_t i = from; i + TOP < AREA; i++)
		nz += a[i] != 0;
	*depth = AREA - low;
	*nonzero = nz;
}

static bh_face_model *model;

/* The first image of the first LFW pair; 0 if the data is absent (the face
 * part is then skipped). */
static int first_face(bh_image *img)
{
	FILE *f = fopen(LFW "pairs.txt", "r");
	if (!f)
		return 0;
	char name[512];
	int ok = fscanf(f, "%511s", name) == 1;
	fclose(f);
	char path[1024];
	snprintf(path, sizeof path, LFW "%s", name);
	return ok && bh_image_load(path, 3, img) == BH_OK;
}

/* The work of a search, on this thread: decoding, extraction, comparison,
 * the engine. */
__attribute__((noinline)) static void work(int with_face)
{
	bh_image fa, fb, face;
	bh_probe_tmpl a, b;
	assert_int_equal(bh_image_load(DB1 "101_1.pgm", 1, &fa), BH_OK);
	assert_int_equal(bh_image_load(DB1 "101_2.pgm", 1, &fb), BH_OK);
	assert_int_equal(bh_finger_extract(&fa, 0, &a), BH_OK);
	assert_int_equal(bh_finger_extract(&fb, 0, &b), BH_OK);
	assert_true(bh_mcc_compare_blobs(a.full, a.full_len, b.full, b.full_len) > 0);
	bh_probe_tmpl_clear(&a);
	bh_probe_tmpl_clear(&b);
	bh_image_free(&fa);
	bh_image_free(&fb);
	if (with_face) {
		assert_true(first_face(&face)); /* a JPEG decode */
		bh_face_result r;
		assert_int_equal(bh_face_analyse(model, &face, &r), BH_OK);
		bh_wipe(&r, sizeof r);
		bh_image_free(&face);
	}
	/* the face engine's int8 scorer over 256 rows, one query */
	enum { N = 256, DIM = 128 };
	size_t stride = bh_row_stride(BH_KERNEL_DOT_I8, DIM);
	int8_t *rows = bh_aligned_zalloc(N * stride), *q = bh_aligned_zalloc(stride);
	uint64_t *ids = malloc(N * sizeof *ids);
	assert_true(rows && q && ids);
	for (size_t i = 0; i < N; i++) {
		ids[i] = i;
		for (size_t k = 0; k < DIM; k++)
			rows[i * stride + k] = (int8_t)((i * 31 + k * 7) % 200 - 100);
	}
	for (size_t k = 0; k < DIM; k++)
		q[k] = (int8_t)(k % 50 + 1);
	bh_shard sh = {BH_KERNEL_DOT_I8, DIM, stride, N, rows, ids};
	bh_engine_config cfg = {.backend = NULL, .threads = 1, .fallback = NULL};
	bh_engine *e = NULL;
	assert_int_equal(bh_engine_open(&cfg, &sh, &e), BH_OK);
	bh_queries qs = {1, stride, q};
	bh_hit hits[8];
	uint32_t nh = 0;
	assert_int_equal(bh_engine_search(e, &qs, 8, hits, &nh), BH_OK);
	assert_int_equal(nh, 8);
	bh_engine_close(e);
	bh_aligned_free(rows);
	bh_aligned_free(q);
	free(ids);
}

static void test_wipe_stack(void **state)
{
	(void)state;
	FILE *f = fopen(DB1 "101_1.pgm", "rb");
	if (!f)
		skip();
	fclose(f);
	bh_image face;
	int with_face = first_face(&face);
	if (with_face)
		bh_image_free(&face);
	with_face = with_face && bh_face_model_load(NULL, &model) == BH_OK;
	size_t depth, left;
	paint();
	work(with_face);
	read_back(0, &depth, &left);
	printf("search work: %zu bytes of stack below the caller, %zu non-zero bytes left (face %s)\n",
	       depth, left, model ? "included" : "skipped");
	assert_true(depth > 4096 && left > 0); /* the work used the stack and left data */
	assert_true(depth + TOP < BH_STACK_WIPE_BYTES); /* within the wipe, with room */
	paint();
	work(with_face);
	bh_wipe_stack();
	size_t depth2, left2;
	read_back(depth, &depth2, &left2);
	assert_int_equal(left2, 0); /* every byte the work left (below the top) is zero */
	assert_true(depth2 >= BH_STACK_WIPE_BYTES); /* the wipe itself reached its size */
	bh_face_model_free(model);
}

/* A probe fragment of each length, its keystream, and the sealed frame. */
static uint8_t frag_pt[BHP_FRAG_MAX], frag_ks[BHP_FRAG_MAX], frag_out[BHP_FRAG_MAX];
static uint8_t frame[BHP_FRAME_MAX];

__attribute__((noinline)) static void open_frame(bhp_crypto *c, const bhp_hdr *h)
{
	assert_int_equal(bhp_open(c, h, frame, frag_out), BH_OK);
}

/* Depth below the frame reached since paint(), and how many positions in
 * it start 8 bytes of frag_pt or frag_ks (the first len bytes of each). */
__attribute__((noinline)) static void find_runs(size_t len, size_t *depth, size_t *runs)
{
	uint8_t a[AREA];
	__asm__ volatile("" : : "r"(a) : "memory");
	size_t low = BOTTOM, n = 0;
	while (low < AREA && a[low] == PAINT)
		low++;
	for (size_t i = low; i + 8 <= AREA; i++)
		for (size_t k = 0; k + 8 <= len; k++)
			if (!memcmp(a + i, frag_pt + k, 8) || !memcmp(a + i, frag_ks + k, 8)) {
				n++;
				break;
			}
	*depth = AREA - low;
	*runs = n;
}

/* bhp_open() as the rx lcore runs it (OpenSSL AES-256-GCM), on fragments
 * of random bytes: no 8-byte run of the plaintext or keystream is left on
 * the stack.  If an OpenSSL build ever leaves one, biohubd's rx lcore needs
 * a bh_wipe_stack() of its own. */
static void test_rx_open_leaves_no_plaintext(void **state)
{
	(void)state;
	uint8_t key[BHP_KEY_LEN];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(i * 37 + 11);
	bhp_crypto *c = NULL;
	assert_int_equal(bhp_crypto_new(key, &c), BH_OK);
	srand(7);
	for (size_t i = 0; i < sizeof frag_pt; i++)
		frag_pt[i] = (uint8_t)rand();
	const uint16_t lens[] = {17, 31, 64, 1000, 1399, BHP_FRAG_MAX};
	for (size_t t = 0; t < sizeof lens / sizeof *lens; t++) {
		bhp_hdr h = {.version = BHP_VERSION, .type = BHP_T_SEARCH, .frag_count = 1,
			     .frag_len = lens[t], .agency = 7, .sender = 1, .msg_len = lens[t],
			     .request_id = t + 1, .seq = t + 1};
		assert_int_equal(bhp_seal(c, &h, frag_pt, frame), BH_OK);
		for (size_t k = 0; k < lens[t]; k++)
			frag_ks[k] = frame[BHP_HDR_LEN + k] ^ frag_pt[k];
		size_t depth, runs;
		paint();
		open_frame(c, &h);
		find_runs(lens[t], &depth, &runs);
		printf("rx open, %u bytes: %zu bytes of stack, %zu plaintext or keystream runs\n",
		       (unsigned)lens[t], depth, runs);
		assert_memory_equal(frag_out, frag_pt, lens[t]); /* it did decrypt */
		assert_true(depth > 64);                          /* and used the stack */
		assert_int_equal(runs, 0);
	}
	bhp_crypto_free(c);
}

int main(void)
{
#ifdef BH_ASAN
	return 77; /* meson's "skipped" */
#endif
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe_stack),
		cmocka_unit_test(test_rx_open_leaves_no_plaintext),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
