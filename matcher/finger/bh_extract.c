/*
 * bh_extract.c - extraction driver: resampling to 500 ppi, local
 * normalisation, segmentation, and the public bh_fp_extract() entry point.
 * The other stages live in bh_extract_field.c, bh_extract_enhance.c and
 * bh_extract_minutiae.c.  Conventions: bh_minutiae.h.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_extract_int.h"
#include "bh_mem.h"

#define WORK_PPI 500
#define MIN_SIDE 64        /* pixels at 500 ppi: smaller is not a fingerprint */
#define MAX_SIDE 8192
#define NORM_STD_FLOOR 4.0 /* grey levels; keeps flat areas from blowing up noise */

/* ---- resampling ---------------------------------------------------------- */

/* One output sample of a separable resampler: taps [first, first+n) of the
 * input with weights w (sum 1). */
typedef struct rs_tap {
	int first, n;
	float w[40];
} rs_tap;

/* Tent filter whose support widens with the reduction factor, so that
 * downsampling (1000 -> 500 ppi) averages instead of aliasing. */
static int rs_plan(uint32_t in, uint32_t out, rs_tap **plan)
{
	rs_tap *p = calloc(out, sizeof *p);
	if (!p)
		return bh_fail(BH_ENOMEM, "resample plan");
	double scale = (double)out / in, support = scale < 1.0 ? 1.0 / scale : 1.0;
	for (uint32_t i = 0; i < out; i++) {
		double c = (i + 0.5) / scale - 0.5;
		int lo = (int)floor(c - support) + 1, hi = (int)ceil(c + support) - 1;
		if (hi - lo + 1 > 40)
			hi = lo + 39;
		double sum = 0;
		int n = 0;
		p[i].first = lo;
		for (int k = lo; k <= hi; k++) {
			double wgt = 1.0 - fabs(k - c) / support;
			p[i].w[n++] = (float)(wgt > 0 ? wgt : 0);
			sum += wgt > 0 ? wgt : 0;
		}
		for (int k = 0; k < n; k++)
			p[i].w[k] = sum > 0 ? (float)(p[i].w[k] / sum) : 0;
		p[i].n = n;
	}
	*plan = p;
	return BH_OK;
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Resamples src (sw x sh) to dst (dw x dh). */
static int resample(const uint8_t *src, uint32_t sw, uint32_t sh, uint8_t *dst, uint32_t dw,
		    uint32_t dh)
{
	rs_tap *px = NULL, *py = NULL;
	float *mid = malloc((size_t)dw * sh * sizeof *mid);
	int rc = mid ? rs_plan(sw, dw, &px) : bh_fail(BH_ENOMEM, "resample");
	if (rc == BH_OK)
		rc = rs_plan(sh, dh, &py);
	if (rc != BH_OK)
		goto out;
	for (uint32_t y = 0; y < sh; y++)
		for (uint32_t x = 0; x < dw; x++) {
			float s = 0;
			for (int k = 0; k < px[x].n; k++)
				s += px[x].w[k] * src[(size_t)y * sw + clampi(px[x].first + k, 0, (int)sw - 1)];
			mid[(size_t)y * dw + x] = s;
		}
	for (uint32_t y = 0; y < dh; y++)
		for (uint32_t x = 0; x < dw; x++) {
			float s = 0;
			for (int k = 0; k < py[y].n; k++)
				s += py[y].w[k] * mid[(size_t)clampi(py[y].first + k, 0, (int)sh - 1) * dw + x];
			dst[(size_t)y * dw + x] = (uint8_t)clampi((int)lrintf(s), 0, 255);
		}
out:
	if (mid)
		bh_wipe_free(mid, (size_t)dw * sh * sizeof *mid);
	free(px);
	free(py);
	return rc;
}

/* ---- normalisation ------------------------------------------------------- */

/* Zero-mean, unit-variance image, so that dry and wet areas reach the same
 * contrast.  Mean and deviation are measured per block over a 3x3-block
 * window (24 px, about 2.5 ridge periods) and interpolated bilinearly between
 * block centres: smooth like a sliding window at a fraction of the cost.
 * Also fills the per-block grey deviation used by segmentation. */
int fp_normalise(fp_work *w)
{
	size_t nb = (size_t)w->bw * w->bh;
	uint32_t *bs = calloc(nb, sizeof *bs);
	uint64_t *bq = calloc(nb, sizeof *bq);
	float *mean = malloc(nb * sizeof *mean), *inv = malloc(nb * sizeof *inv);
	int32_t *x0 = malloc(w->w * sizeof *x0);
	float *fx = malloc(w->w * sizeof *fx);
	int rc = BH_OK;
	if (!bs || !bq || !mean || !inv || !x0 || !fx) {
		rc = bh_fail(BH_ENOMEM, "normalise");
		goto out;
	}
	for (uint32_t y = 0; y < w->h; y++) {
		const uint8_t *g = w->grey + (size_t)y * w->w;
		size_t brow = (size_t)(y / BH_FP_BLOCK) * w->bw;
		for (uint32_t x = 0; x < w->w; x++) {
			bs[brow + x / BH_FP_BLOCK] += g[x];
			bq[brow + x / BH_FP_BLOCK] += (uint32_t)g[x] * g[x];
		}
	}
	for (uint32_t by = 0; by < w->bh; by++)
		for (uint32_t bx = 0; bx < w->bw; bx++) {
			double s = 0, q = 0, cnt = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int x = (int)bx + dx, y = (int)by + dy;
					if (x < 0 || y < 0 || x >= (int)w->bw || y >= (int)w->bh)
						continue;
					size_t i = (size_t)y * w->bw + (size_t)x;
					uint32_t pw = (uint32_t)x == w->bw - 1 ? w->w - (uint32_t)x * BH_FP_BLOCK : BH_FP_BLOCK;
					uint32_t ph = (uint32_t)y == w->bh - 1 ? w->h - (uint32_t)y * BH_FP_BLOCK : BH_FP_BLOCK;
					s += bs[i];
					q += (double)bq[i];
					cnt += (double)pw * ph;
				}
			double m = s / cnt, var = q / cnt - m * m, sd = sqrt(var > 0 ? var : 0);
			size_t i = (size_t)by * w->bw + bx;
			mean[i] = (float)m;
			inv[i] = (float)(1.0 / (sd > NORM_STD_FLOOR ? sd : NORM_STD_FLOOR));
			w->bstd[i] = (float)sd;
		}
	for (uint32_t x = 0; x < w->w; x++) {
		float f = (x + 0.5f) / BH_FP_BLOCK - 0.5f;
		int b = (int)floorf(f);
		x0[x] = clampi(b, 0, (int)w->bw - 1);
		fx[x] = b < 0 || b >= (int)w->bw - 1 ? 0 : f - (float)b;
	}
	for (uint32_t y = 0; y < w->h; y++) {
		float f = (y + 0.5f) / BH_FP_BLOCK - 0.5f;
		int b = (int)floorf(f);
		int y0 = clampi(b, 0, (int)w->bh - 1), y1 = clampi(b + 1, 0, (int)w->bh - 1);
		float fy = b < 0 || b >= (int)w->bh - 1 ? 0 : f - (float)b;
		const float *m0 = mean + (size_t)y0 * w->bw, *m1 = mean + (size_t)y1 * w->bw;
		const float *i0 = inv + (size_t)y0 * w->bw, *i1 = inv + (size_t)y1 * w->bw;
		const uint8_t *g = w->grey + (size_t)y * w->w;
		float *out = w->norm + fp_pix(w, 0, (int)y);
		for (uint32_t x = 0; x < w->w; x++) {
			int a = x0[x], c = a + 1 < (int)w->bw ? a + 1 : a;
			float t = fx[x];
			float m = (1 - fy) * (m0[a] + t * (m0[c] - m0[a])) + fy * (m1[a] + t * (m1[c] - m1[a]));
			float iv = (1 - fy) * (i0[a] + t * (i0[c] - i0[a])) + fy * (i1[a] + t * (i1[c] - i1[a]));
			float v = (g[x] - m) * iv;
			out[x] = v > 3 ? 3 : v < -3 ? -3 : v;
		}
	}
out:
	/* block statistics of a probe image: wiped like the image */
	bh_wipe_free(bs, nb * sizeof *bs);
	bh_wipe_free(bq, nb * sizeof *bq);
	bh_wipe_free(mean, nb * sizeof *mean);
	bh_wipe_free(inv, nb * sizeof *inv);
	free(x0);
	free(fx);
	return rc;
}

/* ---- segmentation -------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* Keeps the largest 4-connected foreground component and fills the holes of
 * the background that do not touch the image border. */
static int seg_components(fp_work *w)
{
	size_t nb = (size_t)w->bw * w->bh;
	int32_t *lab = malloc(nb * sizeof *lab), *stack = malloc(nb * sizeof *stack);
	if (!lab || !stack) {
		free(lab);
		free(stack);
		return bh_fail(BH_ENOMEM, "segment");
	}
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0: foreground components; pass 1: background components */
		uint8_t want = pass == 0 ? 1 : 0;
		int32_t best = -1, nlab = 0;
		size_t best_size = 0;
		for (size_t i = 0; i < nb; i++)
			lab[i] = -1;
		for (size_t i = 0; i < nb; i++) {
			if (w->fg[i] != want || lab[i] >= 0)
				continue;
			size_t sp = 0, size = 0;
			int border = 0;
			stack[sp++] = (int32_t)i;
			lab[i] = nlab;
			while (sp) {
				int32_t c = stack[--sp];
				int x = c % (int)w->bw, y = c / (int)w->bw;
				size++;
				if (x == 0 || y == 0 || x == (int)w->bw - 1 || y == (int)w->bh - 1)
					border = 1;
				const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
				for (int k = 0; k < 4; k++) {
					int nx = x + dx[k], ny = y + dy[k];
					if (nx < 0 || ny < 0 || nx >= (int)w->bw || ny >= (int)w->bh)
						continue;
					size_t j = (size_t)ny * w->bw + (size_t)nx;
					if (w->fg[j] == want && lab[j] < 0) {
						lab[j] = nlab;
						stack[sp++] = (int32_t)j;
					}
				}
			}
			if (pass == 0 && size > best_size) {
				best_size = size;
				best = nlab;
			}
			if (pass == 1 && !border)
				for (size_t j = 0; j < nb; j++)
					if (lab[j] == nlab)
						w->fg[j] = 1;
			nlab++;
		}
		if (pass == 0)
			for (size_t j = 0; j < nb; j++)
				w->fg[j] = lab[j] >= 0 && lab[j] == best;
	}
	bh_wipe_free(lab, nb * sizeof *lab);
	bh_wipe_free(stack, nb * sizeof *stack);
	return BH_OK;
}

/* One 3x3 majority vote over the block mask: removes isolated blocks and
 * notches. */
static void seg_smooth(fp_work *w, uint8_t *tmp)
{
	for (uint32_t y = 0; y < w->bh; y++)
		for (uint32_t x = 0; x < w->bw; x++) {
			int c = 0, t = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					int nx = (int)x + dx, ny = (int)y + dy;
					if (nx < 0 || ny < 0 || nx >= (int)w->bw || ny >= (int)w->bh)
						continue;
					t++;
					c += w->fg[(size_t)ny * w->bw + (size_t)nx];
				}
			tmp[(size_t)y * w->bw + x] = 2 * c > t;
		}
	memcpy(w->fg, tmp, (size_t)w->bw * w->bh);
}

/* Foreground = blocks with grey contrast above a fraction of the image's
 * high-contrast level and some orientation coherence; then clean-up.  The
 * thresholds are relative, so they do not depend on the sensor's gain. */
int fp_segment(fp_work *w)
{
	size_t nb = (size_t)w->bw * w->bh;
	float *sorted = malloc(nb * sizeof *sorted);
	uint8_t *tmp = malloc(nb);
	if (!sorted || !tmp) {
		free(sorted);
		free(tmp);
		return bh_fail(BH_ENOMEM, "segment");
	}
	memcpy(sorted, w->bstd, nb * sizeof *sorted);
	qsort(sorted, nb, sizeof *sorted, cmp_float);
	float hi = sorted[(size_t)(nb * 0.9)];
	float thr = 0.3f * hi;
	if (thr < 3.0f)
		thr = 3.0f;
	for (size_t i = 0; i < nb; i++)
		w->fg[i] = w->bstd[i] > thr && w->coh[i] > 0.15f;
	seg_smooth(w, tmp);
	seg_smooth(w, tmp);
	bh_wipe_free(sorted, nb * sizeof *sorted);
	bh_wipe_free(tmp, nb);
	int rc = seg_components(w);
	if (rc != BH_OK)
		return rc;
	/* Chessboard distance to the background (image border = background). */
	for (size_t i = 0; i < nb; i++)
		w->dist[i] = w->fg[i] ? 255 : 0;
	for (int it = 0; it < 2; it++)
		for (uint32_t y0 = 0; y0 < w->bh; y0++)
			for (uint32_t x0 = 0; x0 < w->bw; x0++) {
				uint32_t x = it ? w->bw - 1 - x0 : x0, y = it ? w->bh - 1 - y0 : y0;
				size_t i = (size_t)y * w->bw + x;
				if (!w->dist[i])
					continue;
				int d = w->dist[i];
				for (int dy = -1; dy <= 1; dy++)
					for (int dx = -1; dx <= 1; dx++) {
						int nx = (int)x + dx, ny = (int)y + dy;
						int nd = (nx < 0 || ny < 0 || nx >= (int)w->bw || ny >= (int)w->bh)
								 ? 0
								 : w->dist[(size_t)ny * w->bw + (size_t)nx];
						if (nd + 1 < d)
							d = nd + 1;
					}
				w->dist[i] = (uint8_t)d;
			}
	size_t nfg = 0;
	for (size_t i = 0; i < nb; i++)
		nfg += w->fg[i];
	if (nfg < 16)
		return bh_fail(BH_ENOFEATURE, "fingerprint: no ridge area found");
	return BH_OK;
}

/* ---- driver -------------------------------------------------------------- */

static void work_free(fp_work *w)
{
	size_t np = (size_t)w->w * w->h, nb = (size_t)w->bw * w->bh;
	bh_wipe_free(w->grey, np);
	bh_wipe_free(w->skel, np);
	bh_wipe_free(w->norm, w->plane * sizeof(float));
	bh_wipe_free(w->tmp, w->plane * sizeof(float));
	bh_wipe_free(w->orient, nb * sizeof(float));
	bh_wipe_free(w->coh, nb * sizeof(float));
	bh_wipe_free(w->period, nb * sizeof(float));
	bh_wipe_free(w->bstd, nb * sizeof(float));
	bh_wipe_free(w->fg, nb);
	bh_wipe_free(w->dist, nb);
	memset(w, 0, sizeof *w);
}

static int work_alloc(fp_work *w, uint32_t width, uint32_t height)
{
	memset(w, 0, sizeof *w);
	w->w = width;
	w->h = height;
	w->bw = (width + BH_FP_BLOCK - 1) / BH_FP_BLOCK;
	w->bh = (height + BH_FP_BLOCK - 1) / BH_FP_BLOCK;
	w->ps = (size_t)width + 2 * FP_PAD;
	w->plane = w->ps * ((size_t)height + 2 * FP_PAD);
	size_t np = (size_t)width * height, nb = (size_t)w->bw * w->bh;
	w->grey = malloc(np);
	w->skel = calloc(np, 1);
	w->norm = calloc(w->plane, sizeof(float));
	w->tmp = calloc(w->plane, sizeof(float));
	w->orient = calloc(nb, sizeof(float));
	w->coh = calloc(nb, sizeof(float));
	w->period = calloc(nb, sizeof(float));
	w->bstd = calloc(nb, sizeof(float));
	w->fg = calloc(nb, 1);
	w->dist = calloc(nb, 1);
	if (!w->grey || !w->skel || !w->norm || !w->tmp || !w->orient || !w->coh ||
	    !w->period || !w->bstd || !w->fg || !w->dist) {
		work_free(w);
		return bh_fail(BH_ENOMEM, "fingerprint work buffers");
	}
	return BH_OK;
}

void bh_fp_features_free(bh_fp_features *f)
{
	if (!f)
		return;
	bh_wipe_free(f->m, (size_t)f->n * sizeof *f->m);
	bh_wipe_free(f->fg, (size_t)f->bw * f->bh);
	bh_wipe_free(f->orient, (size_t)f->bw * f->bh * sizeof *f->orient);
	bh_wipe(f, sizeof *f);
}

int bh_fp_extract(const bh_image *img, const bh_extract_opts *opts, bh_fp_features *out)
{
	memset(out, 0, sizeof *out);
	if (!img || !img->px || img->channels != 1)
		return bh_fail(BH_EINVAL, "fingerprint: need a grey image");
	uint32_t ppi = opts && opts->ppi_override ? opts->ppi_override : img->ppi;
	if (!ppi)
		ppi = WORK_PPI;
	if (ppi < 150 || ppi > 4000)
		return bh_fail(BH_EINVAL, "fingerprint: resolution %u ppi out of range", ppi);
	uint32_t maxm = opts && opts->max_minutiae ? opts->max_minutiae : BH_MINUTIAE_MAX;
	if (maxm > BH_MINUTIAE_MAX)
		maxm = BH_MINUTIAE_MAX;
	/* Within 2 % of 500 ppi the resampling would change nothing useful. */
	int same = abs((int)ppi - WORK_PPI) * 50 <= WORK_PPI;
	double s = same ? 1.0 : (double)WORK_PPI / ppi;
	double dw = img->w * s + 0.5, dh = img->h * s + 0.5;
	if (dw < MIN_SIDE || dh < MIN_SIDE)
		return bh_fail(BH_EINVAL, "fingerprint: image %ux%u too small", img->w, img->h);
	if (dw > MAX_SIDE || dh > MAX_SIDE)
		return bh_fail(BH_ETOOBIG, "fingerprint: image %ux%u too large", img->w, img->h);
	fp_work w;
	int rc = work_alloc(&w, (uint32_t)dw, (uint32_t)dh);
	if (rc != BH_OK)
		return rc;
	if (same)
		memcpy(w.grey, img->px, (size_t)w.w * w.h);
	else
		rc = resample(img->px, img->w, img->h, w.grey, w.w, w.h);
	if (rc == BH_OK)
		rc = fp_normalise(&w);
	if (rc == BH_OK)
		rc = fp_orientation(&w);
	if (rc == BH_OK)
		rc = fp_segment(&w);
	if (rc == BH_OK)
		rc = fp_frequency(&w);
	if (rc == BH_OK)
		rc = fp_enhance(&w);
	if (rc == BH_OK)
		rc = fp_thin(&w);
	if (rc == BH_OK)
		rc = fp_minutiae(&w, maxm, out);
	if (rc == BH_OK) {
		out->w = w.w;
		out->h = w.h;
		out->bw = w.bw;
		out->bh = w.bh;
		out->fg = w.fg; /* ownership moves to the result */
		w.fg = NULL;
		out->orient = w.orient;
		w.orient = NULL;
	}
	if (rc != BH_OK)
		bh_fp_features_free(out);
	work_free(&w);
	return rc;
}
