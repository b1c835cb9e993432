/* test_finger.c - fingerprint extraction, MCC templates and comparator, the
 * first-stage code and the finger modality ops, on a few FVC2002 images
 * (skipped when ../shared/data is absent) and on synthetic minutiae. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_fcode.h"
#include "bh_finger.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_minutiae.h"
#include "bh_template.h"

#define DB1 BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB1_B/"
#define DB2 BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB2_B/"

static int load(const char *path, bh_image *img)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fclose(f);
	assert_int_equal(bh_image_load(path, 1, img), BH_OK);
	return 1;
}

/* Template of one image through the public modality entry point. */
static int tmpl_of(const char *path, uint32_t ppi, bh_probe_tmpl *t)
{
	bh_image img;
	if (!load(path, &img))
		return 0;
	assert_int_equal(bh_finger_extract(&img, ppi, t), BH_OK);
	bh_image_free(&img);
	return 1;
}

static void check_features(const bh_fp_features *f)
{
	assert_in_range(f->n, 12, 150); /* plain 500-ppi impressions: tens of minutiae */
	assert_in_range(f->quality, 1, 100);
	for (uint32_t i = 0; i < f->n; i++) {
		const bh_minutia *m = &f->m[i];
		assert_true(m->x >= 0 && m->x < f->w && m->y >= 0 && m->y < f->h);
		assert_true(m->theta >= 0 && m->theta < 2 * (float)M_PI + 1e-4f);
		assert_true(m->type == BH_MINUTIA_ENDING || m->type == BH_MINUTIA_BIFURCATION);
		assert_in_range(m->quality, 1, 100);
		if (i)
			assert_true(f->m[i - 1].quality >= m->quality); /* sorted */
	}
}

static void test_extract_real(void **state)
{
	(void)state;
	bh_image img;
	if (!load(DB1 "101_1.pgm", &img))
		skip();
	bh_fp_features f;
	assert_int_equal(bh_fp_extract(&img, NULL, &f), BH_OK);
	assert_int_equal(f.w, img.w);
	check_features(&f);
	bh_fp_features_free(&f);
	assert_null(f.m);
	bh_image_free(&img);
	/* DB2 is 569 ppi: resampled to the 500-ppi frame */
	assert_true(load(DB2 "101_1.pgm", &img));
	bh_extract_opts o = {.ppi_override = 569};
	assert_int_equal(bh_fp_extract(&img, &o, &f), BH_OK);
	assert_int_equal(f.w, (uint32_t)(img.w * 500.0 / 569 + 0.5));
	check_features(&f);
	bh_fp_features_free(&f);
	bh_image_free(&img);
}

static void test_extract_bad_input(void **state)
{
	(void)state;
	bh_fp_features f;
	uint8_t px[32 * 32];
	memset(px, 128, sizeof px);
	bh_image small = {.w = 32, .h = 32, .channels = 1, .ppi = 0, .px = px};
	assert_int_equal(bh_fp_extract(&small, NULL, &f), BH_EINVAL);
	bh_image rgb = {.w = 10, .h = 10, .channels = 3, .ppi = 0, .px = px};
	assert_int_equal(bh_fp_extract(&rgb, NULL, &f), BH_EINVAL);
	/* a flat image has no ridges */
	uint8_t *flat = malloc(200 * 200);
	assert_non_null(flat);
	memset(flat, 200, 200 * 200);
	bh_image fl = {.w = 200, .h = 200, .channels = 1, .ppi = 500, .px = flat};
	assert_int_equal(bh_fp_extract(&fl, NULL, &f), BH_ENOFEATURE);
	free(flat);
}

static void test_same_beats_different(void **state)
{
	(void)state;
	bh_probe_tmpl a, b, c, d;
	if (!tmpl_of(DB1 "101_1.pgm", 0, &a))
		skip();
	assert_true(tmpl_of(DB1 "101_2.pgm", 0, &b));
	assert_true(tmpl_of(DB1 "102_1.pgm", 0, &c));
	assert_true(tmpl_of(DB1 "103_1.pgm", 0, &d));
	int32_t self = bh_mcc_compare_blobs(a.full, a.full_len, a.full, a.full_len);
	int32_t same = bh_mcc_compare_blobs(a.full, a.full_len, b.full, b.full_len);
	int32_t d1 = bh_mcc_compare_blobs(a.full, a.full_len, c.full, c.full_len);
	int32_t d2 = bh_mcc_compare_blobs(a.full, a.full_len, d.full, d.full_len);
	assert_true(self > 9000);
	assert_true(same > BH_FINGER_THRESHOLD);
	assert_true(d1 < BH_FINGER_THRESHOLD && d2 < BH_FINGER_THRESHOLD);
	assert_true(same > 2 * d1 && same > 2 * d2);
	/* vector and scalar paths give identical integers */
	bh_mcc_view va, vb, vc, vd;
	assert_int_equal(bh_mcc_view_init(a.full, a.full_len, &va), BH_OK);
	assert_int_equal(bh_mcc_view_init(b.full, b.full_len, &vb), BH_OK);
	assert_int_equal(bh_mcc_view_init(c.full, c.full_len, &vc), BH_OK);
	assert_int_equal(bh_mcc_view_init(d.full, d.full_len, &vd), BH_OK);
	bh_mcc_ws *ws = bh_mcc_ws_new();
	assert_non_null(ws);
	const bh_mcc_view *vs[4] = {&va, &vb, &vc, &vd};
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			assert_int_equal(bh_mcc_compare(vs[i], vs[j], ws), bh_mcc_compare_ref(vs[i], vs[j], ws));
	bh_mcc_ws_free(ws);
	/* the first-stage code is weaker than MCC: it only has to rank mates
	 * higher on average (see test_code_statistics) */
	assert_int_equal(bh_fcode_similarity(a.code, a.code), BH_FCODE_BITS);
	int ones = 0;
	for (int i = 0; i < BH_FCODE_BYTES; i++)
		ones += __builtin_popcount(((uint8_t *)a.code)[i]);
	assert_int_equal(ones, BH_FCODE_BITS / 2);
	/* templates pass the gallery's validation rules */
	assert_int_equal(a.code_len, bh_template_code_bytes(BH_FMT_FINGER_V1));
	assert_int_equal(bh_mcc_check(a.full, a.full_len), BH_OK);
	bh_probe_tmpl_clear(&a);
	bh_probe_tmpl_clear(&b);
	bh_probe_tmpl_clear(&c);
	bh_probe_tmpl_clear(&d);
}

/* A synthetic impression: minutiae on a smooth flow, all-foreground mask. */
/* n pseudo-random minutiae in a 256 x 256 square, rotated and moved. */
static void synth_n(bh_fp_features *f, uint32_t n, float rot, float dx, float dy, unsigned seed)
{
	memset(f, 0, sizeof *f);
	f->w = f->h = 800;
	f->bw = f->bh = 800 / BH_FP_BLOCK;
	f->fg = malloc((size_t)f->bw * f->bh);
	assert_non_null(f->fg);
	memset(f->fg, 1, (size_t)f->bw * f->bh);
	f->n = n;
	f->m = calloc(f->n, sizeof *f->m);
	assert_non_null(f->m);
	uint32_t x = seed;
	for (uint32_t i = 0; i < f->n; i++) {
		x = x * 1103515245u + 12345u;
		float px = (float)(x >> 16 & 255), py;
		x = x * 1103515245u + 12345u;
		py = (float)(x >> 16 & 255);
		float th = 0.01f * (px + py) + (float)(x >> 8 & 1) * (float)M_PI;
		float cx = px - 128, cy = py - 128;
		f->m[i].x = 400 + cosf(rot) * cx - sinf(rot) * cy + dx;
		f->m[i].y = 400 + sinf(rot) * cx + cosf(rot) * cy + dy;
		f->m[i].theta = fmodf(th + rot + 4 * (float)M_PI, 2 * (float)M_PI);
		f->m[i].type = (uint8_t)(1 + (x >> 9 & 1));
		f->m[i].quality = 50;
	}
}

static void synth(bh_fp_features *f, float rot, float dx, float dy, unsigned seed)
{
	synth_n(f, 40, rot, dx, dy, seed);
}

/* Cylinders of a blob whose validity mask is full (every cell of the disc
 * valid): the AVX-512 local similarities take pairs with a full mask by a
 * shorter way, so the paths must meet both kinds. */
static uint32_t full_masks(const uint8_t *blob, const bh_mcc_view *v)
{
	const uint32_t W = bh_mcc_words(), cells = bh_mcc_cells() * BH_MCC_ND;
	uint32_t full = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		const uint8_t *mask = blob + BH_MCC_HEADER + 8 * v->n + (size_t)i * 16 * W + 8 * W;
		uint32_t c = 0;
		for (uint32_t k = 0; k < 8 * W; k++)
			c += (uint32_t)__builtin_popcount(mask[k]);
		full += c == cells;
	}
	return full;
}

/* The AVX-512 comparator (vector compatibility columns and relaxation, 64
 * pairs per block) equals the scalar reference also when far more than 64
 * pairs are selected: self-comparisons of 150-minutia templates select
 * every cylinder.  Every template here has cylinders with a full mask and
 * cylinders without, so all four kinds of pair are compared. */
static void test_mcc_paths_agree_large(void **state)
{
	(void)state;
	bh_fp_features f[3];
	synth_n(&f[0], 150, 0, 0, 0, 11);
	synth_n(&f[1], 150, -0.4f, -25, 40, 11);
	synth_n(&f[2], 90, 0.3f, 10, 10, 5);
	uint8_t *blob[3];
	size_t len[3];
	bh_mcc_view v[3];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(bh_mcc_build(&f[i], &blob[i], &len[i]), BH_OK);
		assert_int_equal(bh_mcc_view_init(blob[i], len[i], &v[i]), BH_OK);
	}
	assert_true(v[0].n > 64 && v[1].n > 64);
	for (int i = 0; i < 3; i++) {
		uint32_t full = full_masks(blob[i], &v[i]);
		assert_true(full > 0 && full < v[i].n);
	}
	bh_mcc_ws *ws = bh_mcc_ws_new();
	assert_non_null(ws);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			assert_int_equal(bh_mcc_compare(&v[i], &v[j], ws), bh_mcc_compare_ref(&v[i], &v[j], ws));
	assert_true(bh_mcc_compare(&v[0], &v[1], ws) > 5000); /* same minutiae, moved */
	assert_true(bh_mcc_compare(&v[0], &v[2], ws) < 2000);
	bh_mcc_ws_free(ws);
	for (int i = 0; i < 3; i++) {
		bh_wipe_free(blob[i], len[i]);
		bh_fp_features_free(&f[i]);
	}
}

/* The AVX-512 selection (bh_mcc.c, lambda_list) relies on this: a nonzero
 * local similarity, 1 - sqrt(nd) / (sqrt(nx) + sqrt(ny)) in single
 * precision, never falls in LSS-R's bucket 0.  It is smallest for the
 * largest nd, which is nx + ny (|x ^ y| <= |x| + |y|), and it is 0 when nx
 * or ny is 0; so every nx, ny >= 1 up to the cell count is checked at
 * nd = nx + ny. */
static void test_mcc_bucket_bound(void **state)
{
	(void)state;
	const uint32_t cells = bh_mcc_cells() * BH_MCC_ND;
	float lo = 1;
	for (uint32_t nx = 1; nx <= cells; nx++)
		for (uint32_t ny = 1; ny <= cells; ny++) {
			float l = 1.0f - sqrtf((float)(nx + ny)) / (sqrtf((float)nx) + sqrtf((float)ny));
			lo = l < lo ? l : lo;
		}
	printf("smallest nonzero local similarity %.5f, bucket %d (cells %u)\n", lo,
	       (int)(lo * (BH_MCC_BUCKETS - 1)), cells);
	assert_true(lo > 0);
	assert_true((int)(lo * (BH_MCC_BUCKETS - 1)) >= 1);
}

static void test_mcc_invariance(void **state)
{
	(void)state;
	bh_fp_features f, g, h;
	synth(&f, 0, 0, 0, 7);
	synth(&g, 0.6f, 30, -20, 7); /* same "finger", rotated by 34 degrees and moved */
	synth(&h, 0.6f, 30, -20, 99);
	uint8_t *a, *b, *c;
	size_t la, lb, lc;
	assert_int_equal(bh_mcc_build(&f, &a, &la), BH_OK);
	assert_int_equal(bh_mcc_build(&g, &b, &lb), BH_OK);
	assert_int_equal(bh_mcc_build(&h, &c, &lc), BH_OK);
	int32_t same = bh_mcc_compare_blobs(a, la, b, lb), diff = bh_mcc_compare_blobs(a, la, c, lc);
	assert_true(same > 8000);
	assert_true(diff < 2000);
	/* the code is rotation and translation invariant too */
	bh_mcc_view va, vb;
	uint8_t ca[BH_FCODE_BYTES], cb[BH_FCODE_BYTES];
	assert_int_equal(bh_mcc_view_init(a, la, &va), BH_OK);
	assert_int_equal(bh_mcc_view_init(b, lb, &vb), BH_OK);
	assert_int_equal(bh_fcode_from_mcc(&va, ca), BH_OK);
	assert_int_equal(bh_fcode_from_mcc(&vb, cb), BH_OK);
	assert_true(bh_fcode_similarity(ca, cb) > 230);
	bh_wipe_free(a, la);
	bh_wipe_free(b, lb);
	bh_wipe_free(c, lc);
	bh_fp_features_free(&f);
	bh_fp_features_free(&g);
	bh_fp_features_free(&h);
}

static void test_mcc_check_rejects(void **state)
{
	(void)state;
	bh_fp_features f;
	synth(&f, 0, 0, 0, 3);
	uint8_t *a;
	size_t la;
	assert_int_equal(bh_mcc_build(&f, &a, &la), BH_OK);
	assert_int_equal(bh_mcc_check(a, la), BH_OK);
	uint8_t *x = malloc(la);
	assert_non_null(x);
	const size_t W = bh_mcc_words();
	uint32_t n = a[8] | a[9] << 8;
	assert_true(n > 4);
	struct {
		size_t off;
		uint8_t val;
		int want;
	} cases[] = {
		{0, 'X', BH_EFORMAT},                  /* magic */
		{4, 3, BH_EVERSION},                   /* version */
		{4, 1, BH_EFORMAT},                    /* version 1 has no field section */
		{5, 8, BH_EFORMAT},                    /* NS */
		{8, (uint8_t)(n + 1), BH_EFORMAT},     /* count vs length */
		{15, 1, BH_EFORMAT},                   /* reserved */
		{BH_MCC_HEADER + 6, 3, BH_EFORMAT},    /* minutia type */
		{BH_MCC_HEADER + 1, 0xff, BH_EFORMAT}, /* x beyond the width */
		/* a cell bit set where its mask is 0: the last (padding) word of the
		 * first cylinder's mask plane holds no cells beyond the count */
		{BH_MCC_HEADER + 8 * n + 16 * W - 1, 0xff, BH_EFORMAT},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		memcpy(x, a, la);
		x[cases[k].off] = cases[k].val;
		assert_int_equal(bh_mcc_check(x, la), cases[k].want);
	}
	assert_int_equal(bh_mcc_check(a, la - 1), BH_EFORMAT);
	assert_int_equal(bh_mcc_check(a, 3), BH_EFORMAT);
	assert_int_equal(bh_mcc_check(NULL, 0), BH_EFORMAT);
	free(x);
	bh_wipe_free(a, la);
	bh_fp_features_free(&f);
}

static void test_code_statistics(void **state)
{
	(void)state;
	enum { NF = 4, NI = 4 };
	bh_probe_tmpl t[NF][NI];
	char path[512];
	snprintf(path, sizeof path, DB1 "101_1.pgm");
	FILE *fp = fopen(path, "rb");
	if (!fp)
		skip();
	fclose(fp);
	for (int f = 0; f < NF; f++)
		for (int i = 0; i < NI; i++) {
			snprintf(path, sizeof path, DB1 "%d_%d.pgm", 101 + f, 1 + i);
			assert_true(tmpl_of(path, 0, &t[f][i]));
		}
	double gs = 0, is = 0;
	int gn = 0, in = 0;
	for (int a = 0; a < NF * NI; a++)
		for (int b = a + 1; b < NF * NI; b++) {
			int32_t s = bh_fcode_similarity(t[a / NI][a % NI].code, t[b / NI][b % NI].code);
			if (a / NI == b / NI) {
				gs += s;
				gn++;
			} else {
				is += s;
				in++;
			}
		}
	assert_true(gs / gn > is / in + 5); /* measured: ~+20 on DB1_B */
	for (int a = 0; a < NF * NI; a++)
		bh_probe_tmpl_clear(&t[a / NI][a % NI]);
}

typedef struct gal {
	bh_probe_tmpl *t;
	int n;
} gal;

static int fetch(void *ctx, uint64_t id, void **blob, size_t *len)
{
	gal *g = ctx;
	if (id >= (uint64_t)g->n)
		return BH_ENOTFOUND;
	*blob = malloc(g->t[id].full_len);
	if (!*blob)
		return BH_ENOMEM;
	memcpy(*blob, g->t[id].full, g->t[id].full_len);
	*len = g->t[id].full_len;
	return BH_OK;
}

static void test_ops_and_rerank(void **state)
{
	(void)state;
	const bh_modality_ops *ops = &bh_finger_ops;
	assert_int_equal(ops->modality, BH_MOD_FINGER);
	assert_true(ops->rerank_depth > 0 && ops->rerank && ops->extract && ops->threshold > 0);
	bh_image img;
	if (!load(DB1 "104_1.pgm", &img))
		skip();
	void *model = NULL;
	assert_int_equal(ops->init(NULL, &model), BH_OK);
	bh_probe_tmpl probe;
	assert_int_equal(ops->extract(model, &img, &probe), BH_OK);
	bh_image_free(&img);
	assert_int_equal(probe.format, BH_FMT_FINGER_V1);
	assert_int_equal(probe.code_len, BH_FINGER_CODE_BITS / 8);
	assert_int_equal((uintptr_t)probe.code % BH_ALIGN, 0);
	bh_probe_tmpl t[3];
	assert_true(tmpl_of(DB1 "105_1.pgm", 0, &t[0]));
	assert_true(tmpl_of(DB1 "104_2.pgm", 0, &t[1]));
	assert_true(tmpl_of(DB1 "106_1.pgm", 0, &t[2]));
	gal g = {t, 3};
	bh_hit hits[3] = {{200, 0, 0}, {150, 0, 1}, {140, 0, 2}};
	assert_int_equal(bh_finger_rerank_with(&probe, hits, 3, fetch, &g), BH_OK);
	assert_true(hits[0].id == 1); /* the mate rises to the top */
	assert_true(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
	bh_hit bad[1] = {{1, 0, 7}};
	assert_int_equal(bh_finger_rerank_with(&probe, bad, 1, fetch, &g), BH_ENOTFOUND);
	for (int i = 0; i < 3; i++)
		bh_probe_tmpl_clear(&t[i]);
	bh_probe_tmpl_clear(&probe);
	assert_null(probe.full);
	ops->fini(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_real),
		cmocka_unit_test(test_extract_bad_input),
		cmocka_unit_test(test_same_beats_different),
		cmocka_unit_test(test_code_statistics),
		cmocka_unit_test(test_mcc_invariance),
		cmocka_unit_test(test_mcc_bucket_bound),
		cmocka_unit_test(test_mcc_paths_agree_large),
		cmocka_unit_test(test_mcc_check_rejects),
		cmocka_unit_test(test_ops_and_rerank),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
