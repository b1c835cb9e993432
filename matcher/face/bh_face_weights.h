/*
 * bh_face_weights.h - loader for face-api.js / TensorFlow.js weight files.
 *
 * A model is `<dir>/<name>-weights_manifest.json` plus the binary shards it
 * lists.  The manifest is a JSON array of groups:
 *
 *   [ { "paths": ["shard1.bin", ...],
 *       "weights": [ { "name": "conv0/filters", "shape": [3,3,3,16],
 *                      "dtype": "float32",
 *                      "quantization": {"dtype": "uint8", "scale": s, "min": m} },
 *                    ... ] }, ... ]
 *
 * The shards of a group are concatenated in `paths` order; the group's
 * weights follow each other in that byte stream in manifest order.  A tensor
 * is stored as float32 little-endian (4 bytes/value) or, when `quantization`
 * is present, as uint8/uint16 q with value = min + scale * q.
 *
 * Validation (every failure is BH_EFORMAT or BH_ENOTFOUND/BH_EIO with a
 * detail in bh_errmsg()): the manifest must parse as JSON within fixed bounds
 * (size, nesting, node count), every field must have the right type, shapes
 * must be positive with at most 4 dims, shard names must be plain file names
 * (no '/', no ".."), each group's shard bytes must equal exactly the bytes its
 * weights need, and every value must be finite.
 *
 * After loading, tensors are read-only float32 arrays; a loaded model may be
 * shared by any number of threads.
 */
#ifndef BH_FACE_WEIGHTS_H
#define BH_FACE_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define BH_FW_MAX_MANIFEST (1u << 20)  /* bytes */
#define BH_FW_MAX_SHARD (64u << 20)    /* bytes per shard */
#define BH_FW_MAX_TENSORS 1024
#define BH_FW_NAME_MAX 96

typedef struct bh_fw_tensor {
	char name[BH_FW_NAME_MAX];
	uint32_t rank;
	uint32_t shape[4];
	size_t count;   /* product of shape */
	float *data;    /* points into the model's pool */
	/* The same filter packed for the face nets' direct conv kernels
	 * (bh_face_conv.h), added by bh_face_nets_load; NULL for other tensors
	 * and on CPUs without those kernels.  Freed by bh_fw_free. */
	uint16_t *packed;
} bh_fw_tensor;

typedef struct bh_fw_model {
	bh_fw_tensor *t;
	size_t n;
	float *pool;       /* all tensor values, 64-aligned */
	size_t pool_count; /* floats */
} bh_fw_model;

/* Loads `<dir>/<name>-weights_manifest.json` and its shards. */
int bh_fw_load(const char *dir, const char *name, bh_fw_model *m);

/* Loads from an in-memory manifest; shard files are read from dir. */
int bh_fw_load_manifest(const char *dir, const char *json, size_t len, bh_fw_model *m);

/* The tensor called `name`; if rank > 0 its shape must equal shape[0..rank).
 * Returns NULL with BH_EFORMAT recorded in bh_errmsg() otherwise. */
const float *bh_fw_get(const bh_fw_model *m, const char *name, uint32_t rank,
		       const uint32_t *shape);

/* The tensor called `name`, or NULL (BH_EFORMAT recorded). */
const bh_fw_tensor *bh_fw_find(const bh_fw_model *m, const char *name);

void bh_fw_free(bh_fw_model *m);

#endif
