/*
 * bh_ljpeg.c - lossless JPEG decoder (ITU-T T.81 | ISO/IEC 10918-1, Annex H:
 * the lossless process with Huffman coding, frame marker SOF3), the "JPEGL"
 * compression of ANSI/NIST-ITL image records.  libjpeg-turbo 2.1 has no
 * lossless decoder, so this is our own, written from the standard's text.
 *
 * What is read: one frame of one component (grey), sample precision P of 2
 * to 16 bits, one scan with predictor (selection value) 1..7 and point
 * transform Pt < P, Huffman tables 0..3 (DHT, class 0), restart intervals
 * (DRI) that hold whole lines, APPn/COM segments (skipped).  The image comes
 * out as 8-bit grey: samples are shifted right by P - 8 when P > 8 and
 * scaled to 0..255 when P < 8.
 * What is refused (BH_EUNSUPPORTED): several components, arithmetic coding
 * (SOF11), hierarchical frames, a height given later by DNL, restart
 * intervals that end inside a line.
 *
 * Strictness, as for every decoder behind bh_image_decode (bh_image.h): a
 * stream that runs out before the last sample, a sample that decodes beyond
 * the precision, a missing or misnumbered restart marker, or no EOI marker
 * after the scan is BH_EFORMAT, never a partial image.
 *
 * Prediction (T.81 H.1.2.1): Ra left, Rb above, Rc above-left; the first
 * line of the scan and of each restart interval uses Ra, the first sample of
 * those lines 2^(P - Pt - 1), the first sample of other lines Rb.  Sums are
 * in full integer precision; the reconstructed sample is (Px + diff) modulo
 * 2^16.  Difference category 16 means 32768 with no extra bits.
 */
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_huff.h"
#include "bh_image.h"
#include "bh_mem.h"

#define LUT_BITS 9

typedef struct huff {
	int defined;
	uint8_t val[256];
	bh_huff_codes c;
	uint16_t lut[1 << LUT_BITS]; /* (length << 8) | value for short codes; 0 = slow path */
} huff;

typedef struct ljpeg {
	const uint8_t *buf;
	size_t len, pos;
	uint32_t w, h, prec, comp_id;
	uint32_t restart;  /* samples per restart interval, 0 = none */
	int have_frame;
	huff tab[4];
	/* bit reader */
	uint64_t acc;
	int nacc;     /* bits in acc (real data first, then zero padding) */
	int nreal;    /* of those, bits that came from the stream */
	int at_mark;  /* a marker (or the end) stops the entropy-coded data */
} ljpeg;

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

/* The canonical codes (bh_huff.h), and a lookup table for codes of up to
 * LUT_BITS bits: every LUT_BITS-bit string that starts with such a code. */
static int huff_build(huff *t, const uint8_t *counts, const uint8_t *vals, uint32_t n)
{
	memset(t, 0, sizeof *t);
	memcpy(t->val, vals, n);
	const int bad = bh_huff_codes_build(&t->c, counts);
	if (bad)
		return bh_fail(BH_EFORMAT, "ljpeg: Huffman table over-subscribed at %d bits", bad);
	for (int l = 1; l <= LUT_BITS; l++)
		for (int32_t c = t->c.mincode[l]; c <= t->c.maxcode[l]; c++)
			for (int32_t f = 0; f < 1 << (LUT_BITS - l); f++)
				t->lut[(c << (LUT_BITS - l)) | f] =
					(uint16_t)(l << 8 | t->val[t->c.valptr[l] + c - t->c.mincode[l]]);
	t->defined = 1;
	return BH_OK;
}

/* Tops the accumulator up to at least 57 bits.  Stuffed 0xFF00 is one 0xFF
 * byte; any other marker (or the end of the buffer) ends the data, after
 * which zeros are fed as padding: nreal counts only the bits before it. */
static void bits_fill(ljpeg *d)
{
	while (d->nacc <= 56) {
		uint64_t b = 0;
		int real = 0;
		if (!d->at_mark && d->pos < d->len) {
			b = d->buf[d->pos];
			if (b != 0xff) {
				d->pos++;
				real = 1;
			} else if (d->pos + 1 < d->len && d->buf[d->pos + 1] == 0x00) {
				d->pos += 2;
				real = 1;
			} else {
				d->at_mark = 1;
				b = 0;
			}
		} else {
			d->at_mark = 1;
		}
		d->acc |= b << (56 - d->nacc);
		d->nacc += 8;
		d->nreal += real ? 8 : 0;
	}
}

/* Takes n (0..16) bits; -1 if they are not all real data. */
static int32_t bits_get(ljpeg *d, int n)
{
	if (n == 0)
		return 0;
	bits_fill(d);
	if (n > d->nreal)
		return -1;
	int32_t v = (int32_t)(d->acc >> (64 - n));
	d->acc <<= n;
	d->nacc -= n;
	d->nreal -= n;
	return v;
}

/* One Huffman symbol (a difference category); -1 on a bad or short code. */
static int huff_decode(ljpeg *d, const huff *t)
{
	bits_fill(d);
	uint16_t e = t->lut[d->acc >> (64 - LUT_BITS)];
	if (e) {
		int l = e >> 8;
		if (l > d->nreal)
			return -1;
		d->acc <<= l;
		d->nacc -= l;
		d->nreal -= l;
		return e & 0xff;
	}
	for (int l = 1; l <= 16; l++) {
		const int32_t code = (int32_t)(d->acc >> (64 - l));
		if (code <= t->c.maxcode[l]) {
			if (l > d->nreal)
				return -1;
			d->acc <<= l;
			d->nacc -= l;
			d->nreal -= l;
			return t->val[t->c.valptr[l] + code - t->c.mincode[l]];
		}
	}
	return -1;
}

/* Ends restart interval k: what is left of its data must be the padding
 * of its last byte, and RSTn (n = k mod 8) must follow. */
static int restart_marker(ljpeg *d, uint32_t k)
{
	bits_fill(d);
	if (d->nreal >= 8)
		return bh_fail(BH_EFORMAT, "ljpeg: restart interval %u: data past its end", k);
	if (d->pos + 1 >= d->len || d->buf[d->pos] != 0xff || d->buf[d->pos + 1] != 0xd0 + (k & 7))
		return bh_fail(BH_EFORMAT, "ljpeg: restart marker %u missing", k & 7);
	d->pos += 2;
	d->acc = 0;
	d->nacc = d->nreal = 0;
	d->at_mark = 0;
	return BH_OK;
}

static int32_t predict(int sv, int32_t ra, int32_t rb, int32_t rc)
{
	switch (sv) {
	case 1: return ra;
	case 2: return rb;
	case 3: return rc;
	case 4: return ra + rb - rc;
	case 5: return ra + ((rb - rc) >> 1); /* arithmetic shift, as the standard says */
	case 6: return rb + ((ra - rc) >> 1);
	default: return (ra + rb) >> 1;
	}
}

/* Maps one reconstructed sample of precision prec to 8 bits. */
static uint8_t to8(uint32_t v, uint32_t prec)
{
	if (prec >= 8)
		return (uint8_t)(v >> (prec - 8));
	return (uint8_t)((v * 255u + ((1u << prec) - 1) / 2) / ((1u << prec) - 1));
}

static int decode_scan(ljpeg *d, const huff *t, int sv, uint32_t pt, bh_image *out)
{
	const uint32_t w = d->w, h = d->h, maxv = (1u << (d->prec - pt)) - 1;
	int32_t *rows = malloc(2 * (size_t)w * sizeof *rows);
	if (!rows)
		return bh_fail(BH_ENOMEM, "ljpeg: cannot allocate two lines of %u", w);
	int32_t *prev = rows, *cur = rows + w;
	int rc = BH_OK;
	uint32_t line_in_interval = 0, interval = 0;
	const uint32_t lines_per_interval = d->restart ? d->restart / w : 0;
	for (uint32_t y = 0; y < h && rc == BH_OK; y++) {
		if (lines_per_interval && line_in_interval == lines_per_interval) {
			if ((rc = restart_marker(d, interval++)) != BH_OK)
				break;
			line_in_interval = 0;
		}
		const int first = line_in_interval == 0;
		for (uint32_t x = 0; x < w; x++) {
			int32_t px;
			if (first)
				px = x ? cur[x - 1] : (int32_t)(1u << (d->prec - pt - 1));
			else if (x == 0)
				px = prev[0];
			else
				px = predict(sv, cur[x - 1], prev[x], prev[x - 1]);
			const int s = huff_decode(d, t);
			int32_t diff;
			if (s < 0 || s > 16) {
				rc = bh_fail(BH_EFORMAT, "ljpeg: bad or truncated code at line %u", y);
				break;
			}
			if (s == 16) {
				diff = 32768;
			} else {
				const int32_t v = bits_get(d, s);
				if (v < 0) {
					rc = bh_fail(BH_EFORMAT, "ljpeg: truncated at line %u", y);
					break;
				}
				diff = s && v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
			}
			const uint32_t r = (uint32_t)(px + diff) & 0xffffu;
			if (r > maxv) {
				rc = bh_fail(BH_EFORMAT, "ljpeg: sample %u beyond %u bits at line %u",
					     r, d->prec - pt, y);
				break;
			}
			cur[x] = (int32_t)r;
			out->px[(size_t)y * w + x] = to8(r << pt, d->prec);
		}
		int32_t *sw = prev;
		prev = cur;
		cur = sw;
		line_in_interval++;
	}
	bh_wipe_free(rows, 2 * (size_t)w * sizeof *rows);
	return rc;
}

static int seg_sof3(ljpeg *d, const uint8_t *p, uint32_t n)
{
	if (d->have_frame)
		return bh_fail(BH_EFORMAT, "ljpeg: second frame header");
	if (n < 6)
		return bh_fail(BH_EFORMAT, "ljpeg: short frame header");
	d->prec = p[0];
	d->h = be16(p + 1);
	d->w = be16(p + 3);
	const uint32_t nf = p[5];
	if (n != 6 + 3 * nf || nf == 0)
		return bh_fail(BH_EFORMAT, "ljpeg: frame header length %u for %u components", n, nf);
	if (nf != 1)
		return bh_fail(BH_EUNSUPPORTED, "ljpeg: %u components (grey only)", nf);
	if (d->prec < 2 || d->prec > 16)
		return bh_fail(BH_EFORMAT, "ljpeg: precision %u", d->prec);
	if (d->h == 0)
		return bh_fail(BH_EUNSUPPORTED, "ljpeg: height given by a DNL marker");
	if (d->w == 0)
		return bh_fail(BH_EFORMAT, "ljpeg: width 0");
	d->comp_id = p[6];
	d->have_frame = 1;
	return BH_OK;
}

static int seg_dht(ljpeg *d, const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		if (n < 17)
			return bh_fail(BH_EFORMAT, "ljpeg: short Huffman table");
		const uint32_t tc = p[0] >> 4, th = p[0] & 15;
		uint32_t total = 0;
		for (int i = 1; i <= 16; i++)
			total += p[i];
		if (tc != 0 || th > 3)
			return bh_fail(BH_EFORMAT, "ljpeg: Huffman table class %u id %u", tc, th);
		if (total == 0 || total > 256 || 17 + total > n)
			return bh_fail(BH_EFORMAT, "ljpeg: Huffman table of %u codes", total);
		for (uint32_t i = 0; i < total; i++)
			if (p[17 + i] > 16)
				return bh_fail(BH_EFORMAT, "ljpeg: difference category %u", p[17 + i]);
		int rc = huff_build(&d->tab[th], p + 1, p + 17, total);
		if (rc != BH_OK)
			return rc;
		p += 17 + total;
		n -= 17 + total;
	}
	return BH_OK;
}

static int seg_dri(ljpeg *d, const uint8_t *p, uint32_t n)
{
	if (n != 2)
		return bh_fail(BH_EFORMAT, "ljpeg: restart interval segment of %u bytes", n);
	d->restart = be16(p);
	return BH_OK;
}

/* The scan header, then the scan itself; pos is just past the header. */
static int seg_sos(ljpeg *d, const uint8_t *p, uint32_t n, const bh_image_limits *lim,
		   bh_image *out)
{
	if (!d->have_frame)
		return bh_fail(BH_EFORMAT, "ljpeg: scan before the frame header");
	if (out->px)
		return bh_fail(BH_EFORMAT, "ljpeg: second scan");
	if (n < 1 || n != 4 + 2u * p[0])
		return bh_fail(BH_EFORMAT, "ljpeg: scan header length %u", n);
	if (p[0] != 1 || p[1] != d->comp_id)
		return bh_fail(BH_EFORMAT, "ljpeg: scan components do not match the frame");
	const uint32_t td = p[2] >> 4, sv = p[3], se = p[4], ah = p[5] >> 4, pt = p[5] & 15;
	if (td > 3 || !d->tab[td].defined)
		return bh_fail(BH_EFORMAT, "ljpeg: Huffman table %u not defined", td);
	if (sv < 1 || sv > 7 || se != 0 || ah != 0 || pt >= d->prec)
		return bh_fail(BH_EFORMAT, "ljpeg: predictor %u, Se %u, Ah %u, Pt %u", sv, se, ah, pt);
	if (d->restart % d->w)
		return bh_fail(BH_EUNSUPPORTED, "ljpeg: restart interval %u inside a %u-sample line",
			       d->restart, d->w);
	int rc = bh_image_alloc(out, d->w, d->h, 1, lim);
	if (rc == BH_OK)
		rc = decode_scan(d, &d->tab[td], (int)sv, pt, out);
	/* the encoder's padding (and any read-ahead) ends at the next marker */
	while (rc == BH_OK && d->pos + 1 < d->len &&
	       !(d->buf[d->pos] == 0xff && d->buf[d->pos + 1] != 0x00 && d->buf[d->pos + 1] != 0xff))
		d->pos++;
	return rc;
}

int bh_ljpeg_is_lossless(const uint8_t *buf, size_t len)
{
	size_t pos = 2;
	if (len < 4 || buf[0] != 0xff || buf[1] != 0xd8)
		return 0;
	while (pos + 4 <= len && buf[pos] == 0xff) {
		const uint8_t m = buf[pos + 1];
		if (m == 0xff) {
			pos++;
			continue;
		}
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc)
			return m == 0xc3;
		if (m == 0xda || m == 0xd9)
			return 0;
		pos += 2 + be16(buf + pos + 2);
	}
	return 0;
}

int bh_ljpeg_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	if (!buf || len < 4 || buf[0] != 0xff || buf[1] != 0xd8)
		return bh_fail(BH_EFORMAT, "ljpeg: no start-of-image marker");
	ljpeg *d = calloc(1, sizeof *d);
	if (!d)
		return bh_fail(BH_ENOMEM, "ljpeg: out of memory");
	d->buf = buf;
	d->len = len;
	d->pos = 2;
	int rc = BH_OK, eoi = 0;
	while (rc == BH_OK && !eoi) {
		if (d->pos + 2 > d->len || d->buf[d->pos] != 0xff) {
			rc = bh_fail(BH_EFORMAT, "ljpeg: truncated (no end-of-image marker)");
			break;
		}
		const uint8_t m = d->buf[d->pos + 1];
		d->pos += 2;
		if (m == 0xff) {
			d->pos--; /* fill byte before a marker */
			continue;
		}
		if (m == 0xd9) {
			eoi = 1;
			break;
		}
		if (d->pos + 2 > d->len || be16(d->buf + d->pos) < 2 ||
		    be16(d->buf + d->pos) > d->len - d->pos) {
			rc = bh_fail(BH_EFORMAT, "ljpeg: marker 0x%02x: segment past the end", m);
			break;
		}
		const uint32_t n = be16(d->buf + d->pos) - 2;
		const uint8_t *p = d->buf + d->pos + 2;
		d->pos += 2 + n;
		if (m == 0xc3)
			rc = seg_sof3(d, p, n);
		else if (m == 0xc4)
			rc = seg_dht(d, p, n);
		else if (m == 0xdd)
			rc = seg_dri(d, p, n);
		else if (m == 0xda)
			rc = seg_sos(d, p, n, lim, out);
		else if ((m >= 0xe0 && m <= 0xef) || m == 0xfe)
			; /* APPn, COM */
		else if (m >= 0xc0 && m <= 0xcf)
			rc = bh_fail(BH_EUNSUPPORTED, "ljpeg: frame type 0x%02x (SOF3 only)", m);
		else
			rc = bh_fail(BH_EFORMAT, "ljpeg: unexpected marker 0x%02x", m);
	}
	if (rc == BH_OK && !out->px)
		rc = bh_fail(BH_EFORMAT, "ljpeg: no scan");
	if (rc != BH_OK)
		bh_image_free(out);
	bh_wipe(d, sizeof *d);
	free(d);
	return rc;
}
