/* bh_image.c - format sniffing, dispatch, allocation and conversion. */
#include "bh_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bh_err.h"
#include "bh_mem.h"

const bh_image_limits bh_image_default_limits = {
	.max_w = 8192, .max_h = 8192, .max_pixels = 40u * 1000u * 1000u,
};

bh_image_format bh_image_sniff(const uint8_t *b, size_t n)
{
	static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const uint8_t jp2[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'};
	if (n >= 2 && b[0] == 'P' && b[1] == '5')
		return BH_IMG_PGM;
	if (n >= 2 && b[0] == 'P' && b[1] == '6')
		return BH_IMG_PPM;
	if (n >= 8 && !memcmp(b, png, 8))
		return BH_IMG_PNG;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return BH_IMG_JPEG;
	if (n >= 4 && b[0] == 0xff && b[1] == 0xa0 && b[2] == 0xff && b[3] >= 0xa2 && b[3] <= 0xa8)
		return BH_IMG_WSQ; /* SOI then a table/frame marker */
	if ((n >= 12 && !memcmp(b, jp2, 12)) ||
	    (n >= 4 && b[0] == 0xff && b[1] == 0x4f && b[2] == 0xff && b[3] == 0x51))
		return BH_IMG_JP2; /* JP2 box or raw J2K codestream */
	if (n >= 2 && b[0] == 'B' && b[1] == 'M')
		return BH_IMG_BMP;
	if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
		       (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
		return BH_IMG_TIFF; /* classic (42) or BigTIFF (43), either byte order */
	return BH_IMG_UNKNOWN;
}

const char *bh_image_format_name(bh_image_format f)
{
	static const char *const names[] = {"unknown", "pgm", "ppm", "png", "jpeg", "wsq", "jp2", "bmp", "tiff"};
	return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

int bh_image_name_known(const char *name)
{
	/* one entry per bh_image_format besides UNKNOWN, with common variants */
	static const char *const ext[] = {".pgm", ".ppm", ".png", ".jpg", ".jpeg", ".wsq", ".jp2", ".j2k",
					   ".bmp", ".tif", ".tiff"};
	const char *dot = name ? strrchr(name, '.') : NULL;
	for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
		if (!strcasecmp(dot, ext[i]))
			return 1;
	return 0;
}

int bh_image_alloc(bh_image *img, uint32_t w, uint32_t h, uint32_t channels,
		   const bh_image_limits *lim)
{
	if (!lim)
		lim = &bh_image_default_limits;
	memset(img, 0, sizeof *img);
	if (w == 0 || h == 0 || (channels != 1 && channels != 3))
		return bh_fail(BH_EFORMAT, "image: bad geometry %ux%ux%u", w, h, channels);
	if (w > lim->max_w || h > lim->max_h || (uint64_t)w * h > lim->max_pixels)
		return bh_fail(BH_ETOOBIG, "image: %ux%u exceeds the limit", w, h);
	img->px = malloc((size_t)w * h * channels);
	if (!img->px)
		return bh_fail(BH_ENOMEM, "image: cannot allocate %ux%u", w, h);
	img->w = w;
	img->h = h;
	img->channels = channels;
	return BH_OK;
}

int bh_image_declare_ppi(bh_image *img, uint32_t ppi)
{
	if (!img || ppi == 0)
		return bh_fail(BH_EINVAL, "image: no resolution to declare");
	if (img->ppi && (uint64_t)50 * (img->ppi > ppi ? img->ppi - ppi : ppi - img->ppi) > img->ppi)
		return bh_fail(BH_EINVAL, "image: it states %u ppi, the caller %u", img->ppi, ppi);
	img->ppi = ppi;
	return BH_OK;
}

void bh_image_free(bh_image *img)
{
	if (!img)
		return;
	if (img->px)
		bh_wipe_free(img->px, (size_t)img->w * img->h * img->channels);
	memset(img, 0, sizeof *img);
}

int bh_image_convert(bh_image *img, uint32_t channels)
{
	if (channels == 0 || channels == img->channels)
		return BH_OK;
	size_t n = (size_t)img->w * img->h;
	if (channels == 1 && img->channels == 3) {
		uint8_t *p = img->px;
		for (size_t i = 0; i < n; i++) /* BT.601 luma, integer weights summing to 256 */
			p[i] = (uint8_t)((77 * p[3 * i] + 150 * p[3 * i + 1] + 29 * p[3 * i + 2] + 128) >> 8);
		bh_wipe(p + n, 2 * n);
		img->channels = 1;
		return BH_OK;
	}
	if (channels == 3 && img->channels == 1) {
		uint8_t *q = malloc(3 * n);
		if (!q)
			return bh_fail(BH_ENOMEM, "image: cannot allocate RGB copy");
		for (size_t i = 0; i < n; i++)
			q[3 * i] = q[3 * i + 1] = q[3 * i + 2] = img->px[i];
		bh_wipe_free(img->px, n);
		img->px = q;
		img->channels = 3;
		return BH_OK;
	}
	return bh_fail(BH_EINVAL, "image: cannot convert %u to %u channels", img->channels, channels);
}

int bh_image_decode(const uint8_t *buf, size_t len, int want_channels,
		    const bh_image_limits *lim, bh_image *out)
{
	int rc;
	memset(out, 0, sizeof *out);
	if (!buf || want_channels < 0 || want_channels > 3 || want_channels == 2)
		return bh_fail(BH_EINVAL, "image: bad arguments");
	switch (bh_image_sniff(buf, len)) {
	case BH_IMG_PGM:
	case BH_IMG_PPM: rc = bh_pnm_decode(buf, len, lim, out); break;
	case BH_IMG_PNG: rc = bh_png_decode(buf, len, lim, out); break;
	case BH_IMG_JPEG:
		rc = bh_ljpeg_is_lossless(buf, len) ? bh_ljpeg_decode(buf, len, lim, out)
						     : bh_jpeg_decode(buf, len, lim, out);
		break;
	case BH_IMG_WSQ: rc = bh_wsq_decode(buf, len, lim, out); break;
	case BH_IMG_JP2: rc = bh_jp2_decode(buf, len, lim, out); break;
	case BH_IMG_BMP: rc = bh_bmp_decode(buf, len, lim, out); break;
	case BH_IMG_TIFF: rc = bh_tiff_decode(buf, len, lim, out); break;
	default: return bh_fail(BH_EFORMAT, "image: unknown format");
	}
	if (rc == BH_OK)
		rc = bh_image_convert(out, (uint32_t)want_channels);
	if (rc != BH_OK)
		bh_image_free(out);
	return rc;
}

int bh_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (max_bytes == 0)
		max_bytes = 256u << 20;
	FILE *f = fopen(path, "rb");
	if (!f)
		return bh_fail(errno == ENOENT ? BH_ENOTFOUND : BH_EIO, "%s: %s", path, strerror(errno));
	int rc = BH_OK;
	long sz = -1;
	if (fseek(f, 0, SEEK_END) == 0)
		sz = ftell(f);
	if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = bh_fail(BH_EIO, "%s: not a regular file", path);
	} else if ((unsigned long)sz > max_bytes) {
		rc = bh_fail(BH_ETOOBIG, "%s: %ld bytes exceeds the %zu byte limit", path, sz, max_bytes);
	} else {
		uint8_t *b = malloc(sz ? (size_t)sz : 1);
		if (!b) {
			rc = bh_fail(BH_ENOMEM, "%s: cannot allocate", path);
		} else if (fread(b, 1, (size_t)sz, f) != (size_t)sz) {
			bh_wipe_free(b, (size_t)sz);
			rc = bh_fail(BH_EIO, "%s: short read", path);
		} else {
			*buf = b;
			*len = (size_t)sz;
		}
	}
	fclose(f);
	return rc;
}

int bh_image_load(const char *path, int want_channels, bh_image *out)
{
	uint8_t *buf;
	size_t len;
	memset(out, 0, sizeof *out);
	int rc = bh_read_file(path, 0, &buf, &len);
	if (rc != BH_OK)
		return rc;
	rc = bh_image_decode(buf, len, want_channels, NULL, out);
	bh_wipe_free(buf, len);
	return rc;
}
