/* test_formats.c - WSQ, JPEG 2000, ANSI/NIST-ITL and ISO/IEC 19794-2 /
 * INCITS 378 readers on the NIST sample records in ../shared/data, and on
 * corrupted copies (truncations at many points, flipped bytes, absurd
 * lengths): every corruption is an error or a well-formed result, never a
 * crash or a partial image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_an2k.h"
#include "bh_face_an2k.h"
#include "bh_finger.h"
#include "bh_finger_fmr.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_iso19794.h"
#include "bh_minutiae.h"
#include "bh_wsq.h"

#define NIST BH_SHARED_DATA_DIR "/fingerprint/nist/"

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *b = NULL;
	if (bh_read_file(name, 0, &b, len) != BH_OK)
		return NULL;
	return b;
}

/* Deterministic pseudo-random numbers for the corruption loops. */
static uint32_t rng(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static uint64_t img_sum(const bh_image *im)
{
	uint64_t s = 0;
	for (size_t i = 0; i < (size_t)im->w * im->h * im->channels; i++)
		s += im->px[i];
	return s;
}

/* ---- WSQ -------------------------------------------------------------- */

static void test_wsq_real(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "img.wsq", &len);
	if (!b)
		skip();
	bh_image im;
	assert_int_equal(bh_image_decode(b, len, 0, NULL, &im), BH_OK);
	assert_int_equal(im.w, 256);
	assert_int_equal(im.h, 256);
	assert_int_equal(im.channels, 1);
	assert_int_equal(im.ppi, 500); /* from the NIST_COM comment */
	/* The sample is dark discs on white: the biggest disc covers
	 * (165, 97), the corners are white. */
	assert_true(im.px[97 * 256 + 165] < 40);
	assert_true(im.px[5 * 256 + 5] > 215);
	assert_true(im.px[250 * 256 + 250] > 215);
	uint64_t mean = img_sum(&im) / (256 * 256);
	assert_true(mean > 150 && mean < 230);
	bh_image_free(&im);
	free(b);
}

static void test_wsq_corrupt(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "img.wsq", &len);
	if (!b)
		skip();
	bh_image im;
	/* every truncation is an error */
	for (size_t cut = 0; cut < len; cut += (cut < 600 ? 1 : 7)) {
		int rc = bh_wsq_decode(b, cut, NULL, &im);
		assert_int_not_equal(rc, BH_OK);
		assert_null(im.px);
	}
	/* flipped bytes: an error or a full image, never a crash */
	uint8_t *c = malloc(len);
	uint32_t s = 1;
	for (int it = 0; it < 400; it++) {
		memcpy(c, b, len);
		for (int k = 0; k < 1 + it % 4; k++)
			c[rng(&s) % len] ^= (uint8_t)(1u << (rng(&s) % 8));
		int rc = bh_wsq_decode(c, len, NULL, &im);
		if (rc == BH_OK) {
			assert_non_null(im.px);
			bh_image_free(&im);
		} else {
			assert_null(im.px);
		}
	}
	/* absurd sizes in the frame header: 65535 x 65535 exceeds the limits */
	memcpy(c, b, len);
	uint8_t *sof = memmem(c, len, "\xff\xa2\x00\x11", 4);
	assert_non_null(sof);
	memset(sof + 6, 0xff, 4);
	assert_int_equal(bh_wsq_decode(c, len, NULL, &im), BH_ETOOBIG);
	/* a small limit is honoured too */
	bh_image_limits small = {100, 100, 10000};
	assert_int_equal(bh_wsq_decode(b, len, &small, &im), BH_ETOOBIG);
	/* a segment length past the end */
	memcpy(c, b, len);
	uint8_t *dqt = memmem(c, len, "\xff\xa5", 2);
	assert_non_null(dqt);
	dqt[2] = 0xff;
	dqt[3] = 0xff;
	assert_int_equal(bh_wsq_decode(c, len, NULL, &im), BH_EFORMAT);
	/* wrong magic */
	memcpy(c, b, len);
	c[1] = 0xd8;
	assert_int_equal(bh_wsq_decode(c, len, NULL, &im), BH_EFORMAT);
	free(c);
	free(b);
}

/* The 64 subbands tile the image exactly (every pixel once) for even and
 * odd sizes, and the coarsest band is ~1/32 of each side. */
static void test_wsq_geometry(void **state)
{
	(void)state;
	static const uint32_t sizes[][2] = {{256, 256}, {1608, 1000}, {900, 2500}, {401, 333},
					    {97, 131}, {32, 33}, {2047, 1999}};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		uint32_t w = sizes[k][0], h = sizes[k][1];
		uint32_t x[64], y[64], sw[64], sh[64];
		bh_wsq_subband_rects(w, h, x, y, sw, sh);
		uint8_t *cover = calloc((size_t)w * h, 1);
		for (int i = 0; i < 64; i++) {
			assert_true(x[i] + sw[i] <= w && y[i] + sh[i] <= h);
			for (uint32_t yy = y[i]; yy < y[i] + sh[i]; yy++)
				for (uint32_t xx = x[i]; xx < x[i] + sw[i]; xx++)
					cover[(size_t)yy * w + xx]++;
		}
		for (size_t i = 0; i < (size_t)w * h; i++)
			assert_int_equal(cover[i], 1);
		free(cover);
		assert_int_equal(x[0], 0);
		assert_true(sw[0] >= w / 32 && sw[0] <= w / 32 + 1);
		assert_true(sh[0] >= h / 32 && sh[0] <= h / 32 + 1);
	}
	/* 256 x 256: subband 0 is 8 x 8, subband 59 is the 64 x 64 block at (0, 192) */
	uint32_t x[64], y[64], sw[64], sh[64];
	bh_wsq_subband_rects(256, 256, x, y, sw, sh);
	assert_int_equal(sw[0], 8);
	assert_int_equal(sh[0], 8);
	assert_int_equal(x[59], 64);
	assert_int_equal(y[59], 192);
	assert_int_equal(sw[59], 64);
}

/* ---- ANSI/NIST-ITL ---------------------------------------------------- */

static bh_an2k *parse_file(const char *path, uint8_t **buf, size_t *len)
{
	*buf = load(path, len);
	if (!*buf)
		return NULL;
	bh_an2k *a = NULL;
	assert_int_equal(bh_an2k_parse(*buf, *len, &a), BH_OK);
	return a;
}

static void test_an2k_type3(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(NIST "type3.an2k", &b, &len);
	if (!a)
		skip();
	assert_string_equal(a->version, "0400");
	assert_int_equal(a->nrecords, 3);
	assert_int_equal(a->nimages, 1);
	assert_int_equal(a->images[0].record_type, 3);
	assert_int_equal(a->images[0].position, 2);
	assert_int_equal(a->images[0].comp, BH_AN2K_COMP_NONE);
	assert_int_equal(bh_an2k_image_kind(&a->images[0]), BH_AN2K_KIND_FINGER);
	bh_image im;
	assert_int_equal(bh_an2k_image_decode(&a->images[0], NULL, &im), BH_OK);
	assert_int_equal(im.w, 402);
	assert_int_equal(im.h, 376);
	bh_image_free(&im);
	bh_an2k_free(a);
	free(b);
}

static void test_an2k_type4_slaps(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(NIST "type4-slaps.an2k", &b, &len);
	if (!a)
		skip();
	static const int pos[4] = {14, 12, 11, 13};
	static const uint32_t w[4] = {1608, 412, 392, 1572};
	assert_int_equal(a->nimages, 4);
	for (int i = 0; i < 4; i++) {
		const bh_an2k_image *ai = &a->images[i];
		assert_int_equal(ai->record_type, 4);
		assert_int_equal(ai->position, pos[i]);
		assert_int_equal(ai->comp, BH_AN2K_COMP_WSQ);
		assert_int_equal(ai->w, w[i]);
		assert_int_equal(ai->h, 1000);
		assert_int_equal(bh_an2k_image_kind(ai), BH_AN2K_KIND_SLAP);
		bh_image im;
		assert_int_equal(bh_an2k_image_decode(ai, NULL, &im), BH_OK);
		assert_int_equal(im.ppi, 500); /* the record wins over the comment's 255 */
		/* a slap card: mostly white paper with dark ridges */
		uint64_t mean = img_sum(&im) / ((uint64_t)im.w * im.h);
		assert_true(mean > 120 && mean < 250);
		bh_image_free(&im);
	}
	bh_an2k_free(a);
	free(b);
}

static void test_an2k_type9(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(NIST "type9.an2k", &b, &len);
	if (!a)
		skip();
	assert_int_equal(a->nimages, 0);
	assert_int_equal(a->nminsets, 1);
	const bh_an2k_minset *s = &a->minsets[0];
	assert_int_equal(s->fmt, BH_AN2K_MIN_STD);
	assert_int_equal(s->n, 28);
	assert_int_equal(s->m[0].x, 132);
	assert_int_equal(s->m[0].y, 715);
	assert_int_equal(s->m[0].theta, 248);
	assert_int_equal(s->m[0].type, 'A');
	bh_an2k_free(a);
	free(b);
}

static void test_an2k_type9_13_15_efs(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(NIST "type9-13.an2k", &b, &len);
	if (!a)
		skip();
	assert_int_equal(a->nimages, 1);
	assert_int_equal(a->images[0].record_type, 13);
	assert_int_equal(bh_an2k_image_kind(&a->images[0]), BH_AN2K_KIND_LATENT);
	assert_int_equal(a->images[0].ppi, 500);
	bh_image im;
	assert_int_equal(bh_an2k_image_decode(&a->images[0], NULL, &im), BH_OK);
	assert_int_equal(im.w, 191);
	assert_int_equal(im.h, 357);
	bh_image_free(&im);
	assert_int_equal(a->nminsets, 1);
	assert_int_equal(a->minsets[0].n, 28);
	bh_an2k_free(a);
	free(b);

	a = parse_file(NIST "type9-15.an2k", &b, &len);
	assert_non_null(a);
	assert_int_equal(a->nimages, 2);
	assert_int_equal(a->images[0].record_type, 15);
	assert_int_equal(a->images[0].position, 24);
	assert_int_equal(bh_an2k_image_kind(&a->images[0]), BH_AN2K_KIND_PALM);
	assert_int_equal(a->images[0].comp, BH_AN2K_COMP_WSQ);
	assert_int_equal(a->images[0].ppi, 500);
	assert_int_equal(bh_an2k_image_decode(&a->images[0], NULL, &im), BH_OK);
	assert_int_equal(im.w, 900);
	assert_int_equal(im.h, 2500);
	bh_image_free(&im);
	assert_int_equal(a->images[1].comp, BH_AN2K_COMP_JP2L);
	assert_int_equal(a->images[1].ppi, 1000);
	assert_int_equal(a->images[1].w, 2750);
	bh_an2k_free(a);
	free(b);

	a = parse_file(NIST "type9-efs.an2k", &b, &len);
	assert_non_null(a);
	assert_int_equal(a->nminsets, 8);
	static const uint32_t n[8] = {60, 35, 68, 37, 54, 48, 53, 59};
	for (int i = 0; i < 8; i++) {
		assert_int_equal(a->minsets[i].fmt, BH_AN2K_MIN_EFS);
		assert_int_equal(a->minsets[i].n, n[i]);
	}
	assert_int_equal(a->minsets[0].m[0].x, 1908);
	assert_int_equal(a->minsets[0].m[0].type, 'E');
	bh_an2k_free(a);
	free(b);
}

static void an2k_corrupt_one(const char *path, int decode_images)
{
	size_t len;
	uint8_t *b = load(path, &len);
	if (!b)
		return;
	bh_an2k *a;
	/* truncations: always an error, nothing returned */
	size_t step = len / 300 + 1;
	for (size_t cut = 0; cut < len; cut += (cut < 400 ? 1 : step)) {
		uint8_t *t = malloc(cut ? cut : 1); /* exact-size copy: ASan sees over-reads */
		memcpy(t, b, cut);
		assert_int_not_equal(bh_an2k_parse(t, cut, &a), BH_OK);
		assert_null(a);
		free(t);
	}
	/* flipped bytes in the first 2 KiB (headers and tags) and anywhere */
	uint8_t *c = malloc(len);
	uint32_t s = 7;
	for (int it = 0; it < 200; it++) {
		memcpy(c, b, len);
		size_t span = it % 2 ? len : (len < 2048 ? len : 2048);
		c[rng(&s) % span] ^= (uint8_t)(1u << (rng(&s) % 8));
		if (bh_an2k_parse(c, len, &a) == BH_OK) {
			for (uint32_t i = 0; decode_images && i < a->nimages; i++) {
				bh_image im;
				if (a->images[i].comp == BH_AN2K_COMP_JP2L)
					continue; /* big; covered by the JPEG 2000 test */
				if (bh_an2k_image_decode(&a->images[i], NULL, &im) == BH_OK)
					bh_image_free(&im);
				else
					assert_null(im.px);
			}
			bh_an2k_free(a);
		} else {
			assert_null(a);
		}
	}
	/* an absurd record length in field 1.001 */
	memcpy(c, b, len);
	memcpy(c + 6, "999999", 3);
	assert_int_equal(bh_an2k_parse(c, len, &a), BH_EFORMAT);
	free(c);
	free(b);
}

static void test_an2k_corrupt(void **state)
{
	(void)state;
	size_t plen;
	uint8_t *probe = load(NIST "type9.an2k", &plen);
	if (!probe)
		skip();
	free(probe);
	an2k_corrupt_one(NIST "type3.an2k", 1);
	an2k_corrupt_one(NIST "type4-slaps.an2k", 0);
	an2k_corrupt_one(NIST "type9.an2k", 1);
	an2k_corrupt_one(NIST "type9-13.an2k", 1);
	an2k_corrupt_one(NIST "type9-efs.an2k", 1);
	/* binary record with a length past the end */
	size_t len;
	uint8_t *b = load(NIST "type4-slaps.an2k", &len);
	bh_an2k *a;
	size_t off = 190 + 57; /* type-1 (190 bytes) + type-2 (57 bytes) */
	b[off] = 0x7f;
	assert_int_equal(bh_an2k_parse(b, len, &a), BH_EFORMAT);
	free(b);
	/* not an ANSI/NIST file at all */
	assert_int_equal(bh_an2k_parse((const uint8_t *)"FMR\0 20\0", 8, &a), BH_EFORMAT);
}

/* ---- ISO/IEC 19794-2 and INCITS 378 -------------------------------- */

/* b parses as std with `views` views and writes back byte for byte; every
 * truncation is an error; bit flips give an error or a record that writes
 * back to its own bytes.  Frees b. */
static void roundtrip_buf(uint8_t *b, size_t len, bh_fmr_std std, uint32_t views)
{
	bh_fmr *r;
	assert_int_equal(bh_fmr_parse(b, len, &r), BH_OK);
	assert_int_equal(r->std, std);
	assert_int_equal(r->nviews, views);
	uint8_t *o;
	size_t olen;
	assert_int_equal(bh_fmr_write(r, &o, &olen), BH_OK);
	assert_int_equal(olen, len);
	assert_memory_equal(o, b, len);
	free(o);
	bh_fmr_free(r);
	/* truncations and extensions are errors */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);
		memcpy(t, b, cut);
		assert_int_not_equal(bh_fmr_parse(t, cut, &r), BH_OK);
		assert_null(r);
		free(t);
	}
	/* flips: error or a record that writes back to the same bytes */
	uint8_t *c = malloc(len);
	uint32_t s = 3;
	for (int it = 0; it < 300; it++) {
		memcpy(c, b, len);
		c[rng(&s) % len] ^= (uint8_t)(1u << (rng(&s) % 8));
		if (bh_fmr_parse(c, len, &r) == BH_OK) {
			assert_int_equal(bh_fmr_write(r, &o, &olen), BH_OK);
			assert_int_equal(olen, len);
			assert_memory_equal(o, c, len);
			free(o);
			bh_fmr_free(r);
		}
	}
	free(c);
	free(b);
}

static void roundtrip(const char *path, bh_fmr_std std, uint32_t views)
{
	size_t len;
	uint8_t *b = load(path, &len);
	if (!b)
		skip();
	roundtrip_buf(b, len, std, views);
}

static void expect_minutia(const bh_fmr_minutia *m, int type, int x, int y, int angle, int quality)
{
	assert_int_equal(m->type, type);
	assert_int_equal(m->x, x);
	assert_int_equal(m->y, y);
	assert_int_equal(m->angle, angle);
	assert_int_equal(m->quality, quality);
}

static void test_iso2005_roundtrip(void **state)
{
	(void)state;
	roundtrip(NIST "fmr.iso2005", BH_FMR_ISO2005, 2);
	size_t len;
	uint8_t *b = load(NIST "fmr.iso2005", &len);
	bh_fmr *r;
	assert_int_equal(bh_fmr_parse(b, len, &r), BH_OK);
	const bh_fmr_view *v = &r->views[0];
	assert_int_equal(r->w, 512);
	assert_int_equal(r->xres, 197);
	assert_int_equal(v->position, 7);
	assert_int_equal(v->quality, 90);
	assert_int_equal(v->n, 27);
	expect_minutia(&v->m[0], 1, 100, 14, 80, 90);
	bh_fmr_free(r);
	free(b);
}

static void test_incits_roundtrip(void **state)
{
	(void)state;
	roundtrip(NIST "fmr.ansi2004", BH_FMR_INCITS2004, 3);
	size_t len;
	/* INCITS 378-2009 ("030"): two views, size and resolution per view */
	roundtrip(NIST "fmr.ansi2007", BH_FMR_INCITS2009, 2);
	uint8_t *b = load(NIST "fmr.ansi2007", &len);
	bh_fmr *r;
	assert_int_equal(bh_fmr_parse(b, len, &r), BH_OK);
	assert_int_equal(r->product_id, 0x00420011);
	const bh_fmr_view *v = &r->views[1];
	assert_int_equal(v->position, 2);
	assert_int_equal(v->quality, 70);
	assert_int_equal(v->qvendor, 66);
	assert_int_equal(v->qalg, 12);
	assert_int_equal(v->w, 512);
	assert_int_equal(v->xres, 197);
	assert_int_equal(v->n, 22);
	assert_int_equal(v->ext_len, 11);
	/* its first view's minutiae are the 2004 sample's first view's */
	bh_fmr *r04;
	uint8_t *b04 = load(NIST "fmr.ansi2004", &len);
	assert_int_equal(bh_fmr_parse(b04, len, &r04), BH_OK);
	assert_int_equal(r->views[0].n, r04->views[0].n);
	assert_memory_equal(r->views[0].m, r04->views[0].m, r->views[0].n * sizeof *r->views[0].m);
	/* the same first minutia in ISO (1.40625 deg units) and INCITS (2 deg) */
	assert_int_equal(r04->views[0].m[0].x, 100);
	assert_int_equal(r04->views[0].m[0].angle, 56); /* 112 deg; ISO 80 = 112.5 deg */
	bh_fmr_free(r04);
	bh_fmr_free(r);
	free(b04);
	free(b);
	/* the published 378-2009 header form (21 bytes: a certification byte
	 * before the device id): the same sample written that way reads as
	 * that form, with the same views, and writes back byte for byte */
	b = load(NIST "fmr.ansi2007", &len);
	bh_fmr *r20;
	assert_int_equal(bh_fmr_parse(b, len, &r20), BH_OK);
	assert_int_equal(r20->hdr21, 0);
	uint8_t *b21 = malloc(len + 1);
	memcpy(b21, b, 16);
	b21[11] = (uint8_t)(len + 1); /* the length's low byte (363 + 1 < 2^16 - 255) */
	b21[16] = 0x80;               /* certified */
	memcpy(b21 + 17, b + 16, len - 16);
	assert_int_equal(bh_fmr_parse(b21, len + 1, &r), BH_OK);
	assert_int_equal(r->std, BH_FMR_INCITS2009);
	assert_int_equal(r->hdr21, 1);
	assert_int_equal(r->cert, 0x80);
	assert_int_equal(r->device, r20->device);
	assert_int_equal(r->nviews, r20->nviews);
	for (uint32_t i = 0; i < r->nviews; i++) {
		assert_int_equal(r->views[i].n, r20->views[i].n);
		assert_memory_equal(r->views[i].m, r20->views[i].m, r->views[i].n * sizeof *r->views[i].m);
	}
	bh_fmr_free(r);
	bh_fmr_free(r20);
	free(b);
	/* Amendment 1 ("035"): the same layout, written back as "035" */
	uint8_t *am1 = malloc(len + 1);
	memcpy(am1, b21, len + 1);
	am1[6] = '5';
	assert_int_equal(bh_fmr_parse(am1, len + 1, &r), BH_OK);
	assert_int_equal(r->am1, 1);
	assert_int_equal(r->hdr21, 1);
	assert_int_equal(r->nviews, 2);
	bh_fmr_free(r);
	roundtrip_buf(am1, len + 1, BH_FMR_INCITS2009, 2);
	roundtrip_buf(b21, len + 1, BH_FMR_INCITS2009, 2);
	/* "030" whose ISO 19794-2:2011 header announces a representation
	 * that is not there: neither layout parses */
	uint8_t iso2011[] = {'F', 'M', 'R', 0, '0', '3', '0', 0, 0, 0, 0, 15, 0, 1, 0};
	assert_int_not_equal(bh_fmr_parse(iso2011, sizeof iso2011, &r), BH_OK);
	assert_null(r);
}

/* ISO 19794-2:2011, written out byte by byte from the layout in
 * bh_iso19794.h: one representation of one minutia. */
static void test_iso2011_bytes(void **state)
{
	(void)state;
	static const uint8_t rec[] = {
		'F', 'M', 'R', 0, '0', '3', '0', 0, 0, 0, 0, 60, 0, 1, 0, /* 15-byte header */
		0, 0, 0, 45,                                               /* representation length */
		0x07, 0xea, 12, 8, 4, 30, 0, 0x00, 0x00,                   /* 2026-12-08 04:30:00.000 */
		0, 0xab, 0xcd, 0x00, 0xb5,                                 /* technology, vendor, type */
		1, 77, 0xab, 0xcd, 0x01, 0x23,                             /* one quality record: 77 */
		2, 0, 0x00, 0xc5, 0x00, 0xc5, 0,                           /* right index, view 0, 197 px/cm, live plain */
		0x01, 0x2c, 0x01, 0x90, 0x60, 1,                           /* 300 x 400, 6-byte minutiae, 1 of them */
		0x40, 100, 0x00, 14, 80, 90,                               /* ending at (100, 14), 80 units, quality 90 */
		0, 0,                                                      /* no extended data */
	};
	bh_fmr *r;
	assert_int_equal(bh_fmr_parse(rec, sizeof rec, &r), BH_OK);
	assert_int_equal(r->std, BH_FMR_ISO2011);
	assert_int_equal(r->nviews, 1);
	const bh_fmr_view *v = &r->views[0];
	assert_int_equal(v->position, 2);
	assert_int_equal(v->quality, 77);
	assert_int_equal(v->w, 300);
	assert_int_equal(v->h, 400);
	assert_int_equal(v->xres, 197);
	assert_int_equal(v->n, 1);
	expect_minutia(&v->m[0], 1, 100, 14, 80, 90);
	/* the same minutia as the 2005 sample's first: 67.5 deg (see
	 * test_fmr_fp_conversion) */
	bh_minutia m;
	assert_int_equal(bh_fmr_view_to_fp(r, v, &m, 1), 1);
	assert_true(fabsf(m.theta - (float)(67.5 * M_PI / 180)) < 1e-4f);
	bh_fmr_free(r);
	uint8_t *b = malloc(sizeof rec);
	memcpy(b, rec, sizeof rec);
	roundtrip_buf(b, sizeof rec, BH_FMR_ISO2011, 1);
	/* an extended data length that does not end the representation */
	uint8_t bad[sizeof rec];
	memcpy(bad, rec, sizeof rec);
	bad[sizeof bad - 1] = 1;
	assert_int_equal(bh_fmr_parse(bad, sizeof bad, &r), BH_EFORMAT);
	/* a minutia size other than 5 or 6 */
	memcpy(bad, rec, sizeof rec);
	bad[15 + 4 + 20 + 11] = 0x70;
	assert_int_equal(bh_fmr_parse(bad, sizeof bad, &r), BH_EFORMAT);
	assert_null(r);
}

/* The 2005 sample's views as an ISO 2011 record: 6-byte minutiae, or
 * 5-byte ones with a certification record; extended data on view 2. */
static uint8_t *iso2011_from(const bh_fmr *src, int five, size_t *len)
{
	static const uint8_t head[] = {0x07, 0xd5, 12, 15, 17, 35, 20, 0, 0, 0, 0xab, 0xcd, 0x00, 0xb5,
				       1, 0, 0xab, 0xcd, 0x01, 0x23, 1, 0x00, 0x07, 0x02};
	static const uint8_t ext[] = {0x02, 0x21, 0x00, 0x0a, 1, 2, 3, 4, 5, 6};
	bh_fmr r = {.std = BH_FMR_ISO2011, .reserved = (uint8_t)five, .nviews = src->nviews};
	bh_fmr_view views[4];
	assert_true(src->nviews <= 4);
	uint8_t heads[4][sizeof head];
	for (uint32_t i = 0; i < src->nviews; i++) {
		const bh_fmr_view *s = &src->views[i];
		memcpy(heads[i], head, sizeof head);
		heads[i][15] = s->quality;
		views[i] = (bh_fmr_view){.position = s->position, .view = s->view, .impression = s->impression,
					 .w = src->w, .h = src->h, .xres = src->xres, .yres = src->yres,
					 .head = heads[i], .head_len = five ? 24 : 20,
					 .mflags = five ? 0x51 : 0x60, .n = s->n, .m = s->m};
		if (i == 1) {
			views[i].ext = (uint8_t *)ext;
			views[i].ext_len = views[i].ext_len_field = sizeof ext;
		}
	}
	r.views = views;
	uint8_t *b;
	assert_int_equal(bh_fmr_write(&r, &b, len), BH_OK);
	return b;
}

static void test_iso2011_from_sample(void **state)
{
	(void)state;
	size_t len, n11;
	uint8_t *b = load(NIST "fmr.iso2005", &len);
	if (!b)
		skip();
	bh_fmr *r05, *r11;
	assert_int_equal(bh_fmr_parse(b, len, &r05), BH_OK);
	for (int five = 0; five < 2; five++) {
		uint8_t *b11 = iso2011_from(r05, five, &n11);
		assert_memory_equal(b11, "FMR\0" "030\0", 8);
		assert_int_equal(bh_fmr_parse(b11, n11, &r11), BH_OK);
		assert_int_equal(r11->std, BH_FMR_ISO2011);
		assert_int_equal(r11->reserved, five);
		/* every minutia lands where the 2005 record puts it; 5-byte
		 * minutiae carry no quality (254 in the record, 50 converted) */
		for (uint32_t i = 0; i < r05->nviews; i++) {
			const bh_fmr_view *v05 = &r05->views[i], *v11 = &r11->views[i];
			assert_int_equal(v11->quality, v05->quality);
			assert_int_equal(v11->n, v05->n);
			bh_minutia m05[256], m11[256];
			uint32_t k = bh_fmr_view_to_fp(r05, v05, m05, 256);
			assert_int_equal(bh_fmr_view_to_fp(r11, v11, m11, 256), k);
			for (uint32_t j = 0; j < k; j++) {
				assert_true(m05[j].x == m11[j].x && m05[j].y == m11[j].y);
				assert_true(m05[j].theta == m11[j].theta && m05[j].type == m11[j].type);
				assert_int_equal(m11[j].quality, five ? 50 : m05[j].quality);
			}
		}
		assert_int_equal(r11->views[1].ext_len, 10);
		bh_fmr_free(r11);
		/* enrolled or searched, the 2011 record gives the 2005 one's
		 * templates (with 6-byte minutiae the same bytes) */
		bh_probe_tmpl t05[2], t11[2];
		size_t k05, k11;
		assert_int_equal(bh_finger_fmr_templates(b, len, t05, 2, &k05, NULL, 0), BH_OK);
		assert_int_equal(bh_finger_fmr_templates(b11, n11, t11, 2, &k11, NULL, 0), BH_OK);
		assert_int_equal(k11, k05);
		for (size_t i = 0; i < k05; i++) {
			assert_int_equal(t11[i].position, t05[i].position);
			assert_int_equal(t11[i].full_len, t05[i].full_len);
			if (!five)
				assert_memory_equal(t11[i].full, t05[i].full, t05[i].full_len);
			bh_probe_tmpl_clear(&t05[i]);
			bh_probe_tmpl_clear(&t11[i]);
		}
		roundtrip_buf(b11, n11, BH_FMR_ISO2011, r05->nviews);
	}
	/* bh_fmr_to_iso2011 (the `minutiae --fmr-version 2011` export): the
	 * written record reads back as 2011 with the same minutiae */
	bh_fmr *c11;
	assert_int_equal(bh_fmr_parse(b, len, &c11), BH_OK);
	assert_int_equal(bh_fmr_to_iso2011(c11), BH_OK);
	assert_int_equal(bh_fmr_to_iso2011(c11), BH_EINVAL); /* only from 2005 */
	uint8_t *o;
	size_t olen;
	assert_int_equal(bh_fmr_write(c11, &o, &olen), BH_OK);
	assert_int_equal(bh_fmr_parse(o, olen, &r11), BH_OK);
	assert_int_equal(r11->std, BH_FMR_ISO2011);
	assert_int_equal(r11->nviews, r05->nviews);
	for (uint32_t i = 0; i < r05->nviews; i++) {
		const bh_fmr_view *v05 = &r05->views[i], *v11 = &r11->views[i];
		assert_int_equal(v11->position, v05->position);
		assert_int_equal(v11->w, r05->w);
		assert_int_equal(v11->xres, r05->xres);
		assert_int_equal(v11->quality, 254); /* no quality record */
		assert_int_equal(v11->n, v05->n);
		assert_memory_equal(v11->m, v05->m, v05->n * sizeof *v05->m);
	}
	bh_fmr_free(r11);
	bh_fmr_free(c11);
	free(o);
	bh_fmr_free(r05);
	free(b);
}

static void test_fmr_fp_conversion(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "fmr.iso2005", &len);
	if (!b)
		skip();
	bh_fmr *r, *r2;
	assert_int_equal(bh_fmr_parse(b, len, &r), BH_OK);
	const bh_fmr_view *v = &r->views[0];
	bh_minutia m[256];
	uint32_t n = bh_fmr_view_to_fp(r, v, m, 256);
	assert_int_equal(n, v->n);
	/* 197 pixels/cm is 500.4 ppi: coordinates stay within half a pixel */
	assert_true(fabsf(m[0].x - 100.0f) < 0.5f);
	assert_true(fabsf(m[0].y - 14.0f) < 0.5f);
	assert_int_equal(m[0].type, BH_MINUTIA_ENDING);
	/* 80 units = 112.5 deg counter-clockwise as seen; y down and +180:
	 * 180 - 112.5 = 67.5 deg */
	assert_true(fabsf(m[0].theta - (float)(67.5 * M_PI / 180)) < 1e-4f);
	assert_int_equal(bh_fmr_from_fp(m, n, r->w, r->h, v->position, v->quality, &r2), BH_OK);
	assert_int_equal(r2->views[0].n, v->n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(r2->views[0].m[i].x, v->m[i].x);
		assert_int_equal(r2->views[0].m[i].y, v->m[i].y);
		assert_int_equal(r2->views[0].m[i].angle, v->m[i].angle);
		assert_int_equal(r2->views[0].m[i].type, v->m[i].type == 2 ? 2 : 1);
	}
	uint8_t *o;
	size_t olen;
	assert_int_equal(bh_fmr_write(r2, &o, &olen), BH_OK);
	bh_fmr *r3;
	assert_int_equal(bh_fmr_parse(o, olen, &r3), BH_OK); /* what we write, we read */
	assert_int_equal(r3->std, BH_FMR_ISO2005);
	bh_fmr_free(r3);
	free(o);
	bh_fmr_free(r2);
	bh_fmr_free(r);
	free(b);

	/* ANSI/NIST Type-9 standard minutiae: 0.01 mm -> 500-ppi pixels, y flipped */
	uint8_t *ab;
	bh_an2k *a = parse_file(NIST "type9.an2k", &ab, &len);
	assert_non_null(a);
	const bh_an2k_minset *s = &a->minsets[0];
	n = bh_an2k_minutiae_to_fp(s, 2000, m, 256);
	assert_int_equal(n, s->n);
	assert_true(fabsf(m[0].x - 132 * 500.0f / 2540) < 0.01f);
	assert_true(fabsf(m[0].y - (2000 - 715) * 500.0f / 2540) < 0.01f);
	assert_true(m[0].theta >= 0 && m[0].theta < (float)(2 * M_PI));
	bh_an2k_free(a);
	free(ab);
}

/* ---- JPEG 2000 ------------------------------------------------------ */

static void test_jp2_from_an2k(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(NIST "type9-15.an2k", &b, &len);
	if (!a)
		skip();
	const bh_an2k_image *ai = &a->images[1];
	assert_int_equal(bh_image_sniff(ai->data, ai->len), BH_IMG_JP2);
	bh_image im;
	/* limits are checked from the header, before decoding */
	bh_image_limits small = {1000, 1000, 1000000};
	assert_int_equal(bh_jp2_decode(ai->data, ai->len, &small, &im), BH_ETOOBIG);
	assert_null(im.px);
	/* truncated codestreams are errors (a few cuts: each decode is large) */
	static const double cuts[] = {0.0, 0.001, 0.01, 0.5, 0.97};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		size_t n = (size_t)(ai->len * cuts[i]);
		assert_int_not_equal(bh_jp2_decode(ai->data, n, NULL, &im), BH_OK);
		assert_null(im.px);
	}
	assert_int_equal(bh_an2k_image_decode(ai, NULL, &im), BH_OK);
	assert_int_equal(im.w, 2750);
	assert_int_equal(im.h, 2750);
	assert_int_equal(im.channels, 1);
	assert_int_equal(im.ppi, 1000);
	bh_image_free(&im);
	bh_an2k_free(a);
	free(b);
}

/* ---- Type-10 (faces) ------------------------------------------------------ */

static void test_an2k_type10_faces(void **state)
{
	(void)state;
	uint8_t *b;
	size_t len;
	bh_an2k *a = parse_file(BH_SOURCE_ROOT "/tests/data/an2k/faces.an2k", &b, &len);
	assert_non_null(a);
	assert_int_equal(a->nimages, 2);
	assert_int_equal(bh_an2k_image_kind(&a->images[0]), BH_AN2K_KIND_FACE);
	assert_int_equal(a->images[0].comp, BH_AN2K_COMP_JPEG);
	assert_int_equal(a->images[1].comp, BH_AN2K_COMP_JPEGL);
	assert_int_equal(a->images[1].position, 0); /* 10.013 is not a position */
	bh_an2k_free(a);
	/* the second face, in colour, is the lossless crop's grey on all channels */
	bh_image im, ref;
	size_t count = 0;
	assert_int_equal(bh_face_an2k_image(b, len, 1, &im, &count), BH_OK);
	assert_int_equal(count, 2);
	assert_int_equal(im.channels, 3);
	assert_int_equal(bh_image_load(BH_SOURCE_ROOT "/tests/data/ljpeg/nist128.pgm", 1, &ref), BH_OK);
	assert_int_equal(im.w * im.h, ref.w * ref.h);
	for (size_t i = 0; i < (size_t)ref.w * ref.h; i++)
		assert_true(im.px[3 * i] == ref.px[i] && im.px[3 * i + 2] == ref.px[i]);
	bh_image_free(&im);
	bh_image_free(&ref);
	assert_int_equal(bh_face_an2k_image(b, len, 2, &im, &count), BH_EINVAL);
	assert_null(im.px);
	/* another image type (SMT: scar, mark, tattoo) is not a face; the edit
	 * keeps the record's length, so the field reads "SMT_" */
	uint8_t *imt = memmem(b, len, "10.003:FACE", 11);
	assert_non_null(imt);
	memcpy(imt + 7, "SMT_", 4);
	assert_int_equal(bh_an2k_parse(b, len, &a), BH_OK);
	assert_int_equal(bh_an2k_image_kind(&a->images[0]), BH_AN2K_KIND_OTHER);
	bh_an2k_free(a);
	assert_int_equal(bh_face_an2k_image(b, len, 0, &im, &count), BH_OK);
	assert_int_equal(count, 1);
	assert_int_equal(im.w, 128); /* the one face left */
	bh_image_free(&im);
	free(b);
	/* a transaction without Type-10 records */
	size_t n2;
	uint8_t *b2;
	a = parse_file(NIST "type9-13.an2k", &b2, &n2);
	if (!a)
		return;
	assert_int_equal(bh_face_an2k_image(b2, n2, 0, &im, &count), BH_ENOFACE);
	assert_int_equal(count, 0);
	bh_an2k_free(a);
	free(b2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wsq_real),
		cmocka_unit_test(test_wsq_corrupt),
		cmocka_unit_test(test_wsq_geometry),
		cmocka_unit_test(test_an2k_type3),
		cmocka_unit_test(test_an2k_type4_slaps),
		cmocka_unit_test(test_an2k_type9),
		cmocka_unit_test(test_an2k_type9_13_15_efs),
		cmocka_unit_test(test_an2k_corrupt),
		cmocka_unit_test(test_iso2005_roundtrip),
		cmocka_unit_test(test_incits_roundtrip),
		cmocka_unit_test(test_iso2011_bytes),
		cmocka_unit_test(test_iso2011_from_sample),
		cmocka_unit_test(test_fmr_fp_conversion),
		cmocka_unit_test(test_jp2_from_an2k),
		cmocka_unit_test(test_an2k_type10_faces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
