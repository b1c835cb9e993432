/*
 * bh_modality.h - what a modality plugs into the search service and enrolment:
 * image -> template, and an optional second-stage re-ranker.
 *
 * Each modality module (matcher/face, matcher/finger) defines one
 * `const bh_modality_ops bh_<name>_ops` and the table in bh_modality.c lists
 * them.  Probe templates are wiped by bh_probe_tmpl_clear().
 */
#ifndef BH_MODALITY_H
#define BH_MODALITY_H

#include <stddef.h>
#include <stdint.h>

#include "bh_engine.h"
#include "bh_gallery.h"
#include "bh_image.h"

/* An extracted template (probe or enrolment), same blobs as the gallery. */
typedef struct bh_probe_tmpl {
	int modality;
	int position;
	uint32_t format;
	int quality;
	void *code; /* 64-aligned (bh_aligned_zalloc), engine stride bytes */
	size_t code_len;
	void *full; /* malloc'd or NULL */
	size_t full_len;
	char warning[96]; /* e.g. "3 faces, used the largest"; "" if none */
} bh_probe_tmpl;

/* Wipes and frees both blobs. */
void bh_probe_tmpl_clear(bh_probe_tmpl *t);

typedef struct bh_rerank_ctx bh_rerank_ctx;

/* The full template of gallery template `id`: a malloc'd copy in *blob
 * (the caller frees it), *len = 0 and *blob = NULL if it has none. */
typedef int (*bh_full_fetch)(void *ctx, uint64_t id, void **blob, size_t *len);

typedef struct bh_modality_ops {
	int modality;
	const char *name;
	/* Global, read-only model state (weights); opened once per process.
	 * model_dir may be NULL (the built-in default). */
	int (*init)(const char *model_dir, void **model);
	void (*fini)(void *model);
	/* image -> template.  Thread-safe for a shared model. */
	int (*extract)(void *model, const bh_image *img, bh_probe_tmpl *out);
	/* Number of engine candidates to pass to rerank (0 = no second stage). */
	uint32_t rerank_depth;
	/* Re-scores hits[0..n) in place with the 1:1 comparator, using the gallery
	 * full templates (fetched by hit id = template id), and re-sorts them.
	 * fetch is called from the calling thread only, one template at a time;
	 * the comparisons between fetches hold no lock, so searches on several
	 * threads re-rank side by side (bh_search.c gives each re-rank a reader
	 * handle of its own, or serialises the fetches on the shared one). */
	int (*rerank)(void *model, const bh_probe_tmpl *probe, bh_full_fetch fetch, void *ctx,
		      bh_hit *hits, uint32_t n);
	/* Fixed, shipped decision threshold on the final score. */
	int32_t threshold;
} bh_modality_ops;

/* The registered modality, or NULL if this build has none for it. */
const bh_modality_ops *bh_modality_get(int modality);

#endif
