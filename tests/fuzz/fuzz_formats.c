/*
 * fuzz_formats.c - libFuzzer target for the interchange-format readers:
 * the first input byte selects the reader, the rest is its input.
 *   0  WSQ decoder (bh_wsq_decode)
 *   1  ANSI/NIST-ITL transaction (bh_an2k_parse), then every image decoded
 *      (and segmented when it is a slap, bh_slap_segment; a Type-10 face
 *      also decoded to RGB) and every minutiae set converted
 *   2  ISO 19794-2 / INCITS 378 record (bh_fmr_parse); a record that
 *      parses must write back to the same bytes (abort otherwise), and its
 *      views convert; the same bytes as a probe or enrolment record
 *      (bh_finger_fmr_templates: MCC templates of whatever minutiae it
 *      holds) give 1..11 fingers or an error with none
 *   3  JPEG 2000 (bh_jp2_decode)
 * Images are bounded by small limits so that the fuzzer explores parsing,
 * not allocation.  Built with -Dfuzz=true (clang); fuzz_replay.c runs the
 * same function over corpus_formats/ (NIST samples + corrupted variants) in
 * the normal and ASan test suites.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_finger_fmr.h"
#include "bh_image.h"
#include "bh_iso19794.h"
#include "bh_minutiae.h"
#include "bh_slap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const bh_image_limits lim = {2048, 2048, 4u << 20};

static void an2k(const uint8_t *p, size_t n)
{
	bh_an2k *a;
	if (bh_an2k_parse(p, n, &a) != BH_OK)
		return;
	for (uint32_t i = 0; i < a->nimages; i++) {
		bh_image im;
		if (bh_an2k_image_decode(&a->images[i], &lim, &im) != BH_OK)
			continue;
		bh_slap_finger f[BH_SLAP_MAX_FINGERS];
		int nf = 0;
		if (bh_an2k_image_kind(&a->images[i]) == BH_AN2K_KIND_SLAP &&
		    bh_slap_segment(&im, a->images[i].position, f, &nf) == BH_OK)
			bh_slap_free(f, nf);
		bh_image_free(&im);
		/* a face is decoded in colour too, and must come out RGB */
		if (bh_an2k_image_kind(&a->images[i]) == BH_AN2K_KIND_FACE &&
		    bh_an2k_image_decode_rgb(&a->images[i], &lim, &im) == BH_OK) {
			if (im.channels != 3)
				abort();
			bh_image_free(&im);
		}
	}
	static bh_minutia m[BH_MINUTIAE_MAX];
	for (uint32_t i = 0; i < a->nminsets; i++)
		bh_an2k_minutiae_to_fp(&a->minsets[i], 0, m, BH_MINUTIAE_MAX);
	bh_an2k_free(a);
}

static void fmr(const uint8_t *p, size_t n)
{
	bh_fmr *r;
	if (bh_fmr_parse(p, n, &r) != BH_OK)
		return;
	uint8_t *o;
	size_t olen;
	if (bh_fmr_write(r, &o, &olen) != BH_OK || olen != n || memcmp(o, p, n) != 0)
		abort(); /* whatever parses must round-trip */
	free(o);
	static bh_minutia m[256];
	for (uint32_t i = 0; i < r->nviews; i++)
		bh_fmr_view_to_fp(r, &r->views[i], m, 256);
	bh_fmr_free(r);
	bh_probe_tmpl t[11];
	size_t nt = 99;
	int rc = bh_finger_fmr_templates(p, n, t, 11, &nt, NULL, 0);
	if ((rc == BH_OK) != (nt >= 1 && nt <= 11))
		abort(); /* fingers exactly when it succeeds */
	for (size_t i = 0; i < nt; i++)
		bh_probe_tmpl_clear(&t[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	bh_image im;
	switch (data[0] % 4) {
	case 0:
		if (bh_wsq_decode(p, n, &lim, &im) == BH_OK)
			bh_image_free(&im);
		break;
	case 1: an2k(p, n); break;
	case 2: fmr(p, n); break;
	default:
		if (bh_jp2_decode(p, n, &lim, &im) == BH_OK)
			bh_image_free(&im);
		break;
	}
	return 0;
}
