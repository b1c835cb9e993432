/*
 * bh_image.h - decoded images and the decoders (PGM, PNG, JPEG, lossless
 * JPEG, BMP, TIFF; WSQ and JPEG 2000 are added by matcher/finger's format code through
 * the same bh_image_decode() entry point).
 *
 * Invariants of a bh_image:
 *   - px holds h rows of w*channels bytes, rows packed (stride = w*channels);
 *   - channels is 1 (grey) or 3 (RGB, R first);
 *   - ppi is the scan resolution when the container says so, else 0;
 *   - px was allocated by the decoder; bh_image_free() wipes then frees it
 *     (images may be probes).
 * Decoders enforce bh_image_limits before allocating, so a hostile header
 * cannot cause an unbounded allocation; a truncated or corrupt stream is an
 * error (BH_EFORMAT), never a partially decoded image.
 */
#ifndef BH_IMAGE_H
#define BH_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bh_image {
	uint32_t w, h;
	uint32_t channels;
	uint32_t ppi;
	uint8_t *px;
} bh_image;

typedef enum bh_image_format {
	BH_IMG_UNKNOWN = 0,
	BH_IMG_PGM,
	BH_IMG_PPM,
	BH_IMG_PNG,
	BH_IMG_JPEG,
	BH_IMG_WSQ,
	BH_IMG_JP2,
	BH_IMG_BMP,
	BH_IMG_TIFF,
} bh_image_format;

typedef struct bh_image_limits {
	uint32_t max_w, max_h;   /* per side */
	uint64_t max_pixels;     /* w*h */
} bh_image_limits;

/* 8192 x 8192, 40 Mpixel: big enough for 1000-ppi palms. */
extern const bh_image_limits bh_image_default_limits;

/* Detects the container from its first bytes. */
bh_image_format bh_image_sniff(const uint8_t *buf, size_t len);
const char *bh_image_format_name(bh_image_format f);

/* 1 when a file name ends (case-insensitively) in an extension of a format
 * bh_image_decode reads: .pgm .ppm .png .jpg .jpeg .wsq .jp2 .j2k .bmp .tif
 * .tiff; else 0.
 * Decoding sniffs the bytes, never the name: this only tells the commands
 * that scan a directory (bench, eval) which files to pick up. */
int bh_image_name_known(const char *name);

/* Decodes buf to `want_channels` (1 = grey, 3 = RGB, 0 = as stored).
 * limits may be NULL (defaults). */
int bh_image_decode(const uint8_t *buf, size_t len, int want_channels,
		    const bh_image_limits *limits, bh_image *out);

/* Reads a whole file (bounded by max_bytes; 0 = 256 MiB) and decodes it. */
int bh_image_load(const char *path, int want_channels, bh_image *out);

/* Reads a whole file into a malloc'd buffer (bounded); caller wipes/frees. */
int bh_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len);

/* Allocates an uninitialised w x h x channels image (limits checked). */
int bh_image_alloc(bh_image *img, uint32_t w, uint32_t h, uint32_t channels,
		   const bh_image_limits *limits);

/* Converts in place to `channels` (1 or 3); RGB->grey uses BT.601 integer weights. */
int bh_image_convert(bh_image *img, uint32_t channels);

/* Declares the scan resolution a caller knows from outside the image (a
 * capture device, an operator): img->ppi becomes ppi.  BH_EINVAL if the
 * container already stated one more than 2 % away (the image's word and the
 * caller's disagree: neither is guessed over), or ppi is 0. */
int bh_image_declare_ppi(bh_image *img, uint32_t ppi);

void bh_image_free(bh_image *img);

/* Individual decoders (used by bh_image_decode; exposed for fuzz targets). */
int bh_pnm_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
int bh_png_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
int bh_jpeg_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
/* Lossless JPEG (T.81 Annex H, frame marker SOF3; bh_ljpeg.c documents what
 * it reads).  bh_image_decode sends a JPEG stream whose first frame header is
 * SOF3 to bh_ljpeg_decode and every other one to bh_jpeg_decode. */
int bh_ljpeg_is_lossless(const uint8_t *buf, size_t len);
int bh_ljpeg_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
/* BMP (bh_bmp.c, our own) and TIFF (bh_tiff.c, libtiff): the containers
 * fingerprint databases and scanners commonly use; each file says what it
 * reads.  Neither takes the header's resolution as the scan resolution. */
int bh_bmp_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
int bh_tiff_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
/* Implemented in matcher/finger (WSQ, JPEG 2000). */
int bh_wsq_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);
int bh_jp2_decode(const uint8_t *buf, size_t len, const bh_image_limits *lim, bh_image *out);

#endif
