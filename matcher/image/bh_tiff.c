/* bh_tiff.c - TIFF decoder on libtiff (the container of the FVC2000-2004
 * fingerprint databases as distributed, and of many scanners' exports).
 *
 * libtiff reads the first image (directory) of the file from memory
 * through client procedures; any layout and compression it supports
 * (strips or tiles; none, PackBits, LZW, Deflate, JPEG, CCITT; grey,
 * palette, RGB, YCbCr, 1 to 16 bits) is converted by its RGBA interface.
 * Grey photometrics (MinIsBlack, MinIsWhite) decode to 1 channel, as they
 * look (MinIsWhite inverted), everything else to RGB; alpha is dropped.
 *
 * Bounds: the image size is checked against bh_image_limits before any
 * pixel is read, and libtiff's own allocations are capped per call
 * (TIFFOpenOptionsSetMaxSingleMemAlloc) at what an image within the
 * limits can need.  Any libtiff error, even one after which it returns
 * success, fails the decode, and so does any warning while the pixels are
 * decoded: a strip cut short inside its JPEG or CCITT data is only a
 * warning to libtiff ("Premature end of JPEG data", "Premature EOF"), and
 * it fills the rest of the image.  Warnings while the directory is read
 * (unknown or malformed private tags, which real files carry) do not fail
 * it.  The resolution tags are not taken as the scan resolution, for the
 * reason bh_bmp.c gives (ppi 0).
 */
#include <tiffio.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_mem.h"

/* ---- libtiff's view of the buffer --------------------------------------- */

typedef struct mem_file {
	const uint8_t *b;
	size_t n, pos;
} mem_file;

static tmsize_t mf_read(thandle_t h, void *dst, tmsize_t want)
{
	mem_file *f = h;
	if (want < 0)
		return -1;
	size_t left = f->pos < f->n ? f->n - f->pos : 0, k = (size_t)want < left ? (size_t)want : left;
	if (k) { /* f->pos may lie past the end after a seek: no pointer is made there */
		memcpy(dst, f->b + f->pos, k);
		f->pos += k;
	}
	return (tmsize_t)k;
}

static tmsize_t mf_write(thandle_t h, void *src, tmsize_t n)
{
	(void)h, (void)src, (void)n;
	return -1; /* opened read-only */
}

static toff_t mf_seek(thandle_t h, toff_t off, int whence)
{
	mem_file *f = h;
	uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->n;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return (toff_t)-1;
	if (off > UINT64_MAX - base || base + off > SIZE_MAX)
		return (toff_t)-1;
	f->pos = (size_t)(base + off); /* past the end reads 0 bytes */
	return (toff_t)f->pos;
}

static int mf_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t mf_size(thandle_t h) { return (toff_t)((mem_file *)h)->n; }

static int mf_map(thandle_t h, void **base, toff_t *size)
{
	(void)h, (void)base, (void)size;
	return 0; /* no mapping: libtiff copies what it reads */
}

static void mf_unmap(thandle_t h, void *base, toff_t size) { (void)h, (void)base, (void)size; }

/* ---- messages ------------------------------------------------------------ */

typedef struct tiff_err {
	int n;          /* errors reported (and warnings while decoding pixels) */
	int pixels;     /* set once the directory is read */
	char text[160]; /* the first */
} tiff_err;

static int on_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)t, (void)module;
	tiff_err *e = user;
	if (!e->n++)
		vsnprintf(e->text, sizeof e->text, fmt, ap);
	return 1;
}

static int on_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
	tiff_err *e = user;
	if (e->pixels)
		return on_error(t, user, module, fmt, ap);
	return 1; /* handled: not printed, not fatal */
}

/* ---- decoding ------------------------------------------------------------ */

/* Opens the first directory of buf; NULL with e->text set on failure. */
static TIFF *open_mem(mem_file *mf, const bh_image_limits *lim, tiff_err *e)
{
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
	if (!o) {
		snprintf(e->text, sizeof e->text, "out of memory");
		return NULL;
	}
	/* The largest buffer an image within the limits needs: a strip or tile
	 * of up to 4 samples of 16 bits, plus room for the directory. */
	TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)(lim->max_pixels * 8 + (1u << 20)));
	TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, e);
	TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, e);
	TIFF *t = TIFFClientOpenExt("image", "rm", mf, mf_read, mf_write, mf_seek, mf_close, mf_size,
				    mf_map, mf_unmap, o);
	TIFFOpenOptionsFree(o); /* copied into t by the open */
	if (!t && !e->n)
		snprintf(e->text, sizeof e->text, "not a readable TIFF");
	return t;
}

/* Copies libtiff's ABGR raster (top-left origin) into out. */
static void from_raster(const uint32_t *r, bh_image *out)
{
	const size_t n = (size_t)out->w * out->h;
	for (size_t i = 0; i < n; i++) {
		if (out->channels == 1) {
			out->px[i] = (uint8_t)TIFFGetR(r[i]);
		} else {
			out->px[3 * i] = (uint8_t)TIFFGetR(r[i]);
			out->px[3 * i + 1] = (uint8_t)TIFFGetG(r[i]);
			out->px[3 * i + 2] = (uint8_t)TIFFGetB(r[i]);
		}
	}
}

static int decode_open(TIFF *t, const bh_image_limits *lim, tiff_err *e, bh_image *out)
{
	uint32_t w = 0, h = 0;
	uint16_t photo = 0;
	if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h))
		return bh_fail(BH_EFORMAT, "tiff: no image size");
	char why[1024] = "";
	if (!TIFFRGBAImageOK(t, why))
		return bh_fail(BH_EFORMAT, "tiff: %s", why);
	TIFFGetFieldDefaulted(t, TIFFTAG_PHOTOMETRIC, &photo);
	const int grey = photo == PHOTOMETRIC_MINISBLACK || photo == PHOTOMETRIC_MINISWHITE;
	int rc = bh_image_alloc(out, w, h, grey ? 1 : 3, lim);
	if (rc != BH_OK)
		return rc;
	const size_t bytes = (size_t)w * h * sizeof(uint32_t);
	uint32_t *raster = malloc(bytes);
	if (!raster)
		return bh_fail(BH_ENOMEM, "tiff: cannot allocate %ux%u", w, h);
	e->pixels = 1;
	if (!TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 1) || e->n)
		rc = bh_fail(BH_EFORMAT, "tiff: %s", e->n ? e->text : "cannot read the image");
	else
		from_raster(raster, out);
	bh_wipe_free(raster, bytes);
	return rc;
}

int bh_tiff_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	if (!lim)
		lim = &bh_image_default_limits;
	if (!buf || len < 8)
		return bh_fail(BH_EFORMAT, "tiff: too short");
	mem_file mf = {buf, len, 0};
	tiff_err e = {0};
	TIFF *t = open_mem(&mf, lim, &e);
	if (!t)
		return bh_fail(BH_EFORMAT, "tiff: %s", e.text);
	int rc = decode_open(t, lim, &e, out);
	TIFFClose(t);
	if (rc != BH_OK)
		bh_image_free(out);
	return rc;
}
