/*
 * bh_template.h - modalities and the versioned template formats stored in a
 * gallery.  Each template has two blobs:
 *
 *   code  fixed-length first-stage code, scanned by the 1:N engine
 *   full  optional variable-length template for 1:1 re-ranking
 *
 * Formats (the `format` column of the gallery; bump the version on any change):
 *
 *   BH_FMT_FACE_V1    modality face.  code = int8[BH_FACE_DIM]: the unit-norm
 *                     128-D descriptor times BH_FACE_QSCALE, rounded, clamped
 *                     to [-127, 127].  Engine kernel DOT_I8, dim 128.
 *                     full = none.
 *   BH_FMT_FINGER_V1  modality finger (position 1..10, 0 = unknown).
 *                     code = BH_FINGER_CODE_BITS bits (HAMMING).
 *                     full = MCC template, format in matcher/finger/bh_mcc.h.
 *   BH_FMT_PALM_V1    modality palm (position 0).  code = BH_PALM_CODE_BITS
 *                     bits (HAMMING); full = modality-specific, see
 *                     matcher/finger/bh_palm.h.
 *
 * bh_template_check() is the single place that validates a blob pair before
 * it enters a gallery or an engine.
 */
#ifndef BH_TEMPLATE_H
#define BH_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

typedef enum bh_modality {
	BH_MOD_FACE = 1,
	BH_MOD_FINGER = 2,
	BH_MOD_PALM = 3,
} bh_modality;

#define BH_MOD_COUNT 3

#define BH_FACE_DIM 128
#define BH_FACE_QSCALE 127.0f
#define BH_FINGER_CODE_BITS 256
#define BH_PALM_CODE_BITS 3072 /* 32 x 32 points x 3 bits, see matcher/finger/bh_palm.h */

#define BH_FULL_MAX_BYTES (1u << 20) /* no full template is larger */

enum {
	BH_FMT_FACE_V1 = 0x0101,
	BH_FMT_FINGER_V1 = 0x0201,
	BH_FMT_PALM_V1 = 0x0301,
};

/* "face", "finger", "palm"; NULL for an unknown value. */
const char *bh_modality_name(int modality);
/* Parses a name; returns the modality or BH_EINVAL. */
int bh_modality_parse(const char *name);

/* The format a modality's new templates are written in. */
uint32_t bh_template_format(int modality);
/* First-stage engine kernel (bh_kernel) and dim for a modality. */
int bh_template_code_kind(int modality, int *kernel, uint32_t *dim);
/* Size in bytes of the code blob for a format; 0 if the format is unknown. */
size_t bh_template_code_bytes(uint32_t format);

/* Validates modality/position/format and both blobs (size, version fields,
 * internal consistency).  BH_OK, BH_EVERSION (unknown format for the
 * modality) or BH_EFORMAT, with a detail in bh_errmsg(). */
int bh_template_check(int modality, int position, uint32_t format,
		      const void *code, size_t code_len, const void *full, size_t full_len);

/* For a template that passed bh_template_check(): 1 if it is a finger
 * template whose full part carries an orientation field (compared as MCC x
 * field agreement, bh_mcc.h), else 0.  A finger template without one (MCC
 * version 1, enrolled before 2026-12-08, or minutiae from an ANSI/NIST or
 * ISO record) is compared by MCC alone; its impostor scores run higher. */
int bh_template_has_field(int modality, const void *full, size_t full_len);

#endif
