/*
 * mkseeds.c - writes the seed corpora of fuzz_image, fuzz_template,
 * fuzz_gallery_db and fuzz_face_weights (the committed corpus_* folders).
 *
 *   mkseeds <tests/fuzz dir> <shared data dir> <face model dir>
 *
 * Seeds are small valid inputs made by the project's own code (encoders of
 * libpng/TurboJPEG/libtiff, a BMP writer here, the finger and palm extractors, the gallery store) plus
 * targeted corruptions of them.  Images are synthetic patterns: the shared
 * LFW/FVC/PolyU samples may not be redistributed, so none is committed; the
 * finger templates come from the NIST sample img.wsq (public domain) and
 * the weights seed from the face-api.js model shipped in models/face.
 * Built with -Dfuzz=true only; rerun it after a template, schema or
 * weights-format change and commit the result.
 */
#include <math.h>
#include <png.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "bh_err.h"
#include "bh_finger.h"
#include "bh_gallery.h"
#include "bh_image.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_palm.h"
#include "bh_template.h"

static const char *fuzz_dir;

/* Writes prefix (plen bytes) then data to <fuzz_dir>/<corpus>/<name>. */
static void put(const char *corpus, const char *name, const void *prefix, size_t plen,
		const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", fuzz_dir, corpus);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", fuzz_dir, corpus, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(prefix, 1, plen, f) != plen || fwrite(data, 1, len, f) != len ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "mkseeds: %s: %s (%s)\n", what, bh_strerror(rc), bh_errmsg());
	exit(1);
}

/* ---- images --------------------------------------------------------------- */

/* A smooth synthetic pattern (ridges), w x h x ch. */
static uint8_t *pattern(int w, int h, int ch, int period)
{
	uint8_t *p = malloc((size_t)w * h * ch);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < ch; c++)
				p[((size_t)y * w + x) * ch + c] =
					(uint8_t)(((x + 2 * y + 40 * c) % period) * 255 / period);
	return p;
}

static void image_pnm(void)
{
	uint8_t want0 = 0, want1 = 1, want3 = 3;
	char buf[1024];
	uint8_t *g = pattern(8, 8, 1, 7), *c = pattern(6, 5, 3, 5);
	int n = snprintf(buf, sizeof buf, "P5\n8 8\n255\n");
	memcpy(buf + n, g, 64);
	put("corpus_image", "pgm_8x8", &want0, 1, buf, (size_t)n + 64);
	n = snprintf(buf, sizeof buf, "P5 # comment\n# another\n8 8 100\n");
	memcpy(buf + n, g, 64);
	put("corpus_image", "pgm_maxval100_rgb", &want3, 1, buf, (size_t)n + 64);
	n = snprintf(buf, sizeof buf, "P6\n6 5\n255\n");
	memcpy(buf + n, c, 90);
	put("corpus_image", "ppm_6x5_grey", &want1, 1, buf, (size_t)n + 90);
	put("corpus_image", "ppm_truncated", &want0, 1, buf, (size_t)n + 40);
	free(g);
	free(c);
}

static void image_png(const char *name, uint8_t want, uint32_t format, int w, int h)
{
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	pi.width = (png_uint_32)w;
	pi.height = (png_uint_32)h;
	pi.format = format;
	size_t px = PNG_IMAGE_SIZE(pi);
	uint8_t *src = pattern((int)px, 1, 1, 13);
	uint8_t cmap[256 * 4];
	for (int i = 0; i < 256 * 4; i++)
		cmap[i] = (uint8_t)(i * 7);
	if (format & PNG_FORMAT_FLAG_COLORMAP) {
		pi.colormap_entries = 16;
		for (size_t i = 0; i < px; i++)
			src[i] &= 15;
	}
	png_alloc_size_t len = 0;
	const void *map = (format & PNG_FORMAT_FLAG_COLORMAP) ? cmap : NULL;
	if (!png_image_write_to_memory(&pi, NULL, &len, 0, src, 0, map)) {
		fprintf(stderr, "mkseeds: png %s: %s\n", name, pi.message);
		exit(1);
	}
	uint8_t *out = malloc(len);
	if (!png_image_write_to_memory(&pi, out, &len, 0, src, 0, map))
		exit(1);
	put("corpus_image", name, &want, 1, out, len);
	if (!strcmp(name, "png_grey_16x16")) /* cut inside IDAT */
		put("corpus_image", "png_truncated", &want, 1, out, len - 20);
	free(out);
	free(src);
}

static void image_jpeg(const char *name, uint8_t want, int pf, int samp, int flags, int w,
		       int h, size_t cut)
{
	tjhandle tj = tjInitCompress();
	int ch = pf == TJPF_GRAY ? 1 : 3;
	uint8_t *src = pattern(w, h, ch, 11), *jpg = NULL;
	unsigned long len = 0;
	if (!tj || tjCompress2(tj, src, w, 0, h, pf, &jpg, &len, samp, 85, flags)) {
		fprintf(stderr, "mkseeds: jpeg %s: %s\n", name, tjGetErrorStr2(tj));
		exit(1);
	}
	put("corpus_image", name, &want, 1, jpg, len - cut);
	tjFree(jpg);
	tjDestroy(tj);
	free(src);
}

/* Lossless JPEG streams made by DCMTK (tests/data/ljpeg; we have no encoder
 * of our own), whole and cut short. */
static void image_ljpeg(const char *file, const char *name, uint8_t want, size_t cut)
{
	char path[4096];
	uint8_t *buf;
	size_t len;
	snprintf(path, sizeof path, "%s/../data/ljpeg/%s", fuzz_dir, file);
	int rc = bh_read_file(path, 0, &buf, &len);
	if (rc != BH_OK)
		die(path, rc);
	put("corpus_image", name, &want, 1, buf, cut && cut < len ? cut : len);
	free(buf);
}

/* A TIFF written by libtiff: spp samples of 8 bits, in strips of 4 rows or
 * (tiled) 16x16 tiles; the first len - cut bytes are kept. */
static void image_tiff(const char *name, uint8_t want, uint16_t photo, uint16_t comp, int spp,
		       int tiled, size_t cut)
{
	enum { W = 16, H = 12 };
	char path[] = "/tmp/bh_mkseeds.XXXXXX";
	int fd = mkstemp(path);
	TIFF *t = fd < 0 ? NULL : TIFFOpen(path, "w");
	if (!t)
		die("tiff open", BH_EIO);
	close(fd);
	uint8_t *px = pattern(W, H, spp, 6);
	static uint16_t map[256];
	for (int i = 0; i < 256; i++)
		map[i] = (uint16_t)(i * 257);
	TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
	TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
	TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
	TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
	TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
	TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
	if (photo == PHOTOMETRIC_PALETTE)
		TIFFSetField(t, TIFFTAG_COLORMAP, map, map, map);
	int ok = 1;
	if (tiled) {
		uint8_t tile[16 * 16 * 3] = {0};
		TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
		TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
		for (int y = 0; y < H; y++)
			memcpy(tile + (size_t)y * 16 * spp, px + (size_t)y * W * spp, (size_t)W * spp);
		ok = TIFFWriteTile(t, tile, 0, 0, 0, 0) >= 0;
	} else {
		TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, comp == COMPRESSION_JPEG ? 8 : 4); /* JPEG: a multiple of 8 */
		for (int y = 0; y < H && ok; y++)
			ok = TIFFWriteScanline(t, px + (size_t)y * W * spp, (uint32_t)y, 0) >= 0;
	}
	TIFFClose(t);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (!ok || bh_read_file(path, 0, &buf, &len) != BH_OK || cut >= len)
		die("tiff write", BH_EIO);
	unlink(path);
	put("corpus_image", name, &want, 1, buf, len - cut);
	free(buf);
	free(px);
}

static void le_put(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A BMP of the synthetic pattern: 8 bits with a grey (or, colour, a
 * tinted) table, or 24 bits; bottom-up unless top_down. */
static void image_bmp(const char *name, uint8_t want, int bits, int colour, int top_down, size_t cut)
{
	enum { W = 10, H = 7 };
	const int ch = bits == 24 ? 3 : 1;
	const uint32_t ncol = bits == 8 ? 256 : 0, stride = (W * bits / 8 + 3) & ~3u;
	const uint32_t off = 54 + 4 * ncol, len = off + stride * H;
	uint8_t *b = calloc(len, 1), *px = pattern(W, H, ch, 5);
	b[0] = 'B';
	b[1] = 'M';
	le_put(b + 2, len, 4);
	le_put(b + 10, off, 4);
	le_put(b + 14, 40, 4);
	le_put(b + 18, W, 4);
	le_put(b + 22, (uint32_t)(top_down ? -H : H), 4);
	le_put(b + 26, 1, 2);
	le_put(b + 28, (uint32_t)bits, 2);
	le_put(b + 46, ncol, 4);
	for (uint32_t i = 0; i < ncol; i++) {
		b[54 + 4 * i] = (uint8_t)i;
		b[55 + 4 * i] = (uint8_t)(colour ? i / 2 : i);
		b[56 + 4 * i] = (uint8_t)(colour ? 255 - i : i);
	}
	for (int y = 0; y < H; y++)
		memcpy(b + off + (size_t)(top_down ? y : H - 1 - y) * stride, px + (size_t)y * W * ch,
		       (size_t)W * ch);
	put("corpus_image", name, &want, 1, b, len - cut);
	free(b);
	free(px);
}

static void images(void)
{
	image_pnm();
	image_png("png_grey_16x16", 0, PNG_FORMAT_GRAY, 16, 16);
	image_png("png_rgb_12x9", 1, PNG_FORMAT_RGB, 12, 9);
	image_png("png_rgba_8x8", 3, PNG_FORMAT_RGBA, 8, 8);
	image_png("png_grey16_linear", 0, PNG_FORMAT_LINEAR_Y, 8, 8);
	image_png("png_palette", 0, PNG_FORMAT_RGB_COLORMAP, 10, 10);
	image_jpeg("jpeg_grey_16x16", 0, TJPF_GRAY, TJSAMP_GRAY, 0, 16, 16, 0);
	image_jpeg("jpeg_420_24x16", 1, TJPF_RGB, TJSAMP_420, 0, 24, 16, 0);
	image_jpeg("jpeg_444_progressive", 0, TJPF_RGB, TJSAMP_444, TJFLAG_PROGRESSIVE, 17, 9, 0);
	image_jpeg("jpeg_422_truncated", 3, TJPF_RGB, TJSAMP_422, 0, 32, 32, 60);
	image_ljpeg("nist128_sv1_pt0.jpg", "ljpeg_sv1_128", 0, 0);
	image_ljpeg("nist128_sv6_pt2.jpg", "ljpeg_sv6_pt2_truncated", 1, 2000);
	image_tiff("tiff_grey_lzw", 0, PHOTOMETRIC_MINISBLACK, COMPRESSION_LZW, 1, 0, 0);
	image_tiff("tiff_minwhite_packbits", 1, PHOTOMETRIC_MINISWHITE, COMPRESSION_PACKBITS, 1, 0, 0);
	image_tiff("tiff_palette", 0, PHOTOMETRIC_PALETTE, COMPRESSION_NONE, 1, 0, 0);
	image_tiff("tiff_rgb_tiled_deflate", 3, PHOTOMETRIC_RGB, COMPRESSION_ADOBE_DEFLATE, 3, 1, 0);
	image_tiff("tiff_grey_truncated", 0, PHOTOMETRIC_MINISBLACK, COMPRESSION_NONE, 1, 0, 30);
	image_tiff("tiff_jpeg", 1, PHOTOMETRIC_MINISBLACK, COMPRESSION_JPEG, 1, 0, 0);
	image_bmp("bmp8_grey", 0, 8, 0, 0, 0);
	image_bmp("bmp8_tinted_topdown", 3, 8, 1, 1, 0);
	image_bmp("bmp24", 1, 24, 0, 0, 0);
	image_bmp("bmp24_truncated", 0, 24, 0, 0, 9);
}

/* ---- templates -------------------------------------------------------------- */

typedef struct tmpl {
	int modality, position;
	uint32_t format;
	int quality;
	uint8_t code[BH_PALM_CODE_BITS / 8];
	size_t code_len;
	uint8_t *full;
	size_t full_len;
} tmpl;

static void finger_from(const bh_image *img, tmpl *t)
{
	bh_probe_tmpl p;
	int rc = bh_finger_extract(img, 0, &p);
	if (rc != BH_OK)
		die("finger extract", rc);
	*t = (tmpl){.modality = BH_MOD_FINGER, .position = 2, .format = p.format,
		    .quality = p.quality, .code_len = p.code_len, .full_len = p.full_len};
	memcpy(t->code, p.code, p.code_len);
	t->full = malloc(p.full_len);
	memcpy(t->full, p.full, p.full_len);
	bh_probe_tmpl_clear(&p);
}

/* Two finger templates from the NIST WSQ sample: the whole print and its
 * upper-left 80 %, so the pair compares with a real, partial overlap. */
static void fingers(const char *shared, tmpl out[2])
{
	char path[4096];
	snprintf(path, sizeof path, "%s/fingerprint/nist/img.wsq", shared);
	bh_image img, crop;
	int rc = bh_image_load(path, 1, &img);
	if (rc != BH_OK)
		die(path, rc);
	finger_from(&img, &out[0]);
	uint32_t w = img.w * 4 / 5, h = img.h * 4 / 5;
	if ((rc = bh_image_alloc(&crop, w, h, 1, NULL)) != BH_OK)
		die("crop", rc);
	for (uint32_t y = 0; y < h; y++)
		memcpy(crop.px + (size_t)y * w, img.px + (size_t)y * img.w, w);
	crop.ppi = img.ppi;
	finger_from(&crop, &out[1]);
	bh_image_free(&crop);
	bh_image_free(&img);
}

/* Palm templates from synthetic line textures at two orientations. */
static void palms(tmpl out[2])
{
	for (int k = 0; k < 2; k++) {
		bh_image img;
		int rc = bh_image_alloc(&img, BH_PALM_ROI, BH_PALM_ROI, 1, NULL);
		if (rc != BH_OK)
			die("palm image", rc);
		for (int y = 0; y < BH_PALM_ROI; y++)
			for (int x = 0; x < BH_PALM_ROI; x++)
				img.px[y * BH_PALM_ROI + x] =
					(uint8_t)(128 + 100 * ((x * (k + 1) + y * (2 - k) + x * y / 40) % 9 < 3 ? -1 : 1));
		tmpl *t = &out[k];
		*t = (tmpl){.modality = BH_MOD_PALM, .format = BH_FMT_PALM_V1,
			    .code_len = BH_PALM_CODE_BITS / 8, .full_len = BH_PALM_FULL_BYTES};
		t->full = malloc(BH_PALM_FULL_BYTES);
		if ((rc = bh_palm_extract(&img, t->code, t->full, &t->quality)) != BH_OK)
			die("palm extract", rc);
		bh_image_free(&img);
	}
}

static void face(tmpl *t)
{
	*t = (tmpl){.modality = BH_MOD_FACE, .format = BH_FMT_FACE_V1, .quality = 80,
		    .code_len = BH_FACE_DIM};
	for (int i = 0; i < BH_FACE_DIM; i++)
		t->code[i] = (uint8_t)(int8_t)((i * 37) % 255 - 127);
}

/* fuzz_template input: header, code, full part A, full part B. */
static void put_tmpl(const char *name, const tmpl *t, const uint8_t *b, size_t blen)
{
	uint8_t h[6] = {(uint8_t)t->modality, (uint8_t)t->position, (uint8_t)(t->format & 255),
			(uint8_t)(t->format >> 8), (uint8_t)(t->code_len & 255),
			(uint8_t)(t->code_len >> 8)};
	size_t n = t->code_len + t->full_len + blen;
	uint8_t *buf = malloc(n ? n : 1);
	memcpy(buf, t->code, t->code_len);
	if (t->full_len)
		memcpy(buf + t->code_len, t->full, t->full_len);
	if (blen)
		memcpy(buf + t->code_len + t->full_len, b, blen);
	put("corpus_template", name, h, sizeof h, buf, n);
	free(buf);
}

static void template_seeds(tmpl *fi, tmpl *pa, tmpl *fa)
{
	put_tmpl("face", fa, NULL, 0);
	put_tmpl("finger_pair", &fi[0], fi[1].full, fi[1].full_len);
	put_tmpl("palm_pair", &pa[0], pa[1].full, pa[1].full_len);
	tmpl t = fi[0];
	t.full_len = BH_MCC_HEADER + 3 * (8 + 16 * bh_mcc_words()); /* 3 cylinders claimed */
	put_tmpl("finger_truncated", &t, NULL, 0);
	t = fi[1];
	t.format = BH_FMT_PALM_V1;
	put_tmpl("finger_wrong_format", &t, NULL, 0);
	uint8_t bad[BH_PALM_FULL_BYTES];
	memcpy(bad, pa[1].full, sizeof bad);
	bad[8] = 0x00, bad[8 + 64 * 8] = 0x01, bad[8 + 128 * 8] = 0x00; /* code 010: invalid */
	put_tmpl("palm_bad_code", &pa[0], bad, sizeof bad);
	t = *fa;
	t.full = bad;
	t.full_len = 8;
	put_tmpl("face_with_full", &t, NULL, 0);
}

/* ---- gallery databases -------------------------------------------------------- */

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *b;
	int rc = bh_read_file(path, 0, &b, len);
	if (rc != BH_OK)
		die(path, rc);
	return b;
}

static void put_file(const char *corpus, const char *name, const char *path, size_t cut)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	put(corpus, name, "", 0, b, len > cut ? len - cut : 0);
	free(b);
}

static void sql(const char *path, const char *q)
{
	sqlite3 *db;
	char *err = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, q, NULL, NULL, &err)) {
		fprintf(stderr, "mkseeds: %s: %s: %s\n", path, q, err ? err : sqlite3_errmsg(db));
		exit(1);
	}
	sqlite3_close(db);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *b = slurp(from, &len);
	FILE *f = fopen(to, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f))
		exit(1);
	free(b);
}

/* A small gallery copy changed by `q`, stored as seed `name`. */
static void variant(const char *dir, const char *small, const char *name, const char *q)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/variant.sqlite", dir);
	copy_file(small, path);
	sql(path, q);
	put_file("corpus_gallery_db", name, path, 0);
	unlink(path);
}

static void enroll(bh_gallery *g, const char *ref, const tmpl *t, size_t n)
{
	bh_template_rec r[4];
	for (size_t i = 0; i < n; i++)
		r[i] = (bh_template_rec){t[i].modality, t[i].position, t[i].format, t[i].quality,
					 t[i].code, t[i].code_len, t[i].full, t[i].full_len};
	bh_subject_info s = {.external_ref = ref, .operator_id = "mkseeds", .source = "fuzz seed"};
	int64_t id;
	int rc = bh_gallery_enroll(g, &s, r, n, &id);
	if (rc != BH_OK)
		die("enroll", rc);
}

static void galleries(tmpl *fi, tmpl *pa, tmpl *fa)
{
	char dir[] = "/tmp/bh_mkseeds_XXXXXX", path[4096], small[4096];
	if (!mkdtemp(dir))
		exit(1);
	snprintf(path, sizeof path, "%s/g.sqlite", dir);
	snprintf(small, sizeof small, "%s/small.sqlite", dir);
	bh_gallery *g;
	int rc = bh_gallery_open(path, BH_GALLERY_CREATE, &g);
	if (rc != BH_OK)
		die("gallery create", rc);
	tmpl s1[3] = {fi[0], *fa, pa[0]}, s2[2] = {fi[1], pa[1]};
	enroll(g, "subject-1", s1, 3);
	enroll(g, "subject-2", s2, 2);
	bh_gallery_close(g); /* checkpoints: the file alone holds everything */
	put_file("corpus_gallery_db", "gallery_wal", path, 0);
	copy_file(path, small);
	sql(small, "PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM;");
	put_file("corpus_gallery_db", "gallery_small", small, 0);
	put_file("corpus_gallery_db", "gallery_truncated", small, 1024);
	variant(dir, small, "foreign_app_id", "PRAGMA application_id = 1");
	variant(dir, small, "newer_schema", "PRAGMA user_version = 2");
	variant(dir, small, "no_audit_table", "DROP TABLE audit");
	variant(dir, small, "short_code", "UPDATE templates SET code = x'0102' WHERE modality = 1");
	variant(dir, small, "unknown_format", "UPDATE templates SET format = 39321 WHERE modality = 2");
	variant(dir, small, "bad_full", "UPDATE templates SET full = x'00' WHERE modality = 2");
	variant(dir, small, "modality_7",
		"PRAGMA ignore_check_constraints = 1; UPDATE templates SET modality = 7 WHERE id = 2");
	variant(dir, small, "no_templates", "DELETE FROM templates");
	snprintf(path, sizeof path, "%s/foreign.sqlite", dir);
	sql(path, "PRAGMA page_size = 512; CREATE TABLE t(x); INSERT INTO t VALUES ('not a gallery');");
	put_file("corpus_gallery_db", "foreign_db", path, 0);
	unlink(path);
	put("corpus_gallery_db", "not_sqlite", "", 0, "hello, not a database\n", 22);
	snprintf(path, sizeof path, "%s/g.sqlite", dir);
	unlink(path);
	unlink(small);
	rmdir(dir);
}

/* ---- face weights ---------------------------------------------------------------- */

/* fuzz_face_weights input: [u16 mlen][manifest][u32 alen][shard a][shard b]. */
static void put_fw(const char *name, const char *json, const void *a, size_t alen,
		   const void *b, size_t blen)
{
	size_t m = strlen(json), n = 2 + m + 4 + alen + blen;
	uint8_t *buf = malloc(n);
	buf[0] = (uint8_t)(m & 255), buf[1] = (uint8_t)(m >> 8);
	memcpy(buf + 2, json, m);
	for (int i = 0; i < 4; i++)
		buf[2 + m + i] = (uint8_t)(alen >> (8 * i));
	if (alen)
		memcpy(buf + 6 + m, a, alen);
	if (blen)
		memcpy(buf + 6 + m + alen, b, blen);
	put("corpus_face_weights", name, "", 0, buf, n);
	free(buf);
}

/* The model's manifest with its shard renamed "a" (the target's file name). */
static void real_model(const char *models, const char *model, const char *name, int with_shard)
{
	char path[4096], bin[256];
	snprintf(path, sizeof path, "%s/%s-weights_manifest.json", models, model);
	size_t mlen, slen = 0;
	char *m = (char *)slurp(path, &mlen), *out = malloc(mlen + 1);
	snprintf(bin, sizeof bin, "\"%s.bin\"", model);
	char *at = memmem(m, mlen, bin, strlen(bin));
	if (!at)
		die("manifest without its .bin", BH_EFORMAT);
	size_t pre = (size_t)(at - m), bl = strlen(bin);
	memcpy(out, m, pre);
	memcpy(out + pre, "\"a\"", 3);
	memcpy(out + pre + 3, at + bl, mlen - pre - bl);
	out[mlen - bl + 3] = 0;
	uint8_t *shard = NULL;
	if (with_shard) {
		snprintf(path, sizeof path, "%s/%s.bin", models, model);
		shard = slurp(path, &slen);
	}
	put_fw(name, out, shard, slen, NULL, 0);
	free(shard);
	free(out);
	free(m);
}

static void face_weights(const char *models)
{
	real_model(models, "face_landmark_68_tiny_model", "landmark_tiny_real", 1);
	real_model(models, "tiny_face_detector_model", "tiny_detector_no_shard", 0);
	float f[6] = {0.5f, -1, 2, 0.25f, 3, -4};
	uint8_t q8[4] = {0, 1, 128, 255}, q16[4] = {0, 1, 255, 255};
	put_fw("float32_two_shards",
	       "[{\"paths\":[\"a\",\"b\"],\"weights\":[{\"name\":\"w\",\"shape\":[2,3],"
	       "\"dtype\":\"float32\"}]}]",
	       f, 8, (uint8_t *)f + 8, 16);
	put_fw("quantised_two_groups",
	       "[{\"paths\":[\"a\"],\"weights\":[{\"name\":\"u8\",\"shape\":[4],\"dtype\":\"float32\","
	       "\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}}]},\n"
	       " {\"paths\":[\"b\"],\"weights\":[{\"name\":\"u16\",\"shape\":[1,2],\"dtype\":\"float32\","
	       "\"quantization\":{\"dtype\":\"uint16\",\"scale\":1e-3,\"min\":0}},"
	       "{\"name\":\"z\",\"shape\":[],\"dtype\":\"float32\",\"quantization\":null}]}]",
	       q8, 4, q16, 4);
	float nan = NAN;
	put_fw("non_finite", "[{\"paths\":[\"a\"],\"weights\":[{\"name\":\"n\",\"shape\":[1],"
	       "\"dtype\":\"float32\"}]}]", &nan, 4, NULL, 0);
	put_fw("short_shard", "[{\"paths\":[\"a\"],\"weights\":[{\"name\":\"s\",\"shape\":[3,3],"
	       "\"dtype\":\"float32\"}]}]", f, 24, NULL, 0);
	put_fw("path_escape", "[{\"paths\":[\"../a\"],\"weights\":[]}]", NULL, 0, NULL, 0);
	/* arrays nested to the parser's depth limit, every escape in an ignored
	 * member: valid */
	put_fw("json_deep_escapes",
	       "[{\"paths\":[\"a\"],\"x\":[[[[[[[[[[[[[[1e5,-0.5E-3,true,false,null]]]]]]]]]]]]]],"
	       "\"y\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\","
	       "\"weights\":[{\"name\":\"a\",\"shape\":[1],\"dtype\":\"float32\"}]}]",
	       f, 4, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mkseeds <tests/fuzz dir> <shared data dir> <face model dir>\n");
		return 2;
	}
	fuzz_dir = argv[1];
	images();
	tmpl fi[2], pa[2], fa;
	fingers(argv[2], fi);
	palms(pa);
	face(&fa);
	template_seeds(fi, pa, &fa);
	galleries(fi, pa, &fa);
	face_weights(argv[3]);
	for (int i = 0; i < 2; i++) {
		free(fi[i].full);
		free(pa[i].full);
	}
	return 0;
}
