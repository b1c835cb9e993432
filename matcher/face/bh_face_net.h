/*
 * bh_face_net.h - the three face networks of face-api.js, run in C.
 *
 *   detector    tiny face detector (TinyYolov2-style, separable convs):
 *               S x S RGB (S % 32 == 0) -> (S/32 - ... ) grid of 5 anchors,
 *               each (tx, ty, tw, th, objectness)
 *   landmarks   face_landmark_68_model: 112 x 112 RGB -> 68 (x, y) in [0, 1]
 *               of the input square (4 dense blocks of separable convs + FC)
 *   recognition face_recognition_model: dlib's ResNet-34-like metric network,
 *               150 x 150 RGB face chip -> 128-D descriptor (not normalised;
 *               same-person pairs are typically < 0.6 apart in Euclidean
 *               distance)
 *
 * Inputs are raw 0..255 RGB float tensors (HWC); each net subtracts its own
 * mean colour and divides by 255 like the reference.  The loaded model is
 * read-only and may be shared between threads.  Every intermediate tensor is
 * wiped before it is freed.
 */
#ifndef BH_FACE_NET_H
#define BH_FACE_NET_H

#include "bh_face_nn.h"
#include "bh_face_weights.h"

#define BH_FACE_CHIP 150
#define BH_FACE_LMK_IN 112
#define BH_FACE_ANCHORS 5

typedef struct bh_face_nets {
	bh_fw_model det, lmk, rec;
} bh_face_nets;

/* Loads the three models from dir and runs each once on a blank input, which
 * validates every tensor name and shape the forward passes use. */
int bh_face_nets_load(const char *dir, bh_face_nets *n);
void bh_face_nets_free(bh_face_nets *n);

/* chip: 150x150x3, values 0..255.  desc: 128 floats. */
int bh_face_net_describe(const bh_face_nets *n, const bh_t3 *chip, float desc[128]);

/* in: 112x112x3, 0..255.  pts: 68 (x, y) pairs relative to the input side. */
int bh_face_net_landmarks(const bh_face_nets *n, const bh_t3 *in, float pts[136]);

/* in: SxSx3, 0..255.  out: grid x grid x 25 raw outputs (caller frees). */
int bh_face_net_detect(const bh_face_nets *n, const bh_t3 *in, bh_t3 *out);

/* The detector's anchor sizes (grid cells), x then y. */
extern const float bh_face_anchors[BH_FACE_ANCHORS][2];

#endif
