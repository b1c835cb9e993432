/*
 * bh_finger_an2k.h - finger templates from an ANSI/NIST-ITL transaction
 * (bh_an2k.h), for `biohub enroll` and for finger searches.
 *
 * Enrolment (bh_finger_an2k_enrol): one template per finger position 1..10
 * (0 = finger of unknown position), from the position's image record
 * (types 3, 4, 14) when there is one, else from the fingertips of a slap or
 * plain thumb image (positions 11..15, bh_slap.h), else from its Type-9
 * minutiae.  Not enrolled, each with a line in `notes`: latents (type 13
 * and the minutiae that describe them: a latent is a probe, not a
 * reference), forensic palms (types 15, positions 20..38: there is no palm
 * minutiae gallery yet), a second record of a position already enrolled,
 * slaps whose fingertips cannot all be found, and records whose extraction
 * fails.
 *
 * Probe (bh_finger_an2k_probe): the first latent, by the Type-9 minutiae
 * that describe it (same IDC: features an examiner marked, what an LFFS
 * search sends) when they make a template, else by its image; else the
 * first finger image, else the first fingertip of the first slap that gives
 * a template, else the first minutiae set.
 *
 * Probes (bh_finger_an2k_probes), what a finger search uses: a transaction
 * with a latent is searched with that latent alone (a mark is one finger of
 * unknown position); any other transaction with its fingers, one template
 * per position as enrolment builds them (so a ten-print card is searched
 * with all ten), falling back to bh_finger_an2k_probe when enrolment finds
 * no usable finger (e.g. a slap whose fingertips cannot all be found).
 *
 * Minutiae-only templates: minutiae are converted to the matcher's frame by
 * bh_an2k_minutiae_to_fp (standard records need the image height, taken
 * from the image record with the same IDC when there is one) and turned into
 * MCC + code by bh_finger_from_features.
 */
#ifndef BH_FINGER_AN2K_H
#define BH_FINGER_AN2K_H

#include <stddef.h>
#include <stdint.h>

#include "bh_modality.h"

/* True when buf starts like an ANSI/NIST-ITL transaction ("1.001:"). */
int bh_finger_an2k_sniff(const uint8_t *buf, size_t len);

/* Templates of a transaction for enrolment.  out has room for max
 * templates; *n gets how many were built (each ->position set).  notes (may
 * be NULL) gets one line per record not used, except Type-10 faces, which
 * are the face modality's (bh_face_an2k.h).  On error nothing is returned
 * (every template built so far is wiped).  A transaction with no usable
 * finger is BH_ENOFEATURE. */
int bh_finger_an2k_enrol(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			 size_t *n, char *notes, size_t notes_len);

/* The finger probe of a transaction (see above). */
int bh_finger_an2k_probe(const uint8_t *buf, size_t len, bh_probe_tmpl *out);

/* The finger probes of a transaction (see above): out has room for max
 * (>= 1) templates, *n gets how many were built.  On error none is left. */
int bh_finger_an2k_probes(const uint8_t *buf, size_t len, bh_probe_tmpl *out, size_t max,
			  size_t *n);

#endif
