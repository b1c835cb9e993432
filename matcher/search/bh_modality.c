/* bh_modality.c - the table of modality modules built into this binary. */
#include "bh_modality.h"

#include <stdlib.h>

#include "bh_mem.h"

extern const bh_modality_ops bh_face_ops; /* matcher/face/bh_face.c */

extern const bh_modality_ops bh_finger_ops; /* matcher/finger */

extern const bh_modality_ops bh_palm_ops; /* matcher/finger/bh_palm.c */

static const bh_modality_ops *const table[] = {
	&bh_palm_ops,
	&bh_finger_ops,
	&bh_face_ops,
	NULL,
};

const bh_modality_ops *bh_modality_get(int modality)
{
	for (size_t i = 0; table[i]; i++)
		if (table[i]->modality == modality)
			return table[i];
	return NULL;
}

void bh_probe_tmpl_clear(bh_probe_tmpl *t)
{
	if (!t)
		return;
	bh_wipe_aligned_free(t->code, t->code_len);
	bh_wipe_free(t->full, t->full_len);
	bh_wipe(t, sizeof *t);
}
