/*
 * bh_wsq.c - WSQ (FBI Wavelet Scalar Quantization, IAFIS-IC-0110) decoder.
 *
 * Written from the public specification.  Stream layout (all big endian):
 *
 *   SOI FFA0 | tables and comments | SOF FFA2 frame | { tables | SOB FFA3
 *   block header, entropy-coded data }... | EOI FFA1
 *
 *   DTT FFA4  L, L0 (length of the first filter), L1, then for ceil(L0/2)
 *             and ceil(L1/2) coefficients: sign u8, exponent u8, value u32
 *             (value / 10^exponent, negated if sign != 0), centre tap first.
 *             The first group, with alternating signs, is the synthesis
 *             highpass; the second group, with alternating signs, the
 *             synthesis lowpass (the analysis pair is the 9/7 biorthogonal
 *             filter bank).  Only odd lengths (whole-sample symmetric) are
 *             supported: every known encoder writes 9/7.
 *   DQT FFA5  L, C (exponent u8, value u16), then 64 x (Q, Z) scaled u16.
 *             Q = 0: the subband is not transmitted.
 *   DHT FFA6  L, then one or more {id u8 (0..7), 16 counts, values}; JPEG-style
 *             canonical Huffman codes of 1..16 bits.
 *   SOF FFA2  L, black u8, white u8, height u16, width u16, M (scaled u16),
 *             R (scaled u16), encoder u8, software u16.  pixel = a*R + M.
 *   SOB FFA3  L, table id u8, then entropy-coded data (0xFF stuffed with 0x00,
 *             padded with 1 bits to a byte boundary) up to the next marker.
 *   COM FFA8  L, text; a "NIST_COM" comment carries "PPI <n>" lines.
 *   DRI FFA7  restart interval; RST0-7 (FFB0-FFB7) inside the data are
 *             accepted and reset the bit reader.
 *
 * Huffman symbols: 1..100 run of that many zero coefficients; 101/102 a
 * positive/negative 8-bit magnitude follows; 103/104 the same with 16 bits;
 * 105/106 a zero run with an 8/16-bit length follows; 107..254 the
 * coefficient symbol-180.  The coefficient stream covers subbands 0..59 with
 * Q != 0, in subband order, each in raster order.
 *
 * Dequantisation: a = Q(p - C) + Z/2 for p > 0, Q(p + C) - Z/2 for p < 0.
 *
 * Subband geometry: the image is split 2-D (a separable low/high split in x
 * and in y) into a fixed tree of 20 splits and 64 leaves, see wsq_paths.
 * A split of a length n gives ceil(n/2) lowpass and floor(n/2) highpass
 * samples; a region that is itself the highpass half of its parent in a
 * direction is "spectrally inverted" there: its high band is stored first.
 * Boundaries use whole-sample symmetric extension of the signal, which makes
 * the lowpass samples (even phase) and highpass samples (odd phase)
 * symmetric in the upsampled domain; synthesis reflects indices in that
 * domain.
 *
 * Every length is checked against the end of the buffer; the image size is
 * checked against bh_image_limits before any allocation; any inconsistency
 * is BH_EFORMAT, never a partial image.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_huff.h"
#include "bh_image.h"
#include "bh_mem.h"
#include "bh_wsq.h"

#define WSQ_SOI 0xffa0
#define WSQ_EOI 0xffa1
#define WSQ_SOF 0xffa2
#define WSQ_SOB 0xffa3
#define WSQ_DTT 0xffa4
#define WSQ_DQT 0xffa5
#define WSQ_DHT 0xffa6
#define WSQ_DRI 0xffa7
#define WSQ_COM 0xffa8

#define WSQ_MAX_FILTER 31 /* spec maximum for whole-sample symmetric filters */
#define WSQ_PAD 16        /* > half of the longest filter */
#define WSQ_NSUB 64
#define WSQ_NCODED 60 /* subbands 60..63 are never transmitted */

typedef struct wsq_huff {
	int defined;
	uint8_t nvals;
	uint8_t vals[256];
	bh_huff_codes c;
} wsq_huff;

typedef struct wsq_rect {
	uint32_t x, y, w, h;
	int invx, invy;
} wsq_rect;

typedef struct wsq_dec {
	const uint8_t *p, *end;
	/* tables */
	int have_dtt, have_dqt, have_sof;
	int losz, hisz;
	float lo[WSQ_MAX_FILTER], hi[WSQ_MAX_FILTER]; /* synthesis filters, centred */
	float C, Q[WSQ_NSUB], Z[WSQ_NSUB];
	wsq_huff huff[8];
	/* frame */
	uint32_t w, h;
	float M, R;
	uint32_t ppi;
	wsq_rect sub[WSQ_NSUB];
	/* coefficient cursor */
	float *img; /* w*h, dequantised coefficients then pixels */
	int cur_band;
	uint64_t cur_off;
	/* bit reader */
	uint32_t bitbuf;
	int nbits;
} wsq_dec;

/* ---- byte reader ---------------------------------------------------- */

static int rd_u8(wsq_dec *d, uint32_t *v)
{
	*v = 0;
	if (d->p >= d->end)
		return bh_fail(BH_EFORMAT, "wsq: truncated");
	*v = *d->p++;
	return BH_OK;
}

static int rd_u16(wsq_dec *d, uint32_t *v)
{
	*v = 0;
	if (d->end - d->p < 2)
		return bh_fail(BH_EFORMAT, "wsq: truncated");
	*v = (uint32_t)d->p[0] << 8 | d->p[1];
	d->p += 2;
	return BH_OK;
}

static int rd_u32(wsq_dec *d, uint32_t *v)
{
	*v = 0;
	if (d->end - d->p < 4)
		return bh_fail(BH_EFORMAT, "wsq: truncated");
	*v = (uint32_t)d->p[0] << 24 | (uint32_t)d->p[1] << 16 | (uint32_t)d->p[2] << 8 | d->p[3];
	d->p += 4;
	return BH_OK;
}

/* value / 10^exp; exponents above 20 are nonsense and rejected. */
static int scaled(uint32_t exp, uint32_t val, float *out)
{
	*out = 0.0f;
	if (exp > 20)
		return bh_fail(BH_EFORMAT, "wsq: scale exponent %u", exp);
	double v = val;
	while (exp--)
		v /= 10.0;
	*out = (float)v;
	return BH_OK;
}

static int rd_scaled16(wsq_dec *d, float *out)
{
	uint32_t e = 0, v = 0;
	int rc = rd_u8(d, &e);
	if (rc == BH_OK)
		rc = rd_u16(d, &v);
	return rc == BH_OK ? scaled(e, v, out) : rc;
}

/* Reads the next marker, skipping 0xFF fill bytes. */
static int rd_marker(wsq_dec *d, uint32_t *m)
{
	uint32_t b;
	int rc = rd_u8(d, &b);
	if (rc != BH_OK)
		return rc;
	if (b != 0xff)
		return bh_fail(BH_EFORMAT, "wsq: expected a marker, found 0x%02x", b);
	do {
		if ((rc = rd_u8(d, &b)) != BH_OK)
			return rc;
	} while (b == 0xff);
	*m = 0xff00 | b;
	return BH_OK;
}

/* Reads a segment length and returns a reader limited to the segment body. */
static int rd_segment(wsq_dec *d, const uint8_t **body_end)
{
	uint32_t len;
	*body_end = d->p; /* defined on every path (GCC -O3 cannot prove it) */
	int rc = rd_u16(d, &len);
	if (rc != BH_OK)
		return rc;
	if (len < 2 || (size_t)(d->end - d->p) < len - 2)
		return bh_fail(BH_EFORMAT, "wsq: segment length %u past the end", len);
	*body_end = d->p + (len - 2);
	return BH_OK;
}

/* ---- table segments ------------------------------------------------- */

/* Reads n/2+1 coefficients (centre first) into f[0..n) with alternating sign. */
static int read_filter(wsq_dec *d, int n, float *f)
{
	int a = n / 2;
	for (int k = 0; k <= a; k++) {
		uint32_t sign, e, v;
		float c = 0.0f;
		int rc;
		if ((rc = rd_u8(d, &sign)) != BH_OK || (rc = rd_u8(d, &e)) != BH_OK ||
		    (rc = rd_u32(d, &v)) != BH_OK || (rc = scaled(e, v, &c)) != BH_OK)
			return rc;
		if (sign)
			c = -c;
		if (k & 1)
			c = -c; /* synthesis filter = modulated analysis filter */
		f[a + k] = c;
		f[a - k] = c;
	}
	return BH_OK;
}

static int parse_dtt(wsq_dec *d)
{
	const uint8_t *end;
	uint32_t l0, l1;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	const uint8_t *save_end = d->end;
	d->end = end;
	if ((rc = rd_u8(d, &l0)) != BH_OK || (rc = rd_u8(d, &l1)) != BH_OK)
		goto out;
	if (l0 == 0 || l1 == 0 || l0 > WSQ_MAX_FILTER || l1 > WSQ_MAX_FILTER) {
		rc = bh_fail(BH_EFORMAT, "wsq: filter lengths %u/%u", l0, l1);
		goto out;
	}
	if (!(l0 & 1) || !(l1 & 1)) {
		rc = bh_fail(BH_EUNSUPPORTED, "wsq: even-length (half-sample) filters");
		goto out;
	}
	d->hisz = (int)l0;
	d->losz = (int)l1;
	if ((rc = read_filter(d, d->hisz, d->hi)) != BH_OK || (rc = read_filter(d, d->losz, d->lo)) != BH_OK)
		goto out;
	d->have_dtt = 1;
out:
	d->end = save_end;
	if (rc == BH_OK)
		d->p = end;
	return rc;
}

static int parse_dqt(wsq_dec *d)
{
	const uint8_t *end;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	const uint8_t *save_end = d->end;
	d->end = end;
	if ((rc = rd_scaled16(d, &d->C)) != BH_OK)
		goto out;
	for (int i = 0; i < WSQ_NSUB; i++)
		if ((rc = rd_scaled16(d, &d->Q[i])) != BH_OK || (rc = rd_scaled16(d, &d->Z[i])) != BH_OK)
			goto out;
	d->have_dqt = 1;
out:
	d->end = save_end;
	if (rc == BH_OK)
		d->p = end;
	return rc;
}

static int parse_dht(wsq_dec *d)
{
	const uint8_t *end;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	const uint8_t *save_end = d->end;
	d->end = end;
	if (d->p >= end)
		rc = bh_fail(BH_EFORMAT, "wsq: empty Huffman table segment");
	while (rc == BH_OK && d->p < end) {
		uint32_t id, c;
		uint8_t counts[16];
		unsigned total = 0;
		if ((rc = rd_u8(d, &id)) != BH_OK)
			break;
		if (id > 7) {
			rc = bh_fail(BH_EFORMAT, "wsq: Huffman table id %u", id);
			break;
		}
		for (int i = 0; i < 16 && rc == BH_OK; i++) {
			rc = rd_u8(d, &c);
			counts[i] = (uint8_t)c;
			total += c;
		}
		if (rc != BH_OK)
			break;
		if (total == 0 || total > 256) {
			rc = bh_fail(BH_EFORMAT, "wsq: Huffman table with %u values", total);
			break;
		}
		wsq_huff *t = &d->huff[id];
		if ((size_t)(end - d->p) < total) {
			rc = bh_fail(BH_EFORMAT, "wsq: Huffman values past the segment");
			break;
		}
		memcpy(t->vals, d->p, total);
		d->p += total;
		t->nvals = (uint8_t)(total - 1); /* stored as count-1 to fit 256 */
		const int bad = bh_huff_codes_build(&t->c, counts); /* JPEG Annex C codes */
		if (bad) {
			rc = bh_fail(BH_EFORMAT, "wsq: Huffman table over-subscribed at %d bits", bad);
			break;
		}
		t->defined = 1;
	}
	d->end = save_end;
	return rc;
}

/* "NIST_COM" comments: lines "NAME value"; PPI gives the resolution. */
static void parse_nistcom(wsq_dec *d, const uint8_t *s, const uint8_t *e)
{
	if (e - s < 8 || memcmp(s, "NIST_COM", 8) != 0)
		return;
	while (s < e) {
		const uint8_t *nl = memchr(s, '\n', (size_t)(e - s));
		const uint8_t *le = nl ? nl : e;
		if (le - s > 4 && !memcmp(s, "PPI", 3) && (s[3] == ' ' || s[3] == '\t')) {
			uint32_t v = 0;
			const uint8_t *q = s + 4;
			while (q < le && (*q == ' ' || *q == '\t'))
				q++;
			while (q < le && *q >= '0' && *q <= '9' && v < 100000)
				v = v * 10 + (uint32_t)(*q++ - '0');
			if (v > 0 && v < 100000)
				d->ppi = v;
		}
		s = le + (nl != NULL);
	}
}

static int parse_com(wsq_dec *d)
{
	const uint8_t *end;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	parse_nistcom(d, d->p, end);
	d->p = end;
	return BH_OK;
}

static int skip_segment(wsq_dec *d)
{
	const uint8_t *end;
	int rc = rd_segment(d, &end);
	if (rc == BH_OK)
		d->p = end;
	return rc;
}

/* ---- subband geometry ----------------------------------------------- */

/* Path of quadrant choices from the whole image to each transmitted
 * subband (0 = low x low y, 1 = high x, 2 = high y, 3 = high both).
 * Subbands 60..63 (the finest diagonal band) are never transmitted. */
static const char *const wsq_paths[WSQ_NCODED] = {
	"00000", "00001", "00002", "00003", "0001", "0002", "0003",
	"0010", "0011", "0012", "0013", "0020", "0021", "0022", "0023",
	"0030", "0031", "0032", "0033",
	"0100", "0101", "0102", "0103", "0110", "0111", "0112", "0113",
	"0120", "0121", "0122", "0123", "0130", "0131", "0132", "0133",
	"0200", "0201", "0202", "0203", "0210", "0211", "0212", "0213",
	"0220", "0221", "0222", "0223", "0230", "0231", "0232", "0233",
	"03", "10", "11", "12", "13", "20", "21", "22", "23",
};

/* The 20 split nodes, children before parents (reconstruction order). */
static const char *const wsq_nodes[20] = {
	"0000", "000", "001", "002", "003", "00", "010", "011", "012", "013", "01",
	"020", "021", "022", "023", "02", "0", "1", "2", "",
};

static wsq_rect quadrant(wsq_rect r, int q)
{
	/* low band = ceil(n/2) samples; an inverted region stores high first */
	uint32_t fx = r.invx ? r.w / 2 : (r.w + 1) / 2;
	uint32_t fy = r.invy ? r.h / 2 : (r.h + 1) / 2;
	wsq_rect c = {r.x, r.y, fx, fy, 0, 0};
	if (q & 1) {
		c.x += fx;
		c.w = r.w - fx;
		c.invx = 1;
	}
	if (q & 2) {
		c.y += fy;
		c.h = r.h - fy;
		c.invy = 1;
	}
	return c;
}

static wsq_rect walk(uint32_t w, uint32_t h, const char *path)
{
	wsq_rect r = {0, 0, w, h, 0, 0};
	for (; *path; path++)
		r = quadrant(r, *path - '0');
	return r;
}

void bh_wsq_subband_rects(uint32_t w, uint32_t h, uint32_t x[BH_WSQ_SUBBANDS],
			  uint32_t y[BH_WSQ_SUBBANDS], uint32_t sw[BH_WSQ_SUBBANDS],
			  uint32_t sh[BH_WSQ_SUBBANDS])
{
	static const char *const finest[4] = {"30", "31", "32", "33"};
	for (int i = 0; i < BH_WSQ_SUBBANDS; i++) {
		wsq_rect r = walk(w, h, i < WSQ_NCODED ? wsq_paths[i] : finest[i - WSQ_NCODED]);
		x[i] = r.x;
		y[i] = r.y;
		sw[i] = r.w;
		sh[i] = r.h;
	}
}

/* ---- entropy decoding ----------------------------------------------- */

/* Next bit, or -1 when a marker (or the end of the data) is reached. */
static int next_bit(wsq_dec *d)
{
	if (d->nbits == 0) {
		if (d->p >= d->end)
			return -1;
		uint32_t b = d->p[0];
		if (b == 0xff) {
			if (d->end - d->p < 2 || d->p[1] != 0x00)
				return -1; /* a marker: leave it for the segment parser */
			d->p += 2;
		} else {
			d->p++;
		}
		d->bitbuf = b;
		d->nbits = 8;
	}
	d->nbits--;
	return (int)((d->bitbuf >> d->nbits) & 1);
}

/* n raw bits (n <= 16); a marker inside is a format error. */
static int raw_bits(wsq_dec *d, int n, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < n; i++) {
		int b = next_bit(d);
		if (b < 0)
			return bh_fail(BH_EFORMAT, "wsq: marker inside a coefficient");
		x = x << 1 | (uint32_t)b;
	}
	*v = x;
	return BH_OK;
}

/* Decodes a symbol.  Returns 1 and the symbol, 0 at the end of the block
 * (marker reached on a byte boundary or after the 1-bit padding), or an
 * error. */
static int huff_symbol(wsq_dec *d, const wsq_huff *t, uint32_t *sym)
{
	int32_t code = 0;
	int ones = 1;
	for (int l = 1; l <= 16; l++) {
		int b = next_bit(d);
		if (b < 0) {
			if (ones && l <= 8)
				return 0;
			return bh_fail(BH_EFORMAT, "wsq: marker inside a Huffman code");
		}
		ones &= b;
		code = code << 1 | b;
		if (t->c.maxcode[l] >= 0 && code <= t->c.maxcode[l] && code >= t->c.mincode[l]) {
			int32_t k = t->c.valptr[l] + code - t->c.mincode[l];
			if (k > t->nvals)
				return bh_fail(BH_EFORMAT, "wsq: Huffman index out of range");
			*sym = t->vals[k];
			return 1;
		}
	}
	return bh_fail(BH_EFORMAT, "wsq: invalid Huffman code");
}

/* Moves the cursor to the next transmitted subband with room left. */
static void cursor_settle(wsq_dec *d)
{
	while (d->cur_band < WSQ_NCODED) {
		const wsq_rect *r = &d->sub[d->cur_band];
		if (d->Q[d->cur_band] != 0.0f && d->cur_off < (uint64_t)r->w * r->h)
			return;
		d->cur_band++;
		d->cur_off = 0;
	}
}

static int put_zeros(wsq_dec *d, uint32_t n)
{
	while (n) {
		cursor_settle(d);
		if (d->cur_band >= WSQ_NCODED)
			return bh_fail(BH_EFORMAT, "wsq: more coefficients than subbands");
		const wsq_rect *r = &d->sub[d->cur_band];
		uint64_t room = (uint64_t)r->w * r->h - d->cur_off;
		uint64_t take = n < room ? n : room;
		d->cur_off += take;
		n -= (uint32_t)take;
	}
	return BH_OK;
}

static int put_coef(wsq_dec *d, int32_t p)
{
	cursor_settle(d);
	if (d->cur_band >= WSQ_NCODED)
		return bh_fail(BH_EFORMAT, "wsq: more coefficients than subbands");
	int s = d->cur_band;
	const wsq_rect *r = &d->sub[s];
	uint32_t yy = (uint32_t)(d->cur_off / r->w), xx = (uint32_t)(d->cur_off % r->w);
	float a = 0.0f;
	if (p > 0)
		a = d->Q[s] * ((float)p - d->C) + d->Z[s] / 2.0f;
	else if (p < 0)
		a = d->Q[s] * ((float)p + d->C) - d->Z[s] / 2.0f;
	d->img[(size_t)(r->y + yy) * d->w + r->x + xx] = a;
	d->cur_off++;
	return BH_OK;
}

/* Decodes entropy-coded data up to the next marker (restart markers are
 * consumed and decoding continues). */
static int decode_block(wsq_dec *d, const wsq_huff *t)
{
	for (;;) {
		uint32_t sym = 0, v = 0;
		d->nbits = 0;
		int rc;
		for (;;) {
			rc = huff_symbol(d, t, &sym);
			if (rc <= 0)
				break;
			if (sym >= 1 && sym <= 100) {
				rc = put_zeros(d, sym);
			} else if (sym >= 107 && sym <= 254) {
				rc = put_coef(d, (int32_t)sym - 180);
			} else if (sym >= 101 && sym <= 104) {
				rc = raw_bits(d, sym <= 102 ? 8 : 16, &v);
				if (rc == BH_OK)
					rc = put_coef(d, (sym & 1) ? (int32_t)v : -(int32_t)v);
			} else if (sym == 105 || sym == 106) {
				rc = raw_bits(d, sym == 105 ? 8 : 16, &v);
				if (rc == BH_OK)
					rc = put_zeros(d, v);
			} else {
				rc = bh_fail(BH_EFORMAT, "wsq: invalid symbol %u", sym);
			}
			if (rc != BH_OK)
				return rc;
		}
		if (rc < 0)
			return rc;
		/* at a marker: a restart marker continues the block */
		if (d->end - d->p >= 2 && d->p[0] == 0xff && d->p[1] >= 0xb0 && d->p[1] <= 0xb7) {
			d->p += 2;
			continue;
		}
		if (d->p >= d->end)
			return bh_fail(BH_EFORMAT, "wsq: truncated entropy-coded data");
		return BH_OK;
	}
}

/* ---- reconstruction ------------------------------------------------- */

/* Reflects p into [0, n) (whole-sample symmetric about 0 and n-1). */
static long reflect(long p, long n)
{
	if (n == 1)
		return 0;
	long period = 2 * (n - 1);
	p %= period;
	if (p < 0)
		p += period;
	return p < n ? p : period - p;
}

/* Source index table of one synthesis line of n samples: for every virtual
 * position p in [-WSQ_PAD, n + WSQ_PAD), the reflected position's band
 * sample (lowpass at even positions, highpass at odd ones; reflection keeps
 * the parity), as an offset into the stored line (high band first when
 * inv). */
static void synth_index(long n, int inv, uint32_t *idx)
{
	long nl = (n + 1) / 2, nh = n / 2;
	long lo_base = inv ? nh : 0, hi_base = inv ? 0 : nl;
	for (long p = -WSQ_PAD; p < n + WSQ_PAD; p++) {
		long q = reflect(p, n);
		idx[p + WSQ_PAD] = (uint32_t)((q & 1) ? hi_base + q / 2 : lo_base + q / 2);
	}
}

static void synth_row(const wsq_dec *d, float *row, long n, int inv, float *tmp);

/* Inverse 2-D split of one region: columns (y) then rows (x).  The y pass
 * reads a copy of the region in scratch and accumulates whole rows, so
 * that memory is walked contiguously. */
static void join_region(wsq_dec *d, wsq_rect r, float *scratch, uint32_t *idx, float *line)
{
	if (r.w == 0 || r.h == 0)
		return;
	int a0 = d->losz / 2, a1 = d->hisz / 2, am = a0 > a1 ? a0 : a1;
	size_t W = d->w;
	for (uint32_t y = 0; y < r.h; y++)
		memcpy(scratch + (size_t)y * r.w, d->img + (r.y + y) * W + r.x, r.w * sizeof *scratch);
	synth_index(r.h, r.invy, idx);
	for (long m = 0; m < (long)r.h; m++) {
		float *out = d->img + (r.y + (size_t)m) * W + r.x;
		memset(out, 0, r.w * sizeof *out);
		for (int j = -am; j <= am; j++) {
			long p = m - j;
			int odd = (int)(p & 1);
			if (odd ? (j < -a1 || j > a1) : (j < -a0 || j > a0))
				continue;
			float g = odd ? d->hi[a1 + j] : d->lo[a0 + j];
			const float *src = scratch + (size_t)idx[p + WSQ_PAD] * r.w;
			for (uint32_t x = 0; x < r.w; x++)
				out[x] += g * src[x];
		}
	}
	for (uint32_t y = 0; y < r.h; y++)
		synth_row(d, d->img + (r.y + y) * W + r.x, r.w, r.invx, line);
}

/* One row of n samples in place, in polyphase form: even outputs 2i and
 * odd outputs 2i+1 are each a short FIR over the extended low band Lx and
 * high band Hx (Lx[t] = the sample at virtual position 2t, Hx[t] at 2t+1,
 * after reflection), which the compiler vectorises. */
#define WSQ_EXT 9 /* > (longest half filter + 1) / 2 */
static void synth_row(const wsq_dec *d, float *row, long n, int inv, float *tmp)
{
	long nl = (n + 1) / 2, nh = n / 2, ne = nl, no = nh;
	const float *L = inv ? row + nh : row, *H = inv ? row : row + nl;
	float *Lx = tmp, *Hx = tmp + ne + 2 * WSQ_EXT, *oe = Hx + ne + 2 * WSQ_EXT, *oo = oe + ne;
	for (long t = -WSQ_EXT; t < ne + WSQ_EXT; t++) {
		Lx[t + WSQ_EXT] = L[reflect(2 * t, n) / 2];
		Hx[t + WSQ_EXT] = nh ? H[reflect(2 * t + 1, n) / 2] : 0.0f;
	}
	int a0 = d->losz / 2, a1 = d->hisz / 2;
	memset(oe, 0, (size_t)(ne + no) * sizeof *oe);
	for (int j = -a0; j <= a0; j++) {
		float g = d->lo[a0 + j];
		/* even j feeds even outputs at t = i - j/2; odd j odd outputs at
		 * t = i - (j-1)/2 */
		if (!(j & 1)) {
			const float *src = Lx + WSQ_EXT - j / 2;
			for (long i = 0; i < ne; i++)
				oe[i] += g * src[i];
		} else {
			const float *src = Lx + WSQ_EXT - (j - 1) / 2;
			for (long i = 0; i < no; i++)
				oo[i] += g * src[i];
		}
	}
	for (int j = -a1; j <= a1; j++) {
		float g = d->hi[a1 + j];
		/* odd j feeds even outputs at t = i - (j+1)/2; even j odd outputs
		 * at t = i - j/2 */
		if (j & 1) {
			const float *src = Hx + WSQ_EXT - (j + 1) / 2;
			for (long i = 0; i < ne; i++)
				oe[i] += g * src[i];
		} else {
			const float *src = Hx + WSQ_EXT - j / 2;
			for (long i = 0; i < no; i++)
				oo[i] += g * src[i];
		}
	}
	for (long i = 0; i < ne; i++)
		row[2 * i] = oe[i];
	for (long i = 0; i < no; i++)
		row[2 * i + 1] = oo[i];
}

static int reconstruct(wsq_dec *d)
{
	size_t n = (d->w > d->h ? d->w : d->h) + 2 * WSQ_PAD;
	size_t npx = (size_t)d->w * d->h, nline = 3 * n + 8 * WSQ_EXT;
	float *scratch = malloc(npx * sizeof *scratch), *line = malloc(nline * sizeof *line);
	uint32_t *idx = malloc(n * sizeof *idx);
	int rc = BH_OK;
	if (!scratch || !line || !idx)
		rc = bh_fail(BH_ENOMEM, "wsq: reconstruction buffers");
	for (int i = 0; rc == BH_OK && i < 20; i++)
		join_region(d, walk(d->w, d->h, wsq_nodes[i]), scratch, idx, line);
	if (scratch)
		bh_wipe_free(scratch, npx * sizeof *scratch);
	if (line)
		bh_wipe_free(line, nline * sizeof *line);
	free(idx);
	return rc;
}

/* ---- top level ------------------------------------------------------ */

static int parse_sof(wsq_dec *d, const bh_image_limits *lim)
{
	const uint8_t *end;
	uint32_t black, white, h, w, enc, sw;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	const uint8_t *save_end = d->end;
	d->end = end;
	if ((rc = rd_u8(d, &black)) != BH_OK || (rc = rd_u8(d, &white)) != BH_OK ||
	    (rc = rd_u16(d, &h)) != BH_OK || (rc = rd_u16(d, &w)) != BH_OK ||
	    (rc = rd_scaled16(d, &d->M)) != BH_OK || (rc = rd_scaled16(d, &d->R)) != BH_OK ||
	    (rc = rd_u8(d, &enc)) != BH_OK || (rc = rd_u16(d, &sw)) != BH_OK) {
		d->end = save_end;
		return rc;
	}
	d->end = save_end;
	d->p = end;
	if (w == 0 || h == 0)
		return bh_fail(BH_EFORMAT, "wsq: %ux%u image", w, h);
	if (w > lim->max_w || h > lim->max_h || (uint64_t)w * h > lim->max_pixels)
		return bh_fail(BH_ETOOBIG, "wsq: %ux%u exceeds the limit", w, h);
	if (!isfinite(d->M) || !isfinite(d->R) || d->R == 0.0f)
		return bh_fail(BH_EFORMAT, "wsq: bad shift/scale");
	d->w = w;
	d->h = h;
	for (int i = 0; i < WSQ_NCODED; i++)
		d->sub[i] = walk(w, h, wsq_paths[i]);
	d->img = calloc((size_t)w * h, sizeof *d->img);
	if (!d->img)
		return bh_fail(BH_ENOMEM, "wsq: cannot allocate %ux%u", w, h);
	d->have_sof = 1;
	return BH_OK;
}

static int parse_sob(wsq_dec *d)
{
	const uint8_t *end;
	uint32_t id;
	int rc = rd_segment(d, &end);
	if (rc != BH_OK)
		return rc;
	if (!d->have_sof || !d->have_dtt || !d->have_dqt)
		return bh_fail(BH_EFORMAT, "wsq: block before frame/transform/quantisation tables");
	if (d->p >= end)
		return bh_fail(BH_EFORMAT, "wsq: empty block header");
	id = *d->p;
	d->p = end;
	if (id > 7 || !d->huff[id].defined)
		return bh_fail(BH_EFORMAT, "wsq: block uses undefined Huffman table %u", id);
	return decode_block(d, &d->huff[id]);
}

static int decode_stream(wsq_dec *d, const bh_image_limits *lim)
{
	uint32_t m;
	int rc = rd_marker(d, &m);
	if (rc != BH_OK)
		return rc;
	if (m != WSQ_SOI)
		return bh_fail(BH_EFORMAT, "wsq: missing SOI");
	int blocks = 0;
	for (;;) {
		if ((rc = rd_marker(d, &m)) != BH_OK)
			return rc;
		switch (m) {
		case WSQ_DTT: rc = parse_dtt(d); break;
		case WSQ_DQT: rc = parse_dqt(d); break;
		case WSQ_DHT: rc = parse_dht(d); break;
		case WSQ_COM: rc = parse_com(d); break;
		case WSQ_DRI: rc = skip_segment(d); break;
		case WSQ_SOF:
			rc = d->have_sof ? bh_fail(BH_EFORMAT, "wsq: second frame header")
					 : parse_sof(d, lim);
			break;
		case WSQ_SOB:
			rc = parse_sob(d);
			blocks++;
			break;
		case WSQ_EOI:
			if (!blocks)
				return bh_fail(BH_EFORMAT, "wsq: no data blocks");
			cursor_settle(d);
			if (d->cur_band < WSQ_NCODED)
				return bh_fail(BH_EFORMAT, "wsq: data ends in subband %d", d->cur_band);
			return BH_OK;
		default: return bh_fail(BH_EFORMAT, "wsq: unexpected marker 0x%04x", m);
		}
		if (rc != BH_OK)
			return rc;
	}
}

int bh_wsq_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	if (!lim)
		lim = &bh_image_default_limits;
	memset(out, 0, sizeof *out);
	if (!buf)
		return bh_fail(BH_EINVAL, "wsq: no buffer");
	wsq_dec *d = calloc(1, sizeof *d);
	if (!d)
		return bh_fail(BH_ENOMEM, "wsq: decoder state");
	d->p = buf;
	d->end = buf + len;
	int rc = decode_stream(d, lim);
	if (rc == BH_OK)
		rc = reconstruct(d);
	if (rc == BH_OK)
		rc = bh_image_alloc(out, d->w, d->h, 1, lim);
	if (rc == BH_OK) {
		size_t n = (size_t)d->w * d->h;
		for (size_t i = 0; i < n; i++) {
			float t = d->img[i] * d->R + d->M + 0.5f;
			out->px[i] = t >= 255.0f ? 255 : t > 0.0f ? (uint8_t)t : 0; /* NaN -> 0 */
		}
		out->ppi = d->ppi;
	}
	if (d->img)
		bh_wipe_free(d->img, (size_t)d->w * d->h * sizeof *d->img);
	bh_wipe_free(d, sizeof *d);
	return rc;
}
