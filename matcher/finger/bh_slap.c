/*
 * bh_slap.c - slap segmentation (see bh_slap.h for the method).  Block
 * coordinates: bx, by index blocks of bs x bs pixels; a block's centre is
 * ((bx + 0.5) bs, (by + 0.5) bs).  Every buffer that holds pixels or the
 * foreground is wiped before it is freed: a slap may be a probe.
 */
#include "bh_slap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"

int bh_slap_positions(int pos, int out[BH_SLAP_MAX_FINGERS])
{
	static const int map[5][BH_SLAP_MAX_FINGERS + 1] = {
		{1, 1}, {1, 6}, {4, 2, 3, 4, 5}, {4, 10, 9, 8, 7}, {2, 6, 1}};
	if (pos < 11 || pos > 15)
		return 0;
	const int *m = map[pos - 11];
	for (int i = 0; i < m[0]; i++)
		out[i] = m[i + 1];
	return m[0];
}

typedef struct grid {
	uint32_t bw, bh, bs; /* blocks across, down; block side in pixels */
	uint8_t *fg;         /* bw * bh, 1 = ridge block */
} grid;

/* Step 1: ridge blocks by grey-level standard deviation. */
static void block_foreground(const bh_image *g, grid *gr)
{
	for (uint32_t by = 0; by < gr->bh; by++)
		for (uint32_t bx = 0; bx < gr->bw; bx++) {
			double s = 0, s2 = 0;
			for (uint32_t y = by * gr->bs; y < (by + 1) * gr->bs; y++) {
				const uint8_t *row = g->px + (size_t)y * g->w + bx * gr->bs;
				for (uint32_t x = 0; x < gr->bs; x++) {
					s += row[x];
					s2 += (double)row[x] * row[x];
				}
			}
			double n = (double)gr->bs * gr->bs, var = s2 / n - (s / n) * (s / n);
			gr->fg[(size_t)by * gr->bw + bx] =
				var >= (double)BH_SLAP_FG_STD * BH_SLAP_FG_STD;
		}
}

/* 3x3 majority (5 of 9, outside = background), into tmp then back. */
static void majority(grid *gr, uint8_t *tmp)
{
	for (uint32_t y = 0; y < gr->bh; y++)
		for (uint32_t x = 0; x < gr->bw; x++) {
			int c = 0;
			for (int dy = -1; dy <= 1; dy++)
				for (int dx = -1; dx <= 1; dx++) {
					long yy = (long)y + dy, xx = (long)x + dx;
					if (yy >= 0 && xx >= 0 && yy < gr->bh && xx < gr->bw)
						c += gr->fg[(size_t)yy * gr->bw + (size_t)xx];
				}
			tmp[(size_t)y * gr->bw + x] = c >= 5;
		}
	memcpy(gr->fg, tmp, (size_t)gr->bw * gr->bh);
}

/* Opening by a (2r+1)^2 square of blocks: erosion into tmp, dilation back.
 * Removes ridge-like clutter thinner than a fingertip: printed card text,
 * handwriting, ruled lines, the rim of a punched hole. */
static void opening(grid *gr, uint8_t *tmp, int r)
{
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *src = pass ? tmp : gr->fg;
		uint8_t *dst = pass ? gr->fg : tmp;
		for (uint32_t y = 0; y < gr->bh; y++)
			for (uint32_t x = 0; x < gr->bw; x++) {
				int all = 1, any = 0;
				for (int dy = -r; dy <= r; dy++)
					for (int dx = -r; dx <= r; dx++) {
						long yy = (long)y + dy, xx = (long)x + dx;
						int v = yy >= 0 && xx >= 0 && yy < gr->bh && xx < gr->bw &&
							src[(size_t)yy * gr->bw + (size_t)xx];
						all &= v;
						any |= v;
					}
				dst[(size_t)y * gr->bw + x] = (uint8_t)(pass ? any : all);
			}
	}
}

/* A connected part of the foreground, with its second moments (block
 * units): an ellipse fitted to it gives the finger's axis and size. */
typedef struct blob {
	double n, sx, sy, sxx, syy, sxy;
	float cx, cy;    /* centroid */
	float deg;       /* major axis, degrees from vertical (-90..90) */
	float len, wid;  /* full major / minor axis of the equal-moment ellipse */
	float u, v;      /* centroid across / along the hand's direction */
} blob;

/* Labels 4-connected foreground blocks (lab: 0 = none, else blob index +
 * 1) and accumulates each blob's moments.  Returns the number of blobs (at
 * most max; the rest stay unlabelled), -1 without memory. */
static int label_blobs(const grid *gr, int32_t *lab, blob *b, int max)
{
	size_t nb = (size_t)gr->bw * gr->bh;
	uint32_t *stack = malloc(nb * sizeof *stack);
	if (!stack)
		return -1;
	memset(lab, 0, nb * sizeof *lab);
	int n = 0;
	for (size_t s0 = 0; s0 < nb && n < max; s0++) {
		if (!gr->fg[s0] || lab[s0])
			continue;
		blob *c = &b[n++];
		memset(c, 0, sizeof *c);
		size_t top = 0;
		stack[top++] = (uint32_t)s0;
		lab[s0] = n;
		while (top) {
			uint32_t i = stack[--top], x = i % gr->bw, y = i / gr->bw;
			double fx = x + 0.5, fy = y + 0.5;
			c->n += 1;
			c->sx += fx;
			c->sy += fy;
			c->sxx += fx * fx;
			c->syy += fy * fy;
			c->sxy += fx * fy;
			const long nx[4] = {(long)x - 1, (long)x + 1, (long)x, (long)x};
			const long ny[4] = {(long)y, (long)y, (long)y - 1, (long)y + 1};
			for (int k = 0; k < 4; k++) {
				if (nx[k] < 0 || ny[k] < 0 || nx[k] >= gr->bw || ny[k] >= gr->bh)
					continue;
				size_t j = (size_t)ny[k] * gr->bw + (size_t)nx[k];
				if (gr->fg[j] && !lab[j]) {
					lab[j] = n;
					stack[top++] = (uint32_t)j;
				}
			}
		}
	}
	free(stack);
	return n;
}

/* Centroid, axis and size of a blob from its moments.  For a filled
 * ellipse the variance along an axis is (half axis)^2 / 4. */
static void fit_ellipse(blob *c)
{
	c->cx = (float)(c->sx / c->n);
	c->cy = (float)(c->sy / c->n);
	double vxx = c->sxx / c->n - (double)c->cx * c->cx;
	double vyy = c->syy / c->n - (double)c->cy * c->cy;
	double vxy = c->sxy / c->n - (double)c->cx * c->cy;
	double tr = vxx + vyy, d = sqrt((vxx - vyy) * (vxx - vyy) / 4 + vxy * vxy);
	double l1 = tr / 2 + d, l2 = tr / 2 - d;
	c->len = (float)(4 * sqrt(l1 > 0 ? l1 : 0));
	c->wid = (float)(4 * sqrt(l2 > 0 ? l2 : 0));
	/* major axis direction (ax, ay); degrees from the vertical, y down */
	double th = 0.5 * atan2(2 * vxy, vxx - vyy); /* from the x axis */
	double deg = 90.0 - th * 180.0 / M_PI;       /* from the y axis */
	while (deg > 90)
		deg -= 180;
	while (deg <= -90)
		deg += 180;
	c->deg = (float)deg;
}

/* A fingertip-like blob: big enough, elliptical (fills most of its fitted
 * ellipse), longer than wide but not a stripe, and not lying on its side. */
static int tip_like(const blob *c)
{
	double ell = M_PI * c->len * c->wid / 4;
	return c->n >= BH_SLAP_MIN_BLOCKS && c->wid >= 8 && c->len >= c->wid &&
	       c->len <= 3.0f * c->wid && ell > 0 && c->n >= 0.75 * ell &&
	       fabsf(c->deg) <= BH_SLAP_MAX_DEG;
}

/* Across (u) and along (v, down the finger) coordinates for a hand turned
 * deg degrees from vertical. */
static void to_uv(float x, float y, float deg, float *u, float *v)
{
	float t = deg * (float)M_PI / 180.0f, c = cosf(t), s = sinf(t);
	*u = x * c - y * s;
	*v = x * s + y * c;
}

/* Picks the k fingertips among the candidate blobs: a candidate that lies
 * below another one of the same finger (overlapping across the hand: a
 * lower phalanx) is dropped, then the k largest are kept, left to right.
 * Returns how many were kept. */
static int pick_tips(blob *cand, int nc, int k, blob *out)
{
	float deg = 0; /* the hand's direction: mean of the candidates' axes */
	for (int i = 0; i < nc; i++)
		deg += cand[i].deg / (float)nc;
	for (int i = 0; i < nc; i++)
		to_uv(cand[i].cx, cand[i].cy, deg, &cand[i].u, &cand[i].v);
	int keep[64], nk = 0;
	for (int i = 0; i < nc && nk < 64; i++) {
		int below = 0;
		for (int j = 0; j < nc && !below; j++)
			below = j != i && cand[j].v < cand[i].v &&
				fabsf(cand[j].u - cand[i].u) < (cand[i].wid + cand[j].wid) / 4;
		if (!below)
			keep[nk++] = i;
	}
	/* the k largest (selection by area; ties: lower index) */
	int n = 0;
	while (n < k && nk > 0) {
		int bi = 0;
		for (int i = 1; i < nk; i++)
			if (cand[keep[i]].n > cand[keep[bi]].n)
				bi = i;
		out[n++] = cand[keep[bi]];
		keep[bi] = keep[--nk];
	}
	for (int i = 1; i < n; i++) /* left to right across the hand */
		for (int j = i; j > 0 && out[j].u < out[j - 1].u; j--) {
			blob t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

/* Bilinear grey sample, white outside the image. */
static float sample(const bh_image *g, float x, float y)
{
	if (x < 0 || y < 0 || x > (float)g->w - 1 || y > (float)g->h - 1)
		return 255.0f;
	uint32_t x0 = (uint32_t)x, y0 = (uint32_t)y;
	uint32_t x1 = x0 + 1 < g->w ? x0 + 1 : x0, y1 = y0 + 1 < g->h ? y0 + 1 : y0;
	float fx = x - (float)x0, fy = y - (float)y0;
	const uint8_t *p = g->px;
	float top = p[(size_t)y0 * g->w + x0] * (1 - fx) + p[(size_t)y0 * g->w + x1] * fx;
	float bot = p[(size_t)y1 * g->w + x0] * (1 - fx) + p[(size_t)y1 * g->w + x1] * fx;
	return top * (1 - fy) + bot * fy;
}

/* The upright fingertip image of blob c: from the top end of its axis
 * down min(length, BH_SLAP_TIP_LEN widths), one width wide, plus one block
 * of margin on every side. */
static int crop_tip(const bh_image *g, const grid *gr, const blob *c, bh_slap_finger *f)
{
	float bs = (float)gr->bs, t = c->deg * (float)M_PI / 180.0f;
	float ax = sinf(t), ay = cosf(t); /* unit vector down the finger */
	float px = -ay, py = ax;          /* unit vector across it */
	float len = c->len < BH_SLAP_TIP_LEN * c->wid ? c->len : BH_SLAP_TIP_LEN * c->wid;
	uint32_t ow = (uint32_t)((c->wid + 2) * bs), oh = (uint32_t)((len + 2) * bs);
	int rc = bh_image_alloc(&f->tip, ow, oh, 1, &bh_image_default_limits);
	if (rc != BH_OK)
		return rc;
	f->tip.ppi = g->ppi;
	/* top-left corner of the crop, in pixels */
	float topx = (c->cx - ax * (c->len / 2 + 1)) * bs, topy = (c->cy - ay * (c->len / 2 + 1)) * bs;
	float x0 = topx - px * (c->wid / 2 + 1) * bs, y0 = topy - py * (c->wid / 2 + 1) * bs;
	for (uint32_t oy = 0; oy < oh; oy++)
		for (uint32_t ox = 0; ox < ow; ox++) {
			float x = x0 + px * ((float)ox + 0.5f) + ax * ((float)oy + 0.5f) - 0.5f;
			float y = y0 + py * ((float)ox + 0.5f) + ay * ((float)oy + 0.5f) - 0.5f;
			f->tip.px[(size_t)oy * ow + ox] = (uint8_t)lrintf(sample(g, x, y));
		}
	f->cx = topx + ax * len * bs / 2;
	f->cy = topy + ay * len * bs / 2;
	f->angle = c->deg;
	return BH_OK;
}

void bh_slap_free(bh_slap_finger *f, int n)
{
	for (int i = 0; i < n; i++)
		bh_image_free(&f[i].tip);
}

/* The grey working copy of img (converted if RGB). */
static int grey_copy(const bh_image *img, bh_image *g)
{
	int rc = bh_image_alloc(g, img->w, img->h, img->channels, &bh_image_default_limits);
	if (rc != BH_OK)
		return rc;
	memcpy(g->px, img->px, (size_t)img->w * img->h * img->channels);
	g->ppi = img->ppi ? img->ppi : 500;
	return img->channels == 1 ? BH_OK : bh_image_convert(g, 1);
}

static int segment(const bh_image *g, grid *gr, int pos, bh_slap_finger *out, int *n)
{
	int want[BH_SLAP_MAX_FINGERS], k = bh_slap_positions(pos, want);
	size_t nb = (size_t)gr->bw * gr->bh;
	uint8_t *tmp = malloc(nb);
	int32_t *lab = malloc(nb * sizeof *lab);
	blob *b = malloc(BH_SLAP_MAX_BLOBS * sizeof *b);
	int rc = tmp && lab && b ? BH_OK : bh_fail(BH_ENOMEM, "slap: out of memory");
	int nbl = 0, nc = 0;
	if (rc == BH_OK) {
		block_foreground(g, gr);
		majority(gr, tmp);
		majority(gr, tmp);
		opening(gr, tmp, BH_SLAP_OPEN_R);
		nbl = label_blobs(gr, lab, b, BH_SLAP_MAX_BLOBS);
		if (nbl < 0)
			rc = bh_fail(BH_ENOMEM, "slap: out of memory");
	}
	for (int i = 0; i < nbl; i++) { /* candidates first, in place */
		fit_ellipse(&b[i]);
		if (tip_like(&b[i]) && nc < 64)
			b[nc++] = b[i];
	}
	blob tips[BH_SLAP_MAX_FINGERS];
	int nt = rc == BH_OK ? pick_tips(b, nc, k, tips) : 0;
	/* Fewer fingertips than fingers: which is missing cannot be told, so
	 * no position is assigned by guesswork. */
	if (rc == BH_OK && nt < k)
		rc = bh_fail(BH_ENOFEATURE, "slap position %d: %d of %d fingertips found", pos, nt, k);
	for (int i = 0; rc == BH_OK && i < nt; i++) {
		memset(&out[i], 0, sizeof out[i]);
		rc = crop_tip(g, gr, &tips[i], &out[i]);
		if (rc == BH_OK) {
			out[i].position = want[i];
			*n = i + 1;
		}
	}
	if (tmp)
		bh_wipe_free(tmp, nb);
	if (lab)
		bh_wipe_free(lab, nb * sizeof *lab);
	free(b); /* moments only: no pixels */
	return rc;
}

int bh_slap_segment(const bh_image *img, int pos, bh_slap_finger out[BH_SLAP_MAX_FINGERS],
		    int *n)
{
	int want[BH_SLAP_MAX_FINGERS];
	*n = 0;
	if (!img || !img->px || !bh_slap_positions(pos, want))
		return bh_fail(BH_EINVAL, "slap: position %d is not a slap (11..15)", pos);
	bh_image g = {0};
	int rc = grey_copy(img, &g);
	if (rc != BH_OK) {
		bh_image_free(&g);
		return rc;
	}
	grid gr = {.bs = (uint32_t)lrintf(8.0f * (float)g.ppi / 500.0f)};
	gr.bs = gr.bs < 4 ? 4 : gr.bs;
	gr.bw = g.w / gr.bs;
	gr.bh = g.h / gr.bs;
	if (gr.bw < 8 || gr.bh < 8) {
		bh_image_free(&g);
		return bh_fail(BH_ENOFEATURE, "slap: image of %ux%u is too small", g.w, g.h);
	}
	gr.fg = malloc((size_t)gr.bw * gr.bh);
	rc = gr.fg ? segment(&g, &gr, pos, out, n) : bh_fail(BH_ENOMEM, "slap: out of memory");
	if (gr.fg)
		bh_wipe_free(gr.fg, (size_t)gr.bw * gr.bh);
	bh_image_free(&g);
	if (rc != BH_OK) {
		bh_slap_free(out, *n);
		*n = 0;
	}
	return rc;
}
