/* test_palm.c - palm ROI texture code: template layout and validation,
 * comparator properties (self = max, symmetric, translation tolerance),
 * genuine above impostor on real PolyU ROIs, the modality hooks, and
 * malformed templates rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_modality.h"
#include "bh_palm.h"
#include "bh_template.h"

#define POLYU BH_SHARED_DATA_DIR "/palm/polyu/Multispectral_G/"

typedef struct tmpl {
	uint8_t code[BH_PALM_CODE_BITS / 8];
	uint8_t full[BH_PALM_FULL_BYTES];
	int q;
} tmpl;

static int extract_file(const char *path, tmpl *t)
{
	bh_image img;
	int rc = bh_image_load(path, 1, &img);
	if (rc != BH_OK)
		return rc;
	rc = bh_palm_extract(&img, t->code, t->full, &t->q);
	bh_image_free(&img);
	return rc;
}

static int32_t cmp(const tmpl *a, const tmpl *b)
{
	int32_t s = -1;
	assert_int_equal(bh_palm_compare(a->full, sizeof a->full, b->full, sizeof b->full, &s), BH_OK);
	return s;
}

/* A synthetic palm-like texture: dark curved lines on a brighter ground. */
static void synth(bh_image *img, uint32_t w, uint32_t h, int dx, int dy, unsigned seed)
{
	assert_int_equal(bh_image_alloc(img, w, h, 1, NULL), BH_OK);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			double X = (double)x - dx, Y = (double)y - dy;
			double v = 170 + 40 * sin(0.35 * X + 0.004 * seed * Y * Y / 10 + seed) *
					      cos(0.21 * Y - 0.002 * X * X / (5 + seed % 7));
			v -= 60 * (fabs(Y - 0.4 * X - 30 - seed % 20) < 2.0);
			img->px[(size_t)y * w + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
}

static void test_self_shift_and_layout(void **state)
{
	(void)state;
	bh_image a, b;
	tmpl ta, tb;
	synth(&a, 128, 128, 0, 0, 3);
	synth(&b, 128, 128, 6, -4, 3); /* the same texture moved by (6, -4) px */
	assert_int_equal(bh_palm_extract(&a, ta.code, ta.full, &ta.q), BH_OK);
	assert_int_equal(bh_palm_extract(&b, tb.code, tb.full, &tb.q), BH_OK);
	assert_int_equal(bh_palm_full_check(ta.full, sizeof ta.full), BH_OK);
	assert_int_equal(cmp(&ta, &ta), BH_PALM_SCORE_MAX);
	/* symmetric up to the shift search being the mirror image: both
	 * directions try the same set of overlaps */
	assert_int_equal(cmp(&ta, &tb), cmp(&tb, &ta));
	/* translation within the tolerance stays close to a self match */
	assert_true(cmp(&ta, &tb) > 8500);
	/* the code grid is every other point of the full grid: plane bits agree */
	for (int p = 0; p < BH_PALM_PLANES; p++)
		for (int r = 0; r < BH_PALM_CODE_GRID; r++)
			for (int c = 0; c < BH_PALM_CODE_GRID; c++) {
				size_t bit = (size_t)p * 1024 + (size_t)r * 32 + c;
				int cb = (ta.code[bit / 8] >> (bit % 8)) & 1;
				const uint8_t *row = ta.full + 8 + ((size_t)p * BH_PALM_GRID + 2 * r) * 8;
				int fb = (row[(2 * c) / 8] >> ((2 * c) % 8)) & 1;
				assert_int_equal(cb, fb);
			}
	/* a template check for the gallery accepts the pair */
	assert_int_equal(bh_template_check(BH_MOD_PALM, 0, BH_FMT_PALM_V1, ta.code, sizeof ta.code,
					   ta.full, sizeof ta.full), BH_OK);
	bh_image_free(&a);
	bh_image_free(&b);
}

static void test_bad_inputs(void **state)
{
	(void)state;
	tmpl t;
	bh_image img;
	/* flat image: no texture */
	assert_int_equal(bh_image_alloc(&img, 128, 128, 1, NULL), BH_OK);
	memset(img.px, 100, 128 * 128);
	assert_int_equal(bh_palm_extract(&img, t.code, t.full, &t.q), BH_ENOFEATURE);
	bh_image_free(&img);
	/* too small / not grey */
	assert_int_equal(bh_image_alloc(&img, 16, 16, 1, NULL), BH_OK);
	assert_int_equal(bh_palm_extract(&img, t.code, t.full, &t.q), BH_EINVAL);
	bh_image_free(&img);
	assert_int_equal(bh_image_alloc(&img, 128, 128, 3, NULL), BH_OK);
	assert_int_equal(bh_palm_extract(&img, t.code, t.full, &t.q), BH_EINVAL);
	bh_image_free(&img);
	/* malformed full templates */
	synth(&img, 200, 150, 0, 0, 5); /* other sizes are resampled */
	assert_int_equal(bh_palm_extract(&img, t.code, t.full, &t.q), BH_OK);
	bh_image_free(&img);
	int32_t s;
	tmpl u = t;
	assert_int_equal(bh_palm_compare(t.full, sizeof t.full - 1, u.full, sizeof u.full, &s), BH_EFORMAT);
	u.full[0] = 'X';
	assert_int_equal(bh_palm_compare(t.full, sizeof t.full, u.full, sizeof u.full, &s), BH_EFORMAT);
	u = t;
	/* orientation pattern 010 does not exist */
	u.full[8 + 0] &= (uint8_t)~1u;                 /* plane 0, row 0, column 0 = 0 */
	u.full[8 + BH_PALM_GRID * 8] |= 1u;            /* plane 1 = 1 */
	u.full[8 + 2 * BH_PALM_GRID * 8] &= (uint8_t)~1u; /* plane 2 = 0 */
	assert_int_equal(bh_palm_full_check(u.full, sizeof u.full), BH_EFORMAT);
}

static void test_polyu_genuine_vs_impostor(void **state)
{
	(void)state;
	tmpl a1, a2, b1;
	if (extract_file(POLYU "001/1_01_s.pgm", &a1) != BH_OK)
		skip();
	assert_int_equal(extract_file(POLYU "001/2_03_s.pgm", &a2), BH_OK); /* other session */
	assert_int_equal(extract_file(POLYU "002/1_01_s.pgm", &b1), BH_OK);
	int32_t gen = cmp(&a1, &a2), imp = cmp(&a1, &b1);
	assert_true(gen >= BH_PALM_THRESHOLD);
	assert_true(imp < BH_PALM_THRESHOLD);
	assert_true(a1.q > 0 && a1.q <= 100);
}

static void test_modality_ops(void **state)
{
	(void)state;
	const bh_modality_ops *ops = bh_modality_get(BH_MOD_PALM);
	assert_non_null(ops);
	assert_string_equal(ops->name, "palm");
	void *model = NULL;
	assert_int_equal(ops->init(NULL, &model), BH_OK);
	bh_image img;
	synth(&img, 128, 128, 0, 0, 9);
	assert_int_equal(bh_image_convert(&img, 3), BH_OK); /* RGB input is converted */
	bh_probe_tmpl t;
	assert_int_equal(ops->extract(model, &img, &t), BH_OK);
	assert_int_equal(t.modality, BH_MOD_PALM);
	assert_int_equal(t.format, BH_FMT_PALM_V1);
	assert_int_equal(t.code_len, BH_PALM_CODE_BITS / 8);
	assert_int_equal(t.full_len, BH_PALM_FULL_BYTES);
	assert_int_equal(((uintptr_t)t.code) % 64, 0);
	assert_int_equal(bh_template_check(BH_MOD_PALM, 0, t.format, t.code, t.code_len, t.full,
					   t.full_len), BH_OK);
	assert_int_equal(img.channels, 3); /* the caller's image is untouched */
	bh_probe_tmpl_clear(&t);
	bh_image_free(&img);
	ops->fini(model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_shift_and_layout),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_polyu_genuine_vs_impostor),
		cmocka_unit_test(test_modality_ops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
