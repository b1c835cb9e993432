/*
 * bh_search.h - the search service used by `biohub search` and biohubd:
 * probe image bytes -> decode -> extract -> 1:N engine -> re-rank -> candidates.
 * A finger probe may also be an ANSI/NIST-ITL transaction (bh_finger_an2k.h)
 * or an ISO/IEC 19794-2 / INCITS 378 minutiae record (bh_finger_fmr.h):
 * a latent is searched alone; the fingers of a card or record are each searched
 * against gallery fingers of the same position, and a subject's score is the
 * sum of its best score per probe finger (so it may exceed one comparison's
 * maximum); for the best max(k, 32) subjects, fingers the first stage did
 * not hand on are compared directly (fill-in), so their sums are complete;
 * `match` is set when one of those fingers reaches the threshold.  A face
 * probe may also be an ANSI/NIST-ITL transaction: its first Type-10 face
 * image is searched (bh_face_an2k.h).
 *
 * A searcher loads every modality of one gallery into engines at open time.
 * bh_searcher_search() is thread-safe.  Every buffer that held the probe
 * (decoded image, template) is wiped before it returns, on success and error.
 */
#ifndef BH_SEARCH_H
#define BH_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "bh_gallery.h"

typedef struct bh_searcher bh_searcher;

typedef struct bh_searcher_config {
	const char *gallery_path;
	const char *backend;   /* engine backend; NULL = auto */
	unsigned threads;      /* engine threads; 0 = all cores */
	const char *model_dir; /* face weights; NULL = default */
	/* Engine candidates handed to the re-ranker per probe template, for
	 * modalities that have one (finger, palm); 0 = the modality's shipped
	 * depth (BH_FINGER_RERANK_DEPTH...).  Deeper finds more lone mates in a
	 * large gallery at a proportional re-rank cost (docs/FINGER.md). */
	uint32_t rerank_depth;
	/* 1: every re-rank fetch goes through the one shared gallery handle,
	 * one at a time under its lock, and takes SQLite's file locks itself:
	 * the service before reader handles, kept as `biohub bench search`'s
	 * anchor.  0 (default): re-ranks read through reader handles. */
	int single_handle;
} bh_searcher_config;

typedef struct bh_candidate {
	int64_t subject_id;
	char external_ref[64];
	int32_t score;
	uint8_t position;
	uint8_t match; /* score >= the modality's shipped threshold */
} bh_candidate;

typedef struct bh_search_info {
	char warning[96];
	uint64_t extract_ns, search_ns, rerank_ns;
	const char *backend;
} bh_search_info;

int bh_searcher_open(const bh_searcher_config *cfg, bh_searcher **out);
void bh_searcher_close(bh_searcher *s);

/* Writes one audit row to the searcher's gallery.  Serialised with the
 * searches' calls on the shared SQLite handle (external references); the
 * re-ranks' reader handles are separate, read-only connections. */
int bh_searcher_audit(bh_searcher *s, const bh_audit_rec *rec);

/* Searches one probe image (any supported format) of `modality`.
 * out has room for k candidates; *n gets how many were written: one per
 * subject (its best template), score descending, then subject id. */
int bh_searcher_search(bh_searcher *s, int modality, const uint8_t *image, size_t image_len,
		       uint32_t k, bh_candidate *out, uint32_t *n, bh_search_info *info);

/* The same for a finger image of known position (1..10, ANSI/NIST finger
 * codes; 0 = unknown, which is bh_searcher_search): compared with gallery
 * fingers of that position and of unknown position only, as the fingers of
 * a transaction are.  BH_EINVAL for a position on another modality or on an
 * ANSI/NIST probe (it carries its own). */
int bh_searcher_search_at(bh_searcher *s, int modality, int position, const uint8_t *image,
			  size_t image_len, uint32_t k, bh_candidate *out, uint32_t *n,
			  bh_search_info *info);

/* What a caller knows about a probe besides its bytes (fingers only; zero
 * fields = unknown). */
typedef struct bh_probe_desc {
	int position;  /* ANSI/NIST finger code 1..10, as bh_searcher_search_at */
	uint32_t ppi;  /* scan resolution of a finger image: the extractor resamples
			* to its 500-ppi frame (150..4000).  For an image whose
			* container states none (PGM, PNG, JPEG) it is otherwise
			* taken as 500; one that states another is refused
			* (bh_image_declare_ppi).  BH_EINVAL on ANSI/NIST and
			* minutiae probes (they carry their own) and on faces and
			* palms. */
} bh_probe_desc;

/* bh_searcher_search_at with a probe description (d may be NULL). */
int bh_searcher_search_probe(bh_searcher *s, int modality, const bh_probe_desc *d,
			     const uint8_t *image, size_t image_len, uint32_t k, bh_candidate *out,
			     uint32_t *n, bh_search_info *info);

#endif
