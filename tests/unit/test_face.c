/*
 * test_face.c - face weights loader (valid and corrupted files), int8
 * quantisation, and the pipeline on a few real LFW images: same person
 * scores above the shipped threshold, different people below; no face,
 * tiny, grey, several-face and large inputs.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bh_err.h"
#include "bh_face.h"
#include "bh_face_weights.h"
#include "bh_mem.h"
#include "bh_template.h"

#define MODEL "tiny_face_detector_model"
#define LFW BH_SHARED_DATA_DIR "/face/lfw_dev/"
#define FVC2 BH_SHARED_DATA_DIR "/fingerprint/fvc2002/DB2_B/"

static char tmpdir[256];

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static uint8_t *read_all(const char *path, size_t *n)
{
	uint8_t *b = NULL;
	if (bh_read_file(path, 0, &b, n) != BH_OK)
		return NULL;
	return b;
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/bh_test_face_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- loader: synthetic manifests ---------------------------------------- */

static void test_loader_values(void **state)
{
	(void)state;
	/* uint8 tensor [2] with scale 0.5, min -1; then float32 tensor [1] */
	uint8_t bin[6] = {0, 255, 0, 0, 0x80, 0x3f}; /* 1.0f little-endian */
	write_file(tmpdir, "v.bin", bin, sizeof bin);
	const char *js = "[{\"paths\":[\"v.bin\"],\"weights\":["
			 "{\"name\":\"a\",\"shape\":[2],\"dtype\":\"float32\","
			 "\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}},"
			 "{\"name\":\"b/c\",\"shape\":[1,1],\"dtype\":\"float32\"}]}]";
	bh_fw_model m;
	assert_int_equal(bh_fw_load_manifest(tmpdir, js, strlen(js), &m), BH_OK);
	assert_int_equal(m.n, 2);
	const float *a = bh_fw_get(&m, "a", 1, (const uint32_t[]){2});
	assert_non_null(a);
	assert_true(a[0] == -1.0f && a[1] == 126.5f);
	const float *b = bh_fw_get(&m, "b/c", 2, (const uint32_t[]){1, 1});
	assert_non_null(b);
	assert_true(b[0] == 1.0f);
	assert_null(bh_fw_get(&m, "b/c", 1, (const uint32_t[]){1})); /* wrong rank */
	assert_null(bh_fw_get(&m, "nope", 0, NULL));
	assert_non_null(strstr(bh_errmsg(), "missing"));
	bh_fw_free(&m);
}

static void expect_bad(const char *js, int err, const char *detail)
{
	bh_fw_model m;
	bh_errclear();
	int rc = bh_fw_load_manifest(tmpdir, js, strlen(js), &m);
	if (rc != err || !strstr(bh_errmsg(), detail))
		fail_msg("manifest %.60s: rc %d msg '%s', want %d '%s'", js, rc, bh_errmsg(), err,
			 detail);
	assert_null(m.t);
	assert_null(m.pool);
}

static void test_loader_bad_json(void **state)
{
	(void)state;
	uint8_t bin[4] = {1, 2, 3, 4};
	write_file(tmpdir, "w.bin", bin, sizeof bin);
	expect_bad("", BH_EFORMAT, "end of JSON");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[", BH_EFORMAT, "manifest");
	expect_bad("[{\"paths\":[\"w.bin\"]}] x", BH_EFORMAT, "trailing");
	expect_bad("{}", BH_EFORMAT, "top level");
	expect_bad("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", BH_EFORMAT,
		   "nested");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[4],"
		   "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":1e999,"
		   "\"min\":0}}]}]",
		   BH_EFORMAT, "number");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[0],"
		   "\"dtype\":\"float32\"}]}]",
		   BH_EFORMAT, "shape");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"shape\":[4],\"dtype\":\"float32\"}]}]",
		   BH_EFORMAT, "name");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[4],"
		   "\"dtype\":\"int32\"}]}]",
		   BH_EUNSUPPORTED, "dtype");
}

static void test_loader_bad_shards(void **state)
{
	(void)state;
	uint8_t bin[4] = {1, 2, 3, 4};
	write_file(tmpdir, "w.bin", bin, sizeof bin);
	/* 4 uint8 values fit exactly; 5 need more; 3 leave bytes over */
	const char *ok = "[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[4],"
			 "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":1,"
			 "\"min\":0}}]}]";
	bh_fw_model m;
	assert_int_equal(bh_fw_load_manifest(tmpdir, ok, strlen(ok), &m), BH_OK);
	bh_fw_free(&m);
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[5],"
		   "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":1,"
		   "\"min\":0}}]}]",
		   BH_EFORMAT, "needs 5");
	expect_bad("[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[3],"
		   "\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":1,"
		   "\"min\":0}}]}]",
		   BH_EFORMAT, "more bytes");
	expect_bad("[{\"paths\":[\"gone.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[4],"
		   "\"dtype\":\"float32\"}]}]",
		   BH_EFORMAT, "missing");
	expect_bad("[{\"paths\":[\"../w.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[1],"
		   "\"dtype\":\"float32\"}]}]",
		   BH_EFORMAT, "plain file name");
	/* float32 NaN in the shard */
	uint8_t nan[4] = {0, 0, 0xc0, 0x7f};
	write_file(tmpdir, "n.bin", nan, sizeof nan);
	expect_bad("[{\"paths\":[\"n.bin\"],\"weights\":[{\"name\":\"a\",\"shape\":[1],"
		   "\"dtype\":\"float32\"}]}]",
		   BH_EFORMAT, "non-finite");
}

/* ---- loader: corrupted copies of the real detector model ------------------ */

static void test_loader_real_corrupted(void **state)
{
	(void)state;
	size_t mlen, blen;
	uint8_t *man = read_all(BH_DEFAULT_MODEL_DIR "/" MODEL "-weights_manifest.json", &mlen);
	uint8_t *bin = read_all(BH_DEFAULT_MODEL_DIR "/" MODEL ".bin", &blen);
	if (!man || !bin) {
		free(man);
		free(bin);
		skip();
	}
	bh_fw_model m;
	write_file(tmpdir, MODEL "-weights_manifest.json", man, mlen);
	write_file(tmpdir, MODEL ".bin", bin, blen);
	assert_int_equal(bh_fw_load(tmpdir, MODEL, &m), BH_OK);
	const float *f = bh_fw_get(&m, "conv0/filters", 4, (const uint32_t[]){3, 3, 3, 16});
	assert_non_null(f);
	bh_fw_free(&m);

	/* truncated shard */
	write_file(tmpdir, MODEL ".bin", bin, blen - 1);
	assert_int_equal(bh_fw_load(tmpdir, MODEL, &m), BH_EFORMAT);
	assert_non_null(strstr(bh_errmsg(), "bytes"));
	/* missing shard */
	char path[512];
	snprintf(path, sizeof path, "%s/%s.bin", tmpdir, MODEL);
	unlink(path);
	assert_int_equal(bh_fw_load(tmpdir, MODEL, &m), BH_EFORMAT);
	assert_non_null(strstr(bh_errmsg(), "missing"));
	write_file(tmpdir, MODEL ".bin", bin, blen);
	/* truncated manifest (bad JSON) */
	write_file(tmpdir, MODEL "-weights_manifest.json", man, mlen / 2);
	assert_int_equal(bh_fw_load(tmpdir, MODEL, &m), BH_EFORMAT);
	/* a shape edited so the sizes disagree: [3,3,3,16] -> [3,3,3,17] */
	char *edited = malloc(mlen + 1);
	memcpy(edited, man, mlen);
	edited[mlen] = 0;
	char *s = strstr(edited, "[3,3,3,16]");
	assert_non_null(s);
	s[8] = '7';
	write_file(tmpdir, MODEL "-weights_manifest.json", edited, mlen);
	assert_int_equal(bh_fw_load(tmpdir, MODEL, &m), BH_EFORMAT);
	assert_non_null(strstr(bh_errmsg(), "bytes"));
	/* no manifest at all */
	assert_int_equal(bh_fw_load(tmpdir, "no_such_model", &m), BH_ENOTFOUND);
	free(edited);
	free(man);
	free(bin);
}

/* ---- quantisation -------------------------------------------------------- */

static void test_quantise(void **state)
{
	(void)state;
	float d[128];
	int8_t q[128];
	for (int i = 0; i < 128; i++)
		d[i] = (float)sin(i * 0.37) * 0.2f;
	bh_face_quantise(d, q);
	int32_t self = bh_face_score(q, q);
	/* |q| ~ 127: rounding moves the squared norm by a few percent at most */
	assert_true(self > 127 * 127 * 95 / 100 && self < 127 * 127 * 105 / 100);
	memset(d, 0, sizeof d);
	d[5] = 3.0f; /* one-hot: clamps to exactly 127 */
	bh_face_quantise(d, q);
	assert_int_equal(q[5], 127);
	assert_int_equal(bh_face_score(q, q), 127 * 127);
	d[5] = -3.0f;
	bh_face_quantise(d, q);
	assert_int_equal(q[5], -127);
	memset(d, 0, sizeof d); /* zero vector stays zero, no NaN */
	bh_face_quantise(d, q);
	assert_int_equal(bh_face_score(q, q), 0);
}

/* ---- pipeline on real images --------------------------------------------- */

static bh_face_model *model;

static int load_model(void)
{
	if (model)
		return 1;
	return bh_face_model_load(NULL, &model) == BH_OK;
}

static int template_of(const char *rel, int8_t q[128], bh_face_result *r)
{
	bh_image img;
	if (bh_image_load(rel, 3, &img) != BH_OK)
		return -1;
	int rc = bh_face_analyse(model, &img, r);
	bh_image_free(&img);
	if (rc == BH_OK)
		bh_face_quantise(r->desc, q);
	return rc;
}

static void test_same_vs_different(void **state)
{
	(void)state;
	if (!load_model())
		skip();
	int8_t a[128], b[128], c[128];
	bh_face_result r;
	if (template_of(LFW "Diana_Krall/Diana_Krall_0001.jpg", a, &r) < 0)
		skip();
	assert_int_equal(r.nfaces, 1);
	assert_true(r.box.w > 50 && r.box.w < 200);
	/* eyes (36..47) above the mouth (48..67) */
	assert_true(r.pts[2 * 37 + 1] < r.pts[2 * 57 + 1]);
	assert_int_equal(template_of(LFW "Diana_Krall/Diana_Krall_0002.jpg", b, &r), BH_OK);
	assert_int_equal(template_of(LFW "Naji_Sabri/Naji_Sabri_0001.jpg", c, &r), BH_OK);
	int32_t same = bh_face_score(a, b), diff1 = bh_face_score(a, c), diff2 = bh_face_score(b, c);
	printf("same %d  different %d %d  threshold %d\n", same, diff1, diff2, BH_FACE_THRESHOLD);
	assert_true(same > diff1 && same > diff2);
	assert_true(same >= BH_FACE_THRESHOLD);
	assert_true(diff1 < BH_FACE_THRESHOLD && diff2 < BH_FACE_THRESHOLD);
}

static void test_no_face_and_bounds(void **state)
{
	(void)state;
	if (!load_model())
		skip();
	bh_image img;
	bh_face_result r;
	/* flat grey: no face */
	assert_int_equal(bh_image_alloc(&img, 200, 160, 3, NULL), BH_OK);
	memset(img.px, 128, (size_t)200 * 160 * 3);
	bh_errclear();
	assert_int_equal(bh_face_analyse(model, &img, &r), BH_ENOFACE);
	assert_non_null(strstr(bh_errmsg(), "no face"));
	bh_image_free(&img);
	/* too small to hold a face */
	assert_int_equal(bh_image_alloc(&img, 10, 10, 1, NULL), BH_OK);
	memset(img.px, 0, 100);
	assert_int_equal(bh_face_analyse(model, &img, &r), BH_ENOFACE);
	bh_image_free(&img);
	/* noise and extreme aspect ratios: a face or a clean "no face", never a crash */
	static const uint32_t dims[4][2] = {{300, 200}, {4000, 40}, {40, 3000}, {64, 64}};
	uint64_t seed = 12345;
	for (int t = 0; t < 4; t++) {
		assert_int_equal(bh_image_alloc(&img, dims[t][0], dims[t][1], 3, NULL), BH_OK);
		for (size_t i = 0; i < (size_t)img.w * img.h * 3; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			img.px[i] = (uint8_t)(seed >> 56);
		}
		int rc = bh_face_analyse(model, &img, &r);
		assert_true(rc == BH_OK || rc == BH_ENOFACE);
		bh_image_free(&img);
	}
	/* NULL / bad image */
	bh_image none = {0};
	assert_int_equal(bh_face_analyse(model, &none, &r), BH_EINVAL);
}

/* A fingerprint's whorl that the detector scores as a face (0.65 and 0.52,
 * above BH_FACE_DET_SCORE) fails the landmark check (bh_face.h, step 3b);
 * a photo's landmarks are stable.  Beside a real face, whose box is
 * smaller than the whorl's, the check passes over the whorl to the face. */
static void test_landmark_check(void **state)
{
	enum { K = 3 }; /* the photo at 1/K size */
	(void)state;
	if (!load_model())
		skip();
	static const char *prints[] = {FVC2 "110_6.pgm", FVC2 "110_5.pgm"};
	bh_image fp, face, small, both;
	bh_face_result r;
	bh_face_box box[4];
	int n = 0;
	int8_t q[128], qs[128];
	for (int i = 0; i < 2; i++) {
		if (bh_image_load(prints[i], 3, &fp) != BH_OK)
			skip();
		assert_int_equal(bh_face_detect(model, &fp, box, 4, &n), BH_OK);
		assert_true(n >= 1 && box[0].score > BH_FACE_DET_SCORE); /* the detector alone says "face" */
		bh_errclear();
		assert_int_equal(bh_face_analyse(model, &fp, &r), BH_ENOFACE);
		assert_true(r.rejected >= 1);
		assert_non_null(strstr(bh_errmsg(), "landmark check"));
		bh_image_free(&fp);
	}
	assert_int_equal(template_of(LFW "Diana_Krall/Diana_Krall_0001.jpg", q, &r), BH_OK);
	printf("photo: landmark drift %.4f (bound %.2f)\n", r.drift, BH_FACE_LMK_DRIFT);
	assert_true(r.drift < BH_FACE_LMK_DRIFT / 2);
	assert_int_equal(r.rejected, 0);
	/* the print (296 x 560) and the photo at half size (125 x 125) side by side */
	assert_int_equal(bh_image_load(prints[0], 3, &fp), BH_OK);
	assert_int_equal(bh_image_load(LFW "Diana_Krall/Diana_Krall_0001.jpg", 3, &face), BH_OK);
	assert_int_equal(bh_image_alloc(&small, 250 / K, 250 / K, 3, NULL), BH_OK);
	for (uint32_t y = 0; y < small.h; y++)
		for (uint32_t x = 0; x < small.w; x++)
			for (int c = 0; c < 3; c++) { /* K x K box filter */
				unsigned sum = 0;
				for (int v = 0; v < K * K; v++)
					sum += face.px[((size_t)(K * y + v / K) * 250 + K * x + v % K) * 3 + c];
				small.px[((size_t)y * small.w + x) * 3 + c] = (uint8_t)((sum + K * K / 2) / (K * K));
			}
	assert_int_equal(bh_image_alloc(&both, 296 + 160, 560, 3, NULL), BH_OK);
	memset(both.px, 255, (size_t)both.w * both.h * 3);
	for (uint32_t y = 0; y < 560; y++)
		memcpy(both.px + (size_t)y * both.w * 3, fp.px + (size_t)y * 296 * 3, 296 * 3);
	for (uint32_t y = 0; y < small.h; y++)
		memcpy(both.px + ((size_t)(200 + y) * both.w + 316) * 3, small.px + (size_t)y * small.w * 3,
		       small.w * 3);
	assert_int_equal(bh_face_detect(model, &both, box, 4, &n), BH_OK);
	for (int i = 0; i < n; i++)
		printf("box %.0f %.0f %.0f %.0f %.3f\n", box[i].x, box[i].y, box[i].w, box[i].h, box[i].score);
	assert_true(n >= 2);
	assert_int_equal(bh_face_analyse(model, &both, &r), BH_OK);
	printf("print + photo: %d candidate(s) passed over, face at x %.0f, %d face(s)\n", r.rejected,
	       r.box.x, r.nfaces);
	assert_true(r.rejected >= 1);
	assert_int_equal(r.nfaces, 1); /* the whorl (above BH_FACE_DET_SCORE) is not a face */
	assert_true(r.box.x > 296); /* the photo's side */
	bh_face_quantise(r.desc, qs);
	assert_true(bh_face_score(q, qs) >= BH_FACE_THRESHOLD);
	bh_image_free(&fp);
	bh_image_free(&face);
	bh_image_free(&small);
	bh_image_free(&both);
}

/* Nearest-neighbour upscale of an RGB image by k. */
static int upscale(const bh_image *in, int k, bh_image *out)
{
	int rc = bh_image_alloc(out, in->w * k, in->h * k, 3, NULL);
	for (uint32_t y = 0; !rc && y < out->h; y++)
		for (uint32_t x = 0; x < out->w; x++)
			memcpy(out->px + ((size_t)y * out->w + x) * 3,
			       in->px + ((size_t)(y / k) * in->w + x / k) * 3, 3);
	return rc;
}

static void test_grey_large_and_two_faces(void **state)
{
	(void)state;
	if (!load_model())
		skip();
	bh_image a, b, g, big, two;
	int8_t qa[128], qg[128], qbig[128];
	bh_face_result r;
	if (bh_image_load(LFW "Diana_Krall/Diana_Krall_0001.jpg", 3, &a) != BH_OK)
		skip();
	assert_int_equal(bh_image_load(LFW "Naji_Sabri/Naji_Sabri_0001.jpg", 3, &b), BH_OK);
	assert_int_equal(bh_face_analyse(model, &a, &r), BH_OK);
	bh_face_quantise(r.desc, qa);
	/* grey input is accepted (replicated to RGB) and stays the same person */
	assert_int_equal(bh_image_load(LFW "Diana_Krall/Diana_Krall_0001.jpg", 1, &g), BH_OK);
	assert_int_equal(bh_face_analyse(model, &g, &r), BH_OK);
	bh_face_quantise(r.desc, qg);
	assert_true(bh_face_score(qa, qg) >= BH_FACE_THRESHOLD);
	/* 3000x3000: pre-scaled by 3 before detection, same face, box in input pixels */
	assert_int_equal(upscale(&a, 12, &big), BH_OK);
	assert_int_equal(bh_face_analyse(model, &big, &r), BH_OK);
	bh_face_quantise(r.desc, qbig);
	assert_true(r.box.w > 600);
	assert_true(bh_face_score(qa, qbig) >= BH_FACE_THRESHOLD);
	/* two people side by side: two faces, the modality warns */
	assert_int_equal(bh_image_alloc(&two, 500, 250, 3, NULL), BH_OK);
	for (int y = 0; y < 250; y++) {
		memcpy(two.px + (size_t)y * 1500, a.px + (size_t)y * 750, 750);
		memcpy(two.px + (size_t)y * 1500 + 750, b.px + (size_t)y * 750, 750);
	}
	bh_probe_tmpl t;
	assert_int_equal(bh_face_ops.extract(model, &two, &t), BH_OK);
	printf("warning: %s\n", t.warning);
	assert_non_null(strstr(t.warning, "2 faces"));
	assert_int_equal(t.code_len, BH_FACE_DIM);
	assert_int_equal(bh_template_check(BH_MOD_FACE, 0, t.format, t.code, t.code_len, NULL, 0),
			 BH_OK);
	bh_probe_tmpl_clear(&t);
	bh_image_free(&a);
	bh_image_free(&b);
	bh_image_free(&g);
	bh_image_free(&big);
	bh_image_free(&two);
}

typedef struct job {
	const bh_image *img;
	float desc[128];
	int rc;
} job;

static void *run_job(void *arg)
{
	job *j = arg;
	bh_face_result r;
	j->rc = BH_OK;
	for (int i = 0; i < 3 && j->rc == BH_OK; i++) {
		j->rc = bh_face_analyse(model, j->img, &r);
		if (j->rc == BH_OK)
			memcpy(j->desc, r.desc, sizeof j->desc);
	}
	return NULL;
}

/* One shared model, four threads extracting at once: same results as alone. */
static void test_threads_share_model(void **state)
{
	(void)state;
	if (!load_model())
		skip();
	bh_image a, b;
	if (bh_image_load(LFW "Diana_Krall/Diana_Krall_0001.jpg", 3, &a) != BH_OK)
		skip();
	assert_int_equal(bh_image_load(LFW "Naji_Sabri/Naji_Sabri_0001.jpg", 3, &b), BH_OK);
	bh_face_result ra, rb;
	assert_int_equal(bh_face_analyse(model, &a, &ra), BH_OK);
	assert_int_equal(bh_face_analyse(model, &b, &rb), BH_OK);
	job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i].img = (i & 1) ? &b : &a;
		assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].rc, BH_OK);
		float d = bh_face_distance(jobs[i].desc, (i & 1) ? rb.desc : ra.desc);
		assert_true(d < 1e-4f);
	}
	bh_image_free(&a);
	bh_image_free(&b);
}

static void test_modality_ops(void **state)
{
	(void)state;
	void *m = NULL;
	assert_int_equal(bh_face_ops.init("/nonexistent/dir", &m), BH_ENOTFOUND);
	assert_null(m);
	assert_int_equal(bh_face_ops.modality, BH_MOD_FACE);
	assert_int_equal(bh_face_ops.threshold, BH_FACE_THRESHOLD);
	const bh_modality_ops *ops = bh_modality_get(BH_MOD_FACE);
	if (ops)
		assert_ptr_equal(ops, &bh_face_ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loader_values, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_loader_bad_json, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_loader_bad_shards, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_loader_real_corrupted, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_quantise),
		cmocka_unit_test(test_modality_ops),
		cmocka_unit_test(test_same_vs_different),
		cmocka_unit_test(test_no_face_and_bounds),
		cmocka_unit_test(test_landmark_check),
		cmocka_unit_test(test_grey_large_and_two_faces),
		cmocka_unit_test(test_threads_share_model),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	bh_face_model_free(model);
	return rc;
}
