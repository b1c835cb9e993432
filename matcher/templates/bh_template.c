/* bh_template.c - modality names and template validation (see bh_template.h). */
#include "bh_template.h"

#include <string.h>

#include "bh_engine.h"
#include "bh_err.h"
#include "bh_mcc.h"
#include "bh_palm.h"

const char *bh_modality_name(int m)
{
	switch (m) {
	case BH_MOD_FACE: return "face";
	case BH_MOD_FINGER: return "finger";
	case BH_MOD_PALM: return "palm";
	default: return NULL;
	}
}

int bh_modality_parse(const char *name)
{
	for (int m = 1; m <= BH_MOD_COUNT; m++)
		if (name && !strcmp(name, bh_modality_name(m)))
			return m;
	return bh_fail(BH_EINVAL, "unknown modality '%s' (face, finger, palm)", name ? name : "");
}

uint32_t bh_template_format(int modality)
{
	switch (modality) {
	case BH_MOD_FACE: return BH_FMT_FACE_V1;
	case BH_MOD_FINGER: return BH_FMT_FINGER_V1;
	case BH_MOD_PALM: return BH_FMT_PALM_V1;
	default: return 0;
	}
}

int bh_template_code_kind(int modality, int *kernel, uint32_t *dim)
{
	switch (modality) {
	case BH_MOD_FACE: *kernel = BH_KERNEL_DOT_I8; *dim = BH_FACE_DIM; return BH_OK;
	case BH_MOD_FINGER: *kernel = BH_KERNEL_HAMMING; *dim = BH_FINGER_CODE_BITS; return BH_OK;
	case BH_MOD_PALM: *kernel = BH_KERNEL_HAMMING; *dim = BH_PALM_CODE_BITS; return BH_OK;
	default: return bh_fail(BH_EINVAL, "unknown modality %d", modality);
	}
}

size_t bh_template_code_bytes(uint32_t format)
{
	switch (format) {
	case BH_FMT_FACE_V1: return BH_FACE_DIM;
	case BH_FMT_FINGER_V1: return BH_FINGER_CODE_BITS / 8;
	case BH_FMT_PALM_V1: return BH_PALM_CODE_BITS / 8;
	default: return 0;
	}
}

int bh_template_check(int modality, int position, uint32_t format,
		      const void *code, size_t code_len, const void *full, size_t full_len)
{
	const char *mname = bh_modality_name(modality);
	if (!mname)
		return bh_fail(BH_EINVAL, "template: unknown modality %d", modality);
	if (format != bh_template_format(modality))
		return bh_fail(BH_EVERSION, "template: format 0x%04x is not a %s format this build reads",
			       format, mname);
	int pmax = modality == BH_MOD_FINGER ? 10 : 0;
	if (position < 0 || position > pmax)
		return bh_fail(BH_EINVAL, "template: position %d out of range for %s", position, mname);
	size_t want = bh_template_code_bytes(format);
	if (!code || code_len != want)
		return bh_fail(BH_EFORMAT, "template: %s code is %zu bytes, expected %zu", mname,
			       code_len, want);
	if (full_len > BH_FULL_MAX_BYTES || (full_len && !full))
		return bh_fail(BH_EFORMAT, "template: %s full template of %zu bytes", mname, full_len);
	if (modality == BH_MOD_FACE && full_len)
		return bh_fail(BH_EFORMAT, "template: face templates have no full part");
	/* a finger's full part is the MCC blob the re-ranker parses: refuse a
	 * malformed one at the door rather than at search time */
	if (modality == BH_MOD_FINGER && full_len)
		return bh_mcc_check(full, full_len);
	/* likewise the palm re-ranker's orientation grid (bh_palm.h) */
	if (modality == BH_MOD_PALM && full_len)
		return bh_palm_full_check(full, full_len);
	return BH_OK;
}

int bh_template_has_field(int modality, const void *full, size_t full_len)
{
	bh_mcc_view v;
	return modality == BH_MOD_FINGER && full_len && bh_mcc_view_init(full, full_len, &v) == BH_OK &&
	       v.field.cell != NULL;
}
