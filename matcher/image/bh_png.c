/* bh_png.c - PNG decoder on libpng's simplified API (any PNG -> 8-bit grey
 * or RGB; alpha is composited on black by dropping it). */
#include <png.h>

#include <string.h>

#include "bh_err.h"
#include "bh_image.h"

int bh_png_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	png_image pi;
	memset(&pi, 0, sizeof pi);
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&pi, buf, len))
		return bh_fail(BH_EFORMAT, "png: %s", pi.message);
	uint32_t ch = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
	pi.format = ch == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	int rc = bh_image_alloc(out, pi.width, pi.height, ch, lim);
	if (rc != BH_OK) {
		png_image_free(&pi);
		return rc;
	}
	if (!png_image_finish_read(&pi, NULL, out->px, 0, NULL)) {
		rc = bh_fail(BH_EFORMAT, "png: %s", pi.message);
		bh_image_free(out);
		png_image_free(&pi);
		return rc;
	}
	return BH_OK;
}
