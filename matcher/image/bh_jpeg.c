/* bh_jpeg.c - JPEG decoder on the TurboJPEG 2.1 API.
 * TurboJPEG reports a truncated or corrupt stream as a *warning*
 * (tjGetErrorCode() == TJERR_WARNING); biohub treats every warning as an error
 * so that a partially decoded probe never reaches a matcher. */
#include <turbojpeg.h>

#include <string.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_mem.h"

int bh_jpeg_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	if (len > 0xffffffffu)
		return bh_fail(BH_ETOOBIG, "jpeg: stream too large");
	tjhandle tj = tjInitDecompress();
	if (!tj)
		return bh_fail(BH_ENOMEM, "jpeg: cannot create decoder");
	int w, h, subsamp, colorspace, rc;
	if (tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &colorspace) != 0) {
		rc = bh_fail(BH_EFORMAT, "jpeg: bad header: %s", tjGetErrorStr2(tj));
		goto done;
	}
	uint32_t ch = colorspace == TJCS_GRAY ? 1 : 3;
	rc = bh_image_alloc(out, (uint32_t)w, (uint32_t)h, ch, lim);
	if (rc != BH_OK)
		goto done;
	if (tjDecompress2(tj, buf, (unsigned long)len, out->px, w, 0, h,
			  ch == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
		rc = bh_fail(BH_EFORMAT, "jpeg: %s (%s)", tjGetErrorStr2(tj),
			     tjGetErrorCode(tj) == TJERR_WARNING ? "truncated or corrupt" : "fatal");
		bh_image_free(out);
		goto done;
	}
	/* A stream ending without EOI decodes "successfully" with a warning on
	 * some versions only; require the marker explicitly. */
	if (len < 2 || buf[len - 2] != 0xff || buf[len - 1] != 0xd9) {
		size_t i = len;
		int found = 0; /* allow trailing padding after EOI */
		while (i >= 2 && len - i < 4096) {
			if (buf[i - 2] == 0xff && buf[i - 1] == 0xd9) { found = 1; break; }
			i--;
		}
		if (!found) {
			rc = bh_fail(BH_EFORMAT, "jpeg: truncated (no end-of-image marker)");
			bh_image_free(out);
		}
	}
done:
	tjDestroy(tj);
	return rc;
}
