/*
 * test_face_oracle.c - our C networks against face-api.js (the reference).
 *
 * tests/face-oracle/reference.txt was written by tests/face-oracle/oracle.js
 * (face-api.js 0.22.2 on the pure-JS CPU backend) for six LFW images.  For
 * each image this test feeds the C networks exactly the inputs the reference
 * used and compares:
 *   descriptor  whole image resized to 150x150: Euclidean distance < 0.05
 *   landmarks   68-point net on the reference's crop: every point < 2 px
 *   detection   tiny face detector at 256: best box IoU > 0.9, score +-0.05
 * The images are decoded by libjpeg-turbo here and by jpeg-js there, so
 * small pixel differences are expected; the bounds allow for them.
 * An optional argument names another reference file (e.g. one the oracle
 * wrote during this run).  Skips when the weights or LFW images are absent.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bh_err.h"
#include "bh_face.h"

static const char *ref_path = BH_SOURCE_ROOT "/tests/face-oracle/reference.txt";

typedef struct ref_img {
	char file[128];
	int has_box;
	float box[5];
	int crop[4];
	float lmk[136];
	float desc[128];
} ref_img;

static int read_floats(const char *s, float *v, int n)
{
	char *end;
	for (int i = 0; i < n; i++) {
		v[i] = strtof(s, &end);
		if (end == s)
			return -1;
		s = end;
	}
	return 0;
}

static int load_ref(ref_img *imgs, int max)
{
	FILE *f = fopen(ref_path, "r");
	if (!f)
		return -1;
	static char line[16384];
	int n = -1;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "image ", 6) && n + 1 < max) {
			n++;
			memset(&imgs[n], 0, sizeof imgs[n]);
			sscanf(line + 6, "%127s", imgs[n].file);
		} else if (n >= 0 && !strncmp(line, "box ", 4)) {
			imgs[n].has_box = !read_floats(line + 4, imgs[n].box, 5);
		} else if (n >= 0 && !strncmp(line, "crop ", 5)) {
			sscanf(line + 5, "%d %d %d %d", &imgs[n].crop[0], &imgs[n].crop[1],
			       &imgs[n].crop[2], &imgs[n].crop[3]);
		} else if (n >= 0 && !strncmp(line, "landmarks ", 10)) {
			assert_int_equal(read_floats(line + 10, imgs[n].lmk, 136), 0);
		} else if (n >= 0 && !strncmp(line, "descriptor ", 11)) {
			assert_int_equal(read_floats(line + 11, imgs[n].desc, 128), 0);
		}
	}
	fclose(f);
	return n + 1;
}

/* LFW layout: <Person_Name>/<Person_Name>_NNNN.jpg */
static int load_lfw(const char *file, bh_image *img)
{
	char person[128], path[1024];
	snprintf(person, sizeof person, "%.100s", file);
	char *u = strrchr(person, '_');
	if (!u)
		return -1;
	*u = 0;
	snprintf(path, sizeof path, "%s/face/lfw_dev/%.100s/%.100s", BH_SHARED_DATA_DIR, person, file);
	return bh_image_load(path, 3, img);
}

static float box_iou(const float *a, const bh_face_box *b)
{
	float w = fminf(a[0] + a[2], b->x + b->w) - fmaxf(a[0], b->x);
	float h = fminf(a[1] + a[3], b->y + b->h) - fmaxf(a[1], b->y);
	if (w <= 0 || h <= 0)
		return 0;
	return w * h / (a[2] * a[3] + b->w * b->h - w * h);
}

static void test_against_reference(void **state)
{
	(void)state;
	static ref_img ref[16];
	int n = load_ref(ref, 16);
	if (n <= 0) {
		skip();
	}
	bh_face_model *m = NULL;
	if (bh_face_model_load(NULL, &m) != BH_OK) {
		skip();
	}
	int checked = 0;
	for (int i = 0; i < n; i++) {
		bh_image img;
		if (load_lfw(ref[i].file, &img) != BH_OK)
			continue;
		checked++;
		/* descriptor on the same 150x150 input */
		bh_t3 in = {0};
		float d[128];
		assert_int_equal(bh_face_resize_square(&img, BH_FACE_CHIP, 1, &in), BH_OK);
		assert_int_equal(bh_face_net_describe(bh_face_model_nets(m), &in, d), BH_OK);
		bh_t3_free(&in);
		float dist = bh_face_distance(d, ref[i].desc);
		printf("%-24s descriptor distance %.4f", ref[i].file, dist);
		assert_true(dist < 0.05f);
		if (ref[i].has_box) {
			/* landmarks on the reference's crop */
			bh_face_box cb = {(float)ref[i].crop[0], (float)ref[i].crop[1],
					  (float)ref[i].crop[2], (float)ref[i].crop[3], 1};
			float pts[136];
			assert_int_equal(bh_face_landmarks(m, &img, &cb, pts), BH_OK);
			float worst = 0;
			for (int k = 0; k < 68; k++) {
				float e = hypotf(pts[2 * k] - ref[i].lmk[2 * k],
						 pts[2 * k + 1] - ref[i].lmk[2 * k + 1]);
				worst = fmaxf(worst, e);
			}
			printf("  landmarks worst %.2f px", worst);
			assert_true(worst < 2.0f);
			/* detection */
			bh_face_box boxes[8];
			int nb = 0;
			assert_int_equal(bh_face_detect(m, &img, boxes, 8, &nb), BH_OK);
			assert_true(nb >= 1);
			float iou = box_iou(ref[i].box, &boxes[0]);
			printf("  box IoU %.3f score %.3f/%.3f", iou, boxes[0].score, ref[i].box[4]);
			assert_true(iou > 0.9f);
			assert_true(fabsf(boxes[0].score - ref[i].box[4]) < 0.05f);
		}
		printf("\n");
		bh_image_free(&img);
	}
	bh_face_model_free(m);
	if (checked == 0) {
		skip();
	}
}

int main(int argc, char **argv)
{
	if (argc > 1)
		ref_path = argv[1];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
