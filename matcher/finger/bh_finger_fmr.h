/*
 * bh_finger_fmr.h - finger templates from a finger minutiae record,
 * ISO/IEC 19794-2:2005 or 2011, ANSI INCITS 378-2004 or 378-2009 and its
 * Amendment 1 (the "FMR" record, bh_iso19794.h), for `biohub enroll` and
 * for finger searches.
 *
 * One template per finger: each view's minutiae are converted to the
 * matcher's frame (bh_fmr_view_to_fp: rescaled from the record's resolution
 * to 500 ppi, directions turned from the record's "into the ridge" sense)
 * and become a template at the view's finger position (0..10, the same
 * codes as ANSI/NIST; any other code is kept as 0, unknown).  A record may
 * hold several views of one finger; as a card keeps one finger per position
 * (bh_finger_an2k.h), the first view of a position is used and later ones
 * are noted and skipped.  Views with too few usable minutiae for a template
 * are noted and skipped.
 *
 * The same templates serve enrolment and search: a record used as a probe
 * is searched with all its fingers, each against gallery fingers of its
 * position (bh_search.h), as an ANSI/NIST card is.
 *
 * Every minutia buffer is wiped before it is freed: the record may be a
 * probe.
 */
#ifndef BH_FINGER_FMR_H
#define BH_FINGER_FMR_H

#include <stddef.h>
#include <stdint.h>

#include "bh_modality.h"

/* True when buf starts like a finger minutiae record ("FMR\0"). */
int bh_finger_fmr_sniff(const uint8_t *buf, size_t len);

/* Templates of the record's fingers into out[0..max), *n of them, in view
 * order.  notes (may be NULL) gets one line per view skipped.  Errors: those
 * of bh_fmr_parse (BH_EFORMAT; BH_EUNSUPPORTED
 * for unknown versions), BH_ENOFEATURE when no view gives a template,
 * BH_ETOOBIG when the fingers do not fit in max, BH_ENOMEM; on any error
 * nothing is returned (*n = 0). */
int bh_finger_fmr_templates(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			    size_t *n, char *notes, size_t notes_len);

#endif
