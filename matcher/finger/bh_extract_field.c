/*
 * bh_extract_field.c - orientation field (gradient based, smoothed in the
 * doubled-angle domain) and ridge period per block.  Conventions:
 * bh_minutiae.h (y down, angles from +x towards +y).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_extract_int.h"
#include "bh_mem.h"

#define ORIENT_SIGMA 1.5f /* blocks: smoothing of the doubled-angle field */
#define PERIOD_MIN 4.0f   /* pixels at 500 ppi (ridge period is ~6..13) */
#define PERIOD_MAX 16.0f
#define PERIOD_DEFAULT 9.0f

/* Gaussian smoothing of a block field (separable, clamped borders). */
static void blur_blocks(float *f, float *tmp, uint32_t bw, uint32_t bh, float sigma)
{
	int r = (int)ceilf(2.5f * sigma);
	float k[16];
	if (r > 7)
		r = 7;
	for (int i = -r; i <= r; i++)
		k[i + r] = expf(-(float)(i * i) / (2 * sigma * sigma));
	for (uint32_t y = 0; y < bh; y++)
		for (uint32_t x = 0; x < bw; x++) {
			float s = 0, ws = 0;
			for (int i = -r; i <= r; i++) {
				int xx = (int)x + i;
				if (xx < 0 || xx >= (int)bw)
					continue;
				s += k[i + r] * f[(size_t)y * bw + (size_t)xx];
				ws += k[i + r];
			}
			tmp[(size_t)y * bw + x] = s / ws;
		}
	for (uint32_t y = 0; y < bh; y++)
		for (uint32_t x = 0; x < bw; x++) {
			float s = 0, ws = 0;
			for (int i = -r; i <= r; i++) {
				int yy = (int)y + i;
				if (yy < 0 || yy >= (int)bh)
					continue;
				s += k[i + r] * tmp[(size_t)yy * bw + x];
				ws += k[i + r];
			}
			f[(size_t)y * bw + x] = s / ws;
		}
}

/* Per block: sums of gx^2 - gy^2, 2 gx gy and gx^2 + gy^2 (Sobel on the
 * normalised image) over a 3x3-block window; coherence from the window, the
 * orientation from the smoothed doubled-angle vectors. */
int fp_orientation(fp_work *w)
{
	size_t nb = (size_t)w->bw * w->bh;
	float *a = calloc(nb, sizeof *a), *b = calloc(nb, sizeof *b), *e = calloc(nb, sizeof *e);
	float *wa = calloc(nb, sizeof *wa), *wb = calloc(nb, sizeof *wb), *tmp = calloc(nb, sizeof *tmp);
	int rc = BH_OK;
	if (!a || !b || !e || !wa || !wb || !tmp) {
		rc = bh_fail(BH_ENOMEM, "orientation");
		goto out;
	}
	const float *p = w->norm;
	const ptrdiff_t s = (ptrdiff_t)w->ps;
	for (uint32_t y = 0; y < w->h; y++) {
		const float *row = p + fp_pix(w, 0, (int)y);
		size_t brow = (size_t)(y / BH_FP_BLOCK) * w->bw;
		for (uint32_t x = 0; x < w->w; x++) {
			const float *q = row + x;
			float gx = (q[-s + 1] + 2 * q[1] + q[s + 1]) - (q[-s - 1] + 2 * q[-1] + q[s - 1]);
			float gy = (q[s - 1] + 2 * q[s] + q[s + 1]) - (q[-s - 1] + 2 * q[-s] + q[-s + 1]);
			size_t bi = brow + x / BH_FP_BLOCK;
			a[bi] += gx * gx - gy * gy;
			b[bi] += 2 * gx * gy;
			e[bi] += gx * gx + gy * gy;
		}
	}
	for (uint32_t by = 0; by < w->bh; by++)
		for (uint32_t bx = 0; bx < w->bw; bx++) {
			float sa = 0, sb = 0, se = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int x = (int)bx + dx, y = (int)by + dy;
					if (x < 0 || y < 0 || x >= (int)w->bw || y >= (int)w->bh)
						continue;
					size_t i = (size_t)y * w->bw + (size_t)x;
					sa += a[i];
					sb += b[i];
					se += e[i];
				}
			size_t i = (size_t)by * w->bw + bx;
			wa[i] = sa;
			wb[i] = sb;
			w->coh[i] = se > 0 ? sqrtf(sa * sa + sb * sb) / se : 0;
		}
	blur_blocks(wa, tmp, w->bw, w->bh, ORIENT_SIGMA);
	blur_blocks(wb, tmp, w->bw, w->bh, ORIENT_SIGMA);
	for (size_t i = 0; i < nb; i++) {
		/* gradient direction (doubled angle halved) + 90 deg = ridge direction */
		float t = 0.5f * atan2f(wb[i], wa[i]) + (float)M_PI_2;
		if (t >= (float)M_PI)
			t -= (float)M_PI;
		if (t < 0)
			t += (float)M_PI;
		w->orient[i] = t;
	}
out: /* gradient statistics of a probe image: wiped like the image */
	bh_wipe_free(a, nb * sizeof *a);
	bh_wipe_free(b, nb * sizeof *b);
	bh_wipe_free(e, nb * sizeof *e);
	bh_wipe_free(wa, nb * sizeof *wa);
	bh_wipe_free(wb, nb * sizeof *wb);
	bh_wipe_free(tmp, nb * sizeof *tmp);
	return rc;
}

/* Ridge period of one block from the grey signature across the ridges: the
 * mean spacing of the signature's maxima.  Returns 0 if not measurable.
 * off holds, per orientation bin, the pixel offsets of the L x (2U+1)
 * sampling grid (across x along) in the padded plane. */
enum { SIG_L = 33, SIG_U = 5, SIG_NO = 24, SIG_REACH = SIG_L / 2 + SIG_U + 1 };

static void period_offsets(const fp_work *w, ptrdiff_t *off)
{
	for (int o = 0; o < SIG_NO; o++) {
		float t = o * (float)M_PI / SIG_NO, dx = cosf(t), dy = sinf(t), nx = -dy, ny = dx;
		for (int k = 0; k < SIG_L; k++)
			for (int u = -SIG_U; u <= SIG_U; u++) {
				long x = lrintf((k - SIG_L / 2) * nx + u * dx), y = lrintf((k - SIG_L / 2) * ny + u * dy);
				off[(o * SIG_L + k) * (2 * SIG_U + 1) + u + SIG_U] = (ptrdiff_t)y * (ptrdiff_t)w->ps + x;
			}
	}
}

static float block_period(const fp_work *w, uint32_t bx, uint32_t by, const ptrdiff_t *off)
{
	float sig[SIG_L];
	float t = w->orient[(size_t)by * w->bw + bx];
	int o = (int)lrintf(t * SIG_NO / (float)M_PI) % SIG_NO;
	int cx = (int)(bx * BH_FP_BLOCK + BH_FP_BLOCK / 2), cy = (int)(by * BH_FP_BLOCK + BH_FP_BLOCK / 2);
	/* the grid reaches SIG_REACH px; the padded plane has FP_PAD of zeros */
	int inside = cx - SIG_REACH >= -FP_PAD && cy - SIG_REACH >= -FP_PAD &&
		     cx + SIG_REACH < (int)w->w + FP_PAD && cy + SIG_REACH < (int)w->h + FP_PAD;
	if (!inside)
		return 0;
	const float *c = w->norm + fp_pix(w, cx, cy);
	const ptrdiff_t *of = off + (size_t)o * SIG_L * (2 * SIG_U + 1);
	for (int k = 0; k < SIG_L; k++) {
		float s = 0;
		for (int u = 0; u < 2 * SIG_U + 1; u++)
			s += c[of[k * (2 * SIG_U + 1) + u]];
		sig[k] = s;
	}
	/* light smoothing, then maxima */
	float sm[SIG_L];
	for (int k = 0; k < SIG_L; k++)
		sm[k] = (sig[k > 0 ? k - 1 : k] + 2 * sig[k] + sig[k < SIG_L - 1 ? k + 1 : k]) / 4;
	int first = -1, last = -1, n = 0;
	for (int k = 1; k < SIG_L - 1; k++)
		if (sm[k] > sm[k - 1] && sm[k] >= sm[k + 1]) {
			if (first < 0)
				first = k;
			last = k;
			n++;
		}
	if (n < 2)
		return 0;
	float per = (float)(last - first) / (n - 1);
	return per >= PERIOD_MIN && per <= PERIOD_MAX ? per : 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Period field: measured on foreground blocks, gaps filled from valid
 * neighbours, then smoothed; the image median is the last resort. */
int fp_frequency(fp_work *w)
{
	size_t nb = (size_t)w->bw * w->bh;
	float *tmp = malloc(nb * sizeof *tmp), *vals = malloc(nb * sizeof *vals);
	ptrdiff_t *off = malloc(sizeof(ptrdiff_t) * SIG_NO * SIG_L * (2 * SIG_U + 1));
	if (!tmp || !vals || !off) {
		free(tmp);
		free(vals);
		free(off);
		return bh_fail(BH_ENOMEM, "frequency");
	}
	period_offsets(w, off);
	size_t nv = 0;
	for (uint32_t by = 0; by < w->bh; by++)
		for (uint32_t bx = 0; bx < w->bw; bx++) {
			size_t i = (size_t)by * w->bw + bx;
			w->period[i] = w->fg[i] ? block_period(w, bx, by, off) : 0;
			if (w->period[i] > 0)
				vals[nv++] = w->period[i];
		}
	float med = PERIOD_DEFAULT;
	if (nv > 0) {
		qsort(vals, nv, sizeof *vals, cmp_float);
		med = vals[nv / 2];
	}
	/* Outliers (> 40 % off the median) are measurement failures. */
	for (size_t i = 0; i < nb; i++)
		if (w->period[i] > 0 && fabsf(w->period[i] - med) > 0.4f * med)
			w->period[i] = 0;
	for (int it = 0; it < 4; it++) {
		memcpy(tmp, w->period, nb * sizeof *tmp);
		for (uint32_t by = 0; by < w->bh; by++)
			for (uint32_t bx = 0; bx < w->bw; bx++) {
				size_t i = (size_t)by * w->bw + bx;
				if (tmp[i] > 0)
					continue;
				float s = 0;
				int c = 0;
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int x = (int)bx + dx, y = (int)by + dy;
						if (x < 0 || y < 0 || x >= (int)w->bw || y >= (int)w->bh)
							continue;
						float v = tmp[(size_t)y * w->bw + (size_t)x];
						if (v > 0) {
							s += v;
							c++;
						}
					}
				if (c)
					w->period[i] = s / c;
			}
	}
	for (size_t i = 0; i < nb; i++)
		if (w->period[i] <= 0)
			w->period[i] = med;
	blur_blocks(w->period, tmp, w->bw, w->bh, 2.0f);
	bh_wipe_free(tmp, nb * sizeof *tmp);
	bh_wipe_free(vals, nb * sizeof *vals);
	free(off);
	return BH_OK;
}
