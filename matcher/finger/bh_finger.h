/*
 * bh_finger.h - the finger modality (bh_finger_ops, see bh_modality.h) and
 * its building blocks, shared by the search service, enrolment, `biohub eval
 * finger` and `biohub bench finger`.
 *
 *   template: code = bh_fcode (256 bits, HAMMING), full = MCC with the
 *             ridge orientation field (bh_mcc.h, bh_ofield.h), format
 *             BH_FMT_FINGER_V1, quality = extractor quality 0..100;
 *   search:   engine top-BH_FINGER_RERANK_DEPTH by code, then re-ranking by
 *             the comparison score (MCC x field agreement, bh_mcc_compare);
 *   decision: that score >= BH_FINGER_THRESHOLD (fixed, shipped; see
 *             docs/FINGER.md for how it was chosen and what FMR it gives).
 */
#ifndef BH_FINGER_H
#define BH_FINGER_H

#include <stddef.h>
#include <stdint.h>

#include "bh_engine.h"
#include "bh_image.h"
#include "bh_minutiae.h"
#include "bh_modality.h"

/* Candidates passed from the first stage to MCC re-ranking. */
#define BH_FINGER_RERANK_DEPTH 512
/* Decision threshold on the comparison score (0..10000). */
#define BH_FINGER_THRESHOLD 400
/* An impression with fewer usable cylinders is refused (BH_ENOFEATURE). */
#define BH_FINGER_MIN_CYLINDERS 4

extern const bh_modality_ops bh_finger_ops;

/* image -> template (code + MCC full).  ppi_override 0 = use img->ppi (or
 * 500 if unknown).  Grey or RGB input. */
int bh_finger_extract(const bh_image *img, uint32_t ppi_override, bh_probe_tmpl *out);

/* minutiae -> template (MCC full + code), e.g. for minutiae read from an
 * ANSI/NIST Type-9 or ISO 19794-2 record.  f->fg must be non-NULL (the MCC
 * cell validity comes from the minutiae's convex hull, not from fg). */
int bh_finger_from_features(const bh_fp_features *f, bh_probe_tmpl *out);

/* Minutiae in the matcher's frame (bh_minutiae.h), e.g. converted from an
 * ANSI/NIST Type-9 or ISO/INCITS record -> template.  The minutiae are
 * moved into the positive quadrant first (MCC is translation invariant),
 * so m is modified; quality = their mean quality. */
int bh_finger_from_minutiae(bh_minutia *m, uint32_t n, bh_probe_tmpl *out);

/* MCC re-ranking of hits[0..n) with full templates obtained from fetch()
 * (malloc'd blob, freed here; len 0 = none: score 0), then re-sorted by the
 * engine's order.  Used by the gallery re-ranker and by the benchmarks. */
int bh_finger_rerank_with(const bh_probe_tmpl *probe, bh_hit *hits, uint32_t n,
			  bh_full_fetch fetch, void *ctx);

#endif
