/* bh_finger_an2k.c - finger templates from an ANSI/NIST-ITL transaction.
 * See bh_finger_an2k.h.  Every decoded image and minutia buffer is wiped
 * before it is freed: the transaction may be a probe. */
#include "bh_finger_an2k.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_finger.h"
#include "bh_mem.h"
#include "bh_minutiae.h"
#include "bh_slap.h"

int bh_finger_an2k_sniff(const uint8_t *buf, size_t len)
{
	return len >= 6 && !memcmp(buf, "1.001:", 6);
}

static int from_image(const bh_an2k_image *im, bh_probe_tmpl *out)
{
	bh_image img;
	int rc = bh_an2k_image_decode(im, NULL, &img);
	if (rc != BH_OK)
		return rc;
	rc = bh_finger_extract(&img, 0, out);
	bh_image_free(&img);
	return rc;
}

/* The image record described by a minutiae set (same IDC), or NULL. */
static const bh_an2k_image *image_of(const bh_an2k *a, const bh_an2k_minset *s)
{
	for (uint32_t i = 0; i < a->nimages; i++)
		if (a->images[i].idc == s->idc)
			return &a->images[i];
	return NULL;
}

static int from_minutiae(const bh_an2k *a, const bh_an2k_minset *s, bh_probe_tmpl *out)
{
	const bh_an2k_image *im = image_of(a, s);
	int32_t height = 0; /* 0.01 mm */
	if (im && im->ppi)
		height = (int32_t)((uint64_t)im->h * 2540u / im->ppi);
	bh_minutia *m = calloc(BH_MINUTIAE_MAX, sizeof *m);
	if (!m)
		return bh_fail(BH_ENOMEM, "an2k: out of memory");
	uint32_t n = bh_an2k_minutiae_to_fp(s, height, m, BH_MINUTIAE_MAX);
	int rc = bh_finger_from_minutiae(m, n, out);
	bh_wipe_free(m, BH_MINUTIAE_MAX * sizeof *m);
	return rc;
}

static int is_finger_pos(int pos) { return pos >= 0 && pos <= 10; }

/* What the minutiae describe: the kind of the image with the same IDC
 * (a latent's or a palm's minutiae are not finger references), else finger. */
static bh_an2k_kind minset_kind(const bh_an2k *a, const bh_an2k_minset *s)
{
	const bh_an2k_image *im = image_of(a, s);
	return im ? bh_an2k_image_kind(im) : BH_AN2K_KIND_FINGER;
}

static const char *skip_reason(bh_an2k_kind k)
{
	switch (k) {
	case BH_AN2K_KIND_LATENT: return "a latent is a probe, not a reference";
	case BH_AN2K_KIND_PALM: return "forensic palm: no palm minutiae gallery (not done)";
	default: return "not a finger";
	}
}

/* After an extraction into out[*k] that returned rc: an unusable impression
 * (BH_ENOFEATURE, BH_EINVAL) is noted after `what` and skipped; a template
 * is kept for finger position pos.  Other errors are returned. */
static int keep_finger(int rc, int pos, const char *what, bh_probe_tmpl *out, size_t *k,
		       int have[11], char *notes, size_t notes_len)
{
	if (rc == BH_ENOFEATURE || rc == BH_EINVAL) {
		bh_note(notes, notes_len, "%s: %s\n", what, bh_errmsg());
		return BH_OK;
	}
	if (rc == BH_OK) {
		out[(*k)++].position = pos;
		have[pos] = 1;
	}
	return rc;
}

/* The fingertips of a slap image (bh_slap.h), decoded and segmented;
 * *n of them in f, left to right.  The caller frees them. */
static int slap_tips(const bh_an2k_image *im, bh_slap_finger *f, int *n)
{
	bh_image img;
	*n = 0;
	int rc = bh_an2k_image_decode(im, NULL, &img);
	if (rc != BH_OK)
		return rc;
	rc = bh_slap_segment(&img, im->position, f, n);
	bh_image_free(&img);
	return rc;
}

/* Enrols the fingertips of a slap image at the positions not enrolled yet
 * (have[]); out[*k..] gets the templates.  Unusable images and fingertips
 * are noted, not errors. */
static int enrol_slap(const bh_an2k_image *im, bh_probe_tmpl *out, size_t max, size_t *k,
		      int have[11], char *notes, size_t notes_len)
{
	bh_slap_finger f[BH_SLAP_MAX_FINGERS];
	int n = 0, rc = slap_tips(im, f, &n);
	if (rc == BH_ENOFEATURE || rc == BH_EFORMAT) {
		bh_note(notes, notes_len, "type-%d idc %d slap position %d: %s\n", im->record_type,
		        im->idc, im->position, bh_errmsg());
		return BH_OK;
	}
	for (int i = 0; rc == BH_OK && i < n; i++) {
		int pos = f[i].position;
		if (have[pos]) {
			bh_note(notes, notes_len, "type-%d idc %d slap position %d: position %d already enrolled\n",
			        im->record_type, im->idc, im->position, pos);
			continue;
		}
		if (*k == max) {
			rc = bh_fail(BH_ETOOBIG, "an2k: more than %zu fingers", max);
			break;
		}
		char what[96];
		snprintf(what, sizeof what, "type-%d idc %d slap position %d, finger %d",
			 im->record_type, im->idc, im->position, pos);
		rc = keep_finger(bh_finger_extract(&f[i].tip, 0, &out[*k]), pos, what, out, k, have,
				 notes, notes_len);
	}
	bh_slap_free(f, n);
	return rc;
}

/* The first fingertip of a slap that gives a template, as a probe. */
static int slap_probe(const bh_an2k_image *im, bh_probe_tmpl *out)
{
	bh_slap_finger f[BH_SLAP_MAX_FINGERS];
	int n = 0, rc = slap_tips(im, f, &n);
	for (int i = 0; rc == BH_OK && i < n; i++) {
		rc = bh_finger_extract(&f[i].tip, 0, out);
		if (rc == BH_OK) {
			out->position = f[i].position;
			break;
		}
		if (rc == BH_ENOFEATURE && i + 1 < n)
			rc = BH_OK; /* try the next fingertip */
	}
	bh_slap_free(f, n);
	return rc;
}

static void clear_all(bh_probe_tmpl *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bh_probe_tmpl_clear(&out[i]);
}

/* The first image of `kind` in the transaction, or NULL. */
static const bh_an2k_image *first_image(const bh_an2k *a, bh_an2k_kind kind)
{
	for (uint32_t i = 0; i < a->nimages; i++)
		if (bh_an2k_image_kind(&a->images[i]) == kind)
			return &a->images[i];
	return NULL;
}

/* bh_finger_an2k_enrol on a parsed transaction. */
static int enrol_parsed(const bh_an2k *a, bh_probe_tmpl *out, size_t max, size_t *n, char *notes,
			size_t notes_len)
{
	int rc = BH_OK;
	int have[11] = {0};
	size_t k = 0;
	for (uint32_t i = 0; rc == BH_OK && i < a->nimages; i++) {
		const bh_an2k_image *im = &a->images[i];
		bh_an2k_kind kind = bh_an2k_image_kind(im);
		if (kind == BH_AN2K_KIND_SLAP)
			continue; /* after the single-finger images: see below */
		if (kind == BH_AN2K_KIND_FACE)
			continue; /* a mugshot: the face modality's (bh_face_an2k.h) */
		if (kind != BH_AN2K_KIND_FINGER || !is_finger_pos(im->position)) {
			bh_note(notes, notes_len, "type-%d idc %d position %d: %s\n", im->record_type,
			        im->idc, im->position, skip_reason(kind));
			continue;
		}
		if (have[im->position]) {
			bh_note(notes, notes_len, "type-%d idc %d: position %d already enrolled\n",
			        im->record_type, im->idc, im->position);
			continue;
		}
		if (k == max) {
			rc = bh_fail(BH_ETOOBIG, "an2k: more than %zu fingers", max);
			break;
		}
		char what[64];
		snprintf(what, sizeof what, "type-%d idc %d position %d", im->record_type, im->idc,
			 im->position);
		rc = keep_finger(from_image(im, &out[k]), im->position, what, out, &k, have, notes,
				 notes_len);
	}
	/* Slaps fill the positions no single-finger image gave: a rolled
	 * impression has more area than a plain fingertip. */
	for (uint32_t i = 0; rc == BH_OK && i < a->nimages; i++)
		if (bh_an2k_image_kind(&a->images[i]) == BH_AN2K_KIND_SLAP)
			rc = enrol_slap(&a->images[i], out, max, &k, have, notes, notes_len);
	for (uint32_t i = 0; rc == BH_OK && i < a->nminsets; i++) {
		const bh_an2k_minset *s = &a->minsets[i];
		bh_an2k_kind kind = minset_kind(a, s);
		if (kind != BH_AN2K_KIND_FINGER || !is_finger_pos(s->position) || have[s->position]) {
			bh_note(notes, notes_len, "type-9 idc %d position %d: %s\n", s->idc, s->position,
			        kind != BH_AN2K_KIND_FINGER   ? skip_reason(kind)
			        : !is_finger_pos(s->position) ? "not a finger position"
							      : "position already enrolled");
			continue;
		}
		if (k == max) {
			rc = bh_fail(BH_ETOOBIG, "an2k: more than %zu fingers", max);
			break;
		}
		rc = from_minutiae(a, s, &out[k]);
		if (rc == BH_ENOFEATURE) {
			bh_note(notes, notes_len, "type-9 idc %d position %d: %s\n", s->idc, s->position,
			        bh_errmsg());
			rc = BH_OK;
			continue;
		}
		if (rc == BH_OK) {
			out[k++].position = s->position;
			have[s->position] = 1;
		}
	}
	if (rc == BH_OK && k == 0)
		rc = bh_fail(BH_ENOFEATURE, "an2k: no usable finger image or minutiae");
	if (rc != BH_OK) {
		clear_all(out, k);
		return rc;
	}
	*n = k;
	return BH_OK;
}

int bh_finger_an2k_enrol(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			 size_t *n, char *notes, size_t notes_len)
{
	*n = 0;
	if (notes && notes_len)
		notes[0] = '\0';
	bh_an2k *a;
	int rc = bh_an2k_parse(buf, len, &a);
	if (rc != BH_OK)
		return rc;
	rc = enrol_parsed(a, out, max, n, notes, notes_len);
	bh_an2k_free(a);
	return rc;
}

/* The minutiae record that describes image im (same IDC), or NULL. */
static const bh_an2k_minset *minset_of(const bh_an2k *a, const bh_an2k_image *im)
{
	for (uint32_t i = 0; i < a->nminsets; i++)
		if (a->minsets[i].idc == im->idc && a->minsets[i].n > 0)
			return &a->minsets[i];
	return NULL;
}

/* bh_finger_an2k_probe on a parsed transaction. */
static int probe_parsed(const bh_an2k *a, bh_probe_tmpl *out)
{
	memset(out, 0, sizeof *out);
	int rc = BH_ENOFEATURE;
	const bh_an2k_image *pick = first_image(a, BH_AN2K_KIND_LATENT);
	/* A latent's features marked by an examiner (its Type-9 record, as in
	 * an LFFS search) are what the sender asks us to search with, and are
	 * better than anything extracted from a mark; the image is the
	 * fallback when they are too few to build a template from. */
	const bh_an2k_minset *marked = pick ? minset_of(a, pick) : NULL;
	if (marked)
		rc = from_minutiae(a, marked, out);
	if (rc != BH_ENOFEATURE) {
		if (rc == BH_OK)
			out->position = is_finger_pos(pick->position) ? pick->position : 0;
		return rc;
	}
	if (!pick)
		pick = first_image(a, BH_AN2K_KIND_FINGER);
	const bh_an2k_image *slap = pick ? NULL : first_image(a, BH_AN2K_KIND_SLAP);
	if (pick) {
		rc = from_image(pick, out);
		if (rc == BH_OK)
			out->position = is_finger_pos(pick->position) ? pick->position : 0;
	} else if (slap) {
		rc = slap_probe(slap, out);
	} else if (a->nminsets) {
		rc = from_minutiae(a, &a->minsets[0], out);
		if (rc == BH_OK)
			out->position = is_finger_pos(a->minsets[0].position) ? a->minsets[0].position : 0;
	} else {
		rc = bh_fail(BH_ENOFEATURE, "an2k: no finger, latent, slap or minutiae record");
	}
	return rc;
}

int bh_finger_an2k_probe(const uint8_t *buf, size_t len, bh_probe_tmpl *out)
{
	memset(out, 0, sizeof *out);
	bh_an2k *a;
	int rc = bh_an2k_parse(buf, len, &a);
	if (rc != BH_OK)
		return rc;
	rc = probe_parsed(a, out);
	bh_an2k_free(a);
	return rc;
}

int bh_finger_an2k_probes(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			  size_t *n)
{
	*n = 0;
	if (max == 0)
		return bh_fail(BH_EINVAL, "an2k: no room for a probe");
	bh_an2k *a;
	int rc = bh_an2k_parse(buf, len, &a);
	if (rc != BH_OK)
		return rc;
	rc = BH_ENOFEATURE;
	if (!first_image(a, BH_AN2K_KIND_LATENT))
		rc = enrol_parsed(a, out, max, n, NULL, 0);
	if (rc == BH_ENOFEATURE) {
		rc = probe_parsed(a, &out[0]);
		*n = rc == BH_OK;
	}
	bh_an2k_free(a);
	return rc;
}
