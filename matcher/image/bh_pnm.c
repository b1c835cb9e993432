/* bh_pnm.c - binary PGM (P5) and PPM (P6) decoder, maxval <= 255. */
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"

/* Skips whitespace and '#' comments, then parses an unsigned decimal. */
static int pnm_uint(const uint8_t *b, size_t n, size_t *pos, uint32_t *v)
{
	size_t p = *pos;
	for (;;) {
		while (p < n && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r' || b[p] == '\n'))
			p++;
		if (p < n && b[p] == '#') {
			while (p < n && b[p] != '\n')
				p++;
			continue;
		}
		break;
	}
	if (p >= n || b[p] < '0' || b[p] > '9')
		return -1;
	uint64_t x = 0;
	while (p < n && b[p] >= '0' && b[p] <= '9') {
		x = x * 10 + (uint64_t)(b[p++] - '0');
		if (x > 0xffffffu)
			return -1;
	}
	*v = (uint32_t)x;
	*pos = p;
	return 0;
}

int bh_pnm_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	memset(out, 0, sizeof *out);
	if (len < 3 || buf[0] != 'P' || (buf[1] != '5' && buf[1] != '6'))
		return bh_fail(BH_EFORMAT, "pnm: not a binary PGM/PPM");
	uint32_t ch = buf[1] == '5' ? 1 : 3, w, h, maxval;
	size_t pos = 2;
	if (pnm_uint(buf, len, &pos, &w) || pnm_uint(buf, len, &pos, &h) ||
	    pnm_uint(buf, len, &pos, &maxval))
		return bh_fail(BH_EFORMAT, "pnm: bad header");
	if (maxval == 0 || maxval > 255)
		return bh_fail(BH_EUNSUPPORTED, "pnm: maxval %u (only 8-bit)", maxval);
	if (pos >= len || !(buf[pos] == ' ' || buf[pos] == '\n' || buf[pos] == '\r' || buf[pos] == '\t'))
		return bh_fail(BH_EFORMAT, "pnm: bad header end");
	pos++;
	int rc = bh_image_alloc(out, w, h, ch, lim);
	if (rc != BH_OK)
		return rc;
	size_t need = (size_t)w * h * ch;
	if (len - pos < need) {
		bh_image_free(out);
		return bh_fail(BH_EFORMAT, "pnm: truncated (%zu of %zu pixel bytes)", len - pos, need);
	}
	if (maxval == 255) {
		memcpy(out->px, buf + pos, need);
	} else {
		for (size_t i = 0; i < need; i++) {
			uint32_t v = buf[pos + i] > maxval ? maxval : buf[pos + i];
			out->px[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
		}
	}
	return BH_OK;
}
