/*
 * bh_mcc.c - MCC bit templates, validation and the LSS-R comparator.
 * Format, parameters and score definition: bh_mcc.h.
 */
#include "bh_mcc.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bh_cpu.h"
#include "bh_err.h"
#include "bh_mem.h"

/* ---- parameters (Cappelli et al. 2010, Table 2; 500 ppi) ---------------- */
#define R_CYL 70.0f
#define NS BH_MCC_NS
#define ND BH_MCC_ND
#define DELTA_S (2.0f * R_CYL / NS)
#define DELTA_D (2.0f * (float)M_PI / ND)
#define SIGMA_S (28.0f / 3.0f)
#define SIGMA_D (2.0f * (float)M_PI / 9.0f)
#define MU_PSI 0.01f
#define TAU_PSI 400.0f
#define MIN_VC 0.75f
#define MIN_M 2
#define MIN_ME 0.60f
#define OMEGA 50.0f
/* LSS-R */
#define MIN_NP 4
#define MAX_NP 12
#define MU_P 20.0f
#define TAU_P 0.4f
#define N_REL 5
#define W_R 0.5f
#define MU_1 5.0f
#define TAU_1 (-1.6f)
#define MU_2 ((float)M_PI / 12)
#define TAU_2 (-30.0f)
#define MU_3 ((float)M_PI / 12)
#define TAU_3 (-30.0f)

#define NBUCKET BH_MCC_BUCKETS
#define RANK_LO ((1u << 22) - 1) /* select_vec()'s rank keys: the (i, j) bits */
_Static_assert(BH_MCC_MAX_CYL <= 2048, "rank keys hold i and j in 11 bits each");
#define LIST_FLUSH 256 /* local_sims_avx512(): pairs listed before lambda_list() */

static const float TWO_PI = 2.0f * (float)M_PI;

/* ---- geometry of the disc ------------------------------------------------ */

typedef struct disc {
	int nc;               /* cells per section */
	int8_t ci[NS * NS], cj[NS * NS];
	int16_t map[NS][NS];  /* (i, j) -> cell index, -1 outside the disc */
} disc;

static void disc_init(disc *d)
{
	d->nc = 0;
	for (int i = 0; i < NS; i++)
		for (int j = 0; j < NS; j++) {
			float u = (i - (NS - 1) / 2.0f) * DELTA_S, v = (j - (NS - 1) / 2.0f) * DELTA_S;
			if (u * u + v * v <= R_CYL * R_CYL) {
				d->ci[d->nc] = (int8_t)i;
				d->cj[d->nc] = (int8_t)j;
				d->map[i][j] = (int16_t)d->nc++;
			} else {
				d->map[i][j] = -1;
			}
		}
}

/* The comparator asks for the cell count on every call, so it is counted
 * once per process (disc_init's 256 float tests were ~5 % of a comparison). */
static uint32_t disc_cells;
static pthread_once_t disc_once = PTHREAD_ONCE_INIT;

static void disc_count(void)
{
	disc d;
	disc_init(&d);
	disc_cells = (uint32_t)d.nc;
}

uint32_t bh_mcc_cells(void)
{
	pthread_once(&disc_once, disc_count);
	return disc_cells;
}

uint32_t bh_mcc_words(void) { return (bh_mcc_cells() * ND + 63) / 64; }

/* Angle difference normalised to [-pi, pi) (the paper's d_phi). */
static inline float dphi(float a, float b)
{
	float d = a - b;
	while (d < -(float)M_PI)
		d += TWO_PI;
	while (d >= (float)M_PI)
		d -= TWO_PI;
	return d;
}

static inline float sigmoid(float v, float mu, float tau) { return 1.0f / (1.0f + expf(-tau * (v - mu))); }

/* ---- cylinder construction ----------------------------------------------- */

typedef struct mpt {
	float x, y, t;
} mpt;

/* Sums of contributions for every cell of minutia m's cylinder (sums has
 * nc*ND entries, zeroed by the caller).  Neighbours are all other points. */
static int cyl_sums(const disc *d, const mpt *p, uint32_t n, uint32_t m, float *sums)
{
	const float reach = R_CYL + 3 * SIGMA_S, cth = cosf(p[m].t), sth = sinf(p[m].t);
	const float gs_norm = 1.0f / (SIGMA_S * sqrtf(TWO_PI)), rc = 3 * SIGMA_S / DELTA_S;
	int near = 0;
	for (uint32_t t = 0; t < n; t++) {
		if (t == m)
			continue;
		float dx = p[t].x - p[m].x, dy = p[t].y - p[m].y;
		if (dx * dx + dy * dy > reach * reach)
			continue;
		near++;
		/* position in cell units (inverse rotation by theta_m) */
		float fi = (dx * cth + dy * sth) / DELTA_S + (NS - 1) / 2.0f;
		float fj = (-dx * sth + dy * cth) / DELTA_S + (NS - 1) / 2.0f;
		/* directional mass per section */
		float cd[ND], dth = dphi(p[m].t, p[t].t);
		for (int k = 0; k < ND; k++) {
			float ck = -(float)M_PI + (k + 0.5f) * DELTA_D;
			float a = dphi(ck, dth);
			float s2 = SIGMA_D * sqrtf(2.0f);
			cd[k] = 0.5f * (erff((a + DELTA_D / 2) / s2) - erff((a - DELTA_D / 2) / s2));
		}
		int i0 = (int)floorf(fi - rc), i1 = (int)ceilf(fi + rc);
		int j0 = (int)floorf(fj - rc), j1 = (int)ceilf(fj + rc);
		for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < NS; i++)
			for (int j = j0 < 0 ? 0 : j0; j <= j1 && j < NS; j++) {
				int c = d->map[i][j];
				if (c < 0)
					continue;
				float ex = (i - fi) * DELTA_S, ey = (j - fj) * DELTA_S;
				float dd = ex * ex + ey * ey;
				if (dd > 9 * SIGMA_S * SIGMA_S)
					continue;
				float gs = gs_norm * expf(-dd / (2 * SIGMA_S * SIGMA_S));
				for (int k = 0; k < ND; k++)
					sums[k * d->nc + c] += gs * cd[k];
			}
	}
	return near;
}

/* Convex hull of the minutiae (Andrew's monotone chain), counter-clockwise
 * in y-down coordinates does not matter: only inside/distance tests use it. */
typedef struct hull {
	int n;
	float x[2 * BH_MINUTIAE_MAX + 2], y[2 * BH_MINUTIAE_MAX + 2];
} hull;

static int cmp_pt(const void *a, const void *b)
{
	const mpt *p = a, *q = b;
	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	return (p->y > q->y) - (p->y < q->y);
}

static float cross3(float ox, float oy, float ax, float ay, float bx, float by)
{
	return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox);
}

static void hull_build(hull *h, mpt *p, uint32_t n)
{
	qsort(p, n, sizeof *p, cmp_pt);
	int k = 0;
	for (uint32_t i = 0; i < n; i++) {
		while (k >= 2 && cross3(h->x[k - 2], h->y[k - 2], h->x[k - 1], h->y[k - 1], p[i].x, p[i].y) <= 0)
			k--;
		h->x[k] = p[i].x;
		h->y[k++] = p[i].y;
	}
	for (int i = (int)n - 2, lo = k + 1; i >= 0; i--) {
		while (k >= lo && cross3(h->x[k - 2], h->y[k - 2], h->x[k - 1], h->y[k - 1], p[i].x, p[i].y) <= 0)
			k--;
		h->x[k] = p[i].x;
		h->y[k++] = p[i].y;
	}
	h->n = k > 1 ? k - 1 : k;
}

/* Inside the hull, or within omega of its boundary. */
static int hull_near(const hull *h, float x, float y, float omega)
{
	if (h->n < 3)
		return 0;
	int inside = 1;
	float best = 1e30f;
	for (int i = 0; i < h->n; i++) {
		int j = (i + 1) % h->n;
		float ex = h->x[j] - h->x[i], ey = h->y[j] - h->y[i];
		if (cross3(h->x[i], h->y[i], h->x[j], h->y[j], x, y) < 0)
			inside = 0;
		float l2 = ex * ex + ey * ey, t = l2 > 0 ? ((x - h->x[i]) * ex + (y - h->y[i]) * ey) / l2 : 0;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
		float dx = h->x[i] + t * ex - x, dy = h->y[i] + t * ey - y;
		if (dx * dx + dy * dy < best)
			best = dx * dx + dy * dy;
	}
	return inside || best <= omega * omega;
}

/* Cell validity: the cell centre lies in the minutiae's convex hull enlarged
 * by OMEGA (the paper's rule: where minutiae could have been observed).
 * Returns the valid count. */
static int cyl_valid(const disc *d, const hull *h, const mpt *m, uint8_t *valid)
{
	float cth = cosf(m->t), sth = sinf(m->t);
	int nv = 0;
	for (int c = 0; c < d->nc; c++) {
		float u = (d->ci[c] - (NS - 1) / 2.0f) * DELTA_S, v = (d->cj[c] - (NS - 1) / 2.0f) * DELTA_S;
		float x = m->x + u * cth - v * sth, y = m->y + u * sth + v * cth;
		int ok = hull_near(h, x, y, OMEGA);
		valid[c] = (uint8_t)ok;
		nv += ok;
	}
	return nv;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* little-endian host (x86-64, aarch64) */
	return v;
}

/* Bytes of the header, n minutiae and n cylinders of W-word planes: where
 * version 2's field section starts (the blob layout in bh_mcc.h). */
static size_t cyl_end(uint32_t n, uint32_t W) { return BH_MCC_HEADER + (size_t)n * (8 + 16 * (size_t)W); }

static uint16_t theta_q(float t)
{
	float a = fmodf(t, TWO_PI);
	if (a < 0)
		a += TWO_PI;
	long q = lrintf(a * 65536.0f / TWO_PI);
	return (uint16_t)(q & 0xffff);
}

int bh_mcc_build(const bh_fp_features *f, uint8_t **blob, size_t *len)
{
	*blob = NULL;
	*len = 0;
	if (!f || (f->n && !f->m) || !f->fg || f->w == 0 || f->h == 0 || f->w > 8192 || f->h > 8192)
		return bh_fail(BH_EINVAL, "mcc: bad features");
	disc d;
	disc_init(&d);
	const uint32_t W = (uint32_t)(d.nc * ND + 63) / 64, cells = (uint32_t)d.nc * ND;
	uint32_t n = f->n;
	mpt *p = malloc((n ? n : 1) * sizeof *p);
	float *sums = malloc(cells * sizeof *sums);
	uint8_t valid[NS * NS];
	uint32_t nmax = n < BH_MCC_MAX_CYL ? n : BH_MCC_MAX_CYL;
	const uint32_t gw = f->orient ? bh_ofield_side(f->w) : 0, gh = f->orient ? bh_ofield_side(f->h) : 0;
	size_t cap = cyl_end(nmax, W) + 4 + (size_t)gw * gh;
	uint8_t *b = calloc(cap, 1);
	if (!p || !sums || !b) {
		free(p);
		free(sums);
		free(b);
		return bh_fail(BH_ENOMEM, "mcc build");
	}
	for (uint32_t i = 0; i < n; i++) {
		/* quantise first, so the blob's minutiae are exactly what is used */
		p[i].x = (float)lrintf(f->m[i].x * 4) / 4;
		p[i].y = (float)lrintf(f->m[i].y * 4) / 4;
		p[i].t = theta_q(f->m[i].theta) * TWO_PI / 65536.0f;
	}
	hull *hl = malloc(sizeof *hl);
	mpt *sorted = malloc((n ? n : 1) * sizeof *sorted);
	if (!hl || !sorted) {
		free(hl);
		free(sorted);
		free(p);
		free(sums);
		free(b);
		return bh_fail(BH_ENOMEM, "mcc build");
	}
	memcpy(sorted, p, n * sizeof *p);
	hull_build(hl, sorted, n < BH_MINUTIAE_MAX ? n : BH_MINUTIAE_MAX);
	uint32_t k = 0;
	uint8_t *cyl0 = b + BH_MCC_HEADER + (size_t)nmax * 8;
	for (uint32_t i = 0; i < n && k < nmax; i++) { /* f->m is sorted by quality */
		if (cyl_valid(&d, hl, &p[i], valid) < MIN_VC * d.nc)
			continue;
		memset(sums, 0, cells * sizeof *sums);
		if (cyl_sums(&d, p, n, i, sums) < MIN_M)
			continue;
		uint8_t *mr = b + BH_MCC_HEADER + (size_t)k * 8;
		put16(mr, (uint32_t)lrintf(p[i].x * 4));
		put16(mr + 2, (uint32_t)lrintf(p[i].y * 4));
		put16(mr + 4, theta_q(p[i].t));
		mr[6] = f->m[i].type;
		mr[7] = f->m[i].quality > 100 ? 100 : f->m[i].quality;
		uint8_t *cb = cyl0 + (size_t)k * 16 * W;
		for (uint32_t w = 0; w < W; w++) {
			uint64_t bits = 0, mask = 0;
			for (uint32_t bit = 0; bit < 64; bit++) {
				uint32_t c = w * 64 + bit;
				if (c >= cells)
					break;
				uint64_t v = valid[c % (uint32_t)d.nc];
				mask |= v << bit;
				bits |= (uint64_t)(v && sums[c] > MU_PSI) << bit;
			}
			put64(cb + 8 * w, bits);
			put64(cb + 8 * (W + w), mask);
		}
		k++;
	}
	/* compact: cylinders follow the k minutiae records */
	if (k < nmax)
		memmove(b + BH_MCC_HEADER + (size_t)k * 8, cyl0, (size_t)k * 16 * W);
	memcpy(b, "BHMC", 4);
	b[4] = BH_MCC_VERSION;
	b[5] = NS;
	b[6] = ND;
	b[7] = (uint8_t)W;
	put16(b + 8, k);
	put16(b + 10, f->w);
	put16(b + 12, f->h);
	b[14] = (uint8_t)(f->quality < 0 ? 0 : f->quality > 100 ? 100 : f->quality);
	uint8_t *fs = b + cyl_end(k, W); /* field section */
	put16(fs, gw);
	put16(fs + 2, gh);
	if (gw)
		bh_ofield_build(f, fs + 4);
	*len = (size_t)(fs - b) + 4 + (size_t)gw * gh;
	if (*len < cap)
		bh_wipe(b + *len, cap - *len);
	*blob = b; /* capacity >= len; the caller wipes len bytes, the tail is zero */
	bh_wipe_free(p, (n ? n : 1) * sizeof *p);
	bh_wipe_free(sums, cells * sizeof *sums);
	bh_wipe(valid, sizeof valid);
	bh_wipe_free(sorted, (n ? n : 1) * sizeof *sorted);
	bh_wipe_free(hl, sizeof *hl);
	return BH_OK;
}

/* ---- validation ---------------------------------------------------------- */

int bh_mcc_check(const void *blob, size_t len)
{
	const uint8_t *b = blob;
	if (!b || len < BH_MCC_HEADER)
		return bh_fail(BH_EFORMAT, "mcc: template of %zu bytes", len);
	if (memcmp(b, "BHMC", 4))
		return bh_fail(BH_EFORMAT, "mcc: bad magic");
	if (b[4] != 1 && b[4] != BH_MCC_VERSION)
		return bh_fail(BH_EVERSION, "mcc: version %u, this build reads 1 and %u", b[4], BH_MCC_VERSION);
	uint32_t W = bh_mcc_words(), cells = bh_mcc_cells() * ND;
	if (b[5] != NS || b[6] != ND || b[7] != W)
		return bh_fail(BH_EFORMAT, "mcc: geometry %u/%u/%u, expected %u/%u/%u", b[5], b[6], b[7],
			       NS, ND, W);
	uint32_t n = get16(b + 8), w = get16(b + 10), h = get16(b + 12);
	if (n > BH_MCC_MAX_CYL)
		return bh_fail(BH_EFORMAT, "mcc: %u cylinders (max %u)", n, BH_MCC_MAX_CYL);
	if (w == 0 || h == 0 || w > 8192 || h > 8192 || b[14] > 100 || b[15])
		return bh_fail(BH_EFORMAT, "mcc: bad header fields");
	size_t want = cyl_end(n, W), gcells = 0;
	if (b[4] >= 2) { /* the field section: its two sizes, then its cells */
		if (len < want + 4)
			return bh_fail(BH_EFORMAT, "mcc: %zu bytes, no room for the field section", len);
		uint32_t gw = get16(b + want), gh = get16(b + want + 2);
		int none = gw == 0 && gh == 0;
		if (!none && (gw != bh_ofield_side(w) || gh != bh_ofield_side(h)))
			return bh_fail(BH_EFORMAT, "mcc: field of %ux%u cells for a %ux%u image", gw, gh, w, h);
		gcells = (size_t)gw * gh;
		want += 4 + gcells;
	}
	if (len != want)
		return bh_fail(BH_EFORMAT, "mcc: %zu bytes for %u cylinders, expected %zu", len, n, want);
	if (gcells) {
		int rc = bh_ofield_check(b + len - gcells, gcells);
		if (rc != BH_OK)
			return rc;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *m = b + BH_MCC_HEADER + 8 * i;
		if (get16(m) >= w * 4 || get16(m + 2) >= h * 4 || (m[6] != 1 && m[6] != 2) || m[7] > 100)
			return bh_fail(BH_EFORMAT, "mcc: minutia %u out of range", i);
		const uint8_t *cb = b + BH_MCC_HEADER + 8 * n + (size_t)i * 16 * W;
		for (uint32_t k = 0; k < W; k++) {
			uint64_t bits = get64(cb + 8 * k), mask = get64(cb + 8 * (W + k));
			uint64_t pad = (k + 1) * 64 > cells ? ~0ull << (cells - k * 64) : 0;
			if ((bits & ~mask) || (mask & pad))
				return bh_fail(BH_EFORMAT, "mcc: cylinder %u has bits outside its mask", i);
		}
	}
	return BH_OK;
}

int bh_mcc_view_init(const void *blob, size_t len, bh_mcc_view *v)
{
	int rc = bh_mcc_check(blob, len);
	if (rc != BH_OK)
		return rc;
	const uint8_t *b = blob;
	v->n = get16(b + 8);
	v->words = b[7];
	v->quality = b[14];
	v->blob = b;
	v->field = (bh_ofield){NULL, 0, 0, NULL, 0};
	if (b[4] >= 2) {
		const uint8_t *fs = b + cyl_end(v->n, v->words);
		v->field.gw = get16(fs);
		v->field.gh = get16(fs + 2);
		v->field.cell = v->field.gw ? fs + 4 : NULL;
	}
	return BH_OK;
}

/* ---- comparator ---------------------------------------------------------- */

typedef struct pairsel {
	uint16_t a, b;
	float l;
} pairsel;

struct bh_mcc_ws {
	size_t cap_lam, cap_pts, cap_rho;
	float *lam;       /* nA*nB local similarities */
	uint32_t *order;  /* the nonzero ones' keys, bucket-sorted (or the
			   * rank keys of select_vec); room for cap_lam + 16 */
	/* the nonzero similarities in index order (nz_collect): key i << 16 | j
	 * and bucket (int)(lam * (NBUCKET - 1)); z0 = key of the first zero
	 * (UINT32_MAX if none).  Room for cap_lam + 16 (whole-vector stores).
	 * The AVX-512 path lists select_vec()'s rank keys in order instead. */
	uint32_t *nzkey;
	uint16_t *nzbk;
	uint32_t nnz, z0;
	uint32_t top; /* the AVX-512 path: the largest rank key in order[] */
	mpt *pa, *pb;
	uint8_t *used_a, *used_b;
	pairsel *sel;
	float *geo;       /* the selected pairs' minutiae, 6 planes of cap_pts */
	float *rho, *l0, *l1, *l2;
	uint32_t count[NBUCKET + 1];
	/* lssr(): the n_P averaged pairs' minutiae, highest efficiency first */
	uint16_t topa[MAX_NP], topb[MAX_NP];
	uint32_t ntop;
	uint32_t *fg; /* field_scale(): A's foreground cells (bh_ofield_list) */
	size_t cap_fg;
};

bh_mcc_ws *bh_mcc_ws_new(void) { return calloc(1, sizeof(bh_mcc_ws)); }

void bh_mcc_ws_free(bh_mcc_ws *ws)
{
	if (!ws)
		return;
	bh_wipe_free(ws->lam, ws->cap_lam * sizeof(float));
	bh_wipe_free(ws->order, (ws->cap_lam + 16) * sizeof(uint32_t));
	bh_wipe_free(ws->nzkey, (ws->cap_lam + 16) * sizeof(uint32_t));
	bh_wipe_free(ws->nzbk, (ws->cap_lam + 16) * sizeof(uint16_t));
	bh_wipe_free(ws->pa, ws->cap_pts * sizeof(mpt));
	bh_wipe_free(ws->pb, ws->cap_pts * sizeof(mpt));
	bh_wipe_free(ws->used_a, ws->cap_pts);
	bh_wipe_free(ws->used_b, ws->cap_pts);
	bh_wipe_free(ws->sel, ws->cap_pts * sizeof(pairsel));
	bh_wipe_free(ws->geo, 6 * ws->cap_pts * sizeof(float));
	bh_wipe_free(ws->l0, ws->cap_pts * sizeof(float));
	bh_wipe_free(ws->l1, ws->cap_pts * sizeof(float));
	bh_wipe_free(ws->l2, ws->cap_pts * sizeof(float));
	bh_wipe_free(ws->rho, ws->cap_rho * sizeof(float));
	bh_wipe_free(ws->fg, ws->cap_fg * sizeof(uint32_t));
	free(ws);
}

/* One scratch array buf of *cap elements of `size` bytes, grown to hold
 * `need`: buf itself when it does, else a new array (the old one wiped and
 * freed, contents not kept), or NULL with *cap 0 when that fails. */
static void *ws_grow(void *buf, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return buf;
	bh_wipe_free(buf, *cap * size);
	void *p = malloc(need * size);
	*cap = p ? need : 0;
	return p;
}

static int ws_reserve(bh_mcc_ws *ws, uint32_t na, uint32_t nb)
{
	size_t nl = (size_t)na * nb, np = na > nb ? na : nb, nr = np * np;
	if (nl > ws->cap_lam) {
		bh_wipe_free(ws->lam, ws->cap_lam * sizeof(float));
		bh_wipe_free(ws->order, (ws->cap_lam + 16) * sizeof(uint32_t));
		bh_wipe_free(ws->nzkey, (ws->cap_lam + 16) * sizeof(uint32_t));
		bh_wipe_free(ws->nzbk, (ws->cap_lam + 16) * sizeof(uint16_t));
		ws->lam = malloc(nl * sizeof(float));
		ws->order = malloc((nl + 16) * sizeof(uint32_t));
		ws->nzkey = malloc((nl + 16) * sizeof(uint32_t));
		ws->nzbk = malloc((nl + 16) * sizeof(uint16_t));
		ws->cap_lam = ws->lam && ws->order && ws->nzkey && ws->nzbk ? nl : 0;
		if (!ws->cap_lam)
			return BH_ENOMEM;
	}
	if (np > ws->cap_pts) {
		bh_wipe_free(ws->pa, ws->cap_pts * sizeof(mpt));
		bh_wipe_free(ws->pb, ws->cap_pts * sizeof(mpt));
		bh_wipe_free(ws->used_a, ws->cap_pts);
		bh_wipe_free(ws->used_b, ws->cap_pts);
		bh_wipe_free(ws->sel, ws->cap_pts * sizeof(pairsel));
		bh_wipe_free(ws->geo, 6 * ws->cap_pts * sizeof(float));
		bh_wipe_free(ws->l0, ws->cap_pts * sizeof(float));
		bh_wipe_free(ws->l1, ws->cap_pts * sizeof(float));
		bh_wipe_free(ws->l2, ws->cap_pts * sizeof(float));
		ws->pa = malloc(np * sizeof(mpt));
		ws->pb = malloc(np * sizeof(mpt));
		ws->used_a = malloc(np);
		ws->used_b = malloc(np);
		ws->sel = malloc(np * sizeof(pairsel));
		ws->geo = malloc(6 * np * sizeof(float));
		ws->l0 = malloc(np * sizeof(float));
		ws->l1 = malloc(np * sizeof(float));
		ws->l2 = malloc(np * sizeof(float));
		ws->cap_pts = ws->pa && ws->pb && ws->used_a && ws->used_b && ws->sel && ws->geo &&
					      ws->l0 && ws->l1 && ws->l2
				      ? np
				      : 0;
		if (!ws->cap_pts)
			return BH_ENOMEM;
	}
	ws->rho = ws_grow(ws->rho, &ws->cap_rho, nr, sizeof(float));
	return ws->rho ? BH_OK : BH_ENOMEM; /* nr >= 4: na, nb >= 2 here */
}

static void load_points(const bh_mcc_view *v, mpt *p)
{
	for (uint32_t i = 0; i < v->n; i++) {
		const uint8_t *m = v->blob + BH_MCC_HEADER + 8 * i;
		p[i].x = get16(m) / 4.0f;
		p[i].y = get16(m + 2) / 4.0f;
		p[i].t = get16(m + 4) * TWO_PI / 65536.0f;
	}
}

static inline uint16_t view_theta(const bh_mcc_view *v, uint32_t i)
{
	return (uint16_t)get16(v->blob + BH_MCC_HEADER + 8 * i + 4);
}

/* Tables built once per process (pthread_once): sqrt of popcounts, and the
 * three compatibility sigmoids sampled finely enough (1/64 px, 1/2048 rad)
 * that nearest-sample lookup changes a score by far less than 1/10000. */
#define Z1_MAX 12.0f
#define Z1_STEP 64.0f
#define Z23_MAX (MU_2 + 0.45f)
#define Z23_STEP 2048.0f
static float sqrt_tab[64 * 64 + 1];
static float z1_tab[12 * 64 + 2];  /* Z1_MAX * Z1_STEP + 2 */
static float z2_tab[1476]; /* > Z23_MAX * Z23_STEP + 1 = 1458.8 */
static pthread_once_t tabs_once = PTHREAD_ONCE_INIT;

static void tabs_build(void)
{
	for (int i = 0; i <= 64 * 64; i++)
		sqrt_tab[i] = sqrtf((float)i);
	for (size_t i = 0; i < sizeof z1_tab / sizeof *z1_tab; i++)
		z1_tab[i] = sigmoid(i / Z1_STEP, MU_1, TAU_1);
	for (size_t i = 0; i < sizeof z2_tab / sizeof *z2_tab; i++)
		z2_tab[i] = sigmoid(i / Z23_STEP, MU_2, TAU_2); /* MU_3, TAU_3 are equal */
}

static void sqrt_init(void) { pthread_once(&tabs_once, tabs_build); }

#if defined(__x86_64__)
#define POPCNT_TARGET __attribute__((target("popcnt")))
#else
#define POPCNT_TARGET
#endif

/* The nonzero local similarities of a filled lam matrix, in index order
 * (the fields of bh_mcc_ws) for select_scan(); the AVX-512 path lists
 * select_vec()'s candidates in lambda_list() instead. */
static void nz_collect(bh_mcc_ws *ws, uint32_t na, uint32_t nb)
{
	uint32_t n = 0, z0 = UINT32_MAX;
	for (uint32_t i = 0, x = 0; i < na; i++)
		for (uint32_t j = 0; j < nb; j++, x++) {
			const float l = ws->lam[x];
			if (l > 0) {
				ws->nzbk[n] = (uint16_t)(int)(l * (NBUCKET - 1));
				ws->nzkey[n++] = i << 16 | j;
			} else if (z0 == UINT32_MAX) {
				z0 = i << 16 | j;
			}
		}
	ws->nnz = n;
	ws->z0 = z0;
}

/* Local similarity matrix (bh_mcc.h).  Directions further apart than pi/2
 * give 0 without touching the cylinders. */
POPCNT_TARGET static void local_sims(const bh_mcc_view *a, const bh_mcc_view *b, float *lam)
{
	const uint32_t W = a->words;
	const uint32_t min_me = (uint32_t)(MIN_ME * bh_mcc_cells() * ND);
	const uint8_t *ca = a->blob + BH_MCC_HEADER + 8 * a->n, *cb = b->blob + BH_MCC_HEADER + 8 * b->n;
	for (uint32_t i = 0; i < a->n; i++) {
		uint16_t ta = view_theta(a, i);
		const uint8_t *xa = ca + (size_t)i * 16 * W;
		for (uint32_t j = 0; j < b->n; j++) {
			uint16_t d = (uint16_t)(ta - view_theta(b, j));
			float l = 0;
			if (d <= 16384 || d >= 49152) {
				const uint8_t *xb = cb + (size_t)j * 16 * W;
				uint32_t nv = 0, nx = 0, ny = 0, nd = 0;
				for (uint32_t k = 0; k < W; k++) {
					uint64_t v = get64(xa + 8 * (W + k)) & get64(xb + 8 * (W + k));
					uint64_t x = get64(xa + 8 * k) & v, y = get64(xb + 8 * k) & v;
					nv += (uint32_t)__builtin_popcountll(v);
					nx += (uint32_t)__builtin_popcountll(x);
					ny += (uint32_t)__builtin_popcountll(y);
					nd += (uint32_t)__builtin_popcountll(x ^ y);
				}
				if (nv >= min_me && nx + ny > 0)
					l = 1.0f - sqrt_tab[nd] / (sqrt_tab[nx] + sqrt_tab[ny]);
			}
			lam[(size_t)i * b->n + j] = l;
		}
	}
}

#if defined(__x86_64__)
/* Same integers as local_sims(), 8 words per AVX-512 step (VPOPCNTQ).  The
 * planes of cylinder a stay in registers across the row (up to 3 steps, 24
 * words; other sizes take local_sims()).  Cell bits are a subset of the
 * mask, so x = bits_a & mask_b and y = bits_b & mask_a equal the masked
 * bits of the paper.  The four counts are packed into 16-bit fields of each
 * lane (a lane adds at most 3 x 64, the 8 lanes at most 1536) so that one
 * horizontal add per pair replaces four.  Popcounts are exact, so the result
 * is bit-identical to the scalar path. */
/* select_vec()'s candidates from a list of pairs (any order): cnt[t] the
 * packed counts (nv | nx << 16 | ny << 32 | nd << 48) of the pair ij[t] =
 * i << 16 | j.  lambda = 1 - sqrt(nd) / (sqrt(nx) + sqrt(ny)) with the same
 * IEEE operations as local_sims() (sqrt, add and divide are correctly
 * rounded in both), 16 pairs per step, so the values are bit-identical.
 * For lambda > 0: the rank key (bucket << 22 | (RANK_LO - (i << 11 | j)),
 * the bucket as nz_collect() takes it) to ws->order, and lambda to
 * ws->lam[i * nb + j], the only lam entries the AVX-512 path
 * reads; ws->top keeps the largest key.  A nonzero lambda is never in
 * bucket 0 (test_mcc_bucket_bound), so the definition's stop at bucket 0's
 * first zero removes no candidate and is not needed here. */
__attribute__((target("avx512f"))) static void lambda_list(const uint64_t *cnt, const uint32_t *ij,
							   uint32_t n, uint32_t nb, uint32_t min_me,
							   bh_mcc_ws *ws)
{
	const __m512 nbk = _mm512_set1_ps((float)(NBUCKET - 1));
	const __m512i lo16 = _mm512_set1_epi32(0xffff), lo22 = _mm512_set1_epi32((int)RANK_LO);
	const __m512i vnb = _mm512_set1_epi32((int)nb);
	const __m512i idx = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
	const __m512i idx1 = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
	__m512i top = _mm512_setzero_si512();
	for (uint32_t t = 0; t < n; t += 16) {
		const uint32_t left = n - t;
		const __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		const __mmask8 m0 = (__mmask8)m, m1 = (__mmask8)(m >> 8);
		__m512i r0 = _mm512_maskz_loadu_epi64(m0, cnt + t);
		__m512i r1 = _mm512_maskz_loadu_epi64(m1, cnt + t + 8);
		/* low and high 32-bit halves of the 16 lanes: (nv | nx << 16), (ny | nd << 16) */
		__m512i lo = _mm512_permutex2var_epi32(r0, idx, r1);
		__m512i hi = _mm512_permutex2var_epi32(r0, idx1, r1);
		__m512i nv = _mm512_and_si512(lo, lo16), nx = _mm512_srli_epi32(lo, 16);
		__m512i ny = _mm512_and_si512(hi, lo16), nd = _mm512_srli_epi32(hi, 16);
		__mmask16 ok = _mm512_mask_cmpge_epu32_mask(m, nv, _mm512_set1_epi32((int)min_me));
		ok = _mm512_mask_cmpneq_epu32_mask(ok, _mm512_add_epi32(nx, ny), _mm512_setzero_si512());
		__m512 den = _mm512_add_ps(_mm512_sqrt_ps(_mm512_cvtepi32_ps(nx)),
					   _mm512_sqrt_ps(_mm512_cvtepi32_ps(ny)));
		__m512 q = _mm512_maskz_div_ps(ok, _mm512_sqrt_ps(_mm512_cvtepi32_ps(nd)), den);
		__m512 l = _mm512_maskz_sub_ps(ok, _mm512_set1_ps(1.0f), q);
		const __mmask16 nz = _mm512_mask_cmp_ps_mask(ok, l, _mm512_setzero_ps(), _CMP_GT_OQ);
		if (!nz)
			continue;
		const __m512i key = _mm512_maskz_loadu_epi32(m, ij + t);
		const __m512i ki = _mm512_srli_epi32(key, 16), kj = _mm512_and_si512(key, lo16);
		const __m512i at = _mm512_add_epi32(_mm512_mullo_epi32(ki, vnb), kj);
		const __m512i bk = _mm512_cvttps_epi32(_mm512_mul_ps(l, nbk));
		const __m512i low = _mm512_sub_epi32(lo22, _mm512_or_si512(_mm512_slli_epi32(ki, 11), kj));
		const __m512i rank = _mm512_or_si512(_mm512_slli_epi32(bk, 22), low);
		_mm512_storeu_si512(ws->order + ws->nnz, _mm512_maskz_compress_epi32(nz, rank));
		_mm512_mask_i32scatter_ps(ws->lam, nz, at, l, 4);
		top = _mm512_mask_max_epu32(top, nz, top, rank);
		ws->nnz += (uint32_t)__builtin_popcount(nz);
	}
	const uint32_t tp = _mm512_reduce_max_epu32(top);
	ws->top = tp > ws->top ? tp : ws->top;
}

/* Indices j of b whose direction lies within pi/2 of ta (the pairs local
 * similarity is computed for), 16 at a time without a branch per pair: the
 * test is a coin toss per pair, and mispredicting it cost more than the
 * popcounts.  They are split by fullb[j] (cylinder j's mask is full) into
 * jf and jp, in index order; returns the count of jf, *np that of jp.  Both
 * lists need room for nb + 15. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static uint32_t
near_dirs(const uint16_t *tb, const uint8_t *fullb, uint32_t nb, uint16_t ta, uint32_t *jf, uint32_t *jp,
	  uint32_t *np)
{
	const __m512i q = _mm512_set1_epi32(16384), lim = _mm512_set1_epi32(32768);
	const __m512i lo16 = _mm512_set1_epi32(0xffff), step = _mm512_set1_epi32(16);
	const __m512i tav = _mm512_set1_epi32(ta);
	__m512i jv = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	uint32_t nf = 0, npart = 0;
	for (uint32_t j = 0; j < nb; j += 16, jv = _mm512_add_epi32(jv, step)) {
		const uint32_t left = nb - j;
		const __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
		__m512i t = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, tb + j));
		/* d = (ta - tb) mod 2^16 is within pi/2 iff (d + 16384) mod 2^16 <= 32768 */
		__m512i d = _mm512_and_si512(_mm512_add_epi32(_mm512_sub_epi32(tav, t), q), lo16);
		__mmask16 ok = _mm512_mask_cmple_epu32_mask(m, d, lim);
		__m128i f = _mm_maskz_loadu_epi8(m, fullb + j);
		__mmask16 full = _mm_test_epi8_mask(f, f);
		__mmask16 okf = ok & full, okp = ok & (__mmask16)~full;
		_mm512_storeu_si512(jf + nf, _mm512_maskz_compress_epi32(okf, jv));
		_mm512_storeu_si512(jp + npart, _mm512_maskz_compress_epi32(okp, jv));
		nf += (uint32_t)__builtin_popcount(okf);
		npart += (uint32_t)__builtin_popcount(okp);
	}
	*np = npart;
	return nf;
}

#define TGT_POPC __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))

/* Kinds of pair by which of the two validity masks is full (every cell of
 * the disc valid; about half the cylinders of an FVC2002 template).  With
 * mask_a full, v = mask_b, y = bits_b (bits lie inside their own mask) and
 * x = bits_a & mask_b; with both full, x = bits_a and y = bits_b.  So a full
 * mask turns the counts nv, ny (or nx) into the cylinder's own popcounts,
 * counted once per comparison, and only the others are counted per pair:
 * 4 popcounts per step for PP, 2 for FP and PF, 1 for FF.  The sums are the
 * same integers either way. */
enum { PK_PP, PK_FP, PK_PF, PK_FF }; /* P = partial, F = full; a first */

/* The counts of the pair (a, b) that its kind leaves to be counted, summed
 * over the three 8-word steps of a plane, per lane, packed nv | nx << 16 |
 * ny << 32 | nd << 48 (a lane sums at most 3 x 64 per count; the others
 * are 0).  a's planes are in registers (a0..a2 cell bits, v0..v2 validity);
 * the third step holds words 16 .. W-1 (mask m2).  Written out step by step
 * so that nothing goes through memory; `kind` is a constant at every call,
 * so each kind compiles to its own straight code. */
#define PAIR_STEP(ak, vk, off, load)                                                               \
	do {                                                                                       \
		const __m512i bbk = load(xb + (off));                                              \
		if (kind == PK_PP) {                                                               \
			const __m512i bmk = load(mb + (off));                                      \
			const __m512i x = _mm512_and_si512(ak, bmk), y = _mm512_and_si512(bbk, vk); \
			nv = _mm512_add_epi64(nv, _mm512_popcnt_epi64(_mm512_and_si512(vk, bmk))); \
			nx = _mm512_add_epi64(nx, _mm512_popcnt_epi64(x));                         \
			ny = _mm512_add_epi64(ny, _mm512_popcnt_epi64(y));                         \
			nd = _mm512_add_epi64(nd, _mm512_popcnt_epi64(_mm512_xor_si512(x, y)));    \
		} else if (kind == PK_FP) {                                                        \
			const __m512i x = _mm512_and_si512(ak, load(mb + (off)));                  \
			nx = _mm512_add_epi64(nx, _mm512_popcnt_epi64(x));                         \
			nd = _mm512_add_epi64(nd, _mm512_popcnt_epi64(_mm512_xor_si512(x, bbk)));  \
		} else if (kind == PK_PF) {                                                        \
			const __m512i y = _mm512_and_si512(bbk, vk);                               \
			ny = _mm512_add_epi64(ny, _mm512_popcnt_epi64(y));                         \
			nd = _mm512_add_epi64(nd, _mm512_popcnt_epi64(_mm512_xor_si512(ak, y)));   \
		} else {                                                                           \
			nd = _mm512_add_epi64(nd, _mm512_popcnt_epi64(_mm512_xor_si512(ak, bbk))); \
		}                                                                                  \
	} while (0)
#define LOAD_FULL(p) _mm512_loadu_si512(p)
#define LOAD_TAIL(p) _mm512_maskz_loadu_epi64(m2, p)

TGT_POPC static inline __attribute__((always_inline)) __m512i
pair_counts(const int kind, __m512i a0, __m512i a1, __m512i a2, __m512i v0, __m512i v1, __m512i v2,
	    const uint8_t *xb, uint32_t W, __mmask8 m2)
{
	const uint8_t *mb = xb + 8 * W;
	__m512i nv = _mm512_setzero_si512(), nx = nv, ny = nv, nd = nv;
	PAIR_STEP(a0, v0, 0, LOAD_FULL);
	PAIR_STEP(a1, v1, 64, LOAD_FULL);
	PAIR_STEP(a2, v2, 128, LOAD_TAIL);
	return _mm512_or_si512(_mm512_or_si512(nv, _mm512_slli_epi64(nx, 16)),
			       _mm512_or_si512(_mm512_slli_epi64(ny, 32), _mm512_slli_epi64(nd, 48)));
}

#undef PAIR_STEP
#undef LOAD_FULL
#undef LOAD_TAIL

/* cnt[t] and ij[t] = i << 16 | jl[t] for the pairs (a = i, jl[t]) of one
 * kind, two at a time (one horizontal sum for both), plus the counts the
 * kind does not count per pair: add_row (a's own) and, when add_b is not
 * NULL, add_b[j] (b's own). */
TGT_POPC static inline __attribute__((always_inline)) void
pairs_row(const int kind, __m512i a0, __m512i a1, __m512i a2, __m512i v0, __m512i v1, __m512i v2,
	  const uint32_t *jl, uint32_t nj, const uint8_t *cb, uint32_t W, __mmask8 m2, uint64_t add_row,
	  const uint64_t *add_b, uint32_t i, uint64_t *cnt, uint32_t *ij)
{
	uint32_t t = 0;
	for (; t + 1 < nj; t += 2) {
		const uint32_t j0 = jl[t], j1 = jl[t + 1];
		const __m512i c0 = pair_counts(kind, a0, a1, a2, v0, v1, v2, cb + (size_t)j0 * 16 * W, W, m2);
		const __m512i c1 = pair_counts(kind, a0, a1, a2, v0, v1, v2, cb + (size_t)j1 * 16 * W, W, m2);
		/* lanes: [c0 sums, c1 sums] after folding both vectors together */
		__m512i f = _mm512_add_epi64(_mm512_unpacklo_epi64(c0, c1), _mm512_unpackhi_epi64(c0, c1));
		__m256i h = _mm256_add_epi64(_mm512_castsi512_si256(f), _mm512_extracti64x4_epi64(f, 1));
		__m128i q = _mm_add_epi64(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
		cnt[t] = (uint64_t)_mm_cvtsi128_si64(q) + add_row + (add_b ? add_b[j0] : 0);
		cnt[t + 1] = (uint64_t)_mm_extract_epi64(q, 1) + add_row + (add_b ? add_b[j1] : 0);
		ij[t] = i << 16 | j0;
		ij[t + 1] = i << 16 | j1;
	}
	if (t < nj) {
		const uint32_t j = jl[t];
		const __m512i c = pair_counts(kind, a0, a1, a2, v0, v1, v2, cb + (size_t)j * 16 * W, W, m2);
		cnt[t] = (uint64_t)_mm512_reduce_add_epi64(c) + add_row + (add_b ? add_b[j] : 0);
		ij[t] = i << 16 | j;
	}
}

/* Popcount of a plane held in three registers. */
TGT_POPC static inline uint64_t plane_count(__m512i p0, __m512i p1, __m512i p2)
{
	return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(
		_mm512_add_epi64(_mm512_popcnt_epi64(p0), _mm512_popcnt_epi64(p1)), _mm512_popcnt_epi64(p2)));
}

/* Local similarities, a row of pairs at a time: cylinder a's planes stay in
 * registers, the pairs within pi/2 are listed by near_dirs() per kind and
 * counted (pairs_row); lambda_list() takes the listed pairs 16 at a time,
 * every LIST_FLUSH or more, so only pairs within pi/2 reach the square
 * roots and the divide.  For planes of 17 .. 24 words (version 1 has 20);
 * the same integers and lambdas as local_sims(), but only the candidates
 * are written (ws->lam holds nothing else on this path). */
TGT_POPC static void local_sims_avx512(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws)
{
	const uint32_t W = a->words, cells = bh_mcc_cells() * ND;
	const uint32_t min_me = (uint32_t)(MIN_ME * bh_mcc_cells() * ND);
	const __mmask8 m2 = (__mmask8)((1u << (W - 16)) - 1);
	ws->nnz = ws->top = 0;
	/* the pairs within pi/2 of the rows so far, for lambda_list() */
	uint64_t cnt[LIST_FLUSH + BH_MCC_MAX_CYL];
	uint32_t ij[LIST_FLUSH + BH_MCC_MAX_CYL], nl = 0;
	uint64_t own_b[BH_MCC_MAX_CYL]; /* |mask_j| | |bits_j| << 32 */
	uint16_t tb[BH_MCC_MAX_CYL];
	uint8_t fullb[BH_MCC_MAX_CYL + 16];
	uint32_t jf[BH_MCC_MAX_CYL + 16], jp[BH_MCC_MAX_CYL + 16];
	const uint8_t *ca = a->blob + BH_MCC_HEADER + 8 * a->n, *cb = b->blob + BH_MCC_HEADER + 8 * b->n;
	for (uint32_t j = 0; j < b->n; j++) {
		const uint8_t *xb = cb + (size_t)j * 16 * W;
		const uint64_t nb = plane_count(_mm512_loadu_si512(xb), _mm512_loadu_si512(xb + 64),
						_mm512_maskz_loadu_epi64(m2, xb + 128));
		const uint64_t nm = plane_count(_mm512_loadu_si512(xb + 8 * W), _mm512_loadu_si512(xb + 8 * W + 64),
						_mm512_maskz_loadu_epi64(m2, xb + 8 * W + 128));
		tb[j] = view_theta(b, j);
		own_b[j] = nm | nb << 32;
		fullb[j] = nm == cells; /* the pad bits are 0 (bh_mcc_check) */
	}
	for (uint32_t i = 0; i < a->n; i++) {
		const uint8_t *xa = ca + (size_t)i * 16 * W;
		const __m512i a0 = _mm512_loadu_si512(xa), a1 = _mm512_loadu_si512(xa + 64);
		const __m512i a2 = _mm512_maskz_loadu_epi64(m2, xa + 128);
		const __m512i v0 = _mm512_loadu_si512(xa + 8 * W), v1 = _mm512_loadu_si512(xa + 8 * W + 64);
		const __m512i v2 = _mm512_maskz_loadu_epi64(m2, xa + 8 * W + 128);
		const uint64_t na = plane_count(a0, a1, a2), nm = plane_count(v0, v1, v2);
		uint32_t np;
		const uint32_t nf = near_dirs(tb, fullb, b->n, view_theta(a, i), jf, jp, &np);
		if (nm == cells) {
			pairs_row(PK_FF, a0, a1, a2, v0, v1, v2, jf, nf, cb, W, m2, na << 16, own_b, i, cnt + nl,
				  ij + nl);
			pairs_row(PK_FP, a0, a1, a2, v0, v1, v2, jp, np, cb, W, m2, 0, own_b, i, cnt + nl + nf,
				  ij + nl + nf);
		} else {
			pairs_row(PK_PF, a0, a1, a2, v0, v1, v2, jf, nf, cb, W, m2, nm | na << 16, NULL, i,
				  cnt + nl, ij + nl);
			pairs_row(PK_PP, a0, a1, a2, v0, v1, v2, jp, np, cb, W, m2, 0, NULL, i, cnt + nl + nf,
				  ij + nl + nf);
		}
		nl += nf + np;
		if (nl >= LIST_FLUSH) { /* whole vectors now, the rest with the next rows */
			const uint32_t done = nl & ~15u;
			lambda_list(cnt, ij, done, b->n, min_me, ws);
			memmove(cnt, cnt + done, (nl - done) * sizeof *cnt);
			memmove(ij, ij + done, (nl - done) * sizeof *ij);
			nl -= done;
		}
	}
	lambda_list(cnt, ij, nl, b->n, min_me, ws);
}
#endif

/* atan2 with |error| < 2e-5 rad, deterministic (no libm variance). */
static float fast_atan2(float y, float x)
{
	float ax = fabsf(x), ay = fabsf(y);
	float mx = ax > ay ? ax : ay, mn = ax > ay ? ay : ax;
	if (mx == 0)
		return 0;
	float z = mn / mx, z2 = z * z;
	float r = z * (0.99997726f +
		       z2 * (-0.33262347f + z2 * (0.19354346f + z2 * (-0.11643287f + z2 * (0.05265332f +
										   z2 * -0.01172120f)))));
	if (ay > ax)
		r = (float)M_PI_2 - r;
	if (x < 0)
		r = (float)M_PI - r;
	return y < 0 ? -r : r;
}

/* Compatibility of pair t = (a1, b1) with pair k = (a2, b2) and of k with t
 * (the paper's rho; d1 and d2 are symmetric, the radial angle d3 is not). */
static void compat2(const mpt *a1, const mpt *a2, const mpt *b1, const mpt *b2, float *tk, float *kt)
{
	*tk = *kt = 0;
	float dxa = a2->x - a1->x, dya = a2->y - a1->y, dxb = b2->x - b1->x, dyb = b2->y - b1->y;
	float da = sqrtf(dxa * dxa + dya * dya), db = sqrtf(dxb * dxb + dyb * dyb);
	float d1 = fabsf(da - db);
	if (d1 >= Z1_MAX) /* Z1 < 2e-5 */
		return;
	float d2 = fabsf(dphi(dphi(a1->t, a2->t), dphi(b1->t, b2->t)));
	if (d2 >= Z23_MAX) /* Z2 < 2e-6 */
		return;
	float z12 = z1_tab[(int)(d1 * Z1_STEP)] * z2_tab[(int)(d2 * Z23_STEP)];
	/* radial angle: direction of m1 relative to the segment m1 -> m2 (y down);
	 * the segment m2 -> m1 points the opposite way (+pi) */
	float ga = fast_atan2(dya, dxa), gb = fast_atan2(dyb, dxb);
	float d3 = fabsf(dphi(dphi(a1->t, ga), dphi(b1->t, gb)));
	if (d3 < Z23_MAX)
		*tk = z12 * z2_tab[(int)(d3 * Z23_STEP)];
	float d3r = fabsf(dphi(dphi(a2->t, ga + (float)M_PI), dphi(b2->t, gb + (float)M_PI)));
	if (d3r < Z23_MAX)
		*kt = z12 * z2_tab[(int)(d3r * Z23_STEP)];
}

#if defined(__x86_64__)
/* ---- compatibility and relaxation, 16 pairs per step (AVX-512F) -----------
 * The same IEEE operations as compat2() and fast_atan2() in the same order
 * (no FMA: separate multiply and add), the same truncating table lookups
 * (gathers), so every rho is bit-identical; 16 pairs are computed at
 * once, without the branches that made compat2 mispredict. */
#define TGT512 __attribute__((target("avx512f")))

/* dphi() on 16 lanes: one step of each of its loops, then the scalar loops
 * for a lane still out of range (|a - b| >= 3 pi: never for our inputs). */
TGT512 static inline __m512 dphi16(__m512 a, __m512 b)
{
	const __m512 pi = _mm512_set1_ps((float)M_PI), mpi = _mm512_set1_ps(-(float)M_PI);
	const __m512 two = _mm512_set1_ps(TWO_PI);
	__m512 d = _mm512_sub_ps(a, b);
	d = _mm512_mask_add_ps(d, _mm512_cmp_ps_mask(d, mpi, _CMP_LT_OQ), d, two);
	d = _mm512_mask_sub_ps(d, _mm512_cmp_ps_mask(d, pi, _CMP_GE_OQ), d, two);
	__mmask16 out = _mm512_cmp_ps_mask(d, mpi, _CMP_LT_OQ) | _mm512_cmp_ps_mask(d, pi, _CMP_GE_OQ);
	if (__builtin_expect(out != 0, 0)) {
		float v[16];
		_mm512_storeu_ps(v, d);
		for (int q = 0; q < 16; q++)
			v[q] = dphi(v[q], 0.0f); /* d - 0 is d: the loops continue from here */
		d = _mm512_loadu_ps(v);
	}
	return d;
}

/* fast_atan2() on 16 lanes. */
TGT512 static inline __m512 atan2_16(__m512 y, __m512 x)
{
	const __m512 ax = _mm512_abs_ps(x), ay = _mm512_abs_ps(y);
	const __mmask16 xbig = _mm512_cmp_ps_mask(ax, ay, _CMP_GT_OQ);
	const __m512 mx = _mm512_mask_blend_ps(xbig, ay, ax), mn = _mm512_mask_blend_ps(xbig, ax, ay);
	const __mmask16 nz = _mm512_cmp_ps_mask(mx, _mm512_setzero_ps(), _CMP_NEQ_OQ);
	const __m512 z = _mm512_maskz_div_ps(nz, mn, mx), z2 = _mm512_mul_ps(z, z);
	__m512 p = _mm512_mul_ps(z2, _mm512_set1_ps(-0.01172120f));
	p = _mm512_mul_ps(z2, _mm512_add_ps(_mm512_set1_ps(0.05265332f), p));
	p = _mm512_mul_ps(z2, _mm512_add_ps(_mm512_set1_ps(-0.11643287f), p));
	p = _mm512_mul_ps(z2, _mm512_add_ps(_mm512_set1_ps(0.19354346f), p));
	p = _mm512_mul_ps(z2, _mm512_add_ps(_mm512_set1_ps(-0.33262347f), p));
	__m512 r = _mm512_mul_ps(z, _mm512_add_ps(_mm512_set1_ps(0.99997726f), p));
	r = _mm512_mask_sub_ps(r, _mm512_cmp_ps_mask(ay, ax, _CMP_GT_OQ), _mm512_set1_ps((float)M_PI_2), r);
	r = _mm512_mask_sub_ps(r, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ),
			       _mm512_set1_ps((float)M_PI), r);
	const __mmask16 neg = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
	r = _mm512_castsi512_ps(_mm512_mask_xor_epi32(_mm512_castps_si512(r), neg, _mm512_castps_si512(r),
						      _mm512_set1_epi32(INT32_MIN))); /* -r */
	return _mm512_maskz_mov_ps(nz, r);
}

TGT512 static inline __m512 gather16(__mmask16 k, __m512 v, float step, const float *tab)
{
	__m512i i = _mm512_cvttps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(step)));
	return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, i, tab, 4);
}

/* Rows k and columns k of rho for the pairs t > k, as compat2(k, t)
 * computes them: rho(t, k) (its kt, the angle of t along k -> t plus pi)
 * into rhoT[k * ns + t], 16 values of t per step, and rho(k, t) (its tk)
 * scattered to rhoT[t * ns + k].  Distances, the direction difference and
 * the segment angles are computed once for both.  The caller zeroes rhoT
 * first; only nonzero values are written. */
TGT512 static void compat_tri16(const float *geo, uint32_t ns, uint32_t k, float *rhoT)
{
	const float *ax = geo, *ay = ax + ns, *at = ay + ns, *bx = at + ns, *by = bx + ns, *bt = by + ns;
	const __m512 kax = _mm512_set1_ps(ax[k]), kay = _mm512_set1_ps(ay[k]), kat = _mm512_set1_ps(at[k]);
	const __m512 kbx = _mm512_set1_ps(bx[k]), kby = _mm512_set1_ps(by[k]), kbt = _mm512_set1_ps(bt[k]);
	const __m512 pi = _mm512_set1_ps((float)M_PI);
	const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	const __m512i vns = _mm512_set1_epi32((int)ns);
	for (uint32_t c = k + 1; c < ns; c += 16) {
		const __mmask16 in = ns - c >= 16 ? 0xffff : (__mmask16)((1u << (ns - c)) - 1);
		const __m512 tax = _mm512_maskz_loadu_ps(in, ax + c), tay = _mm512_maskz_loadu_ps(in, ay + c);
		const __m512 tat = _mm512_maskz_loadu_ps(in, at + c), tbx = _mm512_maskz_loadu_ps(in, bx + c);
		const __m512 tby = _mm512_maskz_loadu_ps(in, by + c), tbt = _mm512_maskz_loadu_ps(in, bt + c);
		const __m512 dxa = _mm512_sub_ps(tax, kax), dya = _mm512_sub_ps(tay, kay);
		const __m512 dxb = _mm512_sub_ps(tbx, kbx), dyb = _mm512_sub_ps(tby, kby);
		const __m512 da = _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(dxa, dxa), _mm512_mul_ps(dya, dya)));
		const __m512 db = _mm512_sqrt_ps(_mm512_add_ps(_mm512_mul_ps(dxb, dxb), _mm512_mul_ps(dyb, dyb)));
		const __m512 d1 = _mm512_abs_ps(_mm512_sub_ps(da, db));
		const __m512 d2 = _mm512_abs_ps(dphi16(dphi16(kat, tat), dphi16(kbt, tbt)));
		__mmask16 ok = _mm512_mask_cmp_ps_mask(in, d1, _mm512_set1_ps(Z1_MAX), _CMP_LT_OQ);
		ok = _mm512_mask_cmp_ps_mask(ok, d2, _mm512_set1_ps(Z23_MAX), _CMP_LT_OQ);
		if (!ok) /* common between impostors: both stay 0 */
			continue;
		const __m512 z12 = _mm512_mul_ps(gather16(ok, d1, Z1_STEP, z1_tab), gather16(ok, d2, Z23_STEP, z2_tab));
		const __m512 ga = atan2_16(dya, dxa), gb = atan2_16(dyb, dxb);
		/* rho(k, t): k's angle along k -> t */
		const __m512 d3 = _mm512_abs_ps(dphi16(dphi16(kat, ga), dphi16(kbt, gb)));
		const __mmask16 ok3 = _mm512_mask_cmp_ps_mask(ok, d3, _mm512_set1_ps(Z23_MAX), _CMP_LT_OQ);
		/* rho(t, k): t's angle along t -> k, the segment turned by pi */
		const __m512 gar = _mm512_add_ps(ga, pi), gbr = _mm512_add_ps(gb, pi);
		const __m512 d3r = _mm512_abs_ps(dphi16(dphi16(tat, gar), dphi16(tbt, gbr)));
		const __mmask16 ok3r = _mm512_mask_cmp_ps_mask(ok, d3r, _mm512_set1_ps(Z23_MAX), _CMP_LT_OQ);
		if (ok3r)
			_mm512_mask_storeu_ps(rhoT + (size_t)k * ns + c, ok3r,
					      _mm512_mul_ps(z12, gather16(ok3r, d3r, Z23_STEP, z2_tab)));
		if (ok3) {
			const __m512i t = _mm512_add_epi32(lane, _mm512_set1_epi32((int)c));
			const __m512i at_t = _mm512_add_epi32(_mm512_mullo_epi32(t, vns), _mm512_set1_epi32((int)k));
			const __m512 v = _mm512_mul_ps(z12, gather16(ok3, d3, Z23_STEP, z2_tab));
			_mm512_mask_i32scatter_ps(rhoT, ok3, at_t, v, 4);
		}
	}
}

/* s[v] += rho(t, k) * cur[k] over k ascending, for the nv (a constant at
 * each call) vectors of 16 values of t from t0. */
TGT512 static inline __attribute__((always_inline)) void
relax_sums(const float *rhoT, uint32_t ns, uint32_t t0, const float *cur, const __mmask16 in[4],
	   __m512 s[4], const int nv)
{
	for (uint32_t k = 0; k < ns; k++) {
		const float *rk = rhoT + (size_t)k * ns + t0;
		const __m512 ck = _mm512_set1_ps(cur[k]);
		for (int v = 0; v < nv; v++)
			s[v] = _mm512_add_ps(s[v], _mm512_mul_ps(_mm512_maskz_loadu_ps(in[v], rk + 16 * v), ck));
	}
}

/* One relaxation step for every t, 64 at a time in up to four accumulators:
 * nxt[t] = W_R * cur[t] + wn * s_t with s_t the sum over k ascending of
 * rho(t, k) * cur[k] (rhoT[k * ns + t]): the scalar loop's operations in
 * its order, for 16 values of t per vector. */
TGT512 static void relax16(const float *rhoT, uint32_t ns, const float *cur, float *nxt, float wn)
{
	for (uint32_t t0 = 0; t0 < ns; t0 += 64) {
		__mmask16 in[4];
		__m512 s[4];
		for (int v = 0; v < 4; v++) {
			const uint32_t t = t0 + 16 * (uint32_t)v;
			in[v] = t >= ns ? 0 : ns - t >= 16 ? 0xffff : (__mmask16)((1u << (ns - t)) - 1);
			s[v] = _mm512_setzero_ps();
		}
		if (ns - t0 <= 32) /* up to 32 pairs left (most comparisons): the other two are empty */
			relax_sums(rhoT, ns, t0, cur, in, s, 2);
		else
			relax_sums(rhoT, ns, t0, cur, in, s, 4);
		for (int v = 0; v < 4; v++) {
			const uint32_t t = t0 + 16 * (uint32_t)v;
			__m512 c = _mm512_maskz_loadu_ps(in[v], cur + t);
			__m512 x = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(W_R), c),
						 _mm512_mul_ps(_mm512_set1_ps(wn), s[v]));
			_mm512_mask_storeu_ps(nxt + t, in[v], x);
		}
	}
}
#endif

/* LSS-R's pair selection as defined (the reference): the pairs are taken
 * best first in the order of a stable bucket sort of all na*nb
 * similarities (bucket (int)(lam * (NBUCKET - 1)), descending; index order
 * inside a bucket), stopping at the first zero, each minutia used once.
 * Zeros all sit in bucket 0, so only the nonzero entries are sorted, and
 * bucket 0's entries count only up to the first zero's index (z0).
 * Returns the number of pairs in ws->sel. */
static uint32_t select_scan(bh_mcc_ws *ws, uint32_t na, uint32_t nb, uint32_t nr)
{
	const uint32_t nnz = ws->nnz;
	uint32_t *cnt = ws->count; /* slot NBUCKET - 1 - bucket: best first */
	memset(cnt, 0, NBUCKET * sizeof *cnt);
	for (uint32_t x = 0; x < nnz; x++)
		cnt[NBUCKET - 1 - ws->nzbk[x]]++;
	uint32_t run = 0; /* in a register: no store-to-load chain through cnt */
	for (int k = 0; k < NBUCKET; k++) {
		const uint32_t c = cnt[k];
		cnt[k] = run;
		run += c;
	}
	const uint32_t start0 = cnt[NBUCKET - 1]; /* first entry of bucket 0 */
	for (uint32_t x = 0; x < nnz; x++)
		ws->order[cnt[NBUCKET - 1 - ws->nzbk[x]]++] = ws->nzkey[x];
	memset(ws->used_a, 0, na);
	memset(ws->used_b, 0, nb);
	uint32_t ns = 0;
	for (uint32_t r = 0; r < nnz && ns < nr; r++) {
		const uint32_t key = ws->order[r], i = key >> 16, j = key & 0xffff;
		if (r >= start0 && key > ws->z0)
			break;
		/* no branch on whether the pair is free: that is a coin toss */
		const uint8_t take = !(ws->used_a[i] | ws->used_b[j]);
		ws->sel[ns] = (pairsel){(uint16_t)i, (uint16_t)j, ws->lam[(size_t)i * nb + j]};
		ws->used_a[i] |= take;
		ws->used_b[j] |= take;
		ns += take;
	}
	return ns;
}

#if defined(__x86_64__)
/* The pair selection of select_scan() by repeated maxima, 16 candidates
 * per step: the same pairs in the same order as its bucket sort and greedy
 * scan.  lambda_list() lists the candidates in ws->order, a rank key per
 * candidate, bucket << 22 | (2047 - i) << 11 | (2047 - j) (i, j < 2048 =
 * BH_MCC_MAX_CYL), so that the largest key is the scan's next pair: higher
 * bucket first, then lower i, then lower j, which is index order inside a
 * bucket; ws->top is the largest.  The key holds the row and column, so
 * one array is compacted.  (The scan stops at bucket 0's first zero,
 * but no candidate is in bucket 0: see lambda_list().)  Each step takes
 * the largest key, then drops every candidate of its row or column, which
 * the scan would skip as used (compacted in place, the next maximum taken
 * in the same pass).  Each pair removes a row and a column, so the list
 * shrinks fast; no sort of the whole list is needed.  Returns the number of
 * pairs in ws->sel. */
__attribute__((target("avx512f"))) static uint32_t select_vec(bh_mcc_ws *ws, uint32_t nb, uint32_t nr)
{
	uint32_t *rk = ws->order, n = ws->nnz, top = ws->top;
	const __m512i f11 = _mm512_set1_epi32(2047);
	uint32_t ns = 0;
	while (n > 0 && ns < nr) {
		const uint32_t ri = (top >> 11) & 2047, rj = top & 2047; /* 2047 - i, 2047 - j */
		const uint32_t i = 2047 - ri, j = 2047 - rj;
		ws->sel[ns++] = (pairsel){(uint16_t)i, (uint16_t)j, ws->lam[(size_t)i * nb + j]};
		const __m512i vi = _mm512_set1_epi32((int)ri), vj = _mm512_set1_epi32((int)rj);
		__m512i mx = _mm512_setzero_si512();
		uint32_t kept = 0;
		for (uint32_t x = 0; x < n; x += 16) {
			const __mmask16 m = n - x >= 16 ? 0xffff : (__mmask16)((1u << (n - x)) - 1);
			const __m512i k = _mm512_maskz_loadu_epi32(m, rk + x);
			__mmask16 keep = _mm512_mask_cmpneq_epi32_mask(
				m, _mm512_and_si512(_mm512_srli_epi32(k, 11), f11), vi);
			keep = _mm512_mask_cmpneq_epi32_mask(keep, _mm512_and_si512(k, f11), vj);
			/* kept <= x: the store lands on entries already loaded */
			_mm512_storeu_si512(rk + kept, _mm512_maskz_compress_epi32(keep, k));
			mx = _mm512_mask_max_epu32(mx, keep, mx, k);
			kept += (uint32_t)__builtin_popcount(keep);
		}
		n = kept;
		top = _mm512_reduce_max_epu32(mx);
	}
	return ns;
}
#endif

/* LSS-R on a filled lam matrix (na x nb) and its nonzero list (nz_collect,
 * or lambda_list()'s candidates on the AVX-512 path); vec: the selection
 * with select_vec, compatibility with compat_tri16 and the relaxation 16 pairs
 * at a time (the same values as compat2 and the scalar loop). */
static float lssr(bh_mcc_ws *ws, uint32_t na, uint32_t nb, int vec)
{
	(void)vec; /* always 0 off x86-64 */
	ws->ntop = 0;
	uint32_t nr = na < nb ? na : nb;
	if (nr < 2)
		return 0;
	/* the n_R pairs, best first, each minutia used once (select_scan) */
	uint32_t ns = 0;
#if defined(__x86_64__)
	if (vec)
		ns = select_vec(ws, nb, nr);
	else
#endif
		ns = select_scan(ws, na, nb, nr);
	if (ns < 2)
		return 0;
	/* relaxation */
	for (uint32_t t = 0; t < ns; t++)
		ws->l0[t] = ws->l1[t] = ws->sel[t].l;
#if defined(__x86_64__)
	if (vec) {
		float *g = ws->geo;
		for (uint32_t t = 0; t < ns; t++) {
			const mpt *pa = &ws->pa[ws->sel[t].a], *pb = &ws->pb[ws->sel[t].b];
			g[t] = pa->x, g[ns + t] = pa->y, g[2 * ns + t] = pa->t;
			g[3 * ns + t] = pb->x, g[4 * ns + t] = pb->y, g[5 * ns + t] = pb->t;
		}
		/* transposed: rho[k * ns + t] = rho(t, k) */
		memset(ws->rho, 0, (size_t)ns * ns * sizeof *ws->rho);
		for (uint32_t k = 0; k + 1 < ns; k++)
			compat_tri16(g, ns, k, ws->rho);
	} else
#endif
	{
		for (uint32_t t = 0; t < ns; t++) {
			const pairsel *st = &ws->sel[t];
			ws->rho[(size_t)t * ns + t] = 0;
			for (uint32_t k = t + 1; k < ns; k++) {
				const pairsel *sk = &ws->sel[k];
				compat2(&ws->pa[st->a], &ws->pa[sk->a], &ws->pb[st->b], &ws->pb[sk->b],
					&ws->rho[(size_t)t * ns + k], &ws->rho[(size_t)k * ns + t]);
			}
		}
	}
	const float wn = (1 - W_R) / (float)(ns - 1);
	float *cur = ws->l1, *nxt = ws->l2;
	for (int it = 0; it < N_REL; it++) {
#if defined(__x86_64__)
		if (vec)
			relax16(ws->rho, ns, cur, nxt, wn);
		else
#endif
		{
			for (uint32_t t = 0; t < ns; t++) {
				const float *rr = ws->rho + (size_t)t * ns;
				float s = 0;
				for (uint32_t k = 0; k < ns; k++)
					s += rr[k] * cur[k];
				nxt[t] = W_R * cur[t] + wn * s;
			}
		}
		float *sw = cur;
		cur = nxt;
		nxt = sw;
	}
	/* the n_P pairs with the highest efficiency lambda_n / lambda_0 */
	float z = sigmoid((float)nr, MU_P, TAU_P);
	uint32_t np = MIN_NP + (uint32_t)lrintf(z * (MAX_NP - MIN_NP));
	if (np > ns)
		np = ns;
	for (uint32_t t = 0; t < ns; t++)
		nxt[t] = cur[t] / ws->l0[t]; /* l0 > 0 for selected pairs */
	float sum = 0;
	for (uint32_t p = 0; p < np; p++) {
		uint32_t best = 0;
		float be = -1;
		for (uint32_t t = 0; t < ns; t++)
			if (nxt[t] > be) {
				be = nxt[t];
				best = t;
			}
		sum += cur[best];
		nxt[best] = -2;
		ws->topa[p] = ws->sel[best].a;
		ws->topb[p] = ws->sel[best].b;
	}
	ws->ntop = np;
	return sum / (float)np;
}

static int32_t to_score(float s)
{
	long v = lrintf(s * BH_MCC_SCORE_MAX);
	return (int32_t)(v < 0 ? 0 : v > BH_MCC_SCORE_MAX ? BH_MCC_SCORE_MAX : v);
}

static bh_pose view_pose(const bh_mcc_view *v, uint32_t i)
{
	const uint8_t *m = v->blob + BH_MCC_HEADER + 8 * i;
	return (bh_pose){(int32_t)get16(m), (int32_t)get16(m + 2), (uint16_t)get16(m + 4)};
}

/* The MCC score s scaled by the best field agreement among the alignments
 * of the n_P pairs lssr() averaged (the rule in bh_mcc.h). */
static int32_t field_scale(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws, int32_t s, int vec)
{
	bh_ofield fa = a->field; /* with its foreground list, made once for all alignments */
	ws->fg = ws_grow(ws->fg, &ws->cap_fg, (size_t)fa.gw * fa.gh, sizeof(uint32_t));
	if (!ws->fg) /* gw, gh >= 1: the caller checked both fields are there */
		return BH_ENOMEM;
	fa.fg = ws->fg;
	fa.nfg = bh_ofield_list(&fa, ws->fg);
	int64_t best_sum = 0;
	uint32_t best_n = 0;
	for (uint32_t p = 0; p < ws->ntop; p++) {
		int64_t sum;
		uint32_t n;
		(vec ? bh_ofield_agree : bh_ofield_agree_ref)(&fa, &b->field, view_pose(a, ws->topa[p]),
							     view_pose(b, ws->topb[p]), &sum, &n);
		if (n < BH_OFIELD_MIN_OVERLAP)
			continue;
		if (best_n == 0 || sum * best_n > best_sum * n) { /* sum / n larger */
			best_sum = sum;
			best_n = n;
		}
	}
	if (best_n == 0 || best_sum <= 0)
		return 0;
	return (int32_t)((int64_t)s * best_sum / ((int64_t)best_n * BH_OFIELD_ONE));
}

/* One comparison; may_vec = 0 forces the portable scalar path (the
 * reference), else the AVX-512 path runs where the CPU and the plane size
 * allow it.  Both give the same integer.  field = 0: the MCC score alone. */
static int32_t compare(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws, int may_vec, int field)
{
	if (!a || !b || !ws)
		return BH_EINVAL;
	if (a->n < 2 || b->n < 2)
		return 0;
	if (ws_reserve(ws, a->n, b->n) != BH_OK)
		return BH_ENOMEM;
	sqrt_init();
	load_points(a, ws->pa);
	load_points(b, ws->pb);
	int vec = 0;
#if defined(__x86_64__)
	const unsigned need = BH_CPU_AVX512 | BH_CPU_VPOPCNTDQ;
	vec = may_vec && (bh_cpu_features() & need) == need && a->words > 16 && a->words <= 24;
	if (vec)
		local_sims_avx512(a, b, ws);
	else
#else
	(void)may_vec;
#endif
	{
		local_sims(a, b, ws->lam);
		nz_collect(ws, a->n, b->n);
	}
	int32_t s = to_score(lssr(ws, a->n, b->n, vec));
	if (field && s > 0 && a->field.cell && b->field.cell)
		s = field_scale(a, b, ws, s, may_vec);
	return s;
}

int32_t bh_mcc_compare(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws)
{
	return compare(a, b, ws, 1, 1);
}

int32_t bh_mcc_compare_ref(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws)
{
	return compare(a, b, ws, 0, 1);
}

int32_t bh_mcc_compare_minutiae(const bh_mcc_view *a, const bh_mcc_view *b, bh_mcc_ws *ws)
{
	return compare(a, b, ws, 1, 0);
}

int32_t bh_mcc_compare_blobs(const void *a, size_t alen, const void *b, size_t blen)
{
	bh_mcc_view va, vb;
	int rc = bh_mcc_view_init(a, alen, &va);
	if (rc == BH_OK)
		rc = bh_mcc_view_init(b, blen, &vb);
	if (rc != BH_OK)
		return rc;
	bh_mcc_ws *ws = bh_mcc_ws_new();
	if (!ws)
		return BH_ENOMEM;
	int32_t s = bh_mcc_compare(&va, &vb, ws);
	bh_mcc_ws_free(ws);
	return s;
}

/* ---- naive float reference ----------------------------------------------- */

struct bh_mcc_float {
	uint32_t n, cells;
	mpt *p;
	float *val;    /* n * cells */
	uint8_t *ok;   /* n * cells validity */
};

int bh_mcc_float_build(const bh_mcc_view *v, bh_mcc_float **out)
{
	disc d;
	disc_init(&d);
	bh_mcc_float *t = calloc(1, sizeof *t);
	uint32_t cells = (uint32_t)d.nc * ND, n = v->n;
	if (t) {
		t->n = n;
		t->cells = cells;
		t->p = malloc((n ? n : 1) * sizeof *t->p);
		t->val = calloc((size_t)(n ? n : 1) * cells, sizeof *t->val);
		t->ok = calloc((size_t)(n ? n : 1) * cells, 1);
	}
	if (!t || !t->p || !t->val || !t->ok) {
		bh_mcc_float_free(t);
		return bh_fail(BH_ENOMEM, "mcc float");
	}
	load_points(v, t->p);
	const uint8_t *cyl = v->blob + BH_MCC_HEADER + 8 * n;
	for (uint32_t i = 0; i < n; i++) {
		float *val = t->val + (size_t)i * cells;
		cyl_sums(&d, t->p, n, i, val);
		const uint8_t *mask = cyl + (size_t)i * 16 * v->words + 8 * v->words;
		for (uint32_t c = 0; c < cells; c++) {
			t->ok[(size_t)i * cells + c] = (uint8_t)(get64(mask + 8 * (c / 64)) >> (c % 64) & 1);
			val[c] = t->ok[(size_t)i * cells + c] ? sigmoid(val[c], MU_PSI, TAU_PSI) : 0;
		}
	}
	*out = t;
	return BH_OK;
}

void bh_mcc_float_free(bh_mcc_float *t)
{
	if (!t)
		return;
	size_t n = t->n ? t->n : 1;
	bh_wipe_free(t->p, n * sizeof *t->p);
	bh_wipe_free(t->val, n * t->cells * sizeof *t->val);
	bh_wipe_free(t->ok, n * t->cells);
	free(t);
}

int32_t bh_mcc_float_compare(const bh_mcc_float *a, const bh_mcc_float *b, bh_mcc_ws *ws)
{
	if (a->n < 2 || b->n < 2)
		return 0;
	if (ws_reserve(ws, a->n, b->n) != BH_OK)
		return BH_ENOMEM;
	memcpy(ws->pa, a->p, a->n * sizeof *a->p);
	memcpy(ws->pb, b->p, b->n * sizeof *b->p);
	const uint32_t cells = a->cells, min_me = (uint32_t)(MIN_ME * cells);
	for (uint32_t i = 0; i < a->n; i++)
		for (uint32_t j = 0; j < b->n; j++) {
			float l = 0;
			if (fabsf(dphi(a->p[i].t, b->p[j].t)) <= (float)M_PI_2) {
				const float *va = a->val + (size_t)i * cells, *vb = b->val + (size_t)j * cells;
				const uint8_t *oa = a->ok + (size_t)i * cells, *ob = b->ok + (size_t)j * cells;
				float sa = 0, sb = 0, sd = 0;
				uint32_t nv = 0;
				for (uint32_t c = 0; c < cells; c++) {
					if (!(oa[c] && ob[c]))
						continue;
					nv++;
					sa += va[c] * va[c];
					sb += vb[c] * vb[c];
					sd += (va[c] - vb[c]) * (va[c] - vb[c]);
				}
				if (nv >= min_me && sa + sb > 0)
					l = 1.0f - sqrtf(sd) / (sqrtf(sa) + sqrtf(sb));
			}
			ws->lam[(size_t)i * b->n + j] = l;
		}
	nz_collect(ws, a->n, b->n);
	return to_score(lssr(ws, a->n, b->n, 0));
}
