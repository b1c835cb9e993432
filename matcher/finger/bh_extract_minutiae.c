/*
 * bh_extract_minutiae.c - minutiae from the skeleton, false-minutia removal,
 * directions and quality.
 *
 * On the converged skeleton (bh_extract_enhance.c) every pixel's set
 * neighbours form c 8-connected groups: c == 1 is a ridge ending, c == 2 a
 * ridge pixel, c >= 3 a junction (bifurcation).  Ridges are followed by
 * stepping into the neighbour group that does not hold the previous pixel.
 *
 * All distances scale with the image's median ridge period P (about 9 px at
 * 500 ppi), so the rules carry over to other sensors without retuning.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_extract_int.h"
#include "bh_mem.h"

#define MAX_CAND 8192 /* candidates before filtering (palms: many) */

typedef struct cand {
	int x, y;
	int type;     /* BH_MINUTIA_ENDING / BH_MINUTIA_BIFURCATION */
	int alive;
	float theta;
	float q;
} cand;

typedef struct trace_res {
	int x, y;     /* last pixel reached */
	int len;      /* steps taken */
	int stop;     /* 0 = length reached, 1 = ending, 3 = junction, -1 = left the foreground */
} trace_res;

static const int RX[8] = {0, 1, 1, 1, 0, -1, -1, -1}; /* N NE E SE S SW W NW */
static const int RY[8] = {-1, -1, 0, 1, 1, 1, 0, -1};

/* Labels the 8-connected groups of the set neighbours (label per ring
 * position, -1 if unset); returns the number of groups. */
static int ring_groups(unsigned nb, int lab[8])
{
	int parent[8];
	for (int i = 0; i < 8; i++)
		parent[i] = i;
	for (int i = 0; i < 8; i++) {
		if (!(nb >> i & 1))
			continue;
		for (int k = 1; k <= 2; k++) {
			int j = (i + k) & 7;
			if ((k == 2 && (i & 1)) || !(nb >> j & 1))
				continue;
			int a = i, b = j;
			while (parent[a] != a)
				a = parent[a];
			while (parent[b] != b)
				b = parent[b];
			parent[a] = b;
		}
	}
	int n = 0, map[8];
	for (int i = 0; i < 8; i++)
		map[i] = -1;
	for (int i = 0; i < 8; i++) {
		if (!(nb >> i & 1)) {
			lab[i] = -1;
			continue;
		}
		int r = i;
		while (parent[r] != r)
			r = parent[r];
		if (map[r] < 0)
			map[r] = n++;
		lab[i] = map[r];
	}
	return n;
}

static inline unsigned nb_at(const fp_work *w, int x, int y)
{
	unsigned nb = 0;
	for (int i = 0; i < 8; i++) {
		int xx = x + RX[i], yy = y + RY[i];
		if (xx >= 0 && yy >= 0 && xx < (int)w->w && yy < (int)w->h &&
		    w->skel[(size_t)yy * w->w + (size_t)xx])
			nb |= 1u << i;
	}
	return nb;
}

static inline int in_fg(const fp_work *w, int x, int y)
{
	return x >= 0 && y >= 0 && x < (int)w->w && y < (int)w->h &&
	       w->fg[(size_t)(y / BH_FP_BLOCK) * w->bw + (size_t)(x / BH_FP_BLOCK)];
}

/* Picks the first pixel of group g, 4-neighbours first (straighter path). */
static int group_pixel(const int lab[8], int g)
{
	for (int i = 0; i < 8; i += 2)
		if (lab[i] == g)
			return i;
	for (int i = 1; i < 8; i += 2)
		if (lab[i] == g)
			return i;
	return -1;
}

/* Follows the ridge that leaves (x0, y0) through ring position dir. */
static trace_res trace(const fp_work *w, int x0, int y0, int dir, int maxlen)
{
	int px = x0, py = y0, cx = x0 + RX[dir], cy = y0 + RY[dir];
	trace_res r = {cx, cy, 1, 0};
	for (;;) {
		r.x = cx;
		r.y = cy;
		if (!in_fg(w, cx, cy)) {
			r.stop = -1;
			return r;
		}
		int lab[8];
		int ng = ring_groups(nb_at(w, cx, cy), lab);
		if (ng != 2) {
			r.stop = ng >= 3 ? 3 : 1;
			return r;
		}
		if (r.len >= maxlen)
			return r;
		int back = -1;
		for (int i = 0; i < 8; i++)
			if (cx + RX[i] == px && cy + RY[i] == py)
				back = lab[i];
		int d = group_pixel(lab, back == 0 ? 1 : 0);
		if (d < 0)
			return r;
		px = cx;
		py = cy;
		cx += RX[d];
		cy += RY[d];
		r.len++;
	}
}

static float angle_norm(float a)
{
	const float tp = 2 * (float)M_PI;
	a = fmodf(a, tp);
	return a < 0 ? a + tp : a;
}

/* Absolute angular difference in [0, pi]. */
static float angle_diff(float a, float b)
{
	float d = fabsf(angle_norm(a - b));
	return d > (float)M_PI ? 2 * (float)M_PI - d : d;
}

static int cand_at(const cand *c, int n, int x, int y, int radius)
{
	for (int i = 0; i < n; i++)
		if (c[i].alive && abs(c[i].x - x) <= radius && abs(c[i].y - y) <= radius)
			return i;
	return -1;
}

/* Direction from a trace of about one period, refined by the smoothed
 * orientation field when the two agree (the field is less noisy than a
 * dozen skeleton pixels, the trace says which way). */
static float direction(const fp_work *w, const cand *c, int len)
{
	int lab[8];
	int ng = ring_groups(nb_at(w, c->x, c->y), lab);
	float raw;
	if (c->type == BH_MINUTIA_ENDING) {
		trace_res t = trace(w, c->x, c->y, group_pixel(lab, 0), len);
		raw = atan2f((float)(c->y - t.y), (float)(c->x - t.x));
	} else {
		float a[8];
		int nbr = ng > 8 ? 8 : ng;
		for (int g = 0; g < nbr; g++) {
			trace_res t = trace(w, c->x, c->y, group_pixel(lab, g), len);
			a[g] = atan2f((float)(t.y - c->y), (float)(t.x - c->x));
		}
		/* the lone branch: farthest from its nearest sibling */
		int lone = 0;
		float best = -1;
		for (int g = 0; g < nbr; g++) {
			float dmin = 10;
			for (int h = 0; h < nbr; h++)
				if (h != g && angle_diff(a[g], a[h]) < dmin)
					dmin = angle_diff(a[g], a[h]);
			if (dmin > best) {
				best = dmin;
				lone = g;
			}
		}
		raw = a[lone];
	}
	raw = angle_norm(raw);
	float o = w->orient[(size_t)(c->y / BH_FP_BLOCK) * w->bw + (size_t)(c->x / BH_FP_BLOCK)];
	float o2 = angle_norm(o + (float)M_PI);
	float pick = angle_diff(raw, o) < angle_diff(raw, o2) ? o : o2;
	return angle_diff(raw, pick) < (float)M_PI / 6 ? angle_norm(pick) : raw;
}

static float median_period(const fp_work *w)
{
	/* histogram of foreground block periods in 0.25 px bins */
	unsigned hist[80] = {0}, n = 0;
	for (size_t i = 0; i < (size_t)w->bw * w->bh; i++)
		if (w->fg[i]) {
			int b = (int)(w->period[i] * 4);
			hist[b < 0 ? 0 : b > 79 ? 79 : b]++;
			n++;
		}
	unsigned acc = 0;
	for (int b = 0; b < 80; b++) {
		acc += hist[b];
		if (2 * acc >= n && n)
			return b / 4.0f;
	}
	return 9.0f;
}

/* Finds candidates: endings and junction pixels (junction clusters merged). */
static int find_candidates(const fp_work *w, cand *c, int *nc)
{
	int n = 0;
	for (uint32_t y = 1; y + 1 < w->h; y++)
		for (uint32_t x = 1; x + 1 < w->w; x++) {
			if (!w->skel[(size_t)y * w->w + x])
				continue;
			size_t bi = (size_t)(y / BH_FP_BLOCK) * w->bw + x / BH_FP_BLOCK;
			if (!w->fg[bi])
				continue;
			int lab[8];
			int ng = ring_groups(nb_at(w, (int)x, (int)y), lab);
			if (ng == 2 || ng == 0)
				continue;
			int type = ng == 1 ? BH_MINUTIA_ENDING : BH_MINUTIA_BIFURCATION;
			if (type == BH_MINUTIA_BIFURCATION && cand_at(c, n, (int)x, (int)y, 2) >= 0)
				continue; /* same junction cluster */
			if (n >= MAX_CAND)
				return bh_fail(BH_ETOOBIG, "fingerprint: too many minutia candidates");
			c[n] = (cand){(int)x, (int)y, type, 1, 0, 0};
			n++;
		}
	*nc = n;
	return BH_OK;
}

/* True if any point at distance r (16 directions) is off the foreground. */
static int near_border(const fp_work *w, int x, int y, float r)
{
	for (int k = 0; k < 16; k++) {
		float a = k * (float)M_PI / 8;
		if (!in_fg(w, x + (int)lrintf(r * cosf(a)), y + (int)lrintf(r * sinf(a))))
			return 1;
	}
	return 0;
}

/* Structural false-minutia rules (see the file comment). */
static int remove_false(const fp_work *w, cand *c, int n, float P)
{
	int lspur = (int)lrintf(1.6f * P), lbridge = (int)lrintf(1.2f * P);
	uint8_t *kill = calloc((size_t)n + 1, 1);
	if (!kill)
		return bh_fail(BH_ENOMEM, "minutiae");
	for (int i = 0; i < n; i++) {
		cand *m = &c[i];
		size_t bi = (size_t)(m->y / BH_FP_BLOCK) * w->bw + (size_t)(m->x / BH_FP_BLOCK);
		if (w->dist[bi] < 2 || near_border(w, m->x, m->y, 1.5f * P)) {
			kill[i] = 1; /* border: the ridge is cut by the mask or the image edge */
			continue;
		}
		int lab[8];
		int ng = ring_groups(nb_at(w, m->x, m->y), lab);
		for (int g = 0; g < ng && g < 8; g++) {
			int lim = m->type == BH_MINUTIA_ENDING ? lspur : lbridge;
			trace_res t = trace(w, m->x, m->y, group_pixel(lab, g), lim);
			if (t.stop == -1 && m->type == BH_MINUTIA_ENDING) {
				kill[i] = 1; /* a ridge stub running out of the print */
			} else if (t.stop == 1 || t.stop == 3) {
				int j = cand_at(c, n, t.x, t.y, 2);
				/* a junction reached within 2 px is the same junction cluster */
				if (t.stop == 3 && m->type == BH_MINUTIA_BIFURCATION && t.len <= 2)
					continue;
				/* ending-ending: short ridge; ending-junction: spur;
				 * junction-junction: bridge */
				kill[i] = 1;
				if (j >= 0)
					kill[j] = 1;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (kill[i])
			c[i].alive = 0;
	bh_wipe_free(kill, (size_t)n + 1);
	return BH_OK;
}

/* Dense clusters: a minutia with 3 or more others within 2 periods sits in
 * a noisy patch (scar, smudge, crease); all of them are dropped together. */
static int remove_clusters(cand *c, int n, float P)
{
	float r2 = (2.0f * P) * (2.0f * P);
	uint8_t *kill = calloc((size_t)n + 1, 1);
	if (!kill)
		return bh_fail(BH_ENOMEM, "minutiae");
	for (int i = 0; i < n; i++) {
		if (!c[i].alive)
			continue;
		int near = 0;
		for (int j = 0; j < n; j++) {
			if (j == i || !c[j].alive)
				continue;
			float dx = (float)(c[j].x - c[i].x), dy = (float)(c[j].y - c[i].y);
			near += dx * dx + dy * dy <= r2;
		}
		if (near >= 3)
			kill[i] = 1;
	}
	for (int i = 0; i < n; i++)
		if (kill[i])
			c[i].alive = 0;
	bh_wipe_free(kill, (size_t)n + 1);
	return BH_OK;
}

/* Broken ridges (two endings facing each other) and very close pairs. */
static void remove_pairs(cand *c, int n, float P)
{
	float dbreak = 1.6f * P, dclose = 0.5f * P;
	for (int i = 0; i < n; i++) {
		if (!c[i].alive)
			continue;
		for (int j = i + 1; j < n; j++) {
			if (!c[j].alive)
				continue;
			float dx = (float)(c[j].x - c[i].x), dy = (float)(c[j].y - c[i].y);
			float d = sqrtf(dx * dx + dy * dy);
			if (d > dbreak)
				continue;
			if (d < dclose) {
				c[i].alive = c[j].alive = 0;
				break;
			}
			if (c[i].type == BH_MINUTIA_ENDING && c[j].type == BH_MINUTIA_ENDING) {
				float a = atan2f(dy, dx); /* i -> j */
				if (angle_diff(c[i].theta, a) < (float)M_PI / 4 &&
				    angle_diff(c[j].theta, a + (float)M_PI) < (float)M_PI / 4) {
					c[i].alive = c[j].alive = 0;
					break;
				}
			}
		}
	}
}

static int cmp_q(const void *a, const void *b)
{
	const bh_minutia *x = a, *y = b;
	if (x->quality != y->quality)
		return x->quality > y->quality ? -1 : 1;
	if (x->y != y->y)
		return x->y < y->y ? -1 : 1;
	return (x->x > y->x) - (x->x < y->x);
}

int fp_minutiae(fp_work *w, uint32_t max_minutiae, bh_fp_features *out)
{
	cand *c = malloc(MAX_CAND * sizeof *c);
	if (!c)
		return bh_fail(BH_ENOMEM, "minutiae");
	int n = 0;
	int rc = find_candidates(w, c, &n);
	if (rc != BH_OK) {
		bh_wipe_free(c, MAX_CAND * sizeof *c);
		return rc;
	}
	float P = median_period(w);
	rc = remove_false(w, c, n, P);
	if (rc != BH_OK) {
		bh_wipe_free(c, MAX_CAND * sizeof *c);
		return rc;
	}
	int dlen = (int)lrintf(1.2f * P);
	for (int i = 0; i < n; i++)
		if (c[i].alive)
			c[i].theta = direction(w, &c[i], dlen);
	remove_pairs(c, n, P);
	rc = remove_clusters(c, n, P);
	if (rc != BH_OK) {
		bh_wipe_free(c, MAX_CAND * sizeof *c);
		return rc;
	}
	uint32_t kept = 0;
	for (int i = 0; i < n; i++)
		kept += (uint32_t)c[i].alive;
	out->m = calloc(kept ? kept : 1, sizeof *out->m);
	if (!out->m) {
		bh_wipe_free(c, MAX_CAND * sizeof *c);
		return bh_fail(BH_ENOMEM, "minutiae");
	}
	uint32_t k = 0;
	for (int i = 0; i < n; i++) {
		if (!c[i].alive)
			continue;
		size_t bi = (size_t)(c[i].y / BH_FP_BLOCK) * w->bw + (size_t)(c[i].x / BH_FP_BLOCK);
		float d = w->dist[bi] >= 4 ? 1.0f : w->dist[bi] / 4.0f;
		float q = 100.0f * w->coh[bi] * d;
		out->m[k++] = (bh_minutia){(float)c[i].x, (float)c[i].y, c[i].theta, (uint8_t)c[i].type,
					   (uint8_t)(q > 100 ? 100 : q < 1 ? 1 : q), 0};
	}
	qsort(out->m, k, sizeof *out->m, cmp_q);
	out->n = k < max_minutiae ? k : max_minutiae;
	/* image quality: mean coherence over the foreground, scaled */
	double sc = 0;
	size_t nf = 0;
	for (size_t i = 0; i < (size_t)w->bw * w->bh; i++)
		if (w->fg[i]) {
			sc += w->coh[i];
			nf++;
		}
	int iq = nf ? (int)lrint(100.0 * sc / nf) : 0;
	out->quality = out->n < 8 ? iq / 4 : iq;
	if (k > out->n) /* wipe the dropped tail */
		bh_wipe(out->m + out->n, (k - out->n) * sizeof *out->m);
	bh_wipe_free(c, MAX_CAND * sizeof *c);
	return BH_OK;
}
