/* bh_iso19794.c - ISO/IEC 19794-2:2005 and 2011, INCITS 378-2004 and
 * 378-2009 finger minutiae records (see bh_iso19794.h). */
#include "bh_iso19794.h"

#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

typedef struct cur {
	const uint8_t *p, *end;
} cur;

static int get(cur *c, size_t n, uint32_t *v)
{
	*v = 0;
	if ((size_t)(c->end - c->p) < n)
		return bh_fail(BH_EFORMAT, "fmr: truncated");
	for (size_t i = 0; i < n; i++)
		*v = *v << 8 | *c->p++;
	return BH_OK;
}

/* Reads n big-endian fields of sz[i] bytes into x[i]. */
static int get_fields(cur *c, const int *sz, int n, uint32_t *x)
{
	for (int i = 0; i < n; i++) {
		int rc = get(c, (size_t)sz[i], &x[i]);
		if (rc != BH_OK)
			return rc;
	}
	return BH_OK;
}

static int skip(cur *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return bh_fail(BH_EFORMAT, "fmr: truncated");
	c->p += n;
	return BH_OK;
}

/* Big-endian u32 at p (the caller has checked the bounds). */
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* v's n minutiae of msize bytes each (6, or 5 without the quality, which
 * then reads 254: not reported). */
static int get_minutiae(cur *c, uint32_t n, size_t msize, bh_fmr_view *v)
{
	uint32_t a, b, ang, mq = 254;
	if ((size_t)(c->end - c->p) < msize * n)
		return bh_fail(BH_EFORMAT, "fmr: %u minutiae past the end", n);
	if (n && !(v->m = calloc(n, sizeof *v->m)))
		return bh_fail(BH_ENOMEM, "fmr: minutiae");
	for (uint32_t i = 0; i < n; i++) {
		get(c, 2, &a);
		get(c, 2, &b);
		get(c, 1, &ang);
		if (msize == 6)
			get(c, 1, &mq);
		v->m[i] = (bh_fmr_minutia){(uint16_t)(a & 0x3fff), (uint16_t)(b & 0x3fff),
					   (uint8_t)(a >> 14), (uint8_t)(b >> 14), (uint8_t)ang, (uint8_t)mq};
		v->n = i + 1;
	}
	return BH_OK;
}

void bh_fmr_free(bh_fmr *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->nviews; i++) {
		bh_wipe_free(r->views[i].m, r->views[i].n * sizeof *r->views[i].m);
		bh_wipe_free(r->views[i].ext, r->views[i].ext_len);
		bh_wipe_free(r->views[i].head, r->views[i].head_len);
	}
	free(r->views);
	free(r);
}

/* The view header of INCITS 378-2009: position, view, impression,
 * quality, quality algorithm, size and resolution; *n = minutiae. */
static int parse_view_head_2009(cur *c, bh_fmr_view *v, uint32_t *n)
{
	uint32_t x[11];
	static const int sz[11] = {1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1};
	int rc = get_fields(c, sz, 11, x);
	if (rc != BH_OK)
		return rc;
	v->position = (uint8_t)x[0];
	v->view = (uint8_t)x[1];
	v->impression = (uint8_t)x[2];
	v->quality = (uint8_t)x[3];
	v->qvendor = (uint16_t)x[4];
	v->qalg = (uint16_t)x[5];
	v->w = (uint16_t)x[6];
	v->h = (uint16_t)x[7];
	v->xres = (uint16_t)x[8];
	v->yres = (uint16_t)x[9];
	*n = x[10];
	return BH_OK;
}

static int parse_view_head(cur *c, bh_fmr_std std, bh_fmr_view *v, uint32_t *n)
{
	if (std == BH_FMR_INCITS2009)
		return parse_view_head_2009(c, v, n);
	uint32_t pos, vi, q;
	int rc;
	if ((rc = get(c, 1, &pos)) || (rc = get(c, 1, &vi)) || (rc = get(c, 1, &q)) || (rc = get(c, 1, n)))
		return rc;
	v->position = (uint8_t)pos;
	v->view = (uint8_t)(vi >> 4);
	v->impression = (uint8_t)(vi & 15);
	v->quality = (uint8_t)q;
	return BH_OK;
}

static int parse_view(cur *c, bh_fmr_std std, bh_fmr_view *v, int last)
{
	uint32_t n, el;
	int rc = parse_view_head(c, std, v, &n);
	if (rc != BH_OK || (rc = get_minutiae(c, n, 6, v)) != BH_OK)
		return rc;
	if ((rc = get(c, 2, &el)) != BH_OK)
		return rc;
	v->ext_len_field = (uint16_t)el;
	/* The last view's extended data runs to the end of the record, whatever
	 * its length field says (kept verbatim for a byte-exact round trip). */
	if (last)
		el = (uint32_t)(c->end - c->p);
	if ((size_t)(c->end - c->p) < el)
		return bh_fail(BH_EFORMAT, "fmr: extended data of %u bytes past the end", el);
	if (el) {
		v->ext = malloc(el);
		if (!v->ext)
			return bh_fail(BH_ENOMEM, "fmr: extended data");
		memcpy(v->ext, c->p, el);
		c->p += el;
		v->ext_len = el;
	}
	return BH_OK;
}

/* ---- ISO/IEC 19794-2:2011 ------------------------------------------------ */

/* Representation bytes after the header, before the minutiae: position,
 * representation number, x res, y res, impression, width, height, minutia
 * size | ending type, count. */
#define REP2011_FIXED 13
/* The shortest representation: length, date, technology, vendor, type,
 * quality count, the fixed part, no minutia, extended data length. */
#define REP2011_MIN (4 + 9 + 1 + 2 + 2 + 1 + REP2011_FIXED + 2)

/* 1 when a "030" record has the ISO 2011 structure (bh_iso19794.h). */
static int is_iso2011(const uint8_t *b, size_t len)
{
	if (len < 15 || be32(b + 8) != len || b[14] > 1)
		return 0;
	size_t off = 15, n = (size_t)b[12] << 8 | b[13];
	for (size_t i = 0; i < n; i++) {
		if (len - off < 4)
			return 0;
		uint32_t l = be32(b + off);
		if (l < REP2011_MIN || l > len - off)
			return 0;
		off += l;
	}
	return off == len;
}

/* The representation header from the capture date to the certification
 * records, kept verbatim; v->quality = the first quality record's score. */
static int parse_head_2011(cur *c, int cert, bh_fmr_view *v)
{
	const uint8_t *h0 = c->p;
	uint32_t nq, nc = 0;
	int rc;
	if ((rc = skip(c, 9 + 1 + 2 + 2)) || (rc = get(c, 1, &nq)) || (rc = skip(c, 5 * (size_t)nq)))
		return rc;
	if (cert && ((rc = get(c, 1, &nc)) || (rc = skip(c, 3 * (size_t)nc))))
		return rc;
	v->quality = nq ? h0[15] : 254;
	v->head_len = (uint32_t)(c->p - h0);
	v->head = malloc(v->head_len);
	if (!v->head)
		return bh_fail(BH_ENOMEM, "fmr: representation header");
	memcpy(v->head, h0, v->head_len);
	return BH_OK;
}

static int parse_fixed_2011(cur *c, bh_fmr_view *v, uint32_t *n)
{
	uint32_t x[9];
	static const int sz[9] = {1, 1, 2, 2, 1, 2, 2, 1, 1};
	int rc = get_fields(c, sz, 9, x);
	if (rc != BH_OK)
		return rc;
	v->position = (uint8_t)x[0];
	v->view = (uint8_t)x[1];
	v->xres = (uint16_t)x[2];
	v->yres = (uint16_t)x[3];
	v->impression = (uint8_t)x[4];
	v->w = (uint16_t)x[5];
	v->h = (uint16_t)x[6];
	v->mflags = (uint8_t)x[7];
	*n = x[8];
	if (v->mflags >> 4 != 5 && v->mflags >> 4 != 6)
		return bh_fail(BH_EFORMAT, "fmr: minutiae of %u bytes (5 or 6)", v->mflags >> 4);
	return BH_OK;
}

/* One representation; c ends where its length says. */
static int parse_rep_2011(cur *c, int cert, bh_fmr_view *v)
{
	uint32_t len, n, el;
	int rc = get(c, 4, &len);
	if (rc != BH_OK)
		return rc;
	if (len < REP2011_MIN || len - 4 > (size_t)(c->end - c->p))
		return bh_fail(BH_EFORMAT, "fmr: representation of %u bytes", len);
	cur r = {c->p, c->p + (len - 4)};
	c->p = r.end;
	if ((rc = parse_head_2011(&r, cert, v)) || (rc = parse_fixed_2011(&r, v, &n)) ||
	    (rc = get_minutiae(&r, n, v->mflags >> 4, v)) || (rc = get(&r, 2, &el)))
		return rc;
	if (el != (size_t)(r.end - r.p))
		return bh_fail(BH_EFORMAT, "fmr: extended data of %u bytes in %zu", el, (size_t)(r.end - r.p));
	v->ext_len_field = (uint16_t)el;
	if (el) {
		if (!(v->ext = malloc(el)))
			return bh_fail(BH_ENOMEM, "fmr: extended data");
		memcpy(v->ext, r.p, el);
		v->ext_len = el;
	}
	return BH_OK;
}

/* ISO 2011 after "FMR\0030\0" (is_iso2011 has checked the lengths). */
static int parse_header_2011(cur *c, bh_fmr *r)
{
	uint32_t rlen, nv, cert;
	int rc;
	r->std = BH_FMR_ISO2011;
	if ((rc = get(c, 4, &rlen)) || (rc = get(c, 2, &nv)) || (rc = get(c, 1, &cert)))
		return rc;
	r->nviews = nv;
	r->reserved = (uint8_t)cert;
	return BH_OK;
}

int bh_fmr_to_iso2011(bh_fmr *r)
{
	/* date unstated, technology, vendor, device type 0, no quality record */
	static const uint8_t head[15] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	if (!r || r->std != BH_FMR_ISO2005)
		return bh_fail(BH_EINVAL, "fmr: only an ISO 2005 record turns into ISO 2011");
	for (uint32_t i = 0; i < r->nviews; i++)
		if (!(r->views[i].head = malloc(sizeof head))) {
			for (uint32_t k = 0; k < i; k++) {
				free(r->views[k].head);
				r->views[k].head = NULL;
			}
			return bh_fail(BH_ENOMEM, "fmr: representation header");
		}
	for (uint32_t i = 0; i < r->nviews; i++) {
		bh_fmr_view *v = &r->views[i];
		memcpy(v->head, head, sizeof head);
		v->head_len = sizeof head;
		v->w = r->w;
		v->h = r->h;
		v->xres = r->xres;
		v->yres = r->yres;
		v->mflags = 6 << 4; /* 6-byte minutiae; ending type 0, as ISO 2005 places endings */
		v->ext_len_field = (uint16_t)v->ext_len;
	}
	r->std = BH_FMR_ISO2011;
	r->reserved = 0; /* no certification records */
	return BH_OK;
}

/* INCITS 378-2009 after "FMR\0030\0": length u32, product id u32, device
 * u16 (hdr21: certification u8, device u16), views u8, reserved u8. */
static int parse_header_2009(cur *c, bh_fmr *r, size_t len, int hdr21)
{
	uint32_t rlen, cert = 0, dev, nv, rsv;
	int rc;
	r->std = BH_FMR_INCITS2009;
	r->hdr21 = (uint8_t)hdr21;
	if ((rc = get(c, 4, &rlen)) || (rc = get(c, 4, &r->product_id)) || (hdr21 && (rc = get(c, 1, &cert))) ||
	    (rc = get(c, 2, &dev)) || (rc = get(c, 1, &nv)) || (rc = get(c, 1, &rsv)))
		return rc;
	r->cert = (uint8_t)cert;
	if (rlen != len)
		return bh_fail(BH_EFORMAT, "fmr: record length %u, buffer %zu (version 030, neither "
				       "ISO 19794-2:2011 nor INCITS 378-2009)", rlen, len);
	r->device = (uint16_t)dev;
	r->nviews = nv;
	r->reserved = (uint8_t)rsv;
	return BH_OK;
}

static int parse_header(cur *c, bh_fmr *r, size_t len, int hdr21)
{
	uint32_t rlen, x;
	int rc;
	if (len < 8 || memcmp(c->p, "FMR\0", 4) != 0)
		return bh_fail(BH_EFORMAT, "fmr: not a finger minutiae record");
	int v2009 = !memcmp(c->p + 4, "030\0", 4), am1 = !memcmp(c->p + 4, "035\0", 4);
	if (!v2009 && !am1 && memcmp(c->p + 4, " 20\0", 4) != 0)
		return bh_fail(BH_EUNSUPPORTED, "fmr: version '%.3s' (only \" 20\", \"030\" and \"035\")",
			       (const char *)c->p + 4);
	c->p += 8;
	if (v2009 && is_iso2011(c->p - 8, len))
		return parse_header_2011(c, r);
	if (v2009 || am1) {
		r->am1 = (uint8_t)am1;
		return parse_header_2009(c, r, len, hdr21);
	}
	/* ISO 2005 has a 4-byte length equal to the buffer length; INCITS a
	 * 2-byte one (0 announces a 4-byte length). */
	if (len >= 12 && be32(c->p) == len) {
		r->std = BH_FMR_ISO2005;
		get(c, 4, &rlen);
	} else {
		r->std = BH_FMR_INCITS2004;
		if ((rc = get(c, 2, &rlen)) != BH_OK)
			return rc;
		if (rlen == 0) {
			if ((rc = get(c, 4, &rlen)) != BH_OK)
				return rc;
			/* the 6-byte form is for records the 2-byte one cannot state;
			 * bh_fmr_write picks the form from the size, so accepting it
			 * for a smaller record would break the byte-exact round trip */
			if (rlen <= 0xffffu + 4)
				return bh_fail(BH_EFORMAT, "fmr: 6-byte length form for a %u-byte record",
					       rlen);
		}
		if ((rc = get(c, 4, &r->product_id)) != BH_OK)
			return rc;
	}
	if (rlen != len)
		return bh_fail(BH_EFORMAT, "fmr: record length %u, buffer %zu", rlen, len);
	if ((rc = get(c, 2, &x)) != BH_OK)
		return rc;
	r->device = (uint16_t)x;
	uint16_t *f[4] = {&r->w, &r->h, &r->xres, &r->yres};
	for (int i = 0; i < 4; i++) {
		if ((rc = get(c, 2, &x)) != BH_OK)
			return rc;
		*f[i] = (uint16_t)x;
	}
	if ((rc = get(c, 1, &r->nviews)) != BH_OK || (rc = get(c, 1, &x)) != BH_OK)
		return rc;
	r->reserved = (uint8_t)x;
	return BH_OK;
}

/* The record read with the INCITS 378-2009 header form hdr21 (ignored by
 * the other standards). */
static int parse_form(const uint8_t *buf, size_t len, int hdr21, bh_fmr **out)
{
	*out = NULL;
	bh_fmr *r = calloc(1, sizeof *r);
	if (!r)
		return bh_fail(BH_ENOMEM, "fmr: record");
	cur c = {buf, buf + len};
	int rc = parse_header(&c, r, len, hdr21);
	uint32_t nv = r->nviews;
	r->nviews = 0;
	if (rc == BH_OK && nv) {
		r->views = calloc(nv, sizeof *r->views);
		if (!r->views)
			rc = bh_fail(BH_ENOMEM, "fmr: views");
	}
	for (uint32_t i = 0; rc == BH_OK && i < nv; i++) {
		r->nviews = i + 1;
		rc = r->std == BH_FMR_ISO2011 ? parse_rep_2011(&c, r->reserved, &r->views[i])
					      : parse_view(&c, r->std, &r->views[i], i + 1 == nv);
	}
	if (rc == BH_OK && c.p != c.end)
		rc = bh_fail(BH_EFORMAT, "fmr: %zu bytes after the last view", (size_t)(c.end - c.p));
	if (rc != BH_OK) {
		bh_fmr_free(r);
		return rc;
	}
	*out = r;
	return BH_OK;
}

/* 1 when the last view's extended data length states exactly the bytes
 * that were left for it (no slack taken in). */
static int ends_exactly(const bh_fmr *r)
{
	return !r->nviews || r->views[r->nviews - 1].ext_len == r->views[r->nviews - 1].ext_len_field;
}

int bh_fmr_parse(const uint8_t *buf, size_t len, bh_fmr **out)
{
	if (!out || !buf)
		return bh_fail(BH_EINVAL, "fmr: bad arguments");
	*out = NULL;
	bh_fmr *r21 = NULL, *r20;
	/* an INCITS 378-2009 record: the 21-byte header form first, so that the
	 * 20-byte form's message is the one left when neither reads */
	const int incits2009 = len >= 8 && !memcmp(buf, "FMR\0", 4) &&
			       (!memcmp(buf + 4, "035\0", 4) || (!memcmp(buf + 4, "030\0", 4) && !is_iso2011(buf, len)));
	if (incits2009 && parse_form(buf, len, 1, &r21) == BH_ENOMEM)
		return BH_ENOMEM;
	int rc = parse_form(buf, len, 0, &r20);
	if (rc == BH_ENOMEM || (r21 && rc == BH_OK && (ends_exactly(r20) || !ends_exactly(r21)))) {
		bh_fmr_free(r21);
		r21 = NULL;
	}
	if (r21) {
		bh_fmr_free(r20);
		*out = r21;
		return BH_OK;
	}
	if (rc == BH_OK)
		*out = r20;
	return rc;
}

/* Bytes of one ISO 2011 representation, its length field included. */
static size_t rep_size_2011(const bh_fmr_view *v)
{
	return 4 + (size_t)v->head_len + REP2011_FIXED + (size_t)(v->mflags >> 4) * v->n + 2 + v->ext_len;
}

static size_t record_size(const bh_fmr *r, size_t *hdr)
{
	if (r->std == BH_FMR_ISO2011) {
		size_t n = *hdr = 15;
		for (uint32_t i = 0; i < r->nviews; i++)
			n += rep_size_2011(&r->views[i]);
		return n;
	}
	size_t body = 0, vhead = r->std == BH_FMR_INCITS2009 ? 17 : 4;
	for (uint32_t i = 0; i < r->nviews; i++)
		body += vhead + 6 * (size_t)r->views[i].n + 2 + r->views[i].ext_len;
	if (r->std == BH_FMR_INCITS2009) {
		*hdr = 20 + (r->hdr21 != 0);
	} else if (r->std == BH_FMR_ISO2005) {
		*hdr = 24;
	} else {
		*hdr = 26;
		if (body + 26 > 0xffff)
			*hdr = 30;
	}
	return *hdr + body;
}

static uint8_t *put(uint8_t *p, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

/* The ISO 2005 / INCITS 2004 header after "FMR\0 20\0". */
static uint8_t *put_header(uint8_t *p, const bh_fmr *r, size_t hdr, size_t n)
{
	if (r->std == BH_FMR_ISO2005) {
		p = put(p, (uint32_t)n, 4);
	} else {
		if (hdr == 30) {
			p = put(p, 0, 2);
			p = put(p, (uint32_t)n, 4);
		} else {
			p = put(p, (uint32_t)n, 2);
		}
		p = put(p, r->product_id, 4);
	}
	p = put(p, r->device, 2);
	p = put(p, r->w, 2);
	p = put(p, r->h, 2);
	p = put(p, r->xres, 2);
	p = put(p, r->yres, 2);
	p = put(p, r->nviews, 1);
	p = put(p, r->reserved, 1);
	return p;
}

static uint8_t *put_view_head(uint8_t *p, const bh_fmr_view *v)
{
	p = put(p, v->position, 1);
	p = put(p, (uint32_t)(v->view & 15) << 4 | (v->impression & 15), 1);
	p = put(p, v->quality, 1);
	return put(p, v->n, 1);
}

static uint8_t *put_view_head_2009(uint8_t *p, const bh_fmr_view *v)
{
	p = put(p, v->position, 1);
	p = put(p, v->view, 1);
	p = put(p, v->impression, 1);
	p = put(p, v->quality, 1);
	p = put(p, v->qvendor, 2);
	p = put(p, v->qalg, 2);
	p = put(p, v->w, 2);
	p = put(p, v->h, 2);
	p = put(p, v->xres, 2);
	p = put(p, v->yres, 2);
	return put(p, v->n, 1);
}

/* v's minutiae, 6 bytes each, or 5 without the quality. */
static uint8_t *put_minutiae(uint8_t *p, const bh_fmr_view *v, int with_quality)
{
	for (uint32_t k = 0; k < v->n; k++) {
		const bh_fmr_minutia *m = &v->m[k];
		p = put(p, (uint32_t)(m->type & 3) << 14 | (m->x & 0x3fff), 2);
		p = put(p, (uint32_t)(m->rsv & 3) << 14 | (m->y & 0x3fff), 2);
		p = put(p, m->angle, 1);
		if (with_quality)
			p = put(p, m->quality, 1);
	}
	return p;
}

/* One ISO 2011 representation (its size checked by bh_fmr_write). */
static uint8_t *put_rep_2011(uint8_t *p, const bh_fmr_view *v)
{
	p = put(p, (uint32_t)rep_size_2011(v), 4);
	memcpy(p, v->head, v->head_len);
	p += v->head_len;
	p = put(p, v->position, 1);
	p = put(p, v->view, 1);
	p = put(p, v->xres, 2);
	p = put(p, v->yres, 2);
	p = put(p, v->impression, 1);
	p = put(p, v->w, 2);
	p = put(p, v->h, 2);
	p = put(p, v->mflags, 1);
	p = put(p, v->n, 1);
	p = put_minutiae(p, v, v->mflags >> 4 == 6);
	p = put(p, v->ext_len, 2);
	if (v->ext_len)
		memcpy(p, v->ext, v->ext_len);
	return p + v->ext_len;
}

/* What bh_fmr_write can serialise: counts within their fields, and for
 * ISO 2011 a header and a minutia size to write. */
static int check_writable(const bh_fmr *r)
{
	const int iso2011 = r->std == BH_FMR_ISO2011;
	if (r->nviews > (iso2011 ? 0xffffu : 255u))
		return bh_fail(BH_EINVAL, "fmr: %u views", r->nviews);
	for (uint32_t i = 0; i < r->nviews; i++) {
		const bh_fmr_view *v = &r->views[i];
		if (v->n > 255 || v->ext_len > 0xffff ||
		    ((i + 1 < r->nviews || iso2011) && v->ext_len != v->ext_len_field) ||
		    (iso2011 && (!v->head || v->head_len < 15 || (v->mflags >> 4 != 5 && v->mflags >> 4 != 6))))
			return bh_fail(BH_EINVAL, "fmr: view %u too large or inconsistent", i);
	}
	return BH_OK;
}

int bh_fmr_write(const bh_fmr *r, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!r)
		return bh_fail(BH_EINVAL, "fmr: bad record");
	int rc = check_writable(r);
	if (rc != BH_OK)
		return rc;
	size_t hdr, n = record_size(r, &hdr);
	if (n > 0xffffffffu)
		return bh_fail(BH_ETOOBIG, "fmr: record too large");
	uint8_t *b = malloc(n), *p = b;
	if (!b)
		return bh_fail(BH_ENOMEM, "fmr: output");
	memcpy(p, r->std == BH_FMR_INCITS2009 && r->am1 ? "FMR\0" "035\0"
		  : r->std == BH_FMR_INCITS2009 || r->std == BH_FMR_ISO2011 ? "FMR\0" "030\0"
									 : "FMR\0 20\0", 8);
	p += 8;
	if (r->std == BH_FMR_ISO2011) {
		p = put(p, (uint32_t)n, 4);
		p = put(p, r->nviews, 2);
		p = put(p, r->reserved, 1);
		for (uint32_t i = 0; i < r->nviews; i++)
			p = put_rep_2011(p, &r->views[i]);
		*buf = b;
		*len = n;
		return BH_OK;
	}
	if (r->std == BH_FMR_INCITS2009) {
		p = put(p, (uint32_t)n, 4);
		p = put(p, r->product_id, 4);
		if (r->hdr21)
			p = put(p, r->cert, 1);
		p = put(p, r->device, 2);
		p = put(p, r->nviews, 1);
		p = put(p, r->reserved, 1);
	} else {
		p = put_header(p, r, hdr, n);
	}
	for (uint32_t i = 0; i < r->nviews; i++) {
		const bh_fmr_view *v = &r->views[i];
		p = r->std == BH_FMR_INCITS2009 ? put_view_head_2009(p, v) : put_view_head(p, v);
		p = put_minutiae(p, v, 1);
		p = put(p, v->ext_len_field, 2);
		if (v->ext_len) {
			memcpy(p, v->ext, v->ext_len);
			p += v->ext_len;
		}
	}
	*buf = b;
	*len = n;
	return BH_OK;
}
