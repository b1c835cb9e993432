/*
 * fuzz_image.c - libFuzzer target for the probe image decoders behind the
 * public entry point bh_image_decode(): PGM/PPM (bh_pnm.c), PNG (libpng's
 * simplified API, bh_png.c), JPEG (TurboJPEG, bh_jpeg.c), lossless JPEG
 * (bh_ljpeg.c), BMP (bh_bmp.c) and TIFF (libtiff, bh_tiff.c); the sniffer
 * also routes WSQ and JPEG 2000 streams (fuzz_formats covers those with its
 * own seeds).
 *
 * Input: [want u8][image bytes].  want % 3 selects the requested channels
 * (0 = as stored, 1 = grey, 3 = RGB), so the conversion paths run too.
 * A decode that succeeds must give an image that keeps the bh_image
 * invariants (bh_image.h) within the limits passed; every pixel byte is
 * read so that a short allocation is an ASan report, not a silent pass.
 * The limits are small so the fuzzer spends its time parsing, not
 * allocating.  Built with -Dfuzz=true (clang); fuzz_replay.c runs the same
 * function over corpus_image/ in the normal and ASan suites.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bh_err.h"
#include "bh_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const bh_image_limits lim = {1024, 1024, 1u << 20};

/* Aborts (a fuzzer finding) if a decoded image breaks its contract. */
static void check_image(const bh_image *im, int want)
{
	if (!im->px || im->w == 0 || im->h == 0 || im->w > lim.max_w || im->h > lim.max_h ||
	    (uint64_t)im->w * im->h > lim.max_pixels)
		abort();
	if (want ? im->channels != (uint32_t)want : im->channels != 1 && im->channels != 3)
		abort();
	size_t n = (size_t)im->w * im->h * im->channels;
	volatile unsigned sum = 0; /* volatile: the reads must happen */
	for (size_t i = 0; i < n; i++)
		sum += im->px[i];
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int wants[3] = {0, 1, 3};
	if (size < 1)
		return 0;
	int want = wants[data[0] % 3];
	bh_image im;
	int rc = bh_image_decode(data + 1, size - 1, want, &lim, &im);
	if (rc == BH_OK) {
		check_image(&im, want);
		bh_image_free(&im);
	} else if (im.px) {
		abort(); /* a failed decode must not hand out pixels */
	}
	return 0;
}
