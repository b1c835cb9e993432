/* test_slap.c - slap segmentation (bh_slap.h) on the NIST sample slap
 * transaction (type4-slaps.an2k: right and left four-finger slaps, both
 * plain thumbs, 500 ppi WSQ).  BH_SLAP_DUMP=DIR writes each fingertip as
 * DIR/slap<pos>_<finger>.pgm for a look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_finger.h"
#include "bh_image.h"
#include "bh_slap.h"

#define SLAPS BH_SHARED_DATA_DIR "/fingerprint/nist/type4-slaps.an2k"

static void dump(const bh_image *im, int slap, int finger)
{
	const char *dir = getenv("BH_SLAP_DUMP");
	if (!dir)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/slap%d_%02d.pgm", dir, slap, finger);
	FILE *o = fopen(path, "wb");
	if (!o)
		return;
	fprintf(o, "P5\n%u %u\n255\n", im->w, im->h);
	fwrite(im->px, 1, (size_t)im->w * im->h, o);
	fclose(o);
}

/* Every slap image of the sample: the expected positions, in order, each
 * fingertip upright, finger-sized and usable by the extractor. */
static void sample_slaps(void **state)
{
	(void)state;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (bh_read_file(SLAPS, 0, &buf, &len) != BH_OK)
		skip();
	bh_an2k *a = NULL;
	assert_int_equal(bh_an2k_parse(buf, len, &a), BH_OK);
	int slaps = 0;
	for (uint32_t i = 0; i < a->nimages; i++) {
		const bh_an2k_image *im = &a->images[i];
		int want[BH_SLAP_MAX_FINGERS], k = bh_slap_positions(im->position, want);
		if (!k)
			continue;
		slaps++;
		bh_image img;
		assert_int_equal(bh_an2k_image_decode(im, NULL, &img), BH_OK);
		dump(&img, im->position, 0); /* the whole slap */
		bh_slap_finger f[BH_SLAP_MAX_FINGERS];
		int n = 0;
		assert_int_equal(bh_slap_segment(&img, im->position, f, &n), BH_OK);
		assert_int_equal(n, k);
		for (int j = 0; j < n; j++) {
			print_message("slap %d: finger %d at (%.0f, %.0f), %.0f deg, %ux%u\n",
				      im->position, f[j].position, f[j].cx, f[j].cy, f[j].angle,
				      f[j].tip.w, f[j].tip.h);
			dump(&f[j].tip, im->position, f[j].position);
			assert_int_equal(f[j].position, want[j]);
			/* a 500-ppi fingertip: 0.3-1.2 inch wide, taller than wide */
			assert_in_range(f[j].tip.w, 150, 600);
			assert_true(f[j].tip.h > f[j].tip.w);
			if (j > 0) /* left to right, no two on the same spot */
				assert_true(f[j].cx > f[j - 1].cx + 100);
			bh_probe_tmpl t;
			assert_int_equal(bh_finger_extract(&f[j].tip, 0, &t), BH_OK);
			bh_probe_tmpl_clear(&t);
		}
		bh_slap_free(f, n);
		bh_image_free(&img);
	}
	assert_int_equal(slaps, 4);
	bh_an2k_free(a);
	free(buf);
}

static void refuses_what_is_not_a_slap(void **state)
{
	(void)state;
	bh_image img;
	assert_int_equal(bh_image_alloc(&img, 400, 400, 1, &bh_image_default_limits), BH_OK);
	memset(img.px, 255, 400 * 400);
	bh_slap_finger f[BH_SLAP_MAX_FINGERS];
	int n = 7;
	assert_int_equal(bh_slap_segment(&img, 2, f, &n), BH_EINVAL); /* a rolled finger */
	assert_int_equal(n, 0);
	assert_int_equal(bh_slap_segment(&img, 13, f, &n), BH_ENOFEATURE); /* blank */
	assert_int_equal(n, 0);
	bh_image_free(&img);
	assert_int_equal(bh_image_alloc(&img, 40, 40, 1, &bh_image_default_limits), BH_OK);
	memset(img.px, 0, 40 * 40);
	assert_int_equal(bh_slap_segment(&img, 11, f, &n), BH_ENOFEATURE); /* too small */
	bh_image_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sample_slaps),
		cmocka_unit_test(refuses_what_is_not_a_slap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
