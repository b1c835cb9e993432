/* bh_search.c - the search service: decode -> extract -> engine -> re-rank.
 * See bh_search.h.  One engine per modality, built over the gallery's packed
 * codes at open time.  The SQLite handle is shared by all searching threads,
 * so every gallery call (re-rank lookups, external references) is serialised
 * by `glock`; the engine scan itself runs unlocked. */
#include "bh_search.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bh_engine.h"
#include "bh_err.h"
#include "bh_finger_an2k.h"
#include "bh_mem.h"
#include "bh_modality.h"
#include "bh_template.h"
#include "bh_time.h"

#define MAX_K 1000u

typedef struct mod_state {
	const bh_modality_ops *ops;
	void *model;
	bh_gallery_pack pack;
	bh_engine *engine;
} mod_state;

struct bh_searcher {
	bh_gallery *g;
	pthread_mutex_t glock;
	mod_state mod[BH_MOD_COUNT + 1];
};

static void mod_close(mod_state *m)
{
	if (m->engine)
		bh_engine_close(m->engine);
	bh_gallery_pack_free(&m->pack);
	if (m->ops && m->ops->fini && m->model)
		m->ops->fini(m->model);
	memset(m, 0, sizeof *m);
}

static int mod_open(bh_searcher *s, int modality, const bh_searcher_config *cfg)
{
	mod_state *m = &s->mod[modality];
	m->ops = bh_modality_get(modality);
	if (!m->ops)
		return BH_OK; /* not built in: searches of it fail with BH_EUNSUPPORTED */
	int rc = m->ops->init ? m->ops->init(cfg->model_dir, &m->model) : BH_OK;
	if (rc == BH_OK)
		rc = bh_gallery_pack_load(s->g, modality, &m->pack);
	if (rc == BH_OK) {
		bh_engine_config ec = {.backend = cfg->backend, .threads = cfg->threads};
		rc = bh_engine_open(&ec, &m->pack.shard, &m->engine);
	}
	if (rc != BH_OK)
		mod_close(m);
	return rc;
}

int bh_searcher_open(const bh_searcher_config *cfg, bh_searcher **out)
{
	*out = NULL;
	bh_searcher *s = calloc(1, sizeof *s);
	if (!s)
		return bh_fail(BH_ENOMEM, "searcher: out of memory");
	int rc = bh_gallery_open(cfg->gallery_path, BH_GALLERY_READONLY, &s->g);
	if (rc != BH_OK) {
		free(s);
		return rc;
	}
	pthread_mutex_init(&s->glock, NULL);
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

/* Turns engine hits into candidates, one per subject (a subject's best
 * template wins: hits are already in rank order). */
static int fill_candidates(bh_searcher *s, const mod_state *m, const bh_hit *hits, uint32_t nh,
			   uint32_t k, bh_candidate *out, uint32_t *n)
{
	uint32_t c = 0;
	for (uint32_t i = 0; i < nh && c < k; i++) {
		long ix = pack_index(&m->pack, hits[i].id);
		if (ix < 0)
			return bh_fail(BH_EINVAL, "search: hit id %llu not in gallery",
				       (unsigned long long)hits[i].id);
		int64_t subj = m->pack.subject[ix];
		int dup = 0;
		for (uint32_t j = 0; j < c && !dup; j++)
			dup = out[j].subject_id == subj;
		if (dup)
			continue;
		bh_candidate *o = &out[c];
		memset(o, 0, sizeof *o);
		o->subject_id = subj;
		o->score = hits[i].score;
		o->position = m->pack.position[ix];
		o->match = hits[i].score >= m->ops->threshold;
		pthread_mutex_lock(&s->glock);
		int rc = bh_gallery_subject_ref(s->g, subj, o->external_ref, sizeof o->external_ref);
		pthread_mutex_unlock(&s->glock);
		if (rc != BH_OK)
			return rc;
		c++;
	}
	*n = c;
	return BH_OK;
}

/* Engine pass (+ re-rank) for one extracted probe template. */
static int run_search(bh_searcher *s, mod_state *m, const bh_probe_tmpl *t, uint32_t k,
		      bh_candidate *out, uint32_t *n, bh_search_info *info)
{
	/* Fetch extra hits: several templates may belong to one subject, and the
	 * second stage needs its own depth. */
	uint32_t depth = k * 4 > m->ops->rerank_depth ? k * 4 : m->ops->rerank_depth;
	bh_hit *hits = calloc(depth, sizeof *hits);
	if (!hits)
		return bh_fail(BH_ENOMEM, "search: out of memory");
	bh_queries q = {.nq = 1, .stride = m->pack.shard.stride, .data = t->code};
	uint32_t nh = 0;
	uint64_t t0 = bh_now_ns();
	int rc = bh_engine_search(m->engine, &q, depth, hits, &nh);
	uint64_t t1 = bh_now_ns();
	if (rc == BH_OK && m->ops->rerank && nh > 0) {
		pthread_mutex_lock(&s->glock);
		rc = m->ops->rerank(m->model, t, s->g, hits, nh);
		pthread_mutex_unlock(&s->glock);
	}
	uint64_t t2 = bh_now_ns();
	if (rc == BH_OK)
		rc = fill_candidates(s, m, hits, nh, k, out, n);
	if (info) {
		info->search_ns = t1 - t0;
		info->rerank_ns = t2 - t1;
		info->backend = bh_engine_backend_name(m->engine);
	}
	bh_wipe_free(hits, (size_t)depth * sizeof *hits);
	return rc;
}

int bh_searcher_search(bh_searcher *s, int modality, const uint8_t *image, size_t image_len,
		       uint32_t k, bh_candidate *out, uint32_t *n, bh_search_info *info)
{
	*n = 0;
	if (info)
		memset(info, 0, sizeof *info);
	if (!bh_modality_name(modality))
		return bh_fail(BH_EINVAL, "search: unknown modality %d", modality);
	if (k == 0 || k > MAX_K)
		return bh_fail(BH_EINVAL, "search: k must be 1..%u", MAX_K);
	mod_state *m = &s->mod[modality];
	if (!m->ops)
		return bh_fail(BH_EUNSUPPORTED, "search: modality %s is not built in",
			       bh_modality_name(modality));
	bh_image img;
	bh_probe_tmpl t;
	memset(&t, 0, sizeof t);
	uint64_t t0 = bh_now_ns();
	int rc;
	if (modality == BH_MOD_FINGER && bh_finger_an2k_sniff(image, image_len)) {
		rc = bh_finger_an2k_probe(image, image_len, &t); /* latent, finger or minutiae */
	} else {
		rc = bh_image_decode(image, image_len, 0, NULL, &img);
		if (rc == BH_OK) {
			rc = m->ops->extract(m->model, &img, &t);
			bh_image_free(&img);
		}
	}
	if (info)
		info->extract_ns = bh_now_ns() - t0;
	if (rc == BH_OK && t.code_len != bh_template_code_bytes(t.format))
		rc = bh_fail(BH_EFORMAT, "search: extractor produced a %zu-byte code", t.code_len);
	if (rc == BH_OK) {
		if (info)
			memcpy(info->warning, t.warning, sizeof info->warning);
		rc = run_search(s, m, &t, k, out, n, info);
	}
	bh_probe_tmpl_clear(&t);
	return rc;
}
