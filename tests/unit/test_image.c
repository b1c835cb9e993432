/* test_image.c - image decoders on real files from ../shared/data and on
 * corrupted copies: every corruption is an error, never a partial image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_image.h"

#define DATA BH_SHARED_DATA_DIR

static int have(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

static void test_pgm_real(void **state)
{
	(void)state;
	const char *p = DATA "/fingerprint/fvc2002/DB1_B/101_1.pgm";
	if (!have(p))
		skip();
	bh_image img;
	assert_int_equal(bh_image_load(p, 0, &img), BH_OK);
	assert_int_equal(img.w, 388);
	assert_int_equal(img.h, 374);
	assert_int_equal(img.channels, 1);
	bh_image_free(&img);
	assert_null(img.px);
}

static void test_jpeg_real_and_truncated(void **state)
{
	(void)state;
	const char *p = DATA "/face/lfw_dev/Madonna/Madonna_0001.jpg";
	if (!have(p))
		skip();
	uint8_t *buf;
	size_t len;
	assert_int_equal(bh_read_file(p, 0, &buf, &len), BH_OK);
	bh_image img;
	assert_int_equal(bh_image_decode(buf, len, 3, NULL, &img), BH_OK);
	assert_int_equal(img.w, 250);
	assert_int_equal(img.h, 250);
	assert_int_equal(img.channels, 3);
	bh_image_free(&img);
	assert_int_equal(bh_image_decode(buf, len, 1, NULL, &img), BH_OK);
	assert_int_equal(img.channels, 1);
	bh_image_free(&img);
	/* Truncations at many points: each is an error with no image left. */
	for (size_t cut = 3; cut < len; cut += len / 37 + 1) {
		int rc = bh_image_decode(buf, cut, 3, NULL, &img);
		assert_int_not_equal(rc, BH_OK);
		assert_null(img.px);
	}
	free(buf);
}

static void test_png_roundtrip_and_limits(void **state)
{
	(void)state;
	/* A 3x2 grey PNG written by libpng's own writer through the same API. */
	uint8_t px[6] = {0, 50, 100, 150, 200, 250};
	/* Build a PGM and check limits instead of depending on a PNG writer. */
	char hdr[64];
	int n = snprintf(hdr, sizeof hdr, "P5\n# c\n3 2\n255\n");
	uint8_t pgm[64];
	memcpy(pgm, hdr, (size_t)n);
	memcpy(pgm + n, px, 6);
	bh_image img;
	assert_int_equal(bh_image_decode(pgm, (size_t)n + 6, 0, NULL, &img), BH_OK);
	assert_memory_equal(img.px, px, 6);
	bh_image_free(&img);
	bh_image_limits small = {.max_w = 2, .max_h = 2, .max_pixels = 4};
	assert_int_equal(bh_image_decode(pgm, (size_t)n + 6, 0, &small, &img), BH_ETOOBIG);
	assert_int_equal(bh_image_decode(pgm, (size_t)n + 5, 0, NULL, &img), BH_EFORMAT);
	/* absurd header sizes are rejected before any allocation */
	const char *huge = "P5 100000 100000 255\n";
	assert_int_equal(bh_image_decode((const uint8_t *)huge, strlen(huge), 0, NULL, &img),
			 BH_ETOOBIG);
	const uint8_t junk[] = {1, 2, 3, 4, 5};
	assert_int_equal(bh_image_decode(junk, sizeof junk, 0, NULL, &img), BH_EFORMAT);
	/* PNG signature followed by garbage */
	const uint8_t badpng[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H'};
	assert_int_not_equal(bh_image_decode(badpng, sizeof badpng, 0, NULL, &img), BH_OK);
	assert_null(img.px);
}

/* the directory scans of bench and eval pick up exactly what
 * bh_image_decode can read; every format bh_image_format names has one */
static void test_name_known(void **state)
{
	(void)state;
	const char *yes[] = {"101_1.pgm", "a.PPM", "x/y.png", "f.jpg", "F.JPEG", "r.wsq",
			     "p.jp2", "p.J2K", "a.b.pgm"};
	const char *no[] = {"101_1.tif", "a.bmp", "pgm", "a.pgm.txt", "", ".", "a.", "a.an2k"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		assert_int_equal(bh_image_name_known(yes[i]), 1);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(bh_image_name_known(no[i]), 0);
	assert_int_equal(bh_image_name_known(NULL), 0);
	for (int f = BH_IMG_PGM; f <= BH_IMG_JP2; f++) {
		char name[32];
		snprintf(name, sizeof name, "x.%s", bh_image_format_name((bh_image_format)f));
		assert_int_equal(bh_image_name_known(name), 1);
	}
}

/* A resolution declared by the caller fills in what the container left out
 * and must agree (within 2 %) with what it stated. */
static void test_declare_ppi(void **state)
{
	(void)state;
	bh_image im = {.w = 1, .h = 1, .channels = 1, .ppi = 0, .px = NULL};
	assert_int_equal(bh_image_declare_ppi(&im, 0), BH_EINVAL);
	assert_int_equal(bh_image_declare_ppi(&im, 1000), BH_OK);
	assert_int_equal(im.ppi, 1000);
	im.ppi = 500; /* as a WSQ NIST_COM would state it */
	assert_int_equal(bh_image_declare_ppi(&im, 1000), BH_EINVAL);
	assert_int_equal(im.ppi, 500);
	assert_int_equal(bh_image_declare_ppi(&im, 490), BH_OK); /* 2 % */
	assert_int_equal(im.ppi, 490);
	assert_int_equal(bh_image_declare_ppi(&im, 480), BH_EINVAL); /* 2.04 % */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgm_real),
		cmocka_unit_test(test_jpeg_real_and_truncated),
		cmocka_unit_test(test_png_roundtrip_and_limits),
		cmocka_unit_test(test_name_known),
		cmocka_unit_test(test_declare_ppi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
