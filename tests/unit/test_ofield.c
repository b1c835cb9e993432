/* test_ofield.c - the orientation field of finger templates (bh_ofield.h):
 * the agreement's geometry on hand-made fields, the field section of the
 * MCC blob (version 2, version 1 still read, malformed sections refused),
 * and its part in the comparison score on FVC2002 images (skipped when
 * ../shared/data is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_finger.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_ofield.h"
#include "bh_template.h"

#define DB1 BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB1_B/"

enum { G = 12 }; /* hand-made fields are G x G cells */

/* Quarter-pixel pose at the centre of cell (cx, cy), direction t degrees. */
static bh_pose cell_pose(uint32_t cx, uint32_t cy, uint32_t t)
{
	const int32_t side4 = BH_OFIELD_CELL * 4;
	return (bh_pose){(int32_t)cx * side4 + side4 / 2, (int32_t)cy * side4 + side4 / 2,
			 (uint16_t)(t * 65536u / 360u)};
}

/* bh_ofield_agree() with A's foreground list (the AVX-512 loop where the
 * CPU has it), checked against the scalar loop with and without the list:
 * all three give the same sum and count. */
static void agree_all(const bh_ofield *a, const bh_ofield *b, bh_pose pa, bh_pose pb, int64_t *sum, uint32_t *n)
{
	bh_ofield al = *a, plain = *a;
	uint32_t *fg = malloc((a->gw * a->gh + 1) * sizeof *fg);
	assert_non_null(fg);
	plain.fg = NULL;
	al.fg = fg;
	al.nfg = a->cell ? bh_ofield_list(a, fg) : 0;
	int64_t s2, s3;
	uint32_t n2, n3;
	bh_ofield_agree(&al, b, pa, pb, sum, n);
	bh_ofield_agree_ref(&al, b, pa, pb, &s2, &n2);
	bh_ofield_agree_ref(&plain, b, pa, pb, &s3, &n3);
	assert_int_equal(*n, n2);
	assert_int_equal(*sum, s2);
	assert_int_equal(*n, n3);
	assert_int_equal(*sum, s3);
	free(fg);
}

static void test_agree_orientation(void **state)
{
	(void)state;
	uint8_t a[G * G], b[G * G];
	memset(a, 1 + 30, sizeof a);  /* 30 degrees everywhere */
	memset(b, 1 + 120, sizeof b); /* 120 degrees everywhere */
	bh_ofield fa = {a, G, G, NULL, 0}, fb = {b, G, G, NULL, 0};
	int64_t sum;
	uint32_t n;
	/* identity: every cell overlaps, 90 degrees apart: cos(180) = -1 */
	agree_all(&fa, &fb, cell_pose(5, 5, 0), cell_pose(5, 5, 0), &sum, &n);
	assert_int_equal(n, G * G);
	assert_int_equal(sum, -(int64_t)n * BH_OFIELD_ONE);
	/* turned by 90 degrees about the centre cell, A's ridges run as B's */
	agree_all(&fa, &fb, cell_pose(5, 5, 0), cell_pose(5, 5, 90), &sum, &n);
	assert_true(n > 0);
	assert_int_equal(sum, (int64_t)n * BH_OFIELD_ONE);
	/* 45 degrees: cos(2 * 45) = 0 */
	agree_all(&fa, &fb, cell_pose(5, 5, 0), cell_pose(5, 5, 45), &sum, &n);
	assert_true(n > 0);
	assert_int_equal(sum, 0);
}

static void test_agree_geometry(void **state)
{
	(void)state;
	uint8_t a[G * G] = {0}, b[G * G] = {0};
	a[3 * G + 2] = a[3 * G + 3] = 1; /* A: cells (2,3) and (3,3) */
	b[7 * G + 7] = b[8 * G + 7] = 1; /* B: cells (7,7) and (7,8) */
	bh_ofield fa = {a, G, G, NULL, 0}, fb = {b, G, G, NULL, 0};
	int64_t sum;
	uint32_t n;
	/* (2,3) onto (7,7), no rotation: (3,3) lands on (8,7), background */
	agree_all(&fa, &fb, cell_pose(2, 3, 10), cell_pose(7, 7, 10), &sum, &n);
	assert_int_equal(n, 1);
	/* a quarter turn (y down: +x turns to +y): (3,3) lands on (7,8) */
	agree_all(&fa, &fb, cell_pose(2, 3, 10), cell_pose(7, 7, 100), &sum, &n);
	assert_int_equal(n, 2);
	/* mapped off B's grid (left and above): nothing overlaps */
	agree_all(&fa, &fb, cell_pose(2, 3, 0), (bh_pose){-800, -800, 0}, &sum, &n);
	assert_int_equal(n, 0);
	assert_int_equal(sum, 0);
	/* a pose outside the template range: nothing overlaps */
	agree_all(&fa, &fb, (bh_pose){-4, 100, 0}, cell_pose(7, 7, 0), &sum, &n);
	assert_int_equal(n, 0);
	agree_all(&fa, &fb, cell_pose(2, 3, 0), (bh_pose){40000, 100, 0}, &sum, &n);
	assert_int_equal(n, 0);
	/* no field on one side */
	bh_ofield none = {NULL, 0, 0, NULL, 0};
	agree_all(&fa, &none, cell_pose(2, 3, 0), cell_pose(2, 3, 0), &sum, &n);
	assert_int_equal(n, 0);
}

/* Field section of a blob: offset of gw. */
static size_t field_off(const uint8_t *blob)
{
	uint32_t n = blob[8] | (uint32_t)blob[9] << 8;
	return BH_MCC_HEADER + (size_t)n * (8 + 16 * bh_mcc_words());
}

static int tmpl_of(const char *path, bh_probe_tmpl *t)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	fclose(f);
	bh_image img;
	assert_int_equal(bh_image_load(path, 1, &img), BH_OK);
	assert_int_equal(bh_finger_extract(&img, 0, t), BH_OK);
	bh_image_free(&img);
	return 1;
}

static void test_blob_field(void **state)
{
	(void)state;
	bh_probe_tmpl t;
	if (!tmpl_of(DB1 "101_1.pgm", &t))
		skip();
	const uint8_t *a = t.full;
	size_t la = t.full_len, fo = field_off(a);
	assert_int_equal(a[4], 2);
	uint32_t w = a[10] | (uint32_t)a[11] << 8, h = a[12] | (uint32_t)a[13] << 8;
	uint32_t gw = a[fo] | (uint32_t)a[fo + 1] << 8, gh = a[fo + 2] | (uint32_t)a[fo + 3] << 8;
	assert_int_equal(gw, bh_ofield_side(w));
	assert_int_equal(gh, bh_ofield_side(h));
	assert_int_equal(la, fo + 4 + (size_t)gw * gh);
	bh_mcc_view v;
	assert_int_equal(bh_mcc_view_init(a, la, &v), BH_OK);
	assert_ptr_equal(v.field.cell, a + fo + 4);
	/* its own field agrees everywhere with itself */
	int64_t sum;
	uint32_t n, fg = 0;
	for (size_t i = 0; i < (size_t)gw * gh; i++)
		fg += v.field.cell[i] != 0;
	assert_true(fg > 100);
	bh_pose p = {a[BH_MCC_HEADER] | a[BH_MCC_HEADER + 1] << 8, a[BH_MCC_HEADER + 2] | a[BH_MCC_HEADER + 3] << 8,
		     (uint16_t)(a[BH_MCC_HEADER + 4] | a[BH_MCC_HEADER + 5] << 8)};
	agree_all(&v.field, &v.field, p, p, &sum, &n);
	assert_int_equal(n, fg);
	assert_int_equal(sum, (int64_t)fg * BH_OFIELD_ONE);
	/* malformed field sections are refused */
	uint8_t *x = malloc(la);
	assert_non_null(x);
	struct {
		size_t off;
		uint8_t val;
	} bad[] = {
		{fo, (uint8_t)(gw + 1)},  /* gw does not fit the width */
		{fo + 2, (uint8_t)(gh - 1)}, /* gh does not fit the height */
		{fo + 4 + 7, 181},        /* a cell beyond 180 degrees */
		{4, 1},                   /* version 1 has no field section */
		{4, 3},                   /* unknown version */
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		memcpy(x, a, la);
		x[bad[k].off] = bad[k].val;
		assert_int_equal(bh_mcc_check(x, la), bad[k].off == 4 && bad[k].val == 3 ? BH_EVERSION : BH_EFORMAT);
	}
	/* gw = 0 with gh != 0 */
	memcpy(x, a, la);
	x[fo] = x[fo + 1] = 0;
	assert_int_equal(bh_mcc_check(x, la), BH_EFORMAT);
	assert_int_equal(bh_mcc_check(a, fo + 3), BH_EFORMAT);
	free(x);
	bh_probe_tmpl_clear(&t);
}

/* Copy of blob without its field: version 2 with gw = gh = 0, or version 1. */
static uint8_t *strip(const uint8_t *a, int version, size_t *len)
{
	size_t fo = field_off(a);
	*len = version == 1 ? fo : fo + 4;
	uint8_t *x = calloc(1, *len);
	assert_non_null(x);
	memcpy(x, a, fo);
	x[4] = (uint8_t)version;
	return x;
}

static void test_field_in_score(void **state)
{
	(void)state;
	bh_probe_tmpl a, b, c;
	if (!tmpl_of(DB1 "101_1.pgm", &a))
		skip();
	assert_true(tmpl_of(DB1 "101_2.pgm", &b));
	assert_true(tmpl_of(DB1 "102_1.pgm", &c));
	bh_mcc_view va, vb, vc;
	assert_int_equal(bh_mcc_view_init(a.full, a.full_len, &va), BH_OK);
	assert_int_equal(bh_mcc_view_init(b.full, b.full_len, &vb), BH_OK);
	assert_int_equal(bh_mcc_view_init(c.full, c.full_len, &vc), BH_OK);
	bh_mcc_ws *ws = bh_mcc_ws_new();
	assert_non_null(ws);
	int32_t gen = bh_mcc_compare(&va, &vb, ws), gen_m = bh_mcc_compare_minutiae(&va, &vb, ws);
	int32_t imp = bh_mcc_compare(&va, &vc, ws), imp_m = bh_mcc_compare_minutiae(&va, &vc, ws);
	/* the agreement is at most 1: the score never exceeds MCC's */
	assert_true(gen <= gen_m && imp <= imp_m);
	/* a mate's ridge flow agrees almost everywhere */
	assert_true(gen >= gen_m * 9 / 10);
	assert_true(gen > BH_FINGER_THRESHOLD);
	/* turn every ridge of the mate by 90 degrees: the flow now disagrees */
	uint8_t *turned = malloc(b.full_len);
	assert_non_null(turned);
	memcpy(turned, b.full, b.full_len);
	size_t fo = field_off(turned);
	for (size_t i = fo + 4; i < b.full_len; i++)
		if (turned[i])
			turned[i] = (uint8_t)((turned[i] - 1 + 90) % 180 + 1);
	bh_mcc_view vt;
	assert_int_equal(bh_mcc_view_init(turned, b.full_len, &vt), BH_OK);
	assert_int_equal(bh_mcc_compare_minutiae(&va, &vt, ws), gen_m);
	assert_true(bh_mcc_compare(&va, &vt, ws) < gen_m / 4);
	/* no field on one side (a minutiae-only or a version-1 template):
	 * MCC alone, and version 1 scores as the same template without a field */
	for (int version = 1; version <= 2; version++) {
		size_t ls;
		uint8_t *s = strip(b.full, version, &ls);
		bh_mcc_view vs;
		assert_int_equal(bh_mcc_view_init(s, ls, &vs), BH_OK);
		assert_null(vs.field.cell);
		assert_int_equal(bh_mcc_compare(&va, &vs, ws), gen_m);
		assert_int_equal(bh_mcc_compare(&vs, &va, ws), bh_mcc_compare_minutiae(&vb, &va, ws));
		assert_int_equal(bh_mcc_compare(&va, &vs, ws), bh_mcc_compare_ref(&va, &vs, ws));
		free(s);
	}
	/* the vector and scalar paths agree on the combined score too */
	assert_int_equal(gen, bh_mcc_compare_ref(&va, &vb, ws));
	assert_int_equal(imp, bh_mcc_compare_ref(&va, &vc, ws));
	bh_mcc_ws_free(ws);
	bh_wipe_free(turned, b.full_len);
	bh_probe_tmpl_clear(&a);
	bh_probe_tmpl_clear(&b);
	bh_probe_tmpl_clear(&c);
}

/* The AVX-512 loop (where the CPU has it) and the scalar loop give the same
 * sums for alignments all over B, on real fields and on a field of 4 cells
 * (every gather near the end of the array). */
static void test_paths_agree(void **state)
{
	(void)state;
	bh_probe_tmpl a, b;
	if (!tmpl_of(DB1 "101_1.pgm", &a))
		skip();
	assert_true(tmpl_of(DB1 "102_1.pgm", &b));
	bh_mcc_view va, vb;
	assert_int_equal(bh_mcc_view_init(a.full, a.full_len, &va), BH_OK);
	assert_int_equal(bh_mcc_view_init(b.full, b.full_len, &vb), BH_OK);
	uint8_t tiny[4] = {1, 46, 0, 180};
	/* the list holds the foreground cells, row-major, packed as documented */
	uint32_t *list = malloc(va.field.gw * va.field.gh * sizeof *list), nl = 0;
	assert_non_null(list);
	const uint32_t got = bh_ofield_list(&va.field, list);
	for (uint32_t cy = 0; cy < va.field.gh; cy++)
		for (uint32_t cx = 0; cx < va.field.gw; cx++) {
			const uint8_t v = va.field.cell[cy * va.field.gw + cx];
			if (!v)
				continue;
			assert_true(nl < got);
			assert_int_equal(list[nl++], cx | cy << 9 | (uint32_t)v << 18);
		}
	assert_int_equal(got, nl);
	assert_true(nl > 0 && nl < va.field.gw * va.field.gh); /* some background skipped */
	free(list);
	bh_ofield ft = {tiny, 2, 2, NULL, 0};
	const bh_ofield *pairs[3][2] = {{&va.field, &vb.field}, {&vb.field, &va.field}, {&va.field, &ft}};
	uint32_t x = 12345, overlapped = 0;
	for (int k = 0; k < 600; k++) {
		x = x * 1103515245u + 12345u;
		bh_pose pa = {(int32_t)(x >> 8 & 2047), (int32_t)(x >> 19 & 2047), (uint16_t)x};
		x = x * 1103515245u + 12345u;
		bh_pose pb = {(int32_t)(x >> 8 & 2047) - 300, (int32_t)(x >> 19 & 2047) - 300, (uint16_t)(x >> 3)};
		if (k % 3 == 2) /* onto the 4-cell field (128 quarter pixels a side) */
			pb.x4 = (int32_t)(x >> 8 & 127), pb.y4 = (int32_t)(x >> 19 & 127);
		const bh_ofield **p = pairs[k % 3];
		int64_t s1;
		uint32_t n1;
		agree_all(p[0], p[1], pa, pb, &s1, &n1);
		overlapped += n1 > 0;
	}
	assert_true(overlapped > 200); /* 326 of the 600 as written */
	bh_probe_tmpl_clear(&a);
	bh_probe_tmpl_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_orientation),
		cmocka_unit_test(test_agree_geometry),
		cmocka_unit_test(test_blob_field),
		cmocka_unit_test(test_field_in_score),
		cmocka_unit_test(test_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
