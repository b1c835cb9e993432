/*
 * bh_extract_enhance.c - contextual (Gabor) enhancement, binarisation and
 * thinning.
 *
 * Enhancement is a Gabor filter tuned to the local ridge orientation and
 * period, applied separably in the rotated frame: a 1-D Gabor (cosine times
 * Gaussian) across the ridges, then a 1-D Gaussian along them.  A 2-D Gabor
 * with the same sigmas is exactly this product, so the result matches the
 * classic filter up to the nearest-pixel sampling of the rotated lines, at a
 * fraction of the cost (2 x 17 taps instead of 17 x 17).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_extract_int.h"
#include "bh_mem.h"

#define N_ORIENT 24  /* orientation bins over [0, pi) */
#define P_MIN 4      /* integer period bins P_MIN..P_MAX pixels */
#define P_MAX 16
#define N_PER (P_MAX - P_MIN + 1)
#define KX 8         /* across-ridge taps: -KX..KX */
#define KY 4         /* along-ridge taps: -KY..KY, spaced 2 px */
#define SIGMA_X_REL 0.42f /* across sigma as a fraction of the period */
#define SIGMA_Y 4.5f      /* along sigma, pixels */

typedef struct gabor_bank {
	ptrdiff_t off_x[N_ORIENT][2 * KX + 1]; /* across the ridge (normal) */
	ptrdiff_t off_y[N_ORIENT][2 * KY + 1]; /* along the ridge */
	float wx[N_PER][2 * KX + 1];
	float wy[2 * KY + 1];
} gabor_bank;

static void bank_init(gabor_bank *g, ptrdiff_t stride)
{
	for (int o = 0; o < N_ORIENT; o++) {
		double t = o * M_PI / N_ORIENT, dx = cos(t), dy = sin(t);
		for (int k = -KX; k <= KX; k++) /* normal = (-sin, cos) */
			g->off_x[o][k + KX] = lrint(k * dx) * stride + lrint(-k * dy);
		for (int k = -KY; k <= KY; k++)
			g->off_y[o][k + KY] = lrint(2 * k * dy) * stride + lrint(2 * k * dx);
	}
	for (int p = 0; p < N_PER; p++) {
		double per = P_MIN + p, sx = SIGMA_X_REL * per, sum = 0, sumg = 0;
		double gw[2 * KX + 1];
		for (int k = -KX; k <= KX; k++) {
			double e = exp(-k * k / (2 * sx * sx));
			gw[k + KX] = e;
			g->wx[p][k + KX] = (float)(e * cos(2 * M_PI * k / per));
			sum += g->wx[p][k + KX];
			sumg += e;
		}
		for (int k = 0; k < 2 * KX + 1; k++) /* zero DC: flat areas give 0 */
			g->wx[p][k] -= (float)(sum / sumg * gw[k]);
	}
	for (int k = -KY; k <= KY; k++)
		g->wy[k + KY] = (float)exp(-(2.0 * k) * (2.0 * k) / (2 * SIGMA_Y * SIGMA_Y));
}

static int near_fg(const fp_work *w, uint32_t bx, uint32_t by)
{
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++) {
			int x = (int)bx + dx, y = (int)by + dy;
			if (x >= 0 && y >= 0 && x < (int)w->bw && y < (int)w->bh &&
			    w->fg[(size_t)y * w->bw + (size_t)x])
				return 1;
		}
	return 0;
}

int fp_enhance(fp_work *w)
{
	gabor_bank *g = malloc(sizeof *g);
	if (!g)
		return bh_fail(BH_ENOMEM, "enhance");
	bank_init(g, (ptrdiff_t)w->ps);
	/* pass 1: across the ridges, on foreground blocks and their neighbours */
	for (uint32_t by = 0; by < w->bh; by++)
		for (uint32_t bx = 0; bx < w->bw; bx++) {
			if (!near_fg(w, bx, by))
				continue;
			size_t bi = (size_t)by * w->bw + bx;
			int o = (int)lrintf(w->orient[bi] * N_ORIENT / (float)M_PI) % N_ORIENT;
			int p = (int)lrintf(w->period[bi]) - P_MIN;
			p = p < 0 ? 0 : p >= N_PER ? N_PER - 1 : p;
			const ptrdiff_t *off = g->off_x[o];
			const float *wx = g->wx[p];
			uint32_t y1 = (by + 1) * BH_FP_BLOCK, x1 = (bx + 1) * BH_FP_BLOCK;
			y1 = y1 > w->h ? w->h : y1;
			x1 = x1 > w->w ? w->w : x1;
			for (uint32_t y = by * BH_FP_BLOCK; y < y1; y++)
				for (uint32_t x = bx * BH_FP_BLOCK; x < x1; x++) {
					const float *q = w->norm + fp_pix(w, (int)x, (int)y);
					float s = 0;
					for (int k = 0; k < 2 * KX + 1; k++)
						s += wx[k] * q[off[k]];
					w->tmp[fp_pix(w, (int)x, (int)y)] = s;
				}
		}
	/* pass 2: along the ridges, foreground only; then binarise (ridge < 0) */
	memset(w->skel, 0, (size_t)w->w * w->h);
	for (uint32_t by = 0; by < w->bh; by++)
		for (uint32_t bx = 0; bx < w->bw; bx++) {
			size_t bi = (size_t)by * w->bw + bx;
			if (!w->fg[bi])
				continue;
			int o = (int)lrintf(w->orient[bi] * N_ORIENT / (float)M_PI) % N_ORIENT;
			const ptrdiff_t *off = g->off_y[o];
			uint32_t y1 = (by + 1) * BH_FP_BLOCK, x1 = (bx + 1) * BH_FP_BLOCK;
			y1 = y1 > w->h ? w->h : y1;
			x1 = x1 > w->w ? w->w : x1;
			for (uint32_t y = by * BH_FP_BLOCK; y < y1; y++)
				for (uint32_t x = bx * BH_FP_BLOCK; x < x1; x++) {
					size_t pi = fp_pix(w, (int)x, (int)y);
					const float *q = w->tmp + pi;
					float s = 0;
					for (int k = 0; k < 2 * KY + 1; k++)
						s += g->wy[k] * q[off[k]];
					w->skel[(size_t)y * w->w + x] = s < 0;
				}
		}
	free(g);
	return BH_OK;
}

/* ---- thinning ------------------------------------------------------------ */

/* Neighbour bits, clockwise from north: N NE E SE S SW W NW = bits 0..7. */
static inline unsigned nbits(const uint8_t *p, ptrdiff_t s)
{
	return (unsigned)p[-s] | (unsigned)p[-s + 1] << 1 | (unsigned)p[1] << 2 |
	       (unsigned)p[s + 1] << 3 | (unsigned)p[s] << 4 | (unsigned)p[s - 1] << 5 |
	       (unsigned)p[-1] << 6 | (unsigned)p[-s - 1] << 7;
}

/* Number of 8-connected components among the set neighbours of a pixel. */
static int comps8(unsigned nb)
{
	int parent[8];
	for (int i = 0; i < 8; i++)
		parent[i] = i;
	for (int i = 0; i < 8; i++) {
		if (!(nb >> i & 1))
			continue;
		int adj[2] = {(i + 1) & 7, (i + 2) & 7};
		for (int k = 0; k < 2; k++) {
			int j = adj[k];
			/* ring neighbours are adjacent; two 4-neighbours (even bits) two
			 * steps apart touch diagonally */
			if (k == 1 && (i & 1))
				continue;
			if (!(nb >> j & 1))
				continue;
			int a = i, b = j;
			while (parent[a] != a)
				a = parent[a];
			while (parent[b] != b)
				b = parent[b];
			parent[a] = b;
		}
	}
	int c = 0;
	for (int i = 0; i < 8; i++)
		c += (nb >> i & 1) && parent[i] == i;
	return c;
}

/* Sequential thinning by directional border passes: a pixel is removed if
 * it is a border pixel on the current side, not an end point (>= 2
 * neighbours) and simple (its neighbours form one 8-component, so removing
 * it cannot split or join anything).  Yields an 8-connected, one pixel wide
 * skeleton with the topology of the binary ridges. */
int fp_thin(fp_work *w)
{
	uint8_t removable[256];
	for (unsigned nb = 0; nb < 256; nb++)
		removable[nb] = __builtin_popcount(nb) >= 2 && comps8(nb) == 1;
	uint8_t *s = w->skel;
	const ptrdiff_t st = (ptrdiff_t)w->w;
	/* clear the one-pixel frame so neighbour reads stay inside */
	for (uint32_t x = 0; x < w->w; x++)
		s[x] = s[(size_t)(w->h - 1) * w->w + x] = 0;
	for (uint32_t y = 0; y < w->h; y++)
		s[(size_t)y * w->w] = s[(size_t)y * w->w + w->w - 1] = 0;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < (size_t)w->w * w->h; i++)
		cap += s[i];
	uint32_t *list = malloc((cap ? cap : 1) * sizeof *list);
	uint32_t *cand = malloc((cap ? cap : 1) * sizeof *cand);
	if (!list || !cand) {
		free(list);
		free(cand);
		return bh_fail(BH_ENOMEM, "thin");
	}
	for (size_t i = 0; i < (size_t)w->w * w->h; i++)
		if (s[i])
			list[n++] = (uint32_t)i;
	const ptrdiff_t side[4] = {-st, st, 1, -1}; /* N S E W */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int d = 0; d < 4; d++) {
			/* One layer per side: candidates are chosen on the state at the
			 * start of the sub-pass (peeling from one side only would pull
			 * the skeleton off the ridge centre), then deleted one by one
			 * with the simple-point test re-checked, which keeps topology. */
			size_t nc = 0;
			for (size_t i = 0; i < n; i++) {
				uint8_t *p = s + list[i];
				if (*p && !p[side[d]] && removable[nbits(p, st)])
					cand[nc++] = list[i];
			}
			for (size_t i = 0; i < nc; i++) {
				uint8_t *p = s + cand[i];
				if (removable[nbits(p, st)]) {
					*p = 0;
					changed = 1;
				}
			}
		}
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (s[list[i]])
				list[m++] = list[i];
		n = m;
	}
	bh_wipe_free(list, (cap ? cap : 1) * sizeof *list);
	bh_wipe_free(cand, (cap ? cap : 1) * sizeof *cand);
	return BH_OK;
}
