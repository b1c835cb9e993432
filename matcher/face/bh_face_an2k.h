/*
 * bh_face_an2k.h - the face images of an ANSI/NIST-ITL transaction: Type-10
 * records with image type (10.003 IMT) "FACE", read by bh_an2k.h.  A booking
 * transaction carries the subject's mugshots next to the fingerprints; the
 * enrolment of such a file (`biohub enroll --an2k`) takes both, and a face
 * search may send the transaction itself (its first face image is the
 * probe).  Scar, mark and tattoo images (IMT "SMT") are not faces.
 */
#ifndef BH_FACE_AN2K_H
#define BH_FACE_AN2K_H

#include <stddef.h>
#include <stdint.h>

#include "bh_image.h"

/* Decodes face image i (0-based, in record order) of the transaction in buf
 * to RGB, with the record's size checked (bh_an2k_image_decode_rgb).
 * *count (may be NULL) gets how many face images it holds, also on error.
 * BH_ENOFACE when it holds none, BH_EINVAL when i >= the count; parse and
 * decode errors as bh_an2k_parse / bh_image_decode.  The caller frees (and
 * so wipes) out with bh_image_free. */
int bh_face_an2k_image(const uint8_t *buf, size_t len, size_t i, bh_image *out, size_t *count);

#endif
