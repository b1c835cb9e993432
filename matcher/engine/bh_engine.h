/*
 * bh_engine.h - the 1:N search engine and its backend vtable.
 *
 * Kernels and scores (the contract every backend honours bit for bit):
 *
 *   BH_KERNEL_DOT_I8   records and queries are int8 vectors of `dim` elements,
 *                      dim a positive multiple of 32.
 *                      score = sum_i q[i] * r[i]  (exact int32; |score| <= dim*128*128)
 *   BH_KERNEL_HAMMING  records and queries are bit strings of `dim` bits,
 *                      dim a positive multiple of 64, stored as little-endian
 *                      uint64 words.
 *                      score = dim - popcount(q XOR r)   (similarity; 0..dim)
 *
 *   Higher score = better candidate.  Top-K order is total and deterministic:
 *   score descending, then record id ascending.  K larger than the gallery
 *   returns all records.  The scalar backend is the reference.
 *
 * Memory layout (bh_shard): records are packed row-major, each row `stride`
 * bytes (row bytes rounded up to 64), base pointer 64-byte aligned, padding
 * bytes zero.  ids[i] is the caller's 64-bit id of row i (template row id in
 * the gallery); ids need not be sorted.
 *   Packed rows (addition): the CPU backends (scalar, avx2, avx512) also
 *   accept any stride >= bh_row_bytes() that is a multiple of 8, in particular
 *   stride == bh_row_bytes() (e.g. 32 bytes for a 256-bit finger code instead
 *   of 64), which keeps resident memory at 1.0x the raw template bytes.  A
 *   backend that needs 64-byte rows (a device) may refuse such a shard in
 *   load() with BH_EUNSUPPORTED.  Padding bytes, if any, must be zero.
 *   Implicit ids (addition): the CPU backends and the engine accept
 *   ids == NULL, meaning the id of row i is i (saves 8 bytes per record when
 *   the caller maps rows to templates itself).  Devices may refuse it.
 *
 * Backends: a backend searches one shard; the engine owns threading (one shard
 * per worker for the CPU backends) and merges per-shard top-K lists.  The
 * `fpga` backend (sim/) plugs in through the same vtable.
 */
#ifndef BH_ENGINE_H
#define BH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef enum bh_kernel {
	BH_KERNEL_DOT_I8 = 1,
	BH_KERNEL_HAMMING = 2,
} bh_kernel;

/* One candidate. */
typedef struct bh_hit {
	int32_t score;
	uint32_t pad_; /* zero; keeps the struct 16 bytes */
	uint64_t id;
} bh_hit;

/* A read-only view of packed records. */
typedef struct bh_shard {
	bh_kernel kernel;
	uint32_t dim;     /* elements (DOT_I8) or bits (HAMMING) */
	size_t stride;    /* bytes per row, multiple of 64 */
	size_t n;         /* rows */
	const void *data; /* 64-byte aligned, n*stride bytes */
	const uint64_t *ids;
} bh_shard;

/* A batch of queries, same kernel and dim as the shard; each query row is
 * `stride` bytes (same rounding as records), 64-byte aligned. */
typedef struct bh_queries {
	size_t nq;
	size_t stride;
	const void *data;
} bh_queries;

typedef struct bh_backend bh_backend; /* backend-private state */

typedef struct bh_backend_ops {
	const char *name; /* "scalar", "avx2", "avx512", "fpga" */
	/* Returns BH_OK if this backend can run here (CPU features, device). */
	int (*probe)(void);
	int (*open)(bh_backend **out);
	/* Makes the shard searchable.  The backend may copy it (a device) or keep
	 * the pointer (CPU); the shard memory outlives the backend either way. */
	int (*load)(bh_backend *be, const bh_shard *shard);
	/* Exact top-k of every query against the loaded shard.  out has nq*k
	 * slots; query j's list goes to out[j*k ...], sorted, and its length to
	 * nout[j] (min(k, n)). */
	int (*search)(bh_backend *be, const bh_queries *q, uint32_t k, bh_hit *out, uint32_t *nout);
	void (*close)(bh_backend *be);
} bh_backend_ops;

/* Registered backends, by name; NULL if unknown. */
const bh_backend_ops *bh_backend_find(const char *name);
/* Best CPU backend available here: avx512, avx2, or scalar. */
const bh_backend_ops *bh_backend_best(void);
/* Lets sim/ register the fpga backend (called once at start).  Safe from an
 * __attribute__((constructor)) in any library: the table is static storage
 * and needs no initialisation.  At most BH_BACKEND_MAX registered backends;
 * registering a name twice is BH_EEXIST.  A registered backend is treated as
 * a device by the engine: it gets the whole gallery as one shard, is called
 * from the searching thread, and a failed search is answered by the fallback
 * CPU backend (counted in bh_engine_stats.fallbacks). */
#define BH_BACKEND_MAX 8
int bh_backend_register(const bh_backend_ops *ops);
/* Name of the i-th known backend (built-ins first), NULL past the end. */
const char *bh_backend_name_at(unsigned i);

/* Bytes per row for a kernel and dim, rounded to 64. 0 if dim is invalid. */
size_t bh_row_stride(bh_kernel kernel, uint32_t dim);
/* Exact bytes of one record (dim for DOT_I8, dim/8 for HAMMING), no rounding:
 * the packed stride.  0 if dim is invalid. */
size_t bh_row_bytes(bh_kernel kernel, uint32_t dim);
/* Checks a shard against the layout rules above (kernel, dim, stride >=
 * bh_row_bytes and a multiple of 8, data/ids present when n > 0). */
int bh_shard_check(const bh_shard *s);

/* Scalar reference score of one pair (used by tests and re-checks). */
int32_t bh_score_ref(bh_kernel kernel, uint32_t dim, const void *q, const void *r);

/* ---- engine: threads + shards + merge ------------------------------------ */

typedef struct bh_engine bh_engine;

typedef struct bh_engine_config {
	const char *backend; /* NULL or "auto" = bh_backend_best() */
	unsigned threads;    /* 0 = number of online CPUs */
	/* fallback when a device backend fails a search: counted, logged */
	const char *fallback; /* NULL = "auto" */
} bh_engine_config;

typedef struct bh_engine_stats {
	uint64_t searches;
	uint64_t queries;
	uint64_t fallbacks; /* device errors answered by the fallback backend */
} bh_engine_stats;

/* Engine threading: bh_engine_open starts threads-1 persistent workers; a
 * search wakes them, the calling thread searches shard 0 itself, and the
 * per-shard top-K lists are merged.  Searches on one engine are serialised
 * by an internal mutex, so an engine may be shared by threads.  Queries are
 * tiled against blocks of records, so one pass over the gallery serves a
 * whole batch. */

/* Builds an engine over the shard (not copied; must outlive the engine). */
int bh_engine_open(const bh_engine_config *cfg, const bh_shard *shard, bh_engine **out);
/* Same contract as bh_backend_ops.search, over the whole shard. */
int bh_engine_search(bh_engine *e, const bh_queries *q, uint32_t k, bh_hit *out, uint32_t *nout);
const char *bh_engine_backend_name(const bh_engine *e);
void bh_engine_get_stats(const bh_engine *e, bh_engine_stats *st);
/* Worker threads (= shards for CPU backends) in use. */
unsigned bh_engine_threads(const bh_engine *e);
/* Bytes the engine itself holds beyond the caller's shard (buffers, backend
 * state), for resident-memory accounting. */
size_t bh_engine_overhead_bytes(const bh_engine *e);
void bh_engine_close(bh_engine *e);

/* ---- top-K helper shared by the backends -------------------------------- */

/* A bounded min-heap keeping the k best hits by the order above. */
typedef struct bh_topk {
	uint32_t k, n;
	bh_hit *h; /* k slots, caller-owned */
} bh_topk;

static inline int bh_hit_better(const bh_hit *a, const bh_hit *b)
{
	return a->score > b->score || (a->score == b->score && a->id < b->id);
}

void bh_topk_init(bh_topk *t, bh_hit *slots, uint32_t k);
void bh_topk_push(bh_topk *t, int32_t score, uint64_t id);
/* Worst kept score, or INT32_MIN while not full: a cheap pre-filter. */
static inline int32_t bh_topk_floor(const bh_topk *t)
{
	return t->n < t->k ? INT32_MIN : t->h[0].score;
}
/* Sorts the kept hits best-first in place; returns their count. */
uint32_t bh_topk_finish(bh_topk *t);

/* Sorts n hits best-first by the same order (bh_hit_better), e.g. after a
 * modality re-scored the engine's candidates. */
void bh_hits_sort(bh_hit *h, size_t n);

#endif
