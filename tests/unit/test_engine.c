/* test_engine.c - the 1:N engine: every backend against the scalar reference
 * and against a brute-force sort, bit for bit (scores, ids, order), on random
 * data and edge cases; the engine's shard merge over 1..3 threads; the device
 * fallback; the backend registry; the top-K heap. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_engine.h"
#include "bh_err.h"
#include "bh_mem.h"

/* ---- deterministic random data ------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

enum fill { FILL_RANDOM, FILL_SMALL, FILL_EQUAL, FILL_MIN, FILL_MAX };

/* A gallery + queries owned by the test. */
typedef struct fixture {
	bh_shard s;
	bh_queries q;
	uint8_t *rows, *qs;
	uint64_t *ids;
} fixture;

static void fill_row(uint8_t *p, size_t bytes, bh_kernel kern, enum fill f)
{
	for (size_t i = 0; i < bytes; i++) {
		switch (f) {
		case FILL_RANDOM: p[i] = (uint8_t)rnd(); break;
		/* few distinct values -> many equal scores -> tie order matters */
		case FILL_SMALL: p[i] = kern == BH_KERNEL_DOT_I8 ? (uint8_t)(rnd() % 3 - 1) : (uint8_t)(rnd() & 0x01); break;
		case FILL_EQUAL: p[i] = 0x5A; break;
		case FILL_MIN: p[i] = 0x80; break; /* int8 -128 */
		case FILL_MAX: p[i] = 0x7F; break; /* int8 127 */
		}
	}
}

static void make(fixture *fx, bh_kernel kern, uint32_t dim, size_t n, size_t nq, int packed,
		 int implicit_ids, enum fill rf, enum fill qf)
{
	memset(fx, 0, sizeof *fx);
	size_t rb = bh_row_bytes(kern, dim);
	assert_true(rb > 0);
	size_t st = packed ? rb : bh_row_stride(kern, dim);
	fx->rows = bh_aligned_zalloc(n * st + 64);
	fx->qs = bh_aligned_zalloc(nq * bh_row_stride(kern, dim) + 64);
	fx->ids = malloc((n + 1) * sizeof *fx->ids);
	assert_non_null(fx->rows);
	assert_non_null(fx->qs);
	assert_non_null(fx->ids);
	for (size_t i = 0; i < n; i++) {
		fill_row(fx->rows + i * st, rb, kern, rf);
		/* unsorted, unique ids: 1000 * a permutation-ish + i */
		fx->ids[i] = ((rnd() % 1000) << 32) | i;
	}
	for (size_t j = 0; j < nq; j++)
		fill_row(fx->qs + j * bh_row_stride(kern, dim), rb, kern, qf);
	fx->s = (bh_shard){.kernel = kern, .dim = dim, .stride = st, .n = n, .data = fx->rows,
			   .ids = implicit_ids ? NULL : fx->ids};
	fx->q = (bh_queries){.nq = nq, .stride = bh_row_stride(kern, dim), .data = fx->qs};
}

static void unmake(fixture *fx)
{
	bh_aligned_free(fx->rows);
	bh_aligned_free(fx->qs);
	free(fx->ids);
}

static int cmp_hit(const void *a, const void *b)
{
	const bh_hit *x = a, *y = b;
	return bh_hit_better(x, y) ? -1 : bh_hit_better(y, x) ? 1 : 0;
}

/* Brute force: every score from bh_score_ref, sorted by the contract. */
static void expect_topk(const fixture *fx, size_t j, uint32_t k, bh_hit *exp, uint32_t *nexp)
{
	size_t n = fx->s.n;
	bh_hit *all = calloc(n + 1, sizeof *all);
	assert_non_null(all);
	const uint8_t *q = fx->qs + j * fx->q.stride;
	for (size_t i = 0; i < n; i++) {
		all[i].score = bh_score_ref(fx->s.kernel, fx->s.dim, q, fx->rows + i * fx->s.stride);
		all[i].id = fx->s.ids ? fx->s.ids[i] : i;
	}
	qsort(all, n, sizeof *all, cmp_hit);
	*nexp = (uint32_t)(n < k ? n : k);
	memcpy(exp, all, *nexp * sizeof *all);
	free(all);
}

static void check_answer(const fixture *fx, uint32_t k, const bh_hit *out, const uint32_t *nout,
			 const char *what)
{
	bh_hit *exp = calloc(fx->s.n + 1, sizeof *exp);
	assert_non_null(exp);
	for (size_t j = 0; j < fx->q.nq; j++) {
		uint32_t ne;
		expect_topk(fx, j, k, exp, &ne);
		if (nout[j] != ne)
			fail_msg("%s: query %zu: %u hits, want %u", what, j, nout[j], ne);
		for (uint32_t i = 0; i < ne; i++) {
			const bh_hit *h = &out[j * (size_t)k + i];
			if (h->score != exp[i].score || h->id != exp[i].id)
				fail_msg("%s: query %zu rank %u: (%d, %llu) want (%d, %llu)", what, j, i,
					 h->score, (unsigned long long)h->id, exp[i].score,
					 (unsigned long long)exp[i].id);
		}
	}
	free(exp);
}

static int runnable(const char *name)
{
	const bh_backend_ops *o = bh_backend_find(name);
	return o && o->probe() == BH_OK;
}

static const char *const backends[] = {"scalar", "avx2", "avx512"};

/* One backend, one shard, directly through the vtable. */
static void backend_case(const char *name, const fixture *fx, uint32_t k)
{
	const bh_backend_ops *o = bh_backend_find(name);
	bh_backend *be;
	assert_int_equal(o->open(&be), BH_OK);
	assert_int_equal(o->load(be, &fx->s), BH_OK);
	size_t slots = fx->q.nq * (size_t)k + 1;
	bh_hit *out = calloc(slots, sizeof *out);
	uint32_t *nout = calloc(fx->q.nq + 1, sizeof *nout);
	assert_int_equal(o->search(be, &fx->q, k, out, nout), BH_OK);
	char what[160];
	snprintf(what, sizeof what, "%s kernel %d dim %u n %zu nq %zu k %u stride %zu", name,
		 (int)fx->s.kernel, fx->s.dim, fx->s.n, fx->q.nq, k, fx->s.stride);
	check_answer(fx, k, out, nout, what);
	free(out);
	free(nout);
	o->close(be);
}

static void engine_case(const char *name, unsigned threads, const fixture *fx, uint32_t k)
{
	bh_engine_config cfg = {.backend = name, .threads = threads};
	bh_engine *e;
	assert_int_equal(bh_engine_open(&cfg, &fx->s, &e), BH_OK);
	assert_string_equal(bh_engine_backend_name(e), name);
	size_t slots = fx->q.nq * (size_t)k + 1;
	bh_hit *out = calloc(slots, sizeof *out);
	uint32_t *nout = calloc(fx->q.nq + 1, sizeof *nout);
	for (int rep = 0; rep < 2; rep++) { /* the pool is reused */
		assert_int_equal(bh_engine_search(e, &fx->q, k, out, nout), BH_OK);
		char what[160];
		snprintf(what, sizeof what, "engine %s x%u kernel %d dim %u n %zu nq %zu k %u", name,
			 threads, (int)fx->s.kernel, fx->s.dim, fx->s.n, fx->q.nq, k);
		check_answer(fx, k, out, nout, what);
	}
	bh_engine_stats st;
	bh_engine_get_stats(e, &st);
	assert_int_equal(st.searches, 2);
	assert_int_equal(st.queries, 2 * fx->q.nq);
	assert_int_equal(st.fallbacks, 0);
	free(out);
	free(nout);
	bh_engine_close(e);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_topk_heap(void **state)
{
	(void)state;
	for (uint32_t k = 0; k < 40; k += 3) {
		bh_hit slots[40], all[300];
		bh_topk t;
		bh_topk_init(&t, slots, k);
		for (int i = 0; i < 300; i++) {
			all[i] = (bh_hit){.score = (int32_t)(rnd() % 20) - 10, .id = rnd() % 1000};
			bh_topk_push(&t, all[i].score, all[i].id);
		}
		bh_hit sorted[300];
		memcpy(sorted, all, sizeof all);
		bh_hits_sort(sorted, 300);
		for (int i = 1; i < 300; i++) /* score down, then id up */
			assert_true(sorted[i - 1].score > sorted[i].score ||
				    (sorted[i - 1].score == sorted[i].score &&
				     sorted[i - 1].id <= sorted[i].id));
		qsort(all, 300, sizeof *all, cmp_hit);
		assert_memory_equal(sorted, all, sizeof all);
		assert_int_equal(bh_topk_finish(&t), k);
		for (uint32_t i = 0; i < k; i++) {
			assert_int_equal(slots[i].score, all[i].score);
			assert_int_equal(slots[i].id, all[i].id);
		}
	}
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(bh_row_stride(BH_KERNEL_DOT_I8, 128), 128);
	assert_int_equal(bh_row_stride(BH_KERNEL_DOT_I8, 160), 192);
	assert_int_equal(bh_row_stride(BH_KERNEL_HAMMING, 256), 64);
	assert_int_equal(bh_row_bytes(BH_KERNEL_HAMMING, 256), 32);
	assert_int_equal(bh_row_stride(BH_KERNEL_DOT_I8, 100), 0);
	assert_int_equal(bh_row_stride(BH_KERNEL_HAMMING, 100), 0);
	assert_int_equal(bh_row_stride(BH_KERNEL_DOT_I8, 0), 0);
	assert_int_equal(bh_row_stride((bh_kernel)7, 128), 0);
	int8_t a[32], b[32];
	memset(a, -128, sizeof a);
	memset(b, -128, sizeof b);
	assert_int_equal(bh_score_ref(BH_KERNEL_DOT_I8, 32, a, b), 32 * 16384);
	memset(b, 127, sizeof b);
	assert_int_equal(bh_score_ref(BH_KERNEL_DOT_I8, 32, a, b), -32 * 16256);
	uint64_t x[2] = {~0ull, 0}, y[2] = {0, 0};
	assert_int_equal(bh_score_ref(BH_KERNEL_HAMMING, 128, x, y), 64);
	bh_shard bad = {.kernel = BH_KERNEL_DOT_I8, .dim = 128, .stride = 100, .n = 1};
	assert_int_equal(bh_shard_check(&bad), BH_EINVAL);
}

static void test_registry(void **state)
{
	(void)state;
	assert_non_null(bh_backend_find("scalar"));
	assert_null(bh_backend_find("nope"));
	assert_null(bh_backend_find(NULL));
	const bh_backend_ops *b = bh_backend_best();
	assert_non_null(b);
	assert_int_equal(b->probe(), BH_OK);
	assert_int_equal(bh_backend_register(bh_backend_find("scalar")), BH_EEXIST);
	assert_string_equal(bh_backend_name_at(0), "scalar");
	bh_engine *e;
	bh_shard s = {.kernel = BH_KERNEL_DOT_I8, .dim = 32, .stride = 64};
	bh_engine_config cfg = {.backend = "nope"};
	assert_int_equal(bh_engine_open(&cfg, &s, &e), BH_ENOTFOUND);
	assert_null(e);
}

static const uint32_t dot_dims[] = {32, 96, 128, 160, 1024};
static const uint32_t ham_dims[] = {64, 192, 256, 576, 4096};
static const size_t sizes[] = {0, 1, 7, 17, 100, 333};

static void backends_random(bh_kernel kern, const uint32_t *dims, size_t ndims)
{
	for (size_t d = 0; d < ndims; d++)
		for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
			for (int packed = 0; packed < 2; packed++) {
				size_t nq = (s + d + packed) % 2 ? 17 : 1;
				enum fill f = (s + packed) % 2 ? FILL_SMALL : FILL_RANDOM;
				fixture fx;
				make(&fx, kern, dims[d], sizes[s], nq, packed, s == 3, f, f);
				const uint32_t ks[] = {1, 10, (uint32_t)sizes[s] + 5};
				for (size_t b = 0; b < 3; b++)
					if (runnable(backends[b]))
						for (size_t ki = 0; ki < 3; ki++)
							backend_case(backends[b], &fx, ks[ki]);
				unmake(&fx);
			}
}

static void test_backends_dot(void **state)
{
	(void)state;
	backends_random(BH_KERNEL_DOT_I8, dot_dims, 5);
}

static void test_backends_hamming(void **state)
{
	(void)state;
	backends_random(BH_KERNEL_HAMMING, ham_dims, 5);
}

/* All-equal scores, extreme int8 values and bit patterns. */
static void test_backends_edges(void **state)
{
	(void)state;
	const enum fill fills[][2] = {{FILL_EQUAL, FILL_EQUAL}, {FILL_MIN, FILL_MIN},
				      {FILL_MIN, FILL_MAX},     {FILL_MAX, FILL_MAX},
				      {FILL_MAX, FILL_MIN},     {FILL_MAX, FILL_RANDOM}};
	for (size_t f = 0; f < sizeof fills / sizeof *fills; f++)
		for (int kern = 1; kern <= 2; kern++) {
			uint32_t dim = kern == 1 ? 1024 : 4096;
			fixture fx;
			make(&fx, (bh_kernel)kern, dim, 77, 17, f % 2, 0, fills[f][0], fills[f][1]);
			for (size_t b = 0; b < 3; b++)
				if (runnable(backends[b])) {
					backend_case(backends[b], &fx, 5);
					backend_case(backends[b], &fx, 100);
				}
			unmake(&fx);
		}
	/* the extreme dot products land exactly */
	fixture fx;
	make(&fx, BH_KERNEL_DOT_I8, 1024, 3, 1, 0, 0, FILL_MIN, FILL_MIN);
	assert_int_equal(bh_score_ref(BH_KERNEL_DOT_I8, 1024, fx.qs, fx.rows), 1024 * 16384);
	unmake(&fx);
}

static void test_engine_merge(void **state)
{
	(void)state;
	const size_t ns[] = {0, 5, 100, 1001};
	for (size_t s = 0; s < 4; s++)
		for (int kern = 1; kern <= 2; kern++)
			for (unsigned threads = 1; threads <= 3; threads++) {
				size_t nq = threads == 2 ? 1 : 17;
				fixture fx;
				make(&fx, (bh_kernel)kern, kern == 1 ? 128 : 256, ns[s], nq, kern == 2,
				     threads == 3, s % 2 ? FILL_SMALL : FILL_RANDOM, FILL_RANDOM);
				for (size_t b = 0; b < 3; b++)
					if (runnable(backends[b])) {
						engine_case(backends[b], threads, &fx, 10);
						engine_case(backends[b], threads, &fx, (uint32_t)ns[s] + 3);
					}
				unmake(&fx);
			}
}

static void test_engine_edges(void **state)
{
	(void)state;
	fixture fx;
	make(&fx, BH_KERNEL_DOT_I8, 128, 50, 3, 0, 0, FILL_EQUAL, FILL_EQUAL);
	bh_engine_config cfg = {.threads = 3};
	bh_engine *e;
	assert_int_equal(bh_engine_open(&cfg, &fx.s, &e), BH_OK);
	assert_int_equal(bh_engine_threads(e), 3);
	bh_hit out[3 * 60];
	uint32_t nout[3];
	/* k = 0: nothing */
	assert_int_equal(bh_engine_search(e, &fx.q, 0, out, nout), BH_OK);
	assert_int_equal(nout[0], 0);
	/* all equal: ids ascending */
	assert_int_equal(bh_engine_search(e, &fx.q, 60, out, nout), BH_OK);
	check_answer(&fx, 60, out, nout, "all equal");
	for (uint32_t i = 1; i < nout[1]; i++)
		assert_true(out[60 + i - 1].id < out[60 + i].id);
	/* empty batch, bad stride */
	bh_queries none = {.nq = 0, .stride = 128, .data = NULL};
	assert_int_equal(bh_engine_search(e, &none, 5, NULL, NULL), BH_OK);
	bh_queries bad = {.nq = 1, .stride = 64, .data = fx.qs};
	assert_int_equal(bh_engine_search(e, &bad, 5, out, nout), BH_EINVAL);
	bh_engine_close(e);
	unmake(&fx);
	/* more queries than one pass of the driver keeps (256) */
	for (size_t b = 0; b < 3; b++)
		if (runnable(backends[b])) {
			make(&fx, BH_KERNEL_DOT_I8, 64, 40, 300, 0, 0, FILL_SMALL, FILL_RANDOM);
			engine_case(backends[b], 2, &fx, 7);
			unmake(&fx);
			make(&fx, BH_KERNEL_HAMMING, 128, 40, 300, 1, 1, FILL_RANDOM, FILL_RANDOM);
			engine_case(backends[b], 2, &fx, 7);
			unmake(&fx);
		}
}

/* Several threads share one engine (searches are serialised inside). */
typedef struct shared_ctx {
	bh_engine *e;
	const fixture *fx;
	int ok;
} shared_ctx;

static void *shared_main(void *arg)
{
	shared_ctx *c = arg;
	bh_hit out[17 * 9];
	uint32_t nout[17];
	c->ok = 1;
	for (int i = 0; i < 20 && c->ok; i++) {
		if (bh_engine_search(c->e, &c->fx->q, 9, out, nout) != BH_OK)
			c->ok = 0;
		/* compare with the brute force of query 0 and 16 */
		for (size_t j = 0; j < 17 && c->ok; j += 16) {
			bh_hit exp[9];
			uint32_t ne;
			bh_hit *all = calloc(c->fx->s.n, sizeof *all);
			for (size_t r = 0; r < c->fx->s.n; r++) {
				all[r].score = bh_score_ref(c->fx->s.kernel, c->fx->s.dim,
							    c->fx->qs + j * c->fx->q.stride,
							    c->fx->rows + r * c->fx->s.stride);
				all[r].id = c->fx->ids[r];
			}
			qsort(all, c->fx->s.n, sizeof *all, cmp_hit);
			ne = 9;
			memcpy(exp, all, sizeof exp);
			free(all);
			for (uint32_t h = 0; h < ne; h++)
				if (nout[j] != ne || out[j * 9 + h].id != exp[h].id ||
				    out[j * 9 + h].score != exp[h].score)
					c->ok = 0;
		}
	}
	return NULL;
}

static void test_engine_shared(void **state)
{
	(void)state;
	fixture fx;
	make(&fx, BH_KERNEL_DOT_I8, 128, 700, 17, 0, 0, FILL_SMALL, FILL_RANDOM);
	bh_engine_config cfg = {.threads = 2};
	bh_engine *e;
	assert_int_equal(bh_engine_open(&cfg, &fx.s, &e), BH_OK);
	shared_ctx c[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		c[i] = (shared_ctx){.e = e, .fx = &fx};
		assert_int_equal(pthread_create(&th[i], NULL, shared_main, &c[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_true(c[i].ok);
	}
	bh_engine_stats st;
	bh_engine_get_stats(e, &st);
	assert_int_equal(st.searches, 60);
	assert_int_equal(st.queries, 60 * 17);
	bh_engine_close(e);
	unmake(&fx);
}

/* ---- a fake device: answers through scalar, fails on demand --------------- */

static int dev_fail;
static const bh_backend_ops *dev_inner(void) { return bh_backend_find("scalar"); }
static int dev_probe(void) { return BH_OK; }
static int dev_open(bh_backend **out) { return dev_inner()->open(out); }
static int dev_load(bh_backend *be, const bh_shard *s) { return dev_inner()->load(be, s); }
static int dev_search(bh_backend *be, const bh_queries *q, uint32_t k, bh_hit *out, uint32_t *nout)
{
	if (dev_fail)
		return bh_fail(BH_EDEVICE, "testdev: injected fault");
	int rc = dev_inner()->search(be, q, k, out, nout);
	/* mark answers so the test sees who answered */
	for (size_t j = 0; rc == BH_OK && j < q->nq; j++)
		for (uint32_t i = 0; i < nout[j]; i++)
			out[j * (size_t)k + i].pad_ = 0xD;
	return rc;
}
static void dev_close(bh_backend *be) { dev_inner()->close(be); }
static const bh_backend_ops testdev = {
	.name = "testdev", .probe = dev_probe, .open = dev_open, .load = dev_load,
	.search = dev_search, .close = dev_close,
};

static void test_device_fallback(void **state)
{
	(void)state;
	int rc = bh_backend_register(&testdev);
	assert_true(rc == BH_OK || rc == BH_EEXIST);
	assert_ptr_equal(bh_backend_find("testdev"), &testdev);
	fixture fx;
	make(&fx, BH_KERNEL_HAMMING, 256, 500, 4, 0, 0, FILL_RANDOM, FILL_RANDOM);
	bh_engine_config cfg = {.backend = "testdev", .threads = 2, .fallback = "scalar"};
	bh_engine *e;
	assert_int_equal(bh_engine_open(&cfg, &fx.s, &e), BH_OK);
	assert_string_equal(bh_engine_backend_name(e), "testdev");
	bh_hit out[4 * 10];
	uint32_t nout[4];
	dev_fail = 0;
	assert_int_equal(bh_engine_search(e, &fx.q, 10, out, nout), BH_OK);
	check_answer(&fx, 10, out, nout, "device");
	assert_int_equal(out[0].pad_, 0xD);
	dev_fail = 1;
	assert_int_equal(bh_engine_search(e, &fx.q, 10, out, nout), BH_OK);
	check_answer(&fx, 10, out, nout, "fallback");
	assert_int_equal(out[0].pad_, 0);
	bh_engine_stats st;
	bh_engine_get_stats(e, &st);
	assert_int_equal(st.searches, 2);
	assert_int_equal(st.queries, 8);
	assert_int_equal(st.fallbacks, 1);
	bh_engine_close(e);
	/* a device cannot be its own fallback */
	cfg.fallback = "testdev";
	assert_int_equal(bh_engine_open(&cfg, &fx.s, &e), BH_EINVAL);
	unmake(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topk_heap),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_backends_dot),
		cmocka_unit_test(test_backends_hamming),
		cmocka_unit_test(test_backends_edges),
		cmocka_unit_test(test_engine_merge),
		cmocka_unit_test(test_engine_edges),
		cmocka_unit_test(test_engine_shared),
		cmocka_unit_test(test_device_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
