/*
 * bh_iso19794.h - finger minutiae records: ISO/IEC 19794-2:2005 and
 * 2011, ANSI INCITS 378-2004 and 378-2009 (the "FMR" record), import and
 * export (bh_fmr_from_fp builds ISO 2005; bh_fmr_write writes any of the
 * four back as it was read).
 *
 * Record layout (big endian):
 *   header  "FMR\0", version " 20\0", then
 *     ISO 2005:  length u32, device u16 (4 bits certification + 12 bits
 *                type), width u16, height u16, x res u16, y res u16
 *                (pixels/cm), views u8, reserved u8            = 24 bytes
 *     INCITS 378-2004: length u16 (or 0 then u32), CBEFF product id u32,
 *                device u16, width, height, x res, y res, views u8,
 *                reserved u8                                   = 26 (30)
 *     INCITS 378-2009 (version "030\0"; NIST ships its sample as
 *                fmr.ansi2007): length u32, CBEFF product id u32, device
 *                u16, views u8, reserved u8 = 20; size and resolution move
 *                into each view (below).  The published 378-2009 (as other
 *                readers, e.g. SourceAFIS's FingerprintIO, have it) has a
 *                21-byte header instead: certification u8 and device u16 in
 *                place of the device u16.  Both are read: a record is
 *                parsed both ways, and the form whose views end exactly at
 *                the record end (the last extended data length stating the
 *                bytes left) is taken, the 20-byte form when both or
 *                neither do.  378-2009 Amendment 1 (version "035") has the
 *                same layout and is read the same way.
 *   per view  position u8, view (high 4 bits) | impression (low 4) u8,
 *             quality u8 (0..100), minutiae count u8 (2009: position u8,
 *             view number u8, impression type u8, quality u8, quality
 *             algorithm vendor u16 and id u16, width, height, x res, y res
 *             u16, minutiae count u8), then per minutia
 *             6 bytes: type (2 bits: 01 ending, 10 bifurcation, 00 other)
 *             | x (14 bits), reserved (2 bits) | y (14 bits), angle u8,
 *             quality u8; then extended data length u16 and that many bytes
 *             (kept verbatim).
 *   ISO/IEC 19794-2:2011 (version "030\0", like INCITS 2009; told apart by
 *   its structure, below): length u32, representations u16, certification
 *   flag u8 = 15 bytes; per representation: its length u32 (counting
 *   itself), capture date and time (9 bytes), device technology u8, vendor
 *   u16, device type u16, quality records u8 and 5 bytes each (score,
 *   algorithm vendor u16, algorithm u16), with the flag set certification
 *   records u8 and 3 bytes each; then position u8, representation number
 *   u8, x res, y res u16 (pixels/cm), impression u8, width, height u16,
 *   minutia size (high 4 bits: 5 or 6) | ridge-ending type (low 4) u8,
 *   minutiae count u8, minutiae of 5 bytes (the layout above without the
 *   quality) or 6, extended data length u16 and the blocks.  A "030"
 *   record is ISO 2011 when its length is the buffer's, its flag is 0 or 1
 *   and its representation lengths (each at least 34) add up to the
 *   record; otherwise it is read as INCITS 378-2009.
 *   Coordinates are pixels of the record's image, origin top left, y down.
 *   Angle: counter-clockwise from the x axis (as seen), in units of
 *   360/256 degrees (ISO) or 2 degrees (INCITS).
 *
 * Round trip: bh_fmr_write(bh_fmr_parse(r)) reproduces r byte for byte,
 * including the reserved bits and the extended data, as long as the record
 * is canonical (INCITS records use the short length form when they fit).
 * Normalisation: the record length in the header is authoritative; the
 * LAST view's extended data is taken as all remaining bytes of the record
 * and its length field is kept verbatim.  (The NIST samples disagree with
 * themselves there: fmr.iso2005 declares 42 bytes with 41 left,
 * fmr.ansi2004 719 with 721 left.)  Earlier views must be exact.  ISO 2011
 * representations state their own length, so there every extended data
 * length must end its representation exactly.
 */
#ifndef BH_ISO19794_H
#define BH_ISO19794_H

#include <stddef.h>
#include <stdint.h>

/* The matcher's minutia (matcher/finger/bh_minutiae.h); the conversion
 * functions below live in bh_fmt_fp.c. */
typedef struct bh_minutia bh_minutia;

typedef enum bh_fmr_std {
	BH_FMR_ISO2005 = 1,
	BH_FMR_INCITS2004 = 2,
	BH_FMR_INCITS2009 = 3,
	BH_FMR_ISO2011 = 4,
} bh_fmr_std;

typedef struct bh_fmr_minutia {
	uint16_t x, y;     /* pixels, 14 bits */
	uint8_t type;      /* 0 other, 1 ending, 2 bifurcation, 3 reserved */
	uint8_t rsv;       /* the 2 reserved bits of the y field */
	uint8_t angle;     /* record units (see above) */
	uint8_t quality;
} bh_fmr_minutia;

typedef struct bh_fmr_view {
	uint8_t position, view, impression, quality; /* view, impression: 4 bits
							* each before 2009, a byte each in 2009 and
							* ISO 2011.  ISO 2011: quality = the first
							* quality record's score, 254 without one */
	uint16_t qvendor, qalg;      /* INCITS 2009 only: quality algorithm */
	uint16_t w, h, xres, yres;   /* INCITS 2009, ISO 2011: per view (else in bh_fmr) */
	uint8_t *head;     /* ISO 2011 only: the representation header from the
			    * capture date to the certification records,
			    * verbatim (head_len bytes) */
	uint32_t head_len;
	uint8_t mflags;    /* ISO 2011 only: minutia size (5 or 6) << 4 | ending type;
			    * 5-byte minutiae have quality 254 (not reported) */
	uint32_t n;
	bh_fmr_minutia *m;
	uint32_t ext_len;
	uint8_t *ext;      /* extended data, verbatim */
	uint16_t ext_len_field; /* the length field as read (== ext_len except
				 * possibly in the last view, see above) */
} bh_fmr_view;

typedef struct bh_fmr {
	bh_fmr_std std;
	uint32_t product_id; /* INCITS only */
	uint16_t device;
	uint16_t w, h, xres, yres; /* resolution in pixels per cm; not in 2009 */
	uint8_t reserved;  /* ISO 2011: the certification flag (0 or 1) */
	uint8_t hdr21;     /* INCITS 378-2009 only: the 21-byte header form */
	uint8_t am1;       /* INCITS 378-2009 only: version "035" (Amendment 1) */
	uint8_t cert;      /* ... its certification byte (device = the device id) */
	uint32_t nviews;
	bh_fmr_view *views;
} bh_fmr;

/* Parses a record (any of the four, detected from the header).  Errors:
 * BH_EFORMAT (any length or count inconsistent with the buffer),
 * BH_EUNSUPPORTED (other versions), BH_ENOMEM. */
int bh_fmr_parse(const uint8_t *buf, size_t len, bh_fmr **out);

/* Turns an ISO 2005 record into the ISO 2011 record of the same views and
 * minutiae (bh_fmr_write then writes 2011): size and resolution go into each
 * view, minutiae keep their 6 bytes, extended data stays.  The capture date
 * is left unstated (0xFF filler), device and quality records are empty (a
 * quality record needs a registered algorithm vendor), no certification.
 * BH_EINVAL for a record of another standard. */
int bh_fmr_to_iso2011(bh_fmr *r);

/* Serialises a record; *buf is malloc'd (free with free()). */
int bh_fmr_write(const bh_fmr *r, uint8_t **buf, size_t *len);

void bh_fmr_free(bh_fmr *r);

/* Minutiae of one view in the matcher's convention (bh_minutiae.h): the
 * record resolution (xres/yres, pixels/cm; 0 = 500 ppi) is rescaled to 500
 * ppi; angles become radians measured from +x towards +y (y down).  The ISO
 * ending direction is taken to point along the ridge into its body, the
 * matcher's out of the end, so pi is added.  Returns the number written. */
uint32_t bh_fmr_view_to_fp(const bh_fmr *r, const bh_fmr_view *v, bh_minutia *out, uint32_t max);

/* The inverse: builds a one-view ISO 2005 record of a w x h (500 ppi)
 * impression from matcher minutiae (at most 255 kept). */
int bh_fmr_from_fp(const bh_minutia *m, uint32_t n, uint16_t w, uint16_t h, uint8_t position,
		   uint8_t quality, bh_fmr **out);

#endif
