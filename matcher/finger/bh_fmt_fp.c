/* bh_fmt_fp.c - conversions between interchange minutiae (ANSI/NIST Type-9,
 * ISO/IEC 19794-2, INCITS 378) and the matcher's bh_minutia (bh_minutiae.h).
 * Kept apart from the parsers so that they do not depend on the extractor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_iso19794.h"
#include "bh_minutiae.h"

uint32_t bh_an2k_minutiae_to_fp(const bh_an2k_minset *s, int32_t height_001mm,
				bh_minutia *out, uint32_t max)
{
	const double px = 500.0 / 2540.0; /* 0.01 mm -> 500-ppi pixels */
	int32_t ymax = 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->m[i].y > ymax)
			ymax = s->m[i].y;
	if (height_001mm <= 0)
		height_001mm = ymax;
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->n && k < max; i++) {
		const bh_an2k_minutia *m = &s->m[i];
		double y = s->fmt == BH_AN2K_MIN_STD ? (double)(height_001mm - m->y) : (double)m->y;
		/* counter-clockwise as seen = negative in y-down coordinates.  The
		 * standard (NIST) record's direction points out of the ridge end or
		 * away from the bifurcation's branches, as ours does; an EFS
		 * direction runs up the ridge / down the valley between the
		 * branches (the INCITS 378 sense), so it is turned by 180. */
		int turn = s->fmt == BH_AN2K_MIN_STD ? 0 : 180;
		double t = (double)(360 - m->theta + turn) * (M_PI / 180.0);
		t = fmod(t, 2 * M_PI);
		if (t < 0)
			t += 2 * M_PI;
		bh_minutia o;
		memset(&o, 0, sizeof o);
		o.x = (float)(m->x * px);
		o.y = (float)(y * px);
		o.theta = (float)t;
		o.type = m->type == 'B' ? BH_MINUTIA_BIFURCATION : BH_MINUTIA_ENDING;
		o.quality = s->fmt == BH_AN2K_MIN_STD && m->quality ? (uint8_t)(m->quality * 100 / 63) : 50;
		out[k++] = o;
	}
	return k;
}

static double angle_unit(const bh_fmr *r)
{
	return r->std == BH_FMR_ISO2005 || r->std == BH_FMR_ISO2011 ? 2.0 * M_PI / 256.0 : 2.0 * M_PI / 180.0;
}

uint32_t bh_fmr_view_to_fp(const bh_fmr *r, const bh_fmr_view *v, bh_minutia *out, uint32_t max)
{
	/* pixels/cm -> scale to 500 ppi (196.85 pixels/cm); INCITS 2009 and
	 * ISO 2011 state the resolution per view */
	const int per_view = r->std == BH_FMR_INCITS2009 || r->std == BH_FMR_ISO2011;
	uint16_t xres = per_view ? v->xres : r->xres;
	uint16_t yres = per_view ? v->yres : r->yres;
	double sx = xres ? 500.0 / (xres * 2.54) : 1.0;
	double sy = yres ? 500.0 / (yres * 2.54) : 1.0;
	uint32_t k = 0;
	for (uint32_t i = 0; i < v->n && k < max; i++) {
		const bh_fmr_minutia *m = &v->m[i];
		double t = M_PI - m->angle * angle_unit(r); /* ccw as seen -> y-down, then +pi */
		t = fmod(t, 2 * M_PI);
		if (t < 0)
			t += 2 * M_PI;
		bh_minutia o;
		memset(&o, 0, sizeof o);
		o.x = (float)(m->x * sx);
		o.y = (float)(m->y * sy);
		o.theta = (float)t;
		o.type = m->type == 2 ? BH_MINUTIA_BIFURCATION : BH_MINUTIA_ENDING;
		/* ISO 2011 and INCITS 2009 have 254 (not reported) and 255
		 * (failed): no evidence either way, like the 50 of records that
		 * carry none */
		const int special = r->std == BH_FMR_ISO2011 || r->std == BH_FMR_INCITS2009;
		o.quality = m->quality <= 100 ? m->quality : special ? 50 : 100;
		out[k++] = o;
	}
	return k;
}

int bh_fmr_from_fp(const bh_minutia *m, uint32_t n, uint16_t w, uint16_t h, uint8_t position,
		   uint8_t quality, bh_fmr **out)
{
	*out = NULL;
	if (n > 255)
		n = 255; /* the minutiae are sorted best first */
	bh_fmr *r = calloc(1, sizeof *r);
	bh_fmr_view *v = calloc(1, sizeof *v);
	bh_fmr_minutia *fm = n ? calloc(n, sizeof *fm) : NULL;
	if (!r || !v || (n && !fm)) {
		free(r);
		free(v);
		free(fm);
		return bh_fail(BH_ENOMEM, "fmr: record");
	}
	r->std = BH_FMR_ISO2005;
	r->w = w;
	r->h = h;
	r->xres = r->yres = 197; /* 500 ppi */
	r->nviews = 1;
	r->views = v;
	v->position = position;
	v->ext_len_field = 0;
	v->quality = quality > 100 ? 100 : quality;
	v->m = fm;
	v->n = n;
	for (uint32_t i = 0; i < n; i++) {
		double t = M_PI - m[i].theta; /* inverse of bh_fmr_view_to_fp */
		long a = lrint(t / (2.0 * M_PI / 256.0));
		a %= 256;
		if (a < 0)
			a += 256;
		float x = m[i].x < 0 ? 0 : m[i].x > 16383 ? 16383 : m[i].x;
		float y = m[i].y < 0 ? 0 : m[i].y > 16383 ? 16383 : m[i].y;
		fm[i].x = (uint16_t)lrintf(x);
		fm[i].y = (uint16_t)lrintf(y);
		fm[i].type = m[i].type == BH_MINUTIA_BIFURCATION ? 2 : 1;
		fm[i].angle = (uint8_t)a;
		fm[i].quality = m[i].quality > 100 ? 100 : m[i].quality;
	}
	*out = r;
	return BH_OK;
}
