/* bh_face_an2k.c - face images of an ANSI/NIST-ITL transaction; see
 * bh_face_an2k.h. */
#include "bh_face_an2k.h"

#include <string.h>

#include "bh_an2k.h"
#include "bh_err.h"

int bh_face_an2k_image(const uint8_t *buf, size_t len, size_t i, bh_image *out, size_t *count)
{
	memset(out, 0, sizeof *out);
	if (count)
		*count = 0;
	bh_an2k *a;
	int rc = bh_an2k_parse(buf, len, &a);
	if (rc != BH_OK)
		return rc;
	const bh_an2k_image *pick = NULL;
	size_t n = 0;
	for (uint32_t k = 0; k < a->nimages; k++)
		if (bh_an2k_image_kind(&a->images[k]) == BH_AN2K_KIND_FACE && n++ == i)
			pick = &a->images[k];
	if (count)
		*count = n;
	if (n == 0)
		rc = bh_fail(BH_ENOFACE, "an2k: no face image (Type-10 record, IMT FACE)");
	else if (!pick)
		rc = bh_fail(BH_EINVAL, "an2k: face image %zu of %zu", i, n);
	else
		rc = bh_an2k_image_decode_rgb(pick, NULL, out);
	bh_an2k_free(a);
	return rc;
}
