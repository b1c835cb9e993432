/* test_ljpeg.c - the lossless JPEG decoder (matcher/image/bh_ljpeg.c).
 *
 * Two sources of streams:
 *  - tests/data/ljpeg: a crop of NIST's img.wsq encoded by DCMTK, an encoder
 *    independent of ours, with predictors 1, 4, 7 and 6 with point transform
 *    2 (scripts/make-ljpeg-fixtures); each must decode to the PGM exactly.
 *  - a small encoder below, written from T.81 Annex H, for what DCMTK's tool
 *    cannot make: restart intervals, precisions above 8 bits, codes longer
 *    than the decoder's lookup table, and broken variants of each.
 * Every truncation and corruption must be an error or a whole image, never
 * a partial one (bh_image.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_image.h"

#define FIX BH_SOURCE_ROOT "/tests/data/ljpeg/"

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *b;
	assert_int_equal(bh_read_file(name, 0, &b, len), BH_OK);
	return b;
}

static bh_image ref128(void)
{
	bh_image r;
	assert_int_equal(bh_image_load(FIX "nist128.pgm", 1, &r), BH_OK);
	assert_int_equal(r.w, 128);
	assert_int_equal(r.h, 128);
	return r;
}

/* ---- the test encoder ------------------------------------------------- */

typedef struct enc {
	uint8_t b[1 << 18];
	size_t n;
	uint32_t acc;
	int nacc;
} enc;

static void put8(enc *e, uint32_t v) { assert_true(e->n < sizeof e->b); e->b[e->n++] = (uint8_t)v; }
static void put16(enc *e, uint32_t v) { put8(e, v >> 8); put8(e, v & 255); }

static void put_bits(enc *e, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		e->acc = e->acc << 1 | ((v >> i) & 1);
		if (++e->nacc == 8) {
			put8(e, e->acc);
			if (e->acc == 0xff)
				put8(e, 0); /* byte stuffing */
			e->acc = 0;
			e->nacc = 0;
		}
	}
}

static void flush_bits(enc *e)
{
	while (e->nacc)
		put_bits(e, 1, 1); /* pad with 1-bits */
}

/* Code lengths per difference category 0..16.  SHORT: all 5 bits (codes =
 * the category).  LONG: category k gets k + 1 bits, 16 gets 16, so codes
 * beyond the decoder's 9-bit lookup table occur. */
enum { TAB_SHORT, TAB_LONG };

static void code_of(int tab, int cat, uint32_t *code, int *len)
{
	if (tab == TAB_SHORT) {
		*code = (uint32_t)cat;
		*len = 5;
	} else if (cat < 16) { /* canonical: 0, 10, 110, ... */
		*len = cat + 1;
		*code = ((1u << cat) - 1) << 1;
	} else {
		*len = 16;
		*code = 0xffff;
	}
}

static void put_dht(enc *e, int tab)
{
	put16(e, 0xffc4);
	put16(e, 2 + 17 + 17);
	put8(e, 0x00);
	for (int l = 1; l <= 16; l++)
		put8(e, tab == TAB_SHORT ? (l == 5 ? 17 : 0) : (l == 16 ? 2 : 1));
	for (int k = 0; k <= 16; k++)
		put8(e, (uint32_t)k);
}

typedef struct encopt {
	uint32_t prec, sv, rlines; /* rlines: lines per restart interval, 0 = none */
	int tab;
	int bad_rst;               /* write RST numbers off by one */
	int drop_rst;              /* leave the markers out */
} encopt;

/* Encodes an 8-bit grey image, samples scaled to o->prec bits. */
static void encode(enc *e, const bh_image *im, const encopt *o)
{
	const uint32_t w = im->w, h = im->h;
	memset(e, 0, sizeof *e);
	put16(e, 0xffd8);
	put_dht(e, o->tab);
	if (o->rlines) {
		put16(e, 0xffdd);
		put16(e, 4);
		put16(e, o->rlines * w);
	}
	put16(e, 0xffc3);
	put16(e, 11);
	put8(e, o->prec);
	put16(e, h);
	put16(e, w);
	put8(e, 1);
	put8(e, 1);
	put8(e, 0x11);
	put8(e, 0);
	put16(e, 0xffda);
	put16(e, 8);
	put8(e, 1);
	put8(e, 1);
	put8(e, 0x00);
	put8(e, o->sv);
	put8(e, 0);
	put8(e, 0);
	int32_t *s = malloc((size_t)w * h * sizeof *s);
	assert_non_null(s);
	for (size_t i = 0; i < (size_t)w * h; i++) /* 8 -> prec bits */
		s[i] = o->prec >= 8 ? im->px[i] << (o->prec - 8) : im->px[i] >> (8 - o->prec);
	uint32_t k = 0;
	for (uint32_t y = 0; y < h; y++) {
		const int first = o->rlines ? y % o->rlines == 0 : y == 0;
		if (first && y > 0) {
			flush_bits(e);
			if (!o->drop_rst) {
				put8(e, 0xff);
				put8(e, 0xd0 + ((k + (uint32_t)o->bad_rst) & 7));
			}
			k++;
		}
		for (uint32_t x = 0; x < w; x++) {
			const int32_t *r = s + (size_t)y * w, *up = y ? r - w : r;
			const int32_t ra = x ? r[x - 1] : 0, rb = up[x], rc = x ? up[x - 1] : 0;
			int32_t px;
			if (first)
				px = x ? ra : 1 << (o->prec - 1);
			else if (x == 0)
				px = rb;
			else
				px = o->sv == 1 ? ra : o->sv == 2 ? rb : o->sv == 3 ? rc
				   : o->sv == 4 ? ra + rb - rc : o->sv == 5 ? ra + ((rb - rc) >> 1)
				   : o->sv == 6 ? rb + ((ra - rc) >> 1) : (ra + rb) >> 1;
			int32_t d = (r[x] - px) & 0xffff;
			if (d >= 32768)
				d -= 65536;
			uint32_t code;
			int len, cat = 0;
			if (d == -32768) {
				cat = 16;
			} else {
				for (int32_t a = d < 0 ? -d : d; a; a >>= 1)
					cat++;
			}
			code_of(o->tab, cat, &code, &len);
			put_bits(e, code, len);
			if (cat > 0 && cat < 16)
				put_bits(e, (uint32_t)(d >= 0 ? d : d + (1 << cat) - 1), cat);
		}
	}
	flush_bits(e);
	put16(e, 0xffd9);
	free(s);
}

/* ---- tests ------------------------------------------------------------ */

static void test_dcmtk_streams(void **state)
{
	(void)state;
	static const struct { const char *name; int pt; } f[] = {
		{FIX "nist128_sv1_pt0.jpg", 0}, {FIX "nist128_sv4_pt0.jpg", 0},
		{FIX "nist128_sv7_pt0.jpg", 0}, {FIX "nist128_sv6_pt2.jpg", 2},
	};
	bh_image r = ref128();
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		size_t len;
		uint8_t *b = load(f[i].name, &len);
		assert_true(bh_ljpeg_is_lossless(b, len));
		bh_image im;
		/* TurboJPEG 2.1 cannot read these: the reason this decoder exists */
		assert_int_not_equal(bh_jpeg_decode(b, len, NULL, &im), BH_OK);
		assert_int_equal(bh_image_decode(b, len, 1, NULL, &im), BH_OK);
		assert_int_equal(im.w, 128);
		assert_int_equal(im.h, 128);
		assert_int_equal(im.channels, 1);
		size_t diff = 0;
		for (size_t p = 0; p < 128 * 128; p++)
			diff += im.px[p] != (uint8_t)(r.px[p] >> f[i].pt << f[i].pt);
		assert_int_equal(diff, 0);
		bh_image_free(&im);
		free(b);
	}
	bh_image_free(&r);
	/* an ordinary (DCT) JPEG is not taken for a lossless one */
	size_t len;
	uint8_t *b = load(BH_SHARED_DATA_DIR "/face/lfw_dev/Madonna/Madonna_0001.jpg", &len);
	assert_false(bh_ljpeg_is_lossless(b, len));
	free(b);
}

static void test_truncated_and_corrupt(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(FIX "nist128_sv1_pt0.jpg", &len);
	bh_image im;
	for (size_t n = 0; n < len; n += n + 40 < len ? 13 : 1) { /* every cut near the end */
		assert_int_not_equal(bh_image_decode(b, n, 1, NULL, &im), BH_OK);
		assert_null(im.px);
	}
	/* single-byte corruptions: an error, or a whole 128x128 image */
	uint8_t *c = malloc(len);
	assert_non_null(c);
	uint32_t seed = 12345;
	int errors = 0;
	for (int t = 0; t < 3000; t++) {
		memcpy(c, b, len);
		seed = seed * 1103515245u + 12345u;
		size_t at = (seed >> 8) % len;
		c[at] ^= (uint8_t)(1u << (seed >> 28 & 7));
		int rc = bh_ljpeg_decode(c, len, NULL, &im);
		if (rc == BH_OK) {
			assert_int_equal((uint64_t)im.w * im.h, 128 * 128);
			bh_image_free(&im);
		} else {
			assert_null(im.px);
			errors++;
		}
	}
	assert_true(errors > 1000); /* most flips break a Huffman code, a length or a sample */
	free(c);
	free(b);
}

static void test_restart_precision_long_codes(void **state)
{
	(void)state;
	bh_image r = ref128();
	static enc e;
	static const uint32_t precs[] = {8, 12, 16}, rls[] = {0, 1, 5, 128};
	for (uint32_t sv = 1; sv <= 7; sv++)
		for (size_t p = 0; p < 3; p++)
			for (size_t k = 0; k < 4; k++)
				for (int tab = TAB_SHORT; tab <= TAB_LONG; tab++) {
					encopt o = {precs[p], sv, rls[k], tab, 0, 0};
					encode(&e, &r, &o);
					bh_image im;
					assert_int_equal(bh_image_decode(e.b, e.n, 1, NULL, &im), BH_OK);
					assert_memory_equal(im.px, r.px, 128 * 128);
					bh_image_free(&im);
				}
	/* misnumbered or missing restart markers */
	bh_image im;
	encopt bad = {8, 4, 5, TAB_SHORT, 1, 0};
	encode(&e, &r, &bad);
	assert_int_equal(bh_image_decode(e.b, e.n, 1, NULL, &im), BH_EFORMAT);
	assert_null(im.px);
	encopt none = {8, 4, 5, TAB_SHORT, 0, 1};
	encode(&e, &r, &none);
	assert_int_equal(bh_image_decode(e.b, e.n, 1, NULL, &im), BH_EFORMAT);
	/* an interval that ends inside a line is refused, not guessed */
	encopt ok = {8, 4, 5, TAB_SHORT, 0, 0};
	encode(&e, &r, &ok);
	uint8_t *dri = memmem(e.b, e.n, "\xff\xdd\x00\x04", 4);
	assert_non_null(dri);
	dri[5] ^= 1;
	assert_int_equal(bh_image_decode(e.b, e.n, 1, NULL, &im), BH_EUNSUPPORTED);
	bh_image_free(&r);
}

/* Header fields the decoder refuses, each edited into a valid stream. */
static void test_refusals(void **state)
{
	(void)state;
	bh_image r = ref128();
	static enc e;
	encopt o = {8, 1, 0, TAB_SHORT, 0, 0};
	bh_image im;
	encode(&e, &r, &o);
	uint8_t *sof = memmem(e.b, e.n, "\xff\xc3\x00\x0b", 4);
	uint8_t *sos = memmem(e.b, e.n, "\xff\xda\x00\x08", 4);
	uint8_t *dht = memmem(e.b, e.n, "\xff\xc4", 2);
	assert_true(sof && sos && dht);
	struct { size_t off; uint8_t v; int want; } ed[] = {
		{(size_t)(sof - e.b) + 4, 1, BH_EFORMAT},       /* precision 1 */
		{(size_t)(sof - e.b) + 4, 17, BH_EFORMAT},      /* precision 17 */
		{(size_t)(sof - e.b) + 6, 0, BH_EUNSUPPORTED},  /* height 0: given by DNL */
		{(size_t)(sof - e.b) + 9, 3, BH_EFORMAT},       /* 3 components in an 11-byte header */
		{(size_t)(sof - e.b) + 1, 0xcb, BH_EUNSUPPORTED}, /* SOF11: arithmetic coding */
		{(size_t)(sos - e.b) + 7, 0, BH_EFORMAT},       /* predictor 0 */
		{(size_t)(sos - e.b) + 7, 8, BH_EFORMAT},       /* predictor 8 */
		{(size_t)(sos - e.b) + 9, 8, BH_EFORMAT},       /* point transform = precision */
		{(size_t)(sos - e.b) + 6, 0x10, BH_EFORMAT},    /* Huffman table 1: not defined */
		{(size_t)(sos - e.b) + 5, 2, BH_EFORMAT},       /* another component */
		{(size_t)(dht - e.b) + 4, 0x10, BH_EFORMAT},    /* table class 1 */
		{(size_t)(dht - e.b) + 9, 0xff, BH_EFORMAT},    /* more codes than the segment holds */
	};
	for (size_t i = 0; i < sizeof ed / sizeof ed[0]; i++) {
		uint8_t keep = e.b[ed[i].off];
		e.b[ed[i].off] = ed[i].v;
		int rc = bh_ljpeg_decode(e.b, e.n, NULL, &im);
		e.b[ed[i].off] = keep;
		assert_int_equal(rc, ed[i].want);
		assert_null(im.px);
	}
	/* the frame's size is checked against the limits before allocating */
	bh_image_limits small = {100, 100, 10000};
	assert_int_equal(bh_ljpeg_decode(e.b, e.n, &small, &im), BH_ETOOBIG);
	/* no EOI is an error; the unedited stream decodes */
	assert_int_equal(bh_ljpeg_decode(e.b, e.n - 2, NULL, &im), BH_EFORMAT);
	assert_int_equal(bh_ljpeg_decode(e.b, e.n, NULL, &im), BH_OK);
	bh_image_free(&im);
	bh_image_free(&r);
}

/* ANSI/NIST records with compression JPEGL decode through the same code. */
static void test_an2k_jpegl(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(FIX "nist128_sv4_pt0.jpg", &len);
	bh_an2k_image ai = {.record_type = 14, .position = 2, .w = 128, .h = 128, .ppi = 500,
			    .bpx = 8, .comp = BH_AN2K_COMP_JPEGL, .data = b, .len = len};
	bh_image im;
	assert_int_equal(bh_an2k_image_decode(&ai, NULL, &im), BH_OK);
	assert_int_equal(im.ppi, 500);
	bh_image r = ref128();
	assert_memory_equal(im.px, r.px, 128 * 128);
	bh_image_free(&im);
	ai.w = 127; /* the record's size must be the image's */
	assert_int_equal(bh_an2k_image_decode(&ai, NULL, &im), BH_EFORMAT);
	assert_null(im.px);
	bh_image_free(&r);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dcmtk_streams),
		cmocka_unit_test(test_truncated_and_corrupt),
		cmocka_unit_test(test_restart_precision_long_codes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_an2k_jpegl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
