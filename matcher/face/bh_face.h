/*
 * bh_face.h - the face pipeline: detection -> 68 landmarks -> aligned chip ->
 * 128-D descriptor -> int8 template, and the face modality ops.
 *
 * Steps (all on the CPU, weights from face-api.js, see bh_face_net.h):
 *   1. work image: RGB (grey is replicated); images larger than
 *      BH_FACE_WORK_MAX on a side are box-filtered down by an integer factor
 *      first, so work after decoding is bounded whatever the input size.
 *   2. detection: the image is zero-padded to a square (bottom/right) and
 *      resized (bilinear) to S = 32*ceil(side/32) clamped to [128, 416];
 *      tiny face detector, candidates with objectness > BH_FACE_DET_CAND
 *      (or, if none, the best box > BH_FACE_DET_MIN), NMS at IoU 0.4; the
 *      largest candidate is used; faces counted for the "several faces"
 *      warning are the chosen one and the others above BH_FACE_DET_SCORE
 *      that are not mostly inside a face already counted (a tighter box of
 *      the same face) and pass the landmark check (3b).
 *   3. landmarks: the detection box (clipped, floored) is padded to a centred
 *      square, resized to 112x112, and run through the 68-point net; a
 *      second pass runs on the landmarks' bounding box grown by
 *      BH_FACE_REFINE_PAD on each side.
 *   3b. landmark check: a third pass on the refined landmarks' own box; a
 *      face gives the same points again, while a pattern the detector took
 *      for a face (a fingerprint's whorl, say) does not: if the 68 points
 *      move on average by more than BH_FACE_LMK_DRIFT times the square root
 *      of their box's area, the candidate is dropped and the next largest
 *      one is tried; when none passes, BH_ENOFACE (docs/FACE.md, "Landmark
 *      check", has the measurements behind the bound).
 *   4. alignment: least-squares similarity transform from dlib's mean face
 *      shape (points 17..67 without the eyebrows and the lower lip, padding
 *      0.25, like dlib's get_face_chip_details) to the landmarks; the 150x150
 *      chip is sampled bilinearly (area-supersampled when shrinking).
 *   5. descriptor: the recognition net on the chip.
 *   6. template: d / |d| * BH_FACE_QSCALE, rounded, clamped to +-127
 *      (bh_template.h, BH_FMT_FACE_V1); score = int32 dot product.
 *
 * Threshold: dlib's published decision rule for this network is Euclidean
 * distance < 0.6 between raw descriptors.  With descriptors of norm n,
 * |a-b|^2 = 2 n^2 (1 - cos), so the rule is cos > 1 - 0.18 / n^2; with the
 * network's typical n = 1.425 (mean over 500 LFW images) that is cos > 0.9114,
 * i.e. an int8 dot of 127^2 * 0.9114 = 14700.  Fixed and shipped, not tuned
 * per data set (docs/FACE.md).
 *
 * Probe rule: every buffer holding pixels, activations or descriptors is
 * wiped before it is freed.
 */
#ifndef BH_FACE_H
#define BH_FACE_H

#include <stdint.h>

#include "bh_face_net.h"
#include "bh_image.h"
#include "bh_modality.h"

#define BH_FACE_WORK_MAX 1024   /* longest side processed after pre-scaling */
#define BH_FACE_MIN_SIDE 32     /* smaller images cannot hold a face */
#define BH_FACE_DET_SCORE 0.5f  /* a face */
#define BH_FACE_DET_CAND 0.35f  /* candidate boxes (see bh_face_analyse) */
#define BH_FACE_DET_MIN 0.2f    /* best box accepted when there is no candidate */
#define BH_FACE_REFINE_PAD 0.2f /* second landmark pass, see bh_face.c */
#define BH_FACE_LMK_DRIFT 0.08f /* landmark check (step 3b), face-size units */
#define BH_FACE_MAX_FACES 32

/* Shipped decision threshold on the int8 dot score (see header comment). */
#define BH_FACE_THRESHOLD 14700

typedef struct bh_face_model bh_face_model;

typedef struct bh_face_box {
	float x, y, w, h; /* image pixels */
	float score;
} bh_face_box;

/* Everything the pipeline found for the chosen (largest) face. */
typedef struct bh_face_result {
	int nfaces;          /* faces (step 2): 1 + other checked boxes; 0 if none */
	bh_face_box box;     /* the chosen face */
	float pts[136];      /* 68 landmarks (x, y), image pixels */
	float drift;         /* landmark check: mean move / face size (3b) */
	int rejected;        /* candidates that failed the landmark check */
	float desc[128];     /* raw descriptor */
	uint64_t det_ns, lmk_ns, desc_ns;
} bh_face_result;

/* model_dir NULL = BH_DEFAULT_MODEL_DIR. */
int bh_face_model_load(const char *model_dir, bh_face_model **out);
void bh_face_model_free(bh_face_model *m);
const bh_face_nets *bh_face_model_nets(const bh_face_model *m);

/* Full pipeline on the largest face.  BH_ENOFACE if none. */
int bh_face_analyse(const bh_face_model *m, const bh_image *img, bh_face_result *r);

/* Detection only: candidate boxes (score > BH_FACE_DET_CAND, after NMS), up
 * to max, best score first; *n set. */
int bh_face_detect(const bh_face_model *m, const bh_image *img, bh_face_box *boxes, int max,
		   int *n);
/* Landmarks for a box given in image pixels. */
int bh_face_landmarks(const bh_face_model *m, const bh_image *img, const bh_face_box *box,
		      float pts[136]);
/* The aligned 150x150x3 chip (0..255 floats) for 68 landmarks. */
int bh_face_align(const bh_image *img, const float pts[136], bh_t3 *chip);

/* tfjs-style bilinear resize (no corner alignment, no half-pixel offset) of
 * img zero-padded to a square of side max(w,h) (padding after the image
 * when centre = 0, split with the larger half after when centre = 1) to
 * side x side.  Used for the detector and the oracle comparison. */
int bh_face_resize_square(const bh_image *img, int side, int centre, bh_t3 *out);

/* int8 template of a descriptor (unit norm * BH_FACE_QSCALE). */
void bh_face_quantise(const float desc[128], int8_t q[128]);
int32_t bh_face_score(const int8_t a[128], const int8_t b[128]);
float bh_face_distance(const float a[128], const float b[128]);

extern const bh_modality_ops bh_face_ops;

#endif
