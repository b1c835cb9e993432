/* bh_an2k.c - ANSI/NIST-ITL transaction reader (see bh_an2k.h). */
#include "bh_an2k.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bh_err.h"
#include "bh_mem.h"

#define FS 0x1c
#define GS 0x1d
#define RS 0x1e
#define US 0x1f

/* A field value: bytes [p, p+n). */
typedef struct span {
	const uint8_t *p;
	size_t n;
} span;

/* Parses a bounded unsigned decimal; -1 if none or too large. */
static long span_long(span s)
{
	long v = 0;
	size_t i = 0;
	while (i < s.n && s.p[i] == ' ')
		i++;
	if (i >= s.n || s.p[i] < '0' || s.p[i] > '9')
		return -1;
	for (; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
		v = v * 10 + (s.p[i] - '0');
		if (v > 1000000000L)
			return -1;
	}
	return v;
}

/* Decimal with an optional fraction ("19.69"); < 0 if none. */
static double span_double(span s)
{
	long ip = span_long(s);
	if (ip < 0)
		return -1.0;
	size_t i = 0;
	while (i < s.n && (s.p[i] == ' ' || (s.p[i] >= '0' && s.p[i] <= '9')))
		i++;
	double v = (double)ip, scale = 0.1;
	if (i < s.n && s.p[i] == '.')
		for (i++; i < s.n && s.p[i] >= '0' && s.p[i] <= '9'; i++, scale /= 10)
			v += (s.p[i] - '0') * scale;
	return v;
}

/* The k-th piece of s separated by sep (k from 0); empty span if absent. */
static span span_item(span s, uint8_t sep, unsigned k)
{
	size_t start = 0;
	for (size_t i = 0; i <= s.n; i++) {
		if (i == s.n || s.p[i] == sep) {
			if (k == 0)
				return (span){s.p + start, i - start};
			k--;
			start = i + 1;
		}
	}
	return (span){s.p + s.n, 0};
}

static unsigned span_count(span s, uint8_t sep)
{
	if (s.n == 0)
		return 0;
	unsigned c = 1;
	for (size_t i = 0; i < s.n; i++)
		c += s.p[i] == sep;
	return c;
}

static void span_str(span s, char *dst, size_t cap)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = 0;
}

static uint32_t ppmm_to_ppi(double ppmm)
{
	return ppmm > 0 && ppmm < 1000 ? (uint32_t)lrint(ppmm * 25.4) : 0;
}

/* ---- tagged records -------------------------------------------------- */

/* Reads "<digits>.<digits>:" at p; returns bytes consumed or 0. */
static size_t parse_tag(const uint8_t *p, size_t n, int *type, int *field)
{
	size_t i = 0;
	long t = 0, f = 0;
	while (i < n && i < 3 && p[i] >= '0' && p[i] <= '9')
		t = t * 10 + (p[i++] - '0');
	if (i == 0 || i >= n || p[i] != '.')
		return 0;
	size_t j = ++i;
	while (i < n && i - j < 4 && p[i] >= '0' && p[i] <= '9')
		f = f * 10 + (p[i++] - '0');
	if (i == j || i >= n || p[i] != ':')
		return 0;
	*type = (int)t;
	*field = (int)f;
	return i + 1;
}

/* Length of the tagged record starting at p (its field .001). */
static int tagged_len(const uint8_t *p, size_t n, int want_type, size_t *len)
{
	int t, f;
	size_t k = parse_tag(p, n, &t, &f);
	if (!k || f != 1)
		return bh_fail(BH_EFORMAT, "an2k: record does not start with a length field");
	if (want_type >= 0 && t != want_type)
		return bh_fail(BH_EFORMAT, "an2k: expected a type-%d record, found type %d", want_type, t);
	size_t e = k;
	while (e < n && p[e] != GS && p[e] != FS)
		e++;
	long v = span_long((span){p + k, e - k});
	if (v < (long)(k + 2) || (size_t)v > n)
		return bh_fail(BH_EFORMAT, "an2k: type-%d record length %ld past the end", t, v);
	if (p[v - 1] != FS)
		return bh_fail(BH_EFORMAT, "an2k: type-%d record does not end with FS", t);
	*len = (size_t)v;
	return BH_OK;
}

typedef int (*field_fn)(void *ctx, int field, span v);

/* Calls fn for each field of a tagged record [p, p+n) (n from tagged_len). */
static int tagged_fields(const uint8_t *p, size_t n, field_fn fn, void *ctx)
{
	size_t i = 0, end = n - 1; /* the final FS */
	while (i < end) {
		int t, f;
		size_t k = parse_tag(p + i, end - i, &t, &f);
		if (!k)
			return bh_fail(BH_EFORMAT, "an2k: bad field tag at offset %zu", i);
		i += k;
		size_t e;
		if (f == 999) {
			e = end; /* binary image data runs to the end of the record */
		} else {
			e = i;
			while (e < end && p[e] != GS)
				e++;
		}
		int rc = fn(ctx, f, (span){p + i, e - i});
		if (rc != BH_OK)
			return rc;
		i = e + (e < end);
	}
	return BH_OK;
}

/* ---- record 1 ------------------------------------------------------- */

typedef struct rec1_ctx {
	bh_an2k *a;
	span cnt;
} rec1_ctx;

static int rec1_field(void *vctx, int field, span v)
{
	rec1_ctx *c = vctx;
	switch (field) {
	case 2: span_str(v, c->a->version, sizeof c->a->version); break;
	case 3: c->cnt = v; break;
	case 4: span_str(v, c->a->tot, sizeof c->a->tot); break;
	case 11: c->a->nsr_ppi = ppmm_to_ppi(span_double(v)); break;
	case 12: c->a->ntr_ppi = ppmm_to_ppi(span_double(v)); break;
	default: break;
	}
	return BH_OK;
}

/* ---- image records -------------------------------------------------- */

static bh_an2k_comp comp_from_name(span v)
{
	char s[16];
	span_str(v, s, sizeof s);
	for (char *q = s; *q; q++)
		if (*q >= 'a' && *q <= 'z')
			*q = (char)(*q - 'a' + 'A');
	if (!strcmp(s, "NONE"))
		return BH_AN2K_COMP_NONE;
	if (!strncmp(s, "WSQ", 3))
		return BH_AN2K_COMP_WSQ;
	if (!strcmp(s, "JPEGB") || !strcmp(s, "JPEG"))
		return BH_AN2K_COMP_JPEG;
	if (!strcmp(s, "JPEGL"))
		return BH_AN2K_COMP_JPEGL;
	if (!strcmp(s, "JP2"))
		return BH_AN2K_COMP_JP2;
	if (!strcmp(s, "JP2L"))
		return BH_AN2K_COMP_JP2L;
	if (!strcmp(s, "PNG"))
		return BH_AN2K_COMP_PNG;
	return BH_AN2K_COMP_OTHER;
}

const char *bh_an2k_comp_name(bh_an2k_comp c)
{
	static const char *const n[] = {"none", "wsq", "jpeg", "jpegl", "jp2", "jp2l", "png", "other"};
	return (unsigned)c < sizeof n / sizeof n[0] ? n[c] : "other";
}

typedef struct img_ctx {
	bh_an2k_image im;
	long slc, hps;
	int have_data;
} img_ctx;

static int img_field(void *vctx, int field, span v)
{
	img_ctx *c = vctx;
	long x;
	switch (field) {
	case 2: c->im.idc = (int)span_long(v); break;
	case 3: /* IMP; Type-10: IMT */
		if (c->im.record_type == 10)
			c->im.face = v.n == 4 && !strncasecmp((const char *)v.p, "FACE", 4);
		else
			c->im.impression = (int)span_long(span_item(v, RS, 0));
		break;
	case 6: x = span_long(v); c->im.w = x > 0 ? (uint32_t)x : 0; break;
	case 7: x = span_long(v); c->im.h = x > 0 ? (uint32_t)x : 0; break;
	case 8: c->slc = span_long(v); break;
	case 9: c->hps = span_long(v); break;
	case 11: c->im.comp = comp_from_name(v); break;
	case 12: x = span_long(v); c->im.bpx = x > 0 ? (uint32_t)x : 0; break;
	case 13: /* FGP (13, 14) / PLP (15): first position; Type-10: SAP */
		if (c->im.record_type == 10)
			break;
		x = span_long(span_item(span_item(v, RS, 0), US, 0));
		c->im.position = x >= 0 && x <= 255 ? (int)x : 0;
		break;
	case 999:
		c->im.data = v.p;
		c->im.len = v.n;
		c->have_data = 1;
		break;
	default: break;
	}
	return BH_OK;
}

static int add_image(bh_an2k *a, const bh_an2k_image *im)
{
	bh_an2k_image *n = realloc(a->images, (a->nimages + 1) * sizeof *n);
	if (!n)
		return bh_fail(BH_ENOMEM, "an2k: images");
	a->images = n;
	a->images[a->nimages++] = *im;
	return BH_OK;
}

static int tagged_image(bh_an2k *a, uint32_t ri, const uint8_t *p, size_t n, int type)
{
	img_ctx c;
	memset(&c, 0, sizeof c);
	c.im.record_type = type;
	c.im.record = ri;
	c.im.bpx = 8;
	c.slc = -1;
	int rc = tagged_fields(p, n, img_field, &c);
	if (rc != BH_OK)
		return rc;
	if (!c.have_data || c.im.w == 0 || c.im.h == 0)
		return bh_fail(BH_EFORMAT, "an2k: type-%d record without image size or data", type);
	if (c.slc == 1 && c.hps > 0 && c.hps < 100000)
		c.im.ppi = (uint32_t)c.hps;
	else if (c.slc == 2 && c.hps > 0 && c.hps < 100000)
		c.im.ppi = (uint32_t)lrint(c.hps * 2.54);
	return add_image(a, &c.im);
}

static int binary_image(bh_an2k *a, uint32_t ri, const uint8_t *p, size_t n, int type)
{
	static const bh_an2k_comp gca[] = {BH_AN2K_COMP_NONE, BH_AN2K_COMP_WSQ, BH_AN2K_COMP_JPEG,
					    BH_AN2K_COMP_JPEGL, BH_AN2K_COMP_JP2, BH_AN2K_COMP_JP2L,
					    BH_AN2K_COMP_PNG};
	bh_an2k_image im;
	memset(&im, 0, sizeof im);
	im.record_type = type;
	im.record = ri;
	im.idc = p[4];
	im.impression = p[5];
	im.position = p[6] == 255 ? 0 : p[6];
	uint32_t isr = p[12];
	im.w = (uint32_t)p[13] << 8 | p[14];
	im.h = (uint32_t)p[15] << 8 | p[16];
	im.comp = p[17] < sizeof gca / sizeof gca[0] ? gca[p[17]] : BH_AN2K_COMP_OTHER;
	im.bpx = 8;
	if (isr == 0)
		im.ppi = type == 3 ? (a->ntr_ppi ? a->ntr_ppi : 250) : 500;
	else
		im.ppi = a->nsr_ppi ? a->nsr_ppi : a->ntr_ppi;
	im.data = p + 18;
	im.len = n - 18;
	if (im.w == 0 || im.h == 0)
		return bh_fail(BH_EFORMAT, "an2k: type-%d record with a %ux%u image", type, im.w, im.h);
	return add_image(a, &im);
}

/* ---- type 9 --------------------------------------------------------- */

typedef struct min_ctx {
	int idc, position;
	int std;      /* 9.004 == "S" */
	span mrc;     /* 9.012 */
	span efs;     /* 9.331 */
} min_ctx;

static int min_field(void *vctx, int field, span v)
{
	min_ctx *c = vctx;
	switch (field) {
	case 2: c->idc = (int)span_long(v); break;
	case 4: c->std = v.n >= 1 && v.p[0] == 'S'; break;
	case 6: {
		long x = span_long(span_item(span_item(v, RS, 0), US, 0));
		c->position = x >= 0 && x <= 255 ? (int)x : 0;
		break;
	}
	case 12: c->mrc = v; break;
	case 302: /* EFS finger/palm/print position, used when 9.006 is absent */
		if (!c->position) {
			long x = span_long(span_item(span_item(v, RS, 0), US, 0));
			c->position = x >= 0 && x <= 255 ? (int)x : 0;
		}
		break;
	case 331: c->efs = v; break;
	default: break;
	}
	return BH_OK;
}

static int parse_digits(span s, size_t off, size_t n, int32_t *v)
{
	if (off + n > s.n)
		return -1;
	int32_t x = 0;
	for (size_t i = off; i < off + n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		x = x * 10 + (s.p[i] - '0');
	}
	*v = x;
	return 0;
}

/* 9.012 subfield: idx ^ XXXXYYYYTTT ^ quality ^ type ^ ... */
static int std_minutia(span sf, bh_an2k_minutia *m)
{
	span pos = span_item(sf, US, 1);
	if (pos.n != 11 || parse_digits(pos, 0, 4, &m->x) || parse_digits(pos, 4, 4, &m->y) ||
	    parse_digits(pos, 8, 3, &m->theta) || m->theta >= 360)
		return bh_fail(BH_EFORMAT, "an2k: bad 9.012 minutia position");
	long q = span_long(span_item(sf, US, 2));
	m->quality = q >= 0 && q <= 63 ? (uint8_t)q : 0;
	span t = span_item(sf, US, 3);
	m->type = t.n ? (char)t.p[0] : 'D';
	return BH_OK;
}

/* 9.331 subfield: X ^ Y ^ theta ^ type */
static int efs_minutia(span sf, bh_an2k_minutia *m)
{
	long x = span_long(span_item(sf, US, 0)), y = span_long(span_item(sf, US, 1));
	long t = span_long(span_item(sf, US, 2));
	if (x < 0 || y < 0 || t < 0 || t > 360 || x > 10000000 || y > 10000000)
		return bh_fail(BH_EFORMAT, "an2k: bad 9.331 minutia");
	m->x = (int32_t)x;
	m->y = (int32_t)y;
	m->theta = (int32_t)(t % 360); /* some writers use 360 for 0 */
	m->quality = 0;
	span ty = span_item(sf, US, 3);
	m->type = ty.n ? (char)ty.p[0] : 'X';
	return BH_OK;
}

static int add_minset(bh_an2k *a, uint32_t ri, const min_ctx *c, span v, bh_an2k_minfmt fmt)
{
	unsigned n = span_count(v, RS);
	if (n == 0)
		return BH_OK;
	bh_an2k_minset s = {ri, c->idc, c->position, fmt, 0, NULL};
	s.m = calloc(n, sizeof *s.m);
	if (!s.m)
		return bh_fail(BH_ENOMEM, "an2k: minutiae");
	for (unsigned i = 0; i < n; i++) {
		span sf = span_item(v, RS, i);
		if (sf.n == 0)
			continue; /* tolerate a trailing separator */
		int rc = fmt == BH_AN2K_MIN_STD ? std_minutia(sf, &s.m[s.n]) : efs_minutia(sf, &s.m[s.n]);
		if (rc != BH_OK) {
			free(s.m);
			return rc;
		}
		s.n++;
	}
	bh_an2k_minset *ns = realloc(a->minsets, (a->nminsets + 1) * sizeof *ns);
	if (!ns) {
		free(s.m);
		return bh_fail(BH_ENOMEM, "an2k: minutiae sets");
	}
	a->minsets = ns;
	a->minsets[a->nminsets++] = s;
	return BH_OK;
}

static int type9(bh_an2k *a, uint32_t ri, const uint8_t *p, size_t n)
{
	min_ctx c;
	memset(&c, 0, sizeof c);
	int rc = tagged_fields(p, n, min_field, &c);
	if (rc == BH_OK && c.std && c.mrc.n)
		rc = add_minset(a, ri, &c, c.mrc, BH_AN2K_MIN_STD);
	if (rc == BH_OK && c.efs.n)
		rc = add_minset(a, ri, &c, c.efs, BH_AN2K_MIN_EFS);
	return rc;
}

static int ignore_field(void *ctx, int field, span v)
{
	(void)ctx;
	(void)field;
	(void)v;
	return BH_OK;
}

/* ---- transaction ---------------------------------------------------- */

static int add_record(bh_an2k *a, int type, int idc, size_t off, size_t len)
{
	a->records[a->nrecords++] = (bh_an2k_record){type, idc, off, len};
	return BH_OK;
}

static int parse_record(bh_an2k *a, const uint8_t *buf, size_t len, size_t *pos, int type, int idc)
{
	const uint8_t *p = buf + *pos;
	size_t n = len - *pos, rlen;
	uint32_t ri = a->nrecords;
	int rc;
	if (type >= 3 && type <= 8) {
		if (n < 4)
			return bh_fail(BH_EFORMAT, "an2k: truncated type-%d record", type);
		rlen = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		size_t hdr = type == 7 ? 5 : type == 8 ? 12 : 18;
		if (rlen < hdr || rlen > n)
			return bh_fail(BH_EFORMAT, "an2k: type-%d record length %zu (have %zu)", type, rlen, n);
		add_record(a, type, p[4], *pos, rlen);
		rc = (type == 3 || type == 4) ? binary_image(a, ri, p, rlen, type) : BH_OK;
	} else {
		if ((rc = tagged_len(p, n, type, &rlen)) != BH_OK)
			return rc;
		add_record(a, type, idc, *pos, rlen);
		if (type == 9)
			rc = type9(a, ri, p, rlen);
		else if (type == 10 || type == 13 || type == 14 || type == 15)
			rc = tagged_image(a, ri, p, rlen, type);
		else
			rc = tagged_fields(p, rlen, ignore_field, NULL); /* validate the structure */
	}
	*pos += rlen;
	return rc;
}

static int parse_all(bh_an2k *a, const uint8_t *buf, size_t len)
{
	size_t pos = 0, rlen;
	rec1_ctx c1 = {a, {NULL, 0}};
	int rc = tagged_len(buf, len, 1, &rlen);
	if (rc == BH_OK)
		rc = tagged_fields(buf, rlen, rec1_field, &c1);
	if (rc != BH_OK)
		return rc;
	unsigned nsub = span_count(c1.cnt, RS);
	if (nsub == 0)
		return bh_fail(BH_EFORMAT, "an2k: no 1.003 content field");
	long declared = span_long(span_item(span_item(c1.cnt, RS, 0), US, 1));
	if (declared < 0 || (unsigned long)declared != nsub - 1 || nsub > BH_AN2K_MAX_RECORDS)
		return bh_fail(BH_EFORMAT, "an2k: 1.003 declares %ld records, lists %u", declared, nsub - 1);
	a->records = calloc(nsub, sizeof *a->records);
	if (!a->records)
		return bh_fail(BH_ENOMEM, "an2k: records");
	add_record(a, 1, 0, 0, rlen);
	pos = rlen;
	for (unsigned i = 1; i < nsub; i++) {
		span sf = span_item(c1.cnt, RS, i);
		long type = span_long(span_item(sf, US, 0)), idc = span_long(span_item(sf, US, 1));
		if (type < 2 || type > 99)
			return bh_fail(BH_EFORMAT, "an2k: record %u has type %ld", i, type);
		if (pos >= len)
			return bh_fail(BH_EFORMAT, "an2k: record %u of %u missing (truncated)", i, nsub - 1);
		if ((rc = parse_record(a, buf, len, &pos, (int)type, (int)idc)) != BH_OK)
			return rc;
	}
	if (pos != len)
		return bh_fail(BH_EFORMAT, "an2k: %zu bytes after the last record", len - pos);
	return BH_OK;
}

int bh_an2k_parse(const uint8_t *buf, size_t len, bh_an2k **out)
{
	if (!out)
		return bh_fail(BH_EINVAL, "an2k: no output");
	*out = NULL;
	if (!buf)
		return bh_fail(BH_EINVAL, "an2k: no buffer");
	bh_an2k *a = calloc(1, sizeof *a);
	if (!a)
		return bh_fail(BH_ENOMEM, "an2k: transaction");
	int rc = parse_all(a, buf, len);
	if (rc != BH_OK) {
		bh_an2k_free(a);
		return rc;
	}
	*out = a;
	return BH_OK;
}

void bh_an2k_free(bh_an2k *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->nminsets; i++)
		bh_wipe_free(a->minsets[i].m, a->minsets[i].n * sizeof *a->minsets[i].m);
	free(a->minsets);
	free(a->images);
	free(a->records);
	free(a);
}

/* ---- decoding and conversion ---------------------------------------- */

static int decode_as(const bh_an2k_image *im, const bh_image_limits *lim, int channels,
		     bh_image *out)
{
	int rc;
	memset(out, 0, sizeof *out);
	if (!im)
		return bh_fail(BH_EINVAL, "an2k: no image");
	switch (im->comp) {
	case BH_AN2K_COMP_NONE:
		if (im->bpx != 8)
			return bh_fail(BH_EUNSUPPORTED, "an2k: %u-bit raw image", im->bpx);
		if ((uint64_t)im->w * im->h > im->len)
			return bh_fail(BH_EFORMAT, "an2k: raw %ux%u image needs more than %zu bytes",
				       im->w, im->h, im->len);
		if ((rc = bh_image_alloc(out, im->w, im->h, 1, lim)) != BH_OK)
			return rc;
		memcpy(out->px, im->data, (size_t)im->w * im->h);
		break;
	case BH_AN2K_COMP_WSQ:
		if ((rc = bh_wsq_decode(im->data, im->len, lim, out)) != BH_OK)
			return rc;
		break;
	case BH_AN2K_COMP_JPEG:
	case BH_AN2K_COMP_JPEGL:
	case BH_AN2K_COMP_JP2:
	case BH_AN2K_COMP_JP2L:
	case BH_AN2K_COMP_PNG:
		if ((rc = bh_image_decode(im->data, im->len, channels, lim, out)) != BH_OK)
			return rc;
		break;
	default:
		return bh_fail(BH_EUNSUPPORTED, "an2k: %s compression", bh_an2k_comp_name(im->comp));
	}
	if (out->w != im->w || out->h != im->h) {
		uint32_t w = out->w, h = out->h;
		bh_image_free(out);
		return bh_fail(BH_EFORMAT, "an2k: record says %ux%u, image is %ux%u", im->w, im->h, w, h);
	}
	if ((rc = bh_image_convert(out, (uint32_t)channels)) != BH_OK) { /* raw, WSQ: grey */
		bh_image_free(out);
		return rc;
	}
	if (im->ppi)
		out->ppi = im->ppi;
	return BH_OK;
}

int bh_an2k_image_decode(const bh_an2k_image *im, const bh_image_limits *lim, bh_image *out)
{
	return decode_as(im, lim, 1, out);
}

int bh_an2k_image_decode_rgb(const bh_an2k_image *im, const bh_image_limits *lim, bh_image *out)
{
	return decode_as(im, lim, 3, out);
}

bh_an2k_kind bh_an2k_image_kind(const bh_an2k_image *im)
{
	if (im->record_type == 10)
		return im->face ? BH_AN2K_KIND_FACE : BH_AN2K_KIND_OTHER;
	if (im->record_type == 15 || (im->position >= 20 && im->position <= 38))
		return BH_AN2K_KIND_PALM;
	if (im->record_type == 13)
		return BH_AN2K_KIND_LATENT;
	if (im->position >= 0 && im->position <= 10)
		return BH_AN2K_KIND_FINGER;
	if (im->position >= 11 && im->position <= 15)
		return BH_AN2K_KIND_SLAP;
	return BH_AN2K_KIND_OTHER;
}
