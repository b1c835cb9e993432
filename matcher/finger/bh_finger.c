/*
 * bh_finger.c - the finger modality for the search service and enrolment:
 * image -> minutiae (bh_minutiae.h) -> MCC full template (bh_mcc.h) ->
 * 256-bit first-stage code (bh_fcode.h); second stage = MCC re-ranking of
 * the engine's best candidates.
 *
 * Scores: the engine ranks by code similarity (0..256); after re-ranking
 * every returned hit carries its comparison score (bh_mcc_compare: MCC
 * scaled by the orientation-field agreement, 0..BH_MCC_SCORE_MAX), and the
 * shipped decision threshold applies to that score.
 */
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_fcode.h"
#include "bh_finger.h"
#include "bh_mcc.h"
#include "bh_mem.h"
#include "bh_minutiae.h"
#include "bh_modality.h"
#include "bh_template.h"

_Static_assert(BH_FCODE_BITS == BH_FINGER_CODE_BITS, "finger code size: bh_fcode.h vs bh_template.h");

int bh_finger_extract(const bh_image *img, uint32_t ppi_override, bh_probe_tmpl *out)
{
	memset(out, 0, sizeof *out);
	bh_image grey = *img;
	int own = 0;
	if (img->channels == 3) { /* work on a grey copy; the caller's image is untouched */
		int rc = bh_image_alloc(&grey, img->w, img->h, 3, NULL);
		if (rc != BH_OK)
			return rc;
		memcpy(grey.px, img->px, (size_t)img->w * img->h * 3);
		grey.ppi = img->ppi;
		own = 1;
		rc = bh_image_convert(&grey, 1);
		if (rc != BH_OK) {
			bh_image_free(&grey);
			return rc;
		}
	}
	bh_fp_features f;
	bh_extract_opts o = {.ppi_override = ppi_override, .max_minutiae = 0};
	int rc = bh_fp_extract(&grey, &o, &f);
	if (own)
		bh_image_free(&grey);
	if (rc != BH_OK)
		return rc;
	rc = bh_finger_from_features(&f, out);
	bh_fp_features_free(&f);
	return rc;
}

int bh_finger_from_features(const bh_fp_features *f, bh_probe_tmpl *out)
{
	memset(out, 0, sizeof *out);
	uint8_t *blob = NULL;
	size_t len = 0;
	int rc = bh_mcc_build(f, &blob, &len);
	bh_mcc_view v;
	if (rc == BH_OK)
		rc = bh_mcc_view_init(blob, len, &v);
	if (rc == BH_OK && v.n < BH_FINGER_MIN_CYLINDERS)
		rc = bh_fail(BH_ENOFEATURE, "finger: %u usable minutiae (need %d)", v.n,
			     BH_FINGER_MIN_CYLINDERS);
	size_t stride = bh_row_stride(BH_KERNEL_HAMMING, BH_FINGER_CODE_BITS);
	if (rc == BH_OK) {
		out->code = bh_aligned_zalloc(stride);
		if (!out->code)
			rc = bh_fail(BH_ENOMEM, "finger: code");
	}
	if (rc == BH_OK)
		rc = bh_fcode_from_mcc(&v, out->code);
	if (rc != BH_OK) {
		bh_wipe_aligned_free(out->code, stride);
		bh_wipe_free(blob, len);
		memset(out, 0, sizeof *out);
		return rc;
	}
	out->modality = BH_MOD_FINGER;
	out->position = 0;
	out->format = BH_FMT_FINGER_V1;
	out->quality = f->quality;
	out->code_len = BH_FINGER_CODE_BITS / 8;
	out->full = blob;
	out->full_len = len;
	return BH_OK;
}

int bh_finger_from_minutiae(bh_minutia *m, uint32_t n, bh_probe_tmpl *out)
{
	/* MCC is translation invariant: move the minutiae into the positive
	 * quadrant (an EFS record may put some left of / above its origin). */
	float minx = 0, miny = 0, maxx = 0, maxy = 0;
	uint32_t qsum = 0;
	for (uint32_t i = 0; i < n; i++) {
		minx = m[i].x < minx ? m[i].x : minx;
		miny = m[i].y < miny ? m[i].y : miny;
		qsum += m[i].quality;
	}
	for (uint32_t i = 0; i < n; i++) {
		m[i].x -= minx;
		m[i].y -= miny;
		maxx = m[i].x > maxx ? m[i].x : maxx;
		maxy = m[i].y > maxy ? m[i].y : maxy;
	}
	uint8_t fg = 1; /* MCC validity comes from the minutiae hull */
	/* +2: MCC quantises x to quarter pixels with rounding, which may reach
	 * maxx + 0.25 > (uint32_t)maxx + 1. */
	bh_fp_features f = {.w = (uint32_t)maxx + 2, .h = (uint32_t)maxy + 2, .bw = 1, .bh = 1,
			    .fg = &fg, .n = n, .m = m, .quality = n ? (int)(qsum / n) : 0};
	return bh_finger_from_features(&f, out);
}

static int finger_init(const char *model_dir, void **model)
{
	(void)model_dir; /* no weights: the pipeline is analytic */
	*model = NULL;
	return BH_OK;
}

static void finger_fini(void *model) { (void)model; }

static int finger_extract(void *model, const bh_image *img, bh_probe_tmpl *out)
{
	(void)model;
	return bh_finger_extract(img, 0, out);
}

int bh_finger_rerank_with(const bh_probe_tmpl *probe, bh_hit *hits, uint32_t n,
			  bh_full_fetch fetch, void *ctx)
{
	bh_mcc_view pv;
	int rc = bh_mcc_view_init(probe->full, probe->full_len, &pv);
	if (rc != BH_OK)
		return rc;
	bh_mcc_ws *ws = bh_mcc_ws_new();
	if (!ws)
		return bh_fail(BH_ENOMEM, "finger: re-rank scratch");
	for (uint32_t i = 0; i < n && rc == BH_OK; i++) {
		void *blob = NULL;
		size_t len = 0;
		rc = fetch(ctx, hits[i].id, &blob, &len);
		if (rc != BH_OK)
			break;
		bh_mcc_view gv;
		int32_t s = 0;
		if (len == 0) {
			s = 0; /* a template without a full part cannot be re-scored */
		} else if ((rc = bh_mcc_view_init(blob, len, &gv)) == BH_OK) {
			s = bh_mcc_compare(&pv, &gv, ws);
			if (s < 0)
				rc = bh_fail(s, "finger: compare");
		}
		free(blob);
		hits[i].score = s < 0 ? 0 : s;
	}
	bh_mcc_ws_free(ws);
	if (rc == BH_OK)
		bh_hits_sort(hits, n);
	return rc;
}

static int finger_rerank(void *model, const bh_probe_tmpl *probe, bh_full_fetch fetch, void *ctx,
			 bh_hit *hits, uint32_t n)
{
	(void)model;
	return bh_finger_rerank_with(probe, hits, n, fetch, ctx);
}

const bh_modality_ops bh_finger_ops = {
	.modality = BH_MOD_FINGER,
	.name = "finger",
	.init = finger_init,
	.fini = finger_fini,
	.extract = finger_extract,
	.rerank_depth = BH_FINGER_RERANK_DEPTH,
	.rerank = finger_rerank,
	.threshold = BH_FINGER_THRESHOLD,
};
