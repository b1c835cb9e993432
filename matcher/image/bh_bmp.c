/* bh_bmp.c - Windows BMP decoder (the container of FVC2006 and of PolyU's
 * palm images as distributed).
 *
 * Reads: file header "BM"; an information header of 40 (BITMAPINFOHEADER),
 * 52, 56, 108 (V4) or 124 (V5) bytes; 1, 4 and 8 bits per pixel with a
 * colour table, 24 and 32 bits without one; compression BI_RGB, and
 * BI_BITFIELDS for 32 bits when the masks are the usual X8R8G8B8 ones;
 * bottom-up (height > 0) and top-down (height < 0) rows, each padded to 4
 * bytes.  Refused with BH_EUNSUPPORTED: OS/2 core headers, RLE, JPEG/PNG
 * inside BMP, other bit depths and masks; malformed files are BH_EFORMAT.
 *
 * A paletted image whose used entries are all grey (R = G = B) decodes to 1
 * channel, as fingerprint scanners write them; anything else to RGB.  The
 * header's resolution (pixels per metre) is not taken as the scan
 * resolution: writers fill it with screen defaults (72 or 96 dpi) more often
 * than with the scanner's, so it is treated like JPEG's and PNG's (ppi 0,
 * the caller states it; bh_image.h).
 */
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"

/* Little-endian readers; the caller has checked the bounds. */
static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | le16(p + 2) << 16; }

typedef struct bmp_hdr {
	uint32_t w, h;        /* pixels */
	int top_down;         /* rows stored first-to-last */
	uint32_t bits;        /* 1, 4, 8, 24, 32 */
	uint32_t pixels_at;   /* byte offset of the first stored row */
	size_t stride;        /* bytes per stored row, padded to 4 */
	const uint8_t *pal;   /* colour table (B, G, R, 0 per entry) or NULL */
	uint32_t n_pal;       /* its entries */
} bmp_hdr;

/* BI_BITFIELDS is accepted only with the masks BI_RGB implies for 32 bits. */
static int masks_plain(const uint8_t *m)
{
	return le32(m) == 0x00ff0000u && le32(m + 4) == 0x0000ff00u && le32(m + 8) == 0x000000ffu;
}

/* The colour table at table_at (`used` entries, 0 = all the depth allows)
 * and the rows, which must lie within the n bytes of b. */
static int locate_data(const uint8_t *b, size_t n, size_t table_at, uint32_t used, bmp_hdr *h)
{
	h->pal = NULL;
	h->n_pal = 0;
	if (h->bits <= 8) {
		const uint32_t max = 1u << h->bits;
		h->n_pal = used ? used : max;
		if (h->n_pal > max)
			return bh_fail(BH_EFORMAT, "bmp: %u colours for %u bits", h->n_pal, h->bits);
		if (table_at + 4 * (size_t)h->n_pal > n)
			return bh_fail(BH_EFORMAT, "bmp: truncated colour table");
		h->pal = b + table_at;
	}
	h->pixels_at = le32(b + 10);
	h->stride = ((size_t)h->w * h->bits + 31) / 32 * 4;
	if (h->pixels_at < table_at + 4 * (size_t)h->n_pal || h->pixels_at > n ||
	    (n - h->pixels_at) / h->stride < h->h)
		return bh_fail(BH_EFORMAT, "bmp: pixel data at %u does not hold %u rows of %zu bytes in %zu",
			       h->pixels_at, h->h, h->stride, n);
	return BH_OK;
}

/* The information header: size, depth and compression. */
static int parse_header(const uint8_t *b, size_t n, bmp_hdr *h)
{
	if (n < 14 + 4)
		return bh_fail(BH_EFORMAT, "bmp: %zu bytes is shorter than its headers", n);
	const uint32_t info = le32(b + 14);
	if (info != 40 && info != 52 && info != 56 && info != 108 && info != 124)
		return bh_fail(BH_EUNSUPPORTED, "bmp: information header of %u bytes not supported", info);
	if (n < 14 + (size_t)info)
		return bh_fail(BH_EFORMAT, "bmp: truncated information header");
	const int32_t w = (int32_t)le32(b + 18), hh = (int32_t)le32(b + 22);
	const uint32_t planes = le16(b + 26), comp = le32(b + 30), used = le32(b + 46);
	h->bits = le16(b + 28);
	if (w <= 0 || hh == 0 || hh == INT32_MIN || planes != 1)
		return bh_fail(BH_EFORMAT, "bmp: bad geometry %d x %d, %u planes", w, hh, planes);
	h->w = (uint32_t)w;
	h->top_down = hh < 0;
	h->h = (uint32_t)(hh < 0 ? -hh : hh);
	if (h->bits != 1 && h->bits != 4 && h->bits != 8 && h->bits != 24 && h->bits != 32)
		return bh_fail(BH_EUNSUPPORTED, "bmp: %u bits per pixel not supported", h->bits);
	/* The three BI_BITFIELDS masks sit at byte 54: inside a longer header,
	 * right after a 40-byte one (and then before the colour table). */
	const size_t masks_at = 14 + 40;
	if (comp == 3) {
		if (h->bits != 32 || n < masks_at + 12 || !masks_plain(b + masks_at))
			return bh_fail(BH_EUNSUPPORTED, "bmp: only the X8R8G8B8 bit fields are supported");
	} else if (comp != 0) {
		return bh_fail(BH_EUNSUPPORTED, "bmp: compression %u (RLE, JPEG or PNG) not supported", comp);
	}
	return locate_data(b, n, 14 + (size_t)info + (info == 40 && comp == 3 ? 12 : 0), used, h);
}

/* The colour-table index of pixel x of a stored row (1, 4 or 8 bits). */
static uint32_t index_at(const uint8_t *row, uint32_t x, uint32_t bits)
{
	if (bits == 8)
		return row[x];
	const uint32_t per = 8 / bits, shift = (per - 1 - x % per) * bits;
	return (uint32_t)(row[x / per] >> shift) & ((1u << bits) - 1);
}

/* 1 when every index the image uses names a grey entry.  Also checks that
 * every index names an entry at all. */
static int scan_indices(const uint8_t *b, const bmp_hdr *h, int *grey)
{
	uint8_t seen[256] = {0};
	for (uint32_t y = 0; y < h->h; y++) {
		const uint8_t *row = b + h->pixels_at + (size_t)y * h->stride;
		for (uint32_t x = 0; x < h->w; x++)
			seen[index_at(row, x, h->bits)] = 1;
	}
	*grey = 1;
	for (uint32_t i = 0; i < 256; i++) {
		if (!seen[i])
			continue;
		if (i >= h->n_pal)
			return bh_fail(BH_EFORMAT, "bmp: pixel index %u past the %u colours", i, h->n_pal);
		const uint8_t *e = h->pal + 4 * i;
		*grey &= e[0] == e[1] && e[1] == e[2];
	}
	return BH_OK;
}

int bh_bmp_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	if (!buf || len < 2 || buf[0] != 'B' || buf[1] != 'M')
		return bh_fail(BH_EFORMAT, "bmp: no BM signature");
	bmp_hdr h = {0};
	int rc = parse_header(buf, len, &h);
	int grey = 0;
	if (rc == BH_OK && h.pal)
		rc = scan_indices(buf, &h, &grey);
	if (rc == BH_OK)
		rc = bh_image_alloc(out, h.w, h.h, grey ? 1 : 3, lim);
	if (rc != BH_OK)
		return rc;
	const uint32_t bpp = h.bits / 8;
	for (uint32_t y = 0; y < h.h; y++) {
		const uint8_t *row = buf + h.pixels_at + (size_t)(h.top_down ? y : h.h - 1 - y) * h.stride;
		uint8_t *o = out->px + (size_t)y * h.w * out->channels;
		for (uint32_t x = 0; x < h.w; x++) {
			const uint8_t *bgr = h.pal ? h.pal + 4 * index_at(row, x, h.bits) : row + (size_t)x * bpp;
			if (grey) {
				o[x] = bgr[2];
			} else {
				o[3 * x] = bgr[2];
				o[3 * x + 1] = bgr[1];
				o[3 * x + 2] = bgr[0];
			}
		}
	}
	return BH_OK;
}
