/*
 * fuzz_template.c - libFuzzer target for gallery template blobs as they come
 * out of a gallery file: bh_template_check() (matcher/templates), then the
 * consumers of the full part - the MCC reader and comparator for fingers
 * (matcher/finger/bh_mcc.h) and the palm comparator (bh_palm.h).
 *
 * Input: [modality u8][position s8][format u16 LE][code_len u16 LE]
 *        [code_len bytes: code][full part A][full part B]
 * A is as long as its own header says (MCC: 16 + n * (8 + 16 W) bytes, plus
 * 4 + gw * gh for version 2's field section; palm: BH_PALM_FULL_BYTES),
 * clamped to the input; B is the rest.  A is checked
 * with its template; A and B are then compared with each other.
 *
 * Invariants (abort = finding):
 *   - bh_template_check() is the single gate before a gallery or engine
 *     (bh_template.h): a finger template that passes it with a full part
 *     must be accepted by the MCC reader too (palms: see below);
 *   - bh_mcc_view_init() agrees with bh_mcc_check();
 *   - scores are in 0..BH_MCC_SCORE_MAX / 0..BH_PALM_SCORE_MAX, and the
 *     dispatching MCC comparator equals the scalar reference bit for bit.
 * Built with -Dfuzz=true (clang); fuzz_replay.c runs corpus_template/ in
 * the normal and ASan suites.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bh_err.h"
#include "bh_mcc.h"
#include "bh_palm.h"
#include "bh_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Length of the MCC blob at p according to its own header (and, version 2,
 * its field section's sizes), clamped to n. */
static size_t mcc_len(const uint8_t *p, size_t n)
{
	if (n < BH_MCC_HEADER)
		return n;
	size_t cyl = (size_t)p[8] | (size_t)p[9] << 8;
	size_t want = BH_MCC_HEADER + cyl * (8 + 16 * (size_t)bh_mcc_words());
	if (p[4] >= 2 && want + 4 <= n) {
		const uint8_t *f = p + want;
		want += 4 + ((size_t)f[0] | (size_t)f[1] << 8) * ((size_t)f[2] | (size_t)f[3] << 8);
	}
	return want < n ? want : n;
}

static void mcc_one(const uint8_t *p, size_t n)
{
	bh_mcc_view v;
	int rc = bh_mcc_check(p, n);
	if (bh_mcc_view_init(p, n, &v) != rc)
		abort();
	if (rc != BH_OK)
		return;
	if (v.n > BH_MCC_MAX_CYL || v.words != bh_mcc_words() || v.quality > 100)
		abort();
	bh_mcc_float *f = NULL;
	if (bh_mcc_float_build(&v, &f) == BH_OK)
		bh_mcc_float_free(f);
}

static void mcc_pair(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	mcc_one(a, alen);
	mcc_one(b, blen);
	bh_mcc_view va, vb;
	if (bh_mcc_view_init(a, alen, &va) || bh_mcc_view_init(b, blen, &vb)) {
		if (bh_mcc_compare_blobs(a, alen, b, blen) >= 0)
			abort(); /* a malformed blob must not get a score */
		return;
	}
	bh_mcc_ws *ws = bh_mcc_ws_new();
	if (!ws)
		return;
	int32_t s = bh_mcc_compare(&va, &vb, ws), r = bh_mcc_compare_ref(&va, &vb, ws);
	if (s != BH_ENOMEM && (s < 0 || s > BH_MCC_SCORE_MAX || s != r))
		abort();
	bh_mcc_float *fa = NULL, *fb = NULL;
	if (bh_mcc_float_build(&va, &fa) == BH_OK && bh_mcc_float_build(&vb, &fb) == BH_OK) {
		int32_t fs = bh_mcc_float_compare(fa, fb, ws);
		if (fs != BH_ENOMEM && (fs < 0 || fs > BH_MCC_SCORE_MAX))
			abort();
	}
	bh_mcc_float_free(fa);
	bh_mcc_float_free(fb);
	bh_mcc_ws_free(ws);
}

static void palm_pair(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int32_t s;
	int rc = bh_palm_compare(a, alen, b, blen, &s);
	if (rc == BH_OK && (s < 0 || s > BH_PALM_SCORE_MAX))
		abort();
	if (rc == BH_OK && (bh_palm_full_check(a, alen) || bh_palm_full_check(b, blen)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6)
		return 0;
	int modality = data[0] % 4; /* 0: an unknown modality */
	int position = (int8_t)data[1];
	uint32_t format = (uint32_t)data[2] | (uint32_t)data[3] << 8;
	size_t clen = (size_t)data[4] | (size_t)data[5] << 8, p = 6;
	if (clen > size - p)
		clen = size - p;
	const uint8_t *code = data + p, *full = data + p + clen;
	size_t rest = size - p - clen;
	size_t alen = modality == BH_MOD_FINGER ? mcc_len(full, rest)
		      : modality == BH_MOD_PALM  ? (rest < BH_PALM_FULL_BYTES ? rest : BH_PALM_FULL_BYTES)
						 : rest;
	int rc = bh_template_check(modality, position, format, code, clen, alen ? full : NULL, alen);
	if (modality == BH_MOD_FINGER) {
		if (rc == BH_OK && alen && bh_mcc_check(full, alen) != BH_OK)
			abort();
		mcc_pair(full, alen, full + alen, rest - alen);
	} else if (modality == BH_MOD_PALM) {
		/* whatever the gallery accepts, the palm re-ranker must accept */
		if (rc == BH_OK && alen && bh_palm_full_check(full, alen) != BH_OK)
			abort();
		palm_pair(full, alen, full + alen, rest - alen);
	}
	return 0;
}
