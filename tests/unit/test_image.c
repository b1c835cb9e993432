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
#include <math.h>
#include <tiffio.h>
#include <unistd.h>

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
			     "p.jp2", "p.J2K", "a.b.pgm", "101_1.tif", "a.TIFF", "a.bmp"};
	const char *no[] = {"a.gif", "pgm", "a.pgm.txt", "", ".", "a.", "a.an2k", "a.tif.txt"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		assert_int_equal(bh_image_name_known(yes[i]), 1);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		assert_int_equal(bh_image_name_known(no[i]), 0);
	assert_int_equal(bh_image_name_known(NULL), 0);
	for (int f = BH_IMG_PGM; f <= BH_IMG_TIFF; f++) {
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

/* ---- BMP ------------------------------------------------------------------ */

static void put_le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A BMP with an `info`-byte information header, ncol colour-table entries
 * (B, G, R, 0 each) and the stored rows as given (already padded). */
static size_t bmp_build(uint8_t *b, uint32_t info, int32_t w, int32_t h, uint32_t bits, uint32_t comp,
			const uint8_t *pal, uint32_t ncol, const uint8_t *rows, size_t rows_len)
{
	const uint32_t off = 14 + info + 4 * ncol;
	memset(b, 0, off);
	b[0] = 'B';
	b[1] = 'M';
	put_le(b + 2, off + (uint32_t)rows_len, 4);
	put_le(b + 10, off, 4);
	put_le(b + 14, info, 4);
	put_le(b + 18, (uint32_t)w, 4);
	put_le(b + 22, (uint32_t)h, 4);
	put_le(b + 26, 1, 2);
	put_le(b + 28, bits, 2);
	put_le(b + 30, comp, 4);
	put_le(b + 46, ncol, 4);
	if (ncol)
		memcpy(b + 14 + info, pal, 4 * ncol);
	memcpy(b + off, rows, rows_len);
	return off + rows_len;
}

static void expect_bmp(const uint8_t *b, size_t n, uint32_t w, uint32_t h, uint32_t ch, const uint8_t *px)
{
	bh_image img;
	assert_int_equal(bh_image_decode(b, n, 0, NULL, &img), BH_OK);
	assert_int_equal(img.w, w);
	assert_int_equal(img.h, h);
	assert_int_equal(img.channels, ch);
	assert_memory_equal(img.px, px, (size_t)w * h * ch);
	bh_image_free(&img);
	/* every truncation is an error with no image */
	for (size_t cut = 0; cut < n; cut++) {
		assert_int_not_equal(bh_image_decode(b, cut, 0, NULL, &img), BH_OK);
		assert_null(img.px);
	}
}

/* Each layout bh_bmp.c reads, with the pixels it must give. */
static void test_bmp_layouts(void **state)
{
	(void)state;
	uint8_t b[2048];
	uint8_t grey[256 * 4];
	for (int i = 0; i < 256; i++)
		grey[4 * i] = grey[4 * i + 1] = grey[4 * i + 2] = (uint8_t)i, grey[4 * i + 3] = 0;
	/* 8-bit grey, 3x2, bottom-up: the last row is stored first. */
	const uint8_t g8[] = {40, 50, 60, 0, 10, 20, 30, 0};
	const uint8_t g8_px[] = {10, 20, 30, 40, 50, 60};
	expect_bmp(b, bmp_build(b, 40, 3, 2, 8, 0, grey, 256, g8, sizeof g8), 3, 2, 1, g8_px);
	/* the same rows top-down */
	const uint8_t g8_td[] = {40, 50, 60, 10, 20, 30};
	expect_bmp(b, bmp_build(b, 40, 3, -2, 8, 0, grey, 256, g8, sizeof g8), 3, 2, 1, g8_td);
	/* 1 bit, 9 pixels across two bytes, black/white table */
	const uint8_t bw_pal[] = {0, 0, 0, 0, 255, 255, 255, 0};
	const uint8_t b1[] = {0xa5, 0x80, 0, 0};
	const uint8_t b1_px[] = {255, 0, 255, 0, 0, 255, 0, 255, 255};
	expect_bmp(b, bmp_build(b, 40, 9, 1, 1, 0, bw_pal, 2, b1, sizeof b1), 9, 1, 1, b1_px);
	/* 4 bits with a colour table: RGB out (red, green, blue entries) */
	const uint8_t c_pal[] = {0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 0};
	const uint8_t b4[] = {0x01, 0x20, 0, 0};
	const uint8_t b4_px[] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0};
	expect_bmp(b, bmp_build(b, 40, 4, 1, 4, 0, c_pal, 3, b4, sizeof b4), 4, 1, 3, b4_px);
	/* 24 bits, odd width: rows padded to 4 bytes; BGR stored */
	const uint8_t c24[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0};
	const uint8_t c24_px[] = {3, 2, 1, 6, 5, 4, 9, 8, 7};
	expect_bmp(b, bmp_build(b, 40, 3, 1, 24, 0, NULL, 0, c24, sizeof c24), 3, 1, 3, c24_px);
	/* 32 bits with the X8R8G8B8 bit fields inside a V4 header */
	const uint8_t c32[] = {1, 2, 3, 99, 4, 5, 6, 99};
	const uint8_t c32_px[] = {3, 2, 1, 6, 5, 4};
	size_t n = bmp_build(b, 108, 2, 1, 32, 3, NULL, 0, c32, sizeof c32);
	put_le(b + 54, 0x00ff0000, 4);
	put_le(b + 58, 0x0000ff00, 4);
	put_le(b + 62, 0x000000ff, 4);
	expect_bmp(b, n, 2, 1, 3, c32_px);
	bh_image img;
	put_le(b + 54, 0x0000001f, 4); /* R5G6B5-style masks: refused */
	assert_int_equal(bh_image_decode(b, n, 0, NULL, &img), BH_EUNSUPPORTED);
	assert_null(img.px);
}

static void expect_refused_bmp(const uint8_t *b, size_t n, int rc, const char *why)
{
	bh_image img;
	bh_errclear();
	assert_int_equal(bh_image_decode(b, n, 0, NULL, &img), rc);
	assert_null(img.px);
	if (!strstr(bh_errmsg(), why))
		fail_msg("expected \"%s\" in \"%s\"", why, bh_errmsg());
}

/* What bh_bmp.c does not read (BH_EUNSUPPORTED) and headers that lie
 * (BH_EFORMAT): each a clear error. */
static void test_bmp_refused(void **state)
{
	(void)state;
	uint8_t b[2048], pal[12] = {0, 0, 0, 0, 9, 9, 9, 0, 1, 1, 1, 0};
	const uint8_t row[] = {0, 1, 5, 0};
	expect_refused_bmp(b, bmp_build(b, 40, 3, 1, 8, 1, pal, 2, row, 4), BH_EUNSUPPORTED, "compression 1");
	expect_refused_bmp(b, bmp_build(b, 12, 3, 1, 8, 0, pal, 2, row, 4), BH_EUNSUPPORTED, "header of 12");
	expect_refused_bmp(b, bmp_build(b, 40, 3, 1, 16, 0, NULL, 0, row, 4), BH_EUNSUPPORTED, "16 bits");
	expect_refused_bmp(b, bmp_build(b, 40, 3, 1, 8, 0, pal, 2, row, 4), BH_EFORMAT, "index 5");
	expect_refused_bmp(b, bmp_build(b, 40, 3, INT32_MIN, 8, 0, pal, 2, row, 4), BH_EFORMAT, "geometry");
	expect_refused_bmp(b, bmp_build(b, 40, 0, 1, 8, 0, pal, 2, row, 4), BH_EFORMAT, "geometry");
	expect_refused_bmp(b, bmp_build(b, 40, 3, 1, 1, 0, pal, 3, row, 4), BH_EFORMAT, "3 colours");
	/* a header that claims more rows than the file holds */
	expect_refused_bmp(b, bmp_build(b, 40, 100000, 100000, 8, 0, pal, 2, row, 4), BH_EFORMAT, "does not hold");
	/* within the file, over the caller's limits */
	bh_image img;
	const uint8_t two[] = {1, 1, 1, 0, 1, 1, 1, 0};
	size_t n = bmp_build(b, 40, 3, 2, 8, 0, pal, 2, two, sizeof two);
	bh_image_limits small = {.max_w = 2, .max_h = 2, .max_pixels = 4};
	assert_int_equal(bh_image_decode(b, n, 0, &small, &img), BH_ETOOBIG);
	assert_null(img.px);
}

/* ---- TIFF ----------------------------------------------------------------- */

/* A new temporary file (name into path, "/tmp/bh_test_image.XXXXXX")
 * opened by libtiff for writing. */
static TIFF *tiff_temp(char *path)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	TIFF *t = TIFFOpen(path, "w");
	assert_non_null(t);
	return t;
}

/* The bytes of the file at path, which is then removed. */
static uint8_t *read_back(const char *path, size_t *len)
{
	uint8_t *buf;
	assert_int_equal(bh_read_file(path, 0, &buf, len), BH_OK);
	unlink(path);
	return buf;
}

/* Writes a TIFF with libtiff into a temporary file and reads it back. */
static uint8_t *tiff_build(size_t *len, uint32_t w, uint32_t h, uint16_t bps, uint16_t photo, uint16_t comp,
			   const void *px, int pages)
{
	char path[] = "/tmp/bh_test_image.XXXXXX";
	TIFF *t = tiff_temp(path);
	for (int p = 0; p < pages; p++) {
		TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
		TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
		TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bps);
		TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
		TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
		TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
		const size_t rowb = (size_t)w * bps / 8;
		for (uint32_t y = 0; y < h; y++) {
			uint8_t row[64];
			memcpy(row, (const uint8_t *)px + y * rowb, rowb);
			if (p) /* later pages differ: only the first may be read */
				memset(row, 0x77, rowb);
			assert_true(TIFFWriteScanline(t, row, y, 0) >= 0);
		}
		assert_true(TIFFWriteDirectory(t));
	}
	TIFFClose(t);
	return read_back(path, len);
}

/* Sets the tags of a one-strip 64x48 TIFF: 8-bit grey, or bilevel. */
static void strip_tags(TIFF *t, uint16_t comp, int bilevel)
{
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 64);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, 48);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bilevel ? 1 : 8);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, bilevel ? PHOTOMETRIC_MINISWHITE : PHOTOMETRIC_MINISBLACK);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 48);
	if (comp == COMPRESSION_JPEG) /* tables in the strip: it is a whole JPEG stream */
		TIFFSetField(t, TIFFTAG_JPEGTABLESMODE, 0);
}

/* A one-strip TIFF of ridges compressed with comp, its strip cut to keep
 * of its bytes, the byte count stating the cut length (a writer's own
 * truncation, not a short file). */
static uint8_t *tiff_cut_strip(size_t *len, uint16_t comp, int bilevel, double keep)
{
	char path[] = "/tmp/bh_test_image.XXXXXX";
	TIFF *t = tiff_temp(path);
	strip_tags(t, comp, bilevel);
	for (uint32_t y = 0; y < 48; y++) {
		uint8_t row[64] = {0};
		for (int x = 0; x < 64; x++) {
			const int v = (int)(127.5 + 127.5 * sin((x + 0.6 * y) * 0.7));
			if (bilevel)
				row[x / 8] |= (uint8_t)((v < 128) << (7 - x % 8));
			else
				row[x] = (uint8_t)v;
		}
		assert_true(TIFFWriteScanline(t, row, y, 0) >= 0);
	}
	TIFFClose(t);
	t = TIFFOpen(path, "r");
	assert_non_null(t);
	const tmsize_t n = TIFFRawStripSize(t, 0);
	uint8_t *raw = malloc((size_t)n);
	assert_int_equal(TIFFReadRawStrip(t, 0, raw, n), n);
	TIFFClose(t);
	t = TIFFOpen(path, "w");
	strip_tags(t, comp, bilevel);
	assert_true(TIFFWriteRawStrip(t, 0, raw, (tmsize_t)((double)n * keep)) >= 0);
	TIFFClose(t);
	free(raw);
	return read_back(path, len);
}

/* A strip cut inside its JPEG or CCITT G4 data is only a warning to
 * libtiff, which fills the rest; bh_tiff_decode must refuse it. */
static void test_tiff_cut_strips(void **state)
{
	(void)state;
	const uint16_t comp[2] = {COMPRESSION_JPEG, COMPRESSION_CCITTFAX4};
	for (int k = 0; k < 2; k++) {
		size_t n;
		bh_image img;
		uint8_t *t = tiff_cut_strip(&n, comp[k], k == 1, 1.0);
		assert_int_equal(bh_image_decode(t, n, 0, NULL, &img), BH_OK);
		assert_int_equal(img.w, 64);
		bh_image_free(&img);
		free(t);
		for (int cut = 1; cut < 10; cut++) {
			t = tiff_cut_strip(&n, comp[k], k == 1, cut / 10.0);
			bh_errclear();
			if (bh_image_decode(t, n, 0, NULL, &img) == BH_OK)
				fail_msg("compression %u, strip cut to %d0 %%: decoded", comp[k], cut);
			assert_null(img.px);
			free(t);
		}
	}
}

static void test_tiff_cases(void **state)
{
	(void)state;
	bh_image img;
	size_t n;
	/* 8-bit grey, LZW, two pages: the first page's pixels exactly */
	const uint8_t g[6] = {0, 17, 34, 200, 254, 255};
	uint8_t *t = tiff_build(&n, 3, 2, 8, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, g, 2);
	assert_int_equal(bh_image_sniff(t, n), BH_IMG_TIFF);
	assert_int_equal(bh_image_decode(t, n, 0, NULL, &img), BH_OK);
	assert_int_equal(img.channels, 1);
	assert_int_equal(img.ppi, 0);
	assert_memory_equal(img.px, g, 6);
	bh_image_free(&img);
	bh_image_limits small = {.max_w = 2, .max_h = 2, .max_pixels = 4};
	assert_int_equal(bh_image_decode(t, n, 0, &small, &img), BH_ETOOBIG);
	free(t);
	/* MinIsWhite: decoded as it looks */
	t = tiff_build(&n, 3, 2, 8, PHOTOMETRIC_MINISWHITE, COMPRESSION_NONE, g, 1);
	assert_int_equal(bh_image_decode(t, n, 0, NULL, &img), BH_OK);
	for (int i = 0; i < 6; i++)
		assert_int_equal(img.px[i], 255 - g[i]);
	bh_image_free(&img);
	/* every truncation of a one-page file fails cleanly: libtiff writes
	 * the strips, then the directory, and both are read, not guessed */
	for (size_t cut = 0; cut < n; cut++) {
		assert_int_not_equal(bh_image_decode(t, cut, 0, NULL, &img), BH_OK);
		assert_null(img.px);
	}
	free(t);
	/* 16-bit grey: the high byte */
	const uint16_t g16[4] = {0x0000, 0x12ff, 0x8000, 0xffff};
	t = tiff_build(&n, 2, 2, 16, PHOTOMETRIC_MINISBLACK, COMPRESSION_ADOBE_DEFLATE, g16, 1);
	assert_int_equal(bh_image_decode(t, n, 0, NULL, &img), BH_OK);
	const uint8_t hi[4] = {0x00, 0x12, 0x80, 0xff};
	assert_memory_equal(img.px, hi, 4);
	bh_image_free(&img);
	free(t);
	/* a TIFF signature with nothing readable after it */
	const uint8_t junk[] = {'I', 'I', 42, 0, 200, 0, 0, 0, 1, 2, 3, 4};
	bh_errclear();
	assert_int_equal(bh_image_decode(junk, sizeof junk, 0, NULL, &img), BH_EFORMAT);
	assert_null(img.px);
	assert_non_null(strstr(bh_errmsg(), "tiff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pgm_real),
		cmocka_unit_test(test_jpeg_real_and_truncated),
		cmocka_unit_test(test_png_roundtrip_and_limits),
		cmocka_unit_test(test_name_known),
		cmocka_unit_test(test_declare_ppi),
		cmocka_unit_test(test_bmp_layouts),
		cmocka_unit_test(test_bmp_refused),
		cmocka_unit_test(test_tiff_cases),
		cmocka_unit_test(test_tiff_cut_strips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
