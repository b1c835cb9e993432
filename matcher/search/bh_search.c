/* bh_search.c - the search service: decode -> extract -> engine -> re-rank.
 * See bh_search.h.  One engine per modality, built over the gallery's packed
 * codes at open time.  The main SQLite handle is shared by all searching
 * threads, so every call on it (external references, the audit) is
 * serialised by `glock`.  A re-rank reads its full templates through a
 * reader handle of its own when one is free (N_READERS), in one read
 * snapshot, without glock; the engine scan and the comparisons run
 * unlocked. */
#include "bh_search.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_engine.h"
#include "bh_err.h"
#include "bh_face_an2k.h"
#include "bh_finger_an2k.h"
#include "bh_finger_fmr.h"
#include "bh_mem.h"
#include "bh_modality.h"
#include "bh_template.h"
#include "bh_time.h"

#define MAX_K 1000u
#define MAX_DEPTH 65536u /* re-rank depth: 64k full templates read per probe */
#define NPOS 10                /* finger positions 1..10 (0 = unknown) */
/* Reader handles for re-rank fetches: concurrent re-ranks beyond this many
 * fetch through the main handle under glock (biohubd runs 1-2 workers). */
#define N_READERS 4
#define MAX_PROBES (NPOS + 1)  /* fingers of one transaction: positions 0..10 */

typedef struct mod_state {
	const bh_modality_ops *ops;
	void *model;
	bh_gallery_pack pack;
	bh_engine *engine;
	uint32_t depth; /* re-rank depth (ops->rerank_depth or the config's) */
	/* Fingers: one engine per position p over the fingers of position p
	 * and of unknown position (pos_open), so that a probe of known position
	 * competes in the first stage with its own position only, a tenth of a
	 * ten-finger gallery.  On every backend, so that ranks never depend on
	 * it (on the fpga backend each is its own device instance).  NULL where
	 * the whole engine serves as well (no other position enrolled). */
	bh_gallery_pack pos_pack[NPOS + 1];
	bh_engine *pos_engine[NPOS + 1];
	/* Fingers: pack indices sorted by subject (then id), for the fill-in
	 * of a card's other fingers (fill_in); NULL for other modalities. */
	uint32_t *by_subject;
} mod_state;

/* A read-only gallery handle owned by one re-rank at a time (`lock`). */
typedef struct reader {
	bh_gallery *g;
	pthread_mutex_t lock;
} reader;

struct bh_searcher {
	bh_gallery *g;
	pthread_mutex_t glock;
	reader rd[N_READERS];
	mod_state mod[BH_MOD_COUNT + 1];
};

static void mod_close(mod_state *m)
{
	for (int p = 0; p <= NPOS; p++) {
		if (m->pos_engine[p])
			bh_engine_close(m->pos_engine[p]);
		bh_gallery_pack_free(&m->pos_pack[p]);
	}
	if (m->engine)
		bh_engine_close(m->engine);
	free(m->by_subject);
	bh_gallery_pack_free(&m->pack);
	if (m->ops && m->ops->fini && m->model)
		m->ops->fini(m->model);
	memset(m, 0, sizeof *m);
}

/* The per-position engines (see mod_state).  One thread each on the CPU
 * backends: a position is a tenth of the gallery, and searches of different
 * positions can then run side by side. */
static int pos_open(mod_state *m, const bh_searcher_config *cfg)
{
	size_t count[NPOS + 1] = {0};
	for (size_t i = 0; i < m->pack.n; i++)
		if (m->pack.position[i] <= NPOS)
			count[m->pack.position[i]]++;
	for (int p = 1; p <= NPOS; p++) {
		size_t n = count[p] + count[0];
		if (n == 0 || n == m->pack.n)
			continue;
		int rc = bh_gallery_pack_subset(&m->pack, p, &m->pos_pack[p]);
		if (rc == BH_OK) {
			bh_engine_config ec = {.backend = cfg->backend, .threads = 1};
			rc = bh_engine_open(&ec, &m->pos_pack[p].shard, &m->pos_engine[p]);
		}
		if (rc != BH_OK)
			return rc;
	}
	return BH_OK;
}

typedef struct subj_ix {
	int64_t subject;
	uint64_t index;
} subj_ix;

static int subj_ix_cmp(const void *a, const void *b)
{
	const subj_ix *x = a, *y = b;
	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* m->by_subject: every pack index, ordered by subject, then by index. */
static int by_subject_open(mod_state *m)
{
	const size_t n = m->pack.n;
	if (n > UINT32_MAX)
		return bh_fail(BH_EINVAL, "search: %zu templates, above the index range", n);
	subj_ix *tmp = malloc((n ? n : 1) * sizeof *tmp);
	m->by_subject = malloc((n ? n : 1) * sizeof *m->by_subject);
	if (!tmp || !m->by_subject) {
		free(tmp);
		return bh_fail(BH_ENOMEM, "search: out of memory");
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = (subj_ix){m->pack.subject[i], i};
	qsort(tmp, n, sizeof *tmp, subj_ix_cmp);
	for (size_t i = 0; i < n; i++)
		m->by_subject[i] = (uint32_t)tmp[i].index;
	free(tmp);
	return BH_OK;
}

static int mod_open(bh_searcher *s, int modality, const bh_searcher_config *cfg)
{
	mod_state *m = &s->mod[modality];
	m->ops = bh_modality_get(modality);
	if (!m->ops)
		return BH_OK; /* not built in: searches of it fail with BH_EUNSUPPORTED */
	m->depth = m->ops->rerank && cfg->rerank_depth ? cfg->rerank_depth : m->ops->rerank_depth;
	int rc = m->ops->init ? m->ops->init(cfg->model_dir, &m->model) : BH_OK;
	if (rc == BH_OK)
		rc = bh_gallery_pack_load(s->g, modality, &m->pack);
	if (rc == BH_OK) {
		bh_engine_config ec = {.backend = cfg->backend, .threads = cfg->threads};
		rc = bh_engine_open(&ec, &m->pack.shard, &m->engine);
	}
	if (rc == BH_OK && modality == BH_MOD_FINGER)
		rc = pos_open(m, cfg);
	if (rc == BH_OK && modality == BH_MOD_FINGER)
		rc = by_subject_open(m);
	if (rc != BH_OK)
		mod_close(m);
	return rc;
}

int bh_searcher_open(const bh_searcher_config *cfg, bh_searcher **out)
{
	*out = NULL;
	if (cfg->rerank_depth > MAX_DEPTH)
		return bh_fail(BH_EINVAL, "searcher: re-rank depth %u above %u", cfg->rerank_depth,
			       MAX_DEPTH);
	bh_searcher *s = calloc(1, sizeof *s);
	if (!s)
		return bh_fail(BH_ENOMEM, "searcher: out of memory");
	int rc = bh_gallery_open(cfg->gallery_path, BH_GALLERY_READONLY, &s->g);
	if (rc != BH_OK) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->glock, NULL);
	for (int i = 0; i < N_READERS; i++)
		pthread_mutex_init(&s->rd[i].lock, NULL);
	for (int i = 0; i < N_READERS && rc == BH_OK && !cfg->single_handle; i++)
		rc = bh_gallery_open_reader(s->g, &s->rd[i].g);
	for (int m = 1; m <= BH_MOD_COUNT && rc == BH_OK; m++)
		rc = mod_open(s, m, cfg);
	if (rc != BH_OK) {
		bh_searcher_close(s);
		return rc;
	}
	*out = s;
	return BH_OK;
}

void bh_searcher_close(bh_searcher *s)
{
	if (!s)
		return;
	for (int m = 1; m <= BH_MOD_COUNT; m++)
		mod_close(&s->mod[m]);
	for (int i = 0; i < N_READERS; i++) {
		bh_gallery_close(s->rd[i].g);
		pthread_mutex_destroy(&s->rd[i].lock);
	}
	bh_gallery_close(s->g);
	pthread_mutex_destroy(&s->glock);
	free(s);
}

int bh_searcher_audit(bh_searcher *s, const bh_audit_rec *rec)
{
	pthread_mutex_lock(&s->glock);
	int rc = bh_gallery_audit(s->g, rec);
	pthread_mutex_unlock(&s->glock);
	return rc;
}

/* Index of template id `id` in the pack (ids ascending, as loaded), or -1. */
static long pack_index(const bh_gallery_pack *p, uint64_t id)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && p->ids[lo] == id ? (long)lo : -1;
}

/* The re-rank's template fetch: through the re-rank's own reader, or when
 * none was free through the shared handle, held for one read at a time; the
 * comparisons run unlocked either way (bh_modality.h). */
typedef struct fetch_ctx {
	bh_searcher *s;
	reader *r; /* NULL: the shared handle */
} fetch_ctx;

static int fetch_full(void *ctx, uint64_t id, void **blob, size_t *len)
{
	fetch_ctx *f = ctx;
	if (f->r)
		return bh_gallery_template_full(f->r->g, (int64_t)id, blob, len);
	pthread_mutex_lock(&f->s->glock);
	int rc = bh_gallery_template_full(f->s->g, (int64_t)id, blob, len);
	pthread_mutex_unlock(&f->s->glock);
	return rc;
}

/* m's re-rank of hits[0..nh), its fetches in one read snapshot of a free
 * reader (each fetch alone would take and drop SQLite's file locks). */
static int rerank(bh_searcher *s, const mod_state *m, const bh_probe_tmpl *t, bh_hit *hits,
		  uint32_t nh)
{
	fetch_ctx f = {s, NULL};
	for (int i = 0; i < N_READERS && !f.r && s->rd[i].g; i++)
		if (pthread_mutex_trylock(&s->rd[i].lock) == 0)
			f.r = &s->rd[i];
	int rc = f.r ? bh_gallery_read_begin(f.r->g) : BH_OK;
	if (rc == BH_OK)
		rc = m->ops->rerank(m->model, t, fetch_full, &f, hits, nh);
	if (f.r) {
		bh_gallery_read_end(f.r->g);
		pthread_mutex_unlock(&f.r->lock);
	}
	return rc;
}

/* Engine pass (+ re-rank) for one extracted probe template: *hits (the
 * caller wipes and frees it, `depth` slots) gets *nh hits in final rank
 * order.  Adds the times to info. */
static int ranked_hits(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, uint32_t depth,
		       bh_hit **hits, uint32_t *nh, bh_search_info *info)
{
	*nh = 0;
	*hits = calloc(depth, sizeof **hits);
	if (!*hits)
		return bh_fail(BH_ENOMEM, "search: out of memory");
	bh_engine *e = t->position > 0 && t->position <= NPOS && m->pos_engine[t->position]
			       ? m->pos_engine[t->position]
			       : m->engine;
	bh_queries q = {.nq = 1, .stride = m->pack.shard.stride, .data = t->code};
	uint64_t t0 = bh_now_ns();
	int rc = bh_engine_search(e, &q, depth, *hits, nh);
	uint64_t t1 = bh_now_ns();
	if (rc == BH_OK && m->ops->rerank && *nh > 0)
		rc = rerank(s, m, t, *hits, *nh);
	if (info) {
		info->search_ns += t1 - t0;
		info->rerank_ns += bh_now_ns() - t1;
		info->backend = bh_engine_backend_name(e);
	}
	return rc;
}

/* Hits per probe template: several templates may belong to one subject, and
 * the second stage needs its own depth. */
static uint32_t hit_depth(const mod_state *m, uint32_t k)
{
	return k * 4 > m->depth ? k * 4 : m->depth;
}

/* ---- probe templates -> candidates, one per subject -----------------------
 * Each probe template (one, or the fingers of a card) is searched on its own:
 * engine + re-rank, on its position's engine when there is one.  A finger's
 * hits count only against gallery fingers of its position (an unknown
 * position, 0, on either side counts as the same).  A subject's score is the
 * sum over the probe templates of its best hit, which for a single probe is
 * simply its best template; with the fingers of a card, only some of them
 * need to bring the mate through the first stage.  `match` holds when one
 * template alone reaches the modality's threshold, the decision a single
 * search makes (a sum does not change what one comparison means).
 * Candidates: score descending, then subject id ascending. */
typedef struct fhit {
	int64_t subject;
	uint32_t finger; /* index of the probe template */
	int32_t score;
	uint8_t position; /* gallery template's position */
} fhit;

static int fhit_cmp(const void *a, const void *b)
{
	const fhit *x = a, *y = b;
	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	if (x->finger != y->finger)
		return x->finger < y->finger ? -1 : 1;
	return (y->score > x->score) - (y->score < x->score); /* best first */
}

static int cand_cmp(const void *a, const void *b)
{
	const bh_candidate *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return (x->subject_id > y->subject_id) - (x->subject_id < y->subject_id);
}

/* Sorted hits of all fingers -> one candidate per subject in cand[], sorted. */
static uint32_t fuse_subjects(const fhit *h, size_t nf, int32_t threshold, bh_candidate *cand)
{
	uint32_t c = 0;
	size_t j = 0;
	for (size_t i = 0; i < nf; i = j) {
		bh_candidate *o = &cand[c++];
		memset(o, 0, sizeof *o);
		o->subject_id = h[i].subject;
		int32_t best = -1;
		for (j = i; j < nf && h[j].subject == h[i].subject; j++) {
			if (j > i && h[j - 1].finger == h[j].finger)
				continue; /* not this finger's best hit on the subject */
			o->score += h[j].score;
			if (h[j].score > best) {
				best = h[j].score;
				o->position = h[j].position;
			}
		}
		o->match = best >= threshold;
	}
	qsort(cand, c, sizeof *cand, cand_cmp);
	return c;
}

/* ---- fill-in: the fingers of a card that did not bring a top subject
 * through the first stage.  For each of the best `nfill` candidates, every
 * probe finger of known position without a hit on the subject is compared
 * by the re-rank (MCC) with the subject's gallery templates of that
 * position or of unknown position, and its best score joins the subject's
 * sum as if the engine had handed those templates on.  A top subject's
 * score then no longer depends on which of its fingers made the depth,
 * which at millions of fingers most do not (docs/FINGER.md, first stage).
 * Candidates below the nfill-th keep their partial sums, which are at most
 * the nfill-th's, so the order stays consistent.  FILL_MIN: a short list of
 * at least that many is filled in, whatever k. */
#define FILL_MIN 32u

/* First index i in [0, n) with key(i) >= subject, keys ascending. */
static size_t lower_fhit(const fhit *h, size_t n, int64_t subject)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h[mid].subject < subject)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t lower_subject(const mod_state *m, int64_t subject)
{
	size_t lo = 0, hi = m->pack.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->pack.subject[m->by_subject[mid]] < subject)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Best re-rank score of probe finger t over the subject's templates
 * by_subject[b..e) of t's position or unknown position; -1 if none. */
static int fill_finger(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, size_t b, size_t e,
		       int32_t *score, uint8_t *position)
{
	*score = -1;
	if (e == b)
		return BH_OK; /* no templates (calloc(0) may give NULL) */
	bh_hit *hits = calloc(e - b, sizeof *hits);
	if (!hits)
		return bh_fail(BH_ENOMEM, "search: out of memory");
	uint32_t nh = 0;
	for (size_t j = b; j < e; j++) {
		uint32_t ix = m->by_subject[j];
		if (m->pack.position[ix] == 0 || m->pack.position[ix] == t->position)
			hits[nh++].id = m->pack.ids[ix];
	}
	int rc = BH_OK;
	if (nh > 0)
		rc = rerank(s, m, t, hits, nh);
	if (rc == BH_OK && nh > 0) {
		long ix = pack_index(&m->pack, hits[0].id); /* re-rank sorted: the best */
		*score = hits[0].score;
		*position = ix >= 0 ? m->pack.position[ix] : 0;
	}
	bh_wipe_free(hits, (e - b) * sizeof *hits);
	return rc;
}

static int fill_one(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, size_t nt,
		    const fhit *fh, size_t nf, bh_candidate *c)
{
	uint8_t have[MAX_PROBES] = {0};
	int32_t best = -1;
	for (size_t i = lower_fhit(fh, nf, c->subject_id); i < nf && fh[i].subject == c->subject_id;
	     i++) {
		have[fh[i].finger] = 1;
		if (fh[i].score > best)
			best = fh[i].score;
	}
	size_t b = lower_subject(m, c->subject_id), e = b;
	while (e < m->pack.n && m->pack.subject[m->by_subject[e]] == c->subject_id)
		e++;
	int rc = BH_OK;
	for (size_t f = 0; f < nt && rc == BH_OK; f++) {
		if (have[f] || t[f].position == 0)
			continue;
		int32_t sc;
		uint8_t pos = 0;
		rc = fill_finger(s, m, &t[f], b, e, &sc, &pos);
		if (rc != BH_OK || sc < 0)
			continue;
		c->score += sc;
		if (sc > best) {
			best = sc;
			c->position = pos;
		}
	}
	c->match = best >= m->ops->threshold;
	return rc;
}

/* Fills in the best min(c, max(k, FILL_MIN)) of cand[0..c) and re-sorts. */
static int fill_in(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, size_t nt,
		   const fhit *fh, size_t nf, bh_candidate *cand, uint32_t c, uint32_t k,
		   uint32_t *filled)
{
	uint32_t nfill = k > FILL_MIN ? k : FILL_MIN;
	if (nfill > c)
		nfill = c;
	int rc = BH_OK;
	for (uint32_t i = 0; i < nfill && rc == BH_OK; i++)
		rc = fill_one(s, m, t, nt, fh, nf, &cand[i]);
	if (rc == BH_OK)
		qsort(cand, c, sizeof *cand, cand_cmp);
	*filled = rc == BH_OK ? nfill : 0;
	return rc;
}

static int run_search(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, size_t nt,
		      uint32_t k, bh_candidate *out, uint32_t *n, bh_search_info *info)
{
	const uint32_t depth = hit_depth(m, k);
	const size_t cap = nt * depth;
	fhit *fh = calloc(cap, sizeof *fh);
	bh_candidate *cand = NULL;
	int rc = fh ? BH_OK : bh_fail(BH_ENOMEM, "search: out of memory");
	size_t nf = 0;
	uint32_t filled = 0;
	for (size_t f = 0; f < nt && rc == BH_OK; f++) {
		bh_hit *hits;
		uint32_t nh = 0;
		rc = ranked_hits(s, m, &t[f], depth, &hits, &nh, info);
		for (uint32_t i = 0; i < nh && rc == BH_OK; i++) {
			long ix = pack_index(&m->pack, hits[i].id);
			if (ix < 0) {
				rc = bh_fail(BH_EINVAL, "search: hit id %llu not in gallery",
					     (unsigned long long)hits[i].id);
				break;
			}
			int gp = m->pack.position[ix];
			if (t[f].position && gp && gp != t[f].position)
				continue; /* another finger of the subject */
			fh[nf++] = (fhit){m->pack.subject[ix], (uint32_t)f, hits[i].score, (uint8_t)gp};
		}
		if (hits)
			bh_wipe_free(hits, (size_t)depth * sizeof *hits);
	}
	if (rc == BH_OK && !(cand = calloc(nf ? nf : 1, sizeof *cand))) /* <= one per hit */
		rc = bh_fail(BH_ENOMEM, "search: out of memory");
	if (rc == BH_OK) {
		qsort(fh, nf, sizeof *fh, fhit_cmp);
		uint32_t c = fuse_subjects(fh, nf, m->ops->threshold, cand);
		if (nt > 1 && m->by_subject && m->ops->rerank) {
			uint64_t t0 = bh_now_ns();
			rc = fill_in(s, m, t, nt, fh, nf, cand, c, k, &filled);
			if (info)
				info->rerank_ns += bh_now_ns() - t0;
		}
		*n = c < k ? c : k;
		for (uint32_t i = 0; i < *n && rc == BH_OK; i++) {
			out[i] = cand[i];
			pthread_mutex_lock(&s->glock);
			rc = bh_gallery_subject_ref(s->g, out[i].subject_id, out[i].external_ref,
						    sizeof out[i].external_ref);
			pthread_mutex_unlock(&s->glock);
		}
		if (rc != BH_OK)
			*n = 0;
	}
	if (info && rc == BH_OK && nt > 1)
		snprintf(info->warning, sizeof info->warning,
			 "%zu fingers searched, best %u subjects filled in; score = sum per finger",
			 nt, filled);
	if (fh)
		bh_wipe_free(fh, cap * sizeof *fh);
	if (cand)
		bh_wipe_free(cand, (nf ? nf : 1) * sizeof *cand);
	return rc;
}

int bh_searcher_search(bh_searcher *s, int modality, const uint8_t *image, size_t image_len,
		       uint32_t k, bh_candidate *out, uint32_t *n, bh_search_info *info)
{
	return bh_searcher_search_at(s, modality, 0, image, image_len, k, out, n, info);
}

int bh_searcher_search_at(bh_searcher *s, int modality, int position, const uint8_t *image,
			  size_t image_len, uint32_t k, bh_candidate *out, uint32_t *n,
			  bh_search_info *info)
{
	const bh_probe_desc d = {.position = position, .ppi = 0};
	return bh_searcher_search_probe(s, modality, &d, image, image_len, k, out, n, info);
}

int bh_searcher_search_probe(bh_searcher *s, int modality, const bh_probe_desc *d,
			     const uint8_t *image, size_t image_len, uint32_t k, bh_candidate *out,
			     uint32_t *n, bh_search_info *info)
{
	const int position = d ? d->position : 0;
	const uint32_t ppi = d ? d->ppi : 0;
	*n = 0;
	if (info)
		memset(info, 0, sizeof *info);
	if (!bh_modality_name(modality))
		return bh_fail(BH_EINVAL, "search: unknown modality %d", modality);
	if (position < 0 || position > NPOS || (position && modality != BH_MOD_FINGER))
		return bh_fail(BH_EINVAL, "search: position %d: only fingers have one, 1..%d",
			       position, NPOS);
	/* a latent, or every finger of the card (bh_finger_an2k.h); every
	 * finger of a minutiae record (bh_finger_fmr.h) */
	const int an2k = modality == BH_MOD_FINGER && bh_finger_an2k_sniff(image, image_len);
	const int fmr = modality == BH_MOD_FINGER && bh_finger_fmr_sniff(image, image_len);
	/* a face probe may be a transaction too: its first Type-10 face image */
	const int an2k_face = modality == BH_MOD_FACE && bh_finger_an2k_sniff(image, image_len);
	if (position && (an2k || fmr))
		return bh_fail(BH_EINVAL, "search: an %s probe carries its own positions",
			       an2k ? "ANSI/NIST" : "ISO/INCITS minutiae");
	if (ppi && modality != BH_MOD_FINGER)
		return bh_fail(BH_EINVAL, "search: a resolution is for finger images only");
	if (ppi && (an2k || fmr))
		return bh_fail(BH_EINVAL, "search: an %s probe carries its own resolution",
			       an2k ? "ANSI/NIST" : "ISO/INCITS minutiae");
	if (k == 0 || k > MAX_K)
		return bh_fail(BH_EINVAL, "search: k must be 1..%u", MAX_K);
	mod_state *m = &s->mod[modality];
	if (!m->ops)
		return bh_fail(BH_EUNSUPPORTED, "search: modality %s is not built in",
			       bh_modality_name(modality));
	bh_image img;
	bh_probe_tmpl t[MAX_PROBES];
	memset(t, 0, sizeof t);
	size_t nt = 0;
	uint64_t t0 = bh_now_ns();
	int rc;
	if (an2k) {
		rc = bh_finger_an2k_probes(image, image_len, t, MAX_PROBES, &nt);
	} else if (fmr) {
		rc = bh_finger_fmr_templates(image, image_len, t, MAX_PROBES, &nt, NULL, 0);
	} else {
		rc = an2k_face ? bh_face_an2k_image(image, image_len, 0, &img, NULL)
			       : bh_image_decode(image, image_len, 0, NULL, &img);
		if (rc == BH_OK && ppi)
			rc = bh_image_declare_ppi(&img, ppi);
		if (rc == BH_OK)
			rc = m->ops->extract(m->model, &img, &t[0]);
		nt = rc == BH_OK;
		t[0].position = position;
		bh_image_free(&img); /* wipes; nothing to do if the decode failed */
	}
	if (info)
		info->extract_ns = bh_now_ns() - t0;
	for (size_t i = 0; i < nt && rc == BH_OK; i++)
		if (t[i].code_len != bh_template_code_bytes(t[i].format))
			rc = bh_fail(BH_EFORMAT, "search: extractor produced a %zu-byte code",
				     t[i].code_len);
	if (rc == BH_OK && info)
		memcpy(info->warning, t[0].warning, sizeof info->warning);
	if (rc == BH_OK)
		rc = run_search(s, m, t, nt, k, out, n, info);
	for (size_t i = 0; i < MAX_PROBES; i++)
		bh_probe_tmpl_clear(&t[i]);
	bh_wipe_stack(); /* what the kernels spilled below this frame */
	return rc;
}
