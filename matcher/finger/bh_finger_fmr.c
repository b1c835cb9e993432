/* bh_finger_fmr.c - finger templates from an ISO/IEC 19794-2:2005 or ANSI
 * INCITS 378-2004 / 378-2009 minutiae record.  See bh_finger_fmr.h. */
#include "bh_finger_fmr.h"

#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_finger.h"
#include "bh_iso19794.h"
#include "bh_mem.h"
#include "bh_minutiae.h"

int bh_finger_fmr_sniff(const uint8_t *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "FMR\0", 4);
}

/* One view -> one template at finger position pos (m: scratch of
 * BH_MINUTIAE_MAX). */
static int view_template(const bh_fmr *r, const bh_fmr_view *v, int pos, bh_minutia *m,
			 bh_probe_tmpl *out)
{
	uint32_t n = bh_fmr_view_to_fp(r, v, m, BH_MINUTIAE_MAX);
	int rc = bh_finger_from_minutiae(m, n, out);
	bh_wipe(m, (size_t)n * sizeof *m);
	if (rc == BH_OK)
		out->position = pos;
	return rc;
}

/* The views of a parsed record into out[0..max). */
static int views_to_templates(const bh_fmr *r, bh_minutia *m, bh_probe_tmpl *out, size_t max,
			      size_t *n, char *notes, size_t notes_len)
{
	uint8_t have[11] = {0};
	for (uint32_t i = 0; i < r->nviews; i++) {
		const bh_fmr_view *v = &r->views[i];
		int pos = v->position <= 10 ? v->position : 0;
		if (have[pos]) {
			bh_note(notes, notes_len, "view %u: finger position %d already taken by an earlier view\n", i, pos);
			continue;
		}
		if (*n == max)
			return bh_fail(BH_ETOOBIG, "fmr: more than %zu fingers", max);
		int rc = view_template(r, v, pos, m, &out[*n]);
		if (rc == BH_ENOFEATURE) {
			bh_note(notes, notes_len, "view %u (position %d): %s\n", i, pos, bh_errmsg());
			continue;
		}
		if (rc != BH_OK)
			return rc;
		have[pos] = 1;
		(*n)++;
	}
	return *n ? BH_OK : bh_fail(BH_ENOFEATURE, "fmr: no view with enough minutiae for a template");
}

int bh_finger_fmr_templates(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			    size_t *n, char *notes, size_t notes_len)
{
	*n = 0;
	if (notes && notes_len)
		notes[0] = '\0';
	bh_fmr *r;
	int rc = bh_fmr_parse(buf, len, &r);
	if (rc != BH_OK)
		return rc;
	bh_minutia *m = calloc(BH_MINUTIAE_MAX, sizeof *m);
	rc = m ? views_to_templates(r, m, out, max, n, notes, notes_len)
	       : bh_fail(BH_ENOMEM, "fmr: out of memory");
	if (rc != BH_OK) {
		for (size_t i = 0; i < *n; i++)
			bh_probe_tmpl_clear(&out[i]);
		*n = 0;
	}
	bh_wipe_free(m, BH_MINUTIAE_MAX * sizeof *m);
	bh_fmr_free(r);
	return rc;
}
