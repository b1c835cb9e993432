/*
 * bh_an2k.h - ANSI/NIST-ITL 1 transaction reader (versions 0200..0500):
 * fingerprint, latent and palm images with resolution and position, Type-10
 * face images, and Type-9 minutiae.
 *
 * File structure (what the reader relies on):
 *   - A sequence of logical records.  Record 1 (transaction information) is
 *     always first and tagged; its field 1.003 CNT lists the type and IDC of
 *     every following record in order (first subfield "1^<count>").
 *   - Tagged records (types 1, 2, 9, 10, 13..99): fields "<type>.<nnn>:value"
 *     separated by GS (0x1D), the record ends with FS (0x1C).  Subfields are
 *     separated by RS (0x1E), information items by US (0x1F).  Field <t>.001
 *     is the record length in bytes.  Field 999 (image data) is binary and
 *     runs to the byte before the final FS, so the record length, not a
 *     separator scan, bounds it.
 *   - Binary records (types 3..8): a 4-byte big-endian length first; types
 *     3..6 have an 18-byte header: LEN u32, IDC u8, IMP u8, FGP u8[6]
 *     (first = position, 255 = unused), ISR u8, HLL u16, VLL u16, GCA u8
 *     (0 none, 1 WSQ, 2 JPEG, 3 lossless JPEG, 4 JPEG 2000, 5 lossless JP2,
 *     6 PNG), then the image.  Type-3/4 ISR 0 = minimum scanning resolution
 *     (250 / 500 ppi), 1 = native resolution of field 1.011 (pixels/mm).
 *   - Variable-resolution image records 13 (latent), 14 (fingerprint), 15
 *     (palm): .006 HLL, .007 VLL, .008 SLC (1 = ppi, 2 = pixels/cm), .009
 *     horizontal pixel scale, .011 compression ("NONE", "WSQ20", "JPEGB",
 *     "JPEGL", "JP2", "JP2L", "PNG"), .012 bits per pixel, .013 position.
 *   - Type-10 (facial, scar/mark/tattoo image): .003 IMT ("FACE" or "SMT"),
 *     .006 .. .011 as above (.011 named CGA), .012 CSP colour space (read
 *     from the image data itself), no position; .999 the image.
 *   - Type-9 minutiae: standard fields (9.004 "S", 9.012: per minutia
 *     "idx^XXXXYYYYTTT^quality^type^..." with x, y in 0.01 mm, origin at the
 *     LOWER left, y up, theta in degrees counter-clockwise, type A ending,
 *     B bifurcation, C compound, D other) and the Extended Feature Set
 *     (9.331: "X^Y^theta^type" in 10 micrometre units, origin at the UPPER
 *     left, y down, theta counter-clockwise as seen, type E/B/X).
 *
 * Positions: fingers 1..10 (1 right thumb .. 10 left little, 0 unknown),
 * 11..15 plain thumbs / four-finger slaps, 19 EJI/tip, palms 20..38 (20
 * unknown palm, 21 right full palm, 22 right writer's palm, 23 left full,
 * 24 left writer's, 25..38 lower/upper/thenar/hypothenar/interdigital).
 *
 * Every length is bounds-checked; record counts and sizes are bounded
 * (BH_AN2K_MAX_RECORDS, the input length); bad input is BH_EFORMAT (or
 * BH_EUNSUPPORTED for a valid but unknown binary record type), never a
 * crash.  Image pixels are NOT copied: bh_an2k_image.data points into the
 * caller's buffer, which must outlive the bh_an2k.
 */
#ifndef BH_AN2K_H
#define BH_AN2K_H

#include <stddef.h>
#include <stdint.h>

#include "bh_image.h"
/* The matcher's minutia (matcher/finger/bh_minutiae.h); the conversion
 * functions below live in bh_fmt_fp.c. */
typedef struct bh_minutia bh_minutia;

#define BH_AN2K_MAX_RECORDS 1000

typedef enum bh_an2k_comp {
	BH_AN2K_COMP_NONE = 0,
	BH_AN2K_COMP_WSQ = 1,
	BH_AN2K_COMP_JPEG = 2,
	BH_AN2K_COMP_JPEGL = 3,
	BH_AN2K_COMP_JP2 = 4,
	BH_AN2K_COMP_JP2L = 5,
	BH_AN2K_COMP_PNG = 6,
	BH_AN2K_COMP_OTHER = 7,
} bh_an2k_comp;

/* One image record (types 3, 4, 10, 13, 14, 15). */
typedef struct bh_an2k_image {
	int record_type;   /* 3, 4, 13, 14 or 15 */
	uint32_t record;   /* index in bh_an2k.records */
	int idc;           /* information designation character */
	int impression;    /* IMP code (0 live-scan plain, 1 rolled, 4 latent, ...) */
	int position;      /* finger/palm position, see above; 0 unknown */
	uint32_t w, h;     /* from the record header */
	uint32_t ppi;      /* resolution from the record (0 if not stated) */
	uint32_t bpx;      /* bits per pixel (8 for grey) */
	bh_an2k_comp comp;
	int face;          /* Type-10 with IMT "FACE" (else a scar, mark or tattoo) */
	const uint8_t *data; /* points into the parsed buffer */
	size_t len;
} bh_an2k_image;

typedef enum bh_an2k_minfmt {
	BH_AN2K_MIN_STD = 1, /* 9.012: 0.01 mm, origin lower left, y up */
	BH_AN2K_MIN_EFS = 2, /* 9.331: 0.01 mm, origin upper left, y down */
} bh_an2k_minfmt;

typedef struct bh_an2k_minutia {
	int32_t x, y;     /* 0.01 mm, in the record's own frame (see fmt) */
	int32_t theta;    /* degrees counter-clockwise, 0..359 */
	char type;        /* 'A','B','C','D' (std) or 'E','B','X' (EFS) */
	uint8_t quality;  /* 0..63 std (0 = not given), 0 for EFS */
} bh_an2k_minutia;

/* One Type-9 record with minutiae. */
typedef struct bh_an2k_minset {
	uint32_t record;
	int idc;
	int position;     /* 9.006 FGP (0 if absent) */
	bh_an2k_minfmt fmt;
	uint32_t n;
	bh_an2k_minutia *m;
} bh_an2k_minset;

typedef struct bh_an2k_record {
	int type;
	int idc;
	size_t offset, len; /* bytes in the buffer */
} bh_an2k_record;

typedef struct bh_an2k {
	char version[8];   /* 1.002, e.g. "0400" */
	char tot[16];      /* 1.004 type of transaction */
	uint32_t nsr_ppi;  /* 1.011 native scanning resolution (0 if 0 / absent) */
	uint32_t ntr_ppi;  /* 1.012 nominal transmitting resolution */
	uint32_t nrecords;
	bh_an2k_record *records;
	uint32_t nimages;
	bh_an2k_image *images;
	uint32_t nminsets;
	bh_an2k_minset *minsets;
} bh_an2k;

/* Parses a transaction.  On success *out is a new bh_an2k (free with
 * bh_an2k_free); image data points into buf.  Errors: BH_EINVAL, BH_EFORMAT,
 * BH_EUNSUPPORTED, BH_ENOMEM (nothing is returned). */
int bh_an2k_parse(const uint8_t *buf, size_t len, bh_an2k **out);

void bh_an2k_free(bh_an2k *a);

/* Decodes one image to 8-bit grey (raw, WSQ, JPEG, lossless JPEG, JPEG 2000,
 * PNG); the result's ppi is the record's resolution (or the codec's when the
 * record states none).  lim may be NULL. */
int bh_an2k_image_decode(const bh_an2k_image *im, const bh_image_limits *lim, bh_image *out);

/* The same in colour (RGB, 3 channels; a grey image is copied to all three),
 * for Type-10 faces.  An uncompressed image must be 8-bit grey. */
int bh_an2k_image_decode_rgb(const bh_an2k_image *im, const bh_image_limits *lim, bh_image *out);

/* Converts a minutia set to the matcher's convention (bh_minutiae.h:
 * 500-ppi pixels, y down, angle from +x towards +y, ending direction out of
 * the ridge end).  height_001mm is the image height in 0.01 mm, needed to
 * flip standard-format (y up) records; pass 0 when unknown (the y axis is
 * then mirrored about 0 and shifted to stay non-negative).  Directions:
 * a standard (9.012) record uses the NIST representation, pointing out of
 * the ridge end / away from the bifurcation's branches like ours (in NIST's
 * sample type9-13.an2k, 22 of the 28 minutiae lie within 7.2 px of one we
 * extract from its latent image, all 22 with directions within 11
 * degrees); an EFS (9.331) direction runs
 * up the ridge / down the valley between the branches, the INCITS 378
 * sense, so 180 degrees are added to it.  Types other than
 * ending/bifurcation are kept as endings.  Writes at most max minutiae; returns the number written. */
uint32_t bh_an2k_minutiae_to_fp(const bh_an2k_minset *s, int32_t height_001mm,
				bh_minutia *out, uint32_t max);

const char *bh_an2k_comp_name(bh_an2k_comp c);

/* What an image record holds, from its record type and position code, for
 * enrolment: a single finger (fingerprint types 3/4/14 with position 1..10,
 * or 0 = unknown finger), a latent (type 13), a multi-finger slap or plain
 * thumbs (11..15: segmented into fingertips by bh_slap.h), a palm (type 15 or positions
 * 20..38: forensic palm, minutiae path), or something else (e.g. EJI 19). */
typedef enum bh_an2k_kind {
	BH_AN2K_KIND_OTHER = 0,
	BH_AN2K_KIND_FINGER = 1,
	BH_AN2K_KIND_LATENT = 2,
	BH_AN2K_KIND_SLAP = 3,
	BH_AN2K_KIND_PALM = 4,
	BH_AN2K_KIND_FACE = 5, /* Type-10, IMT "FACE" */
} bh_an2k_kind;

bh_an2k_kind bh_an2k_image_kind(const bh_an2k_image *im);

#endif
