/*
 * bh_jp2.c - JPEG 2000 (JP2 file or raw J2K codestream) decoding through
 * libopenjp2, from memory, to 8-bit grey or RGB.
 *
 * The header is read first and the image size checked against
 * bh_image_limits before the codec allocates the full image; codec messages
 * are swallowed (errors come back as values, with a detail).  Components
 * with more than 8 bits are scaled down; signed components are offset.
 * Images whose colour components differ in size (subsampled chroma) are
 * reported as BH_EUNSUPPORTED.
 */
#include <openjpeg.h>
#include <stdio.h>
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_mem.h"

typedef struct mem_src {
	const uint8_t *buf;
	size_t len, pos;
} mem_src;

static OPJ_SIZE_T src_read(void *dst, OPJ_SIZE_T n, void *u)
{
	mem_src *s = u;
	if (s->pos >= s->len)
		return (OPJ_SIZE_T)-1;
	size_t k = s->len - s->pos < n ? s->len - s->pos : n;
	memcpy(dst, s->buf + s->pos, k);
	s->pos += k;
	return k;
}

static OPJ_OFF_T src_skip(OPJ_OFF_T n, void *u)
{
	mem_src *s = u;
	if (n < 0) {
		if ((size_t)-n > s->pos)
			n = -(OPJ_OFF_T)s->pos;
	} else if ((size_t)n > s->len - s->pos) {
		n = (OPJ_OFF_T)(s->len - s->pos);
	}
	s->pos = (size_t)((OPJ_OFF_T)s->pos + n);
	return n;
}

static OPJ_BOOL src_seek(OPJ_OFF_T n, void *u)
{
	mem_src *s = u;
	if (n < 0 || (size_t)n > s->len)
		return OPJ_FALSE;
	s->pos = (size_t)n;
	return OPJ_TRUE;
}

static void quiet(const char *msg, void *u)
{
	(void)msg;
	(void)u;
}

/* openjpeg decodes what it can of a truncated codestream and only warns;
 * a truncated image is an error here, so such warnings are remembered. */
static void warn_truncated(const char *msg, void *u)
{
	int *flag = u;
	if (strstr(msg, "short") || strstr(msg, "runcat") || strstr(msg, "ncomplete") ||
	    strstr(msg, "Stream error") || strstr(msg, "not enough"))
		*flag = 1;
}

/* Maps one component sample to 8 bits. */
static uint8_t sample8(const opj_image_comp_t *c, size_t i)
{
	int32_t v = c->data[i];
	if (c->sgnd)
		v += 1 << (c->prec - 1);
	if (c->prec > 8)
		v >>= c->prec - 8;
	else if (c->prec < 8)
		v <<= 8 - c->prec;
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int convert(const opj_image_t *im, const bh_image_limits *lim, bh_image *out)
{
	uint32_t nc = im->numcomps >= 3 ? 3 : 1;
	const opj_image_comp_t *c0 = &im->comps[0];
	for (uint32_t k = 0; k < nc; k++) {
		const opj_image_comp_t *c = &im->comps[k];
		if (!c->data || c->w != c0->w || c->h != c0->h || c->prec < 1 || c->prec > 16)
			return bh_fail(BH_EUNSUPPORTED, "jp2: component %u layout", k);
	}
	int rc = bh_image_alloc(out, c0->w, c0->h, nc, lim);
	if (rc != BH_OK)
		return rc;
	size_t n = (size_t)c0->w * c0->h;
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < nc; k++)
			out->px[i * nc + k] = sample8(&im->comps[k], i);
	return BH_OK;
}

int bh_jp2_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out)
{
	static const uint8_t jp2sig[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'};
	if (!lim)
		lim = &bh_image_default_limits;
	memset(out, 0, sizeof *out);
	if (!buf || len < 12)
		return bh_fail(BH_EFORMAT, "jp2: too short");
	OPJ_CODEC_FORMAT fmt;
	if (!memcmp(buf, jp2sig, 12))
		fmt = OPJ_CODEC_JP2;
	else if (buf[0] == 0xff && buf[1] == 0x4f && buf[2] == 0xff && buf[3] == 0x51)
		fmt = OPJ_CODEC_J2K;
	else
		return bh_fail(BH_EFORMAT, "jp2: not a JP2 file or J2K codestream");

	mem_src src = {buf, len, 0};
	opj_stream_t *st = opj_stream_create(64 * 1024, OPJ_TRUE);
	opj_codec_t *codec = opj_create_decompress(fmt);
	opj_image_t *im = NULL;
	int rc = BH_OK, truncated = 0;
	if (!st || !codec) {
		rc = bh_fail(BH_ENOMEM, "jp2: codec");
		goto out;
	}
	opj_stream_set_user_data(st, &src, NULL);
	opj_stream_set_user_data_length(st, len);
	opj_stream_set_read_function(st, src_read);
	opj_stream_set_skip_function(st, src_skip);
	opj_stream_set_seek_function(st, src_seek);
	opj_set_error_handler(codec, quiet, NULL);
	opj_set_warning_handler(codec, warn_truncated, &truncated);
	opj_set_info_handler(codec, quiet, NULL);
	opj_dparameters_t par;
	opj_set_default_decoder_parameters(&par);
	if (!opj_setup_decoder(codec, &par) || !opj_read_header(st, codec, &im) || !im) {
		rc = bh_fail(BH_EFORMAT, "jp2: bad header");
		goto out;
	}
	/* bound the allocation before decoding */
	uint64_t w = im->x1 > im->x0 ? (uint64_t)im->x1 - im->x0 : 0;
	uint64_t h = im->y1 > im->y0 ? (uint64_t)im->y1 - im->y0 : 0;
	if (w == 0 || h == 0 || im->numcomps == 0 || im->numcomps > 4) {
		rc = bh_fail(BH_EFORMAT, "jp2: %llux%llu, %u components", (unsigned long long)w,
			     (unsigned long long)h, im->numcomps);
		goto out;
	}
	if (w > lim->max_w || h > lim->max_h || w * h > lim->max_pixels) {
		rc = bh_fail(BH_ETOOBIG, "jp2: %llux%llu exceeds the limit", (unsigned long long)w,
			     (unsigned long long)h);
		goto out;
	}
	if (!opj_decode(codec, st, im) || !opj_end_decompress(codec, st) || truncated) {
		rc = bh_fail(BH_EFORMAT, "jp2: corrupt or truncated codestream");
		goto out;
	}
	rc = convert(im, lim, out);
out:
	if (im) {
		for (uint32_t k = 0; k < im->numcomps; k++)
			if (im->comps[k].data)
				bh_wipe(im->comps[k].data, (size_t)im->comps[k].w * im->comps[k].h * sizeof(OPJ_INT32));
		opj_image_destroy(im);
	}
	if (codec)
		opj_destroy_codec(codec);
	if (st)
		opj_stream_destroy(st);
	if (rc != BH_OK)
		bh_image_free(out);
	return rc;
}
