/* bh_fpga.c - the `fpga` engine backend: drives the simulated matching core
 * through its registers, descriptor ring and memories (see bh_fpga.h and
 * docs/HARDWARE.md). */
#include "bh_fpga.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_err.h"
#include "bh_fpga_regs.h"
#include "bh_mem.h"
#include "bh_sim.h"

/* Host memory window layout (bytes from BH_SIM_HOST_BASE). */
#define HOST_BYTES (64u * 1024u)
#define RING_LOG2 4u
#define RING_OFF 0u
#define AFTER_OFF 1024u  /* nq x {score,row}: up to 128 lanes */
#define QUERY_OFF 2048u
#define WATCHDOG_CYCLES 4096u /* no progress for this long = timeout */

static int fault_next; /* BH_FPGA_FAULT_*, consumed by the next search */

void bh_fpga_inject_fault(int fault)
{
	__atomic_store_n(&fault_next, fault, __ATOMIC_RELEASE);
}

struct bh_backend {
	pthread_mutex_t lock;
	bh_sim *sim;
	uint8_t *host;
	uint32_t lanes, kmax, max_beats;
	uint32_t result_off, result_bytes, query_bytes;
	uint32_t head, tag;
	/* loaded shard */
	int loaded;
	bh_kernel kernel;
	uint32_t dim;
	size_t row_bytes, dstride, n;
	uint64_t *ids; /* id of device row r (rows sorted by id) */
	bh_core_hit *last; /* per lane: last hit returned (multi-pass) */
	bh_fpga_stats st;
};

/* ---- device access ------------------------------------------------------ */

/* CPU time of this thread: the simulation speed, not the machine's load. */
static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t run(bh_backend *be, uint64_t max_cycles)
{
	uint64_t t0 = thread_ns();
	uint64_t n = bh_sim_run(be->sim, max_cycles);
	be->st.sim_ns += thread_ns() - t0;
	return n;
}

/* Soft reset: drops the job in flight (the core scrubs its query memories),
 * flushes the bus models, empties the ring. */
static void soft_reset(bh_backend *be)
{
	bh_sim_set_stall(be->sim, 0);
	bh_sim_reg_write(be->sim, BH_REG_CONTROL, BH_CTRL_ENABLE | BH_CTRL_SOFT_RESET);
	run(be, be->max_beats + 8);
	be->head = 0;
}

static int core_init(bh_backend *be)
{
	bh_sim *s = be->sim;
	if (bh_sim_reg_read(s, BH_REG_ID) != BH_CORE_ID ||
	    bh_sim_reg_read(s, BH_REG_VERSION) >> 16 != BH_CORE_VERSION >> 16)
		return bh_fail(BH_EDEVICE, "fpga: unknown core id/version");
	uint32_t cfg = bh_sim_reg_read(s, BH_REG_CONFIG);
	be->lanes = cfg & 0xff;
	be->kmax = (cfg >> 8) & 0xff;
	be->max_beats = (cfg >> 16) & 0xff;
	if (!be->lanes || be->lanes > 128 || !be->kmax || !be->max_beats)
		return bh_fail(BH_EDEVICE, "fpga: bad core configuration 0x%08x", cfg);
	be->query_bytes = be->lanes * be->max_beats * 64;
	be->result_off = QUERY_OFF + be->query_bytes;
	be->result_bytes = 64 + be->lanes * ((be->kmax + 7) / 8) * 64;
	if (be->result_off + be->result_bytes > HOST_BYTES)
		return bh_fail(BH_EDEVICE, "fpga: core needs more host memory than the window");
	be->st.lanes = be->lanes;
	be->st.kmax = be->kmax;
	be->st.max_beats = be->max_beats;

	uint64_t ring = BH_SIM_HOST_BASE + RING_OFF;
	bh_sim_reg_write(s, BH_REG_RING_BASE_LO, (uint32_t)ring);
	bh_sim_reg_write(s, BH_REG_RING_BASE_HI, (uint32_t)(ring >> 32));
	bh_sim_reg_write(s, BH_REG_RING_LOG2, RING_LOG2);
	bh_sim_reg_write(s, BH_REG_WATCHDOG, WATCHDOG_CYCLES);
	bh_sim_reg_write(s, BH_REG_IRQ_ENABLE, BH_IRQ_DONE | BH_IRQ_ERROR);
	bh_sim_reg_write(s, BH_REG_CONTROL, BH_CTRL_ENABLE);
	be->head = 0;
	return BH_OK;
}

static int map_core_error(uint32_t code, uint32_t info)
{
	switch (code) {
	case BH_CORE_ERR_DESC:
		return bh_fail(BH_EDEVICE, "fpga: core rejected descriptor (field %u)", info);
	case BH_CORE_ERR_DMA_RANGE:
		return bh_fail(BH_EDEVICE, "fpga: DMA address out of device memory range");
	case BH_CORE_ERR_HOST_BUS:
		return bh_fail(BH_EDEVICE, "fpga: host bus error (core state %u)", info);
	case BH_CORE_ERR_TIMEOUT:
		return bh_fail(BH_ETIMEOUT, "fpga: core watchdog expired (core state %u)", info);
	default:
		return bh_fail(BH_EDEVICE, "fpga: core error code %u", code);
	}
}

/* Queues one descriptor and clocks the device until it completes or fails. */
static int submit(bh_backend *be, const bh_core_desc *d, uint64_t budget)
{
	memcpy(be->host + RING_OFF + (size_t)be->head * 64, d, sizeof *d);
	be->head = (be->head + 1) & ((1u << RING_LOG2) - 1);
	bh_sim_reg_write(be->sim, BH_REG_RING_HEAD, be->head);
	run(be, budget);
	if (!bh_sim_irq(be->sim)) {
		soft_reset(be);
		return bh_fail(BH_ETIMEOUT, "fpga: no completion within %llu cycles",
			       (unsigned long long)budget);
	}
	uint32_t irq = bh_sim_reg_read(be->sim, BH_REG_IRQ_STATUS);
	if (irq & BH_IRQ_ERROR) {
		uint32_t code = bh_sim_reg_read(be->sim, BH_REG_ERR_CODE);
		uint32_t info = bh_sim_reg_read(be->sim, BH_REG_ERR_INFO);
		soft_reset(be);
		return map_core_error(code, info);
	}
	bh_sim_reg_write(be->sim, BH_REG_IRQ_STATUS, irq);
	bh_core_done done;
	memcpy(&done, be->host + be->result_off, sizeof done);
	if (done.magic != BH_DONE_MAGIC || done.tag != d->tag || done.err || done.nq != d->nq)
		return bh_fail(BH_EDEVICE, "fpga: bad completion record");
	be->st.jobs++;
	be->st.job_cycles += done.cycles;
	return BH_OK;
}

/* ---- vtable ------------------------------------------------------------- */

static int fpga_probe(void)
{
	return BH_OK; /* the simulated device is always present */
}

static void fpga_close(bh_backend *be)
{
	if (!be)
		return;
	bh_sim_close(be->sim); /* wipes host and device memory */
	free(be->ids);
	free(be->last);
	pthread_mutex_destroy(&be->lock);
	free(be);
}

static int fpga_open(bh_backend **out)
{
	*out = NULL;
	bh_backend *be = calloc(1, sizeof *be);
	if (!be)
		return BH_ENOMEM;
	pthread_mutex_init(&be->lock, NULL);
	const bh_sim_config cfg = {
		.host_bytes = HOST_BYTES,
		.host_latency = BH_FPGA_HOST_LATENCY,
		.dev_latency = BH_FPGA_DEV_LATENCY,
		.dev_bytes_per_cycle = BH_FPGA_DEV_BYTES_PER_CYCLE,
		.dev_max_reqs = 16,
	};
	int rc = bh_sim_open(&cfg, &be->sim);
	if (!rc) {
		size_t sz;
		be->host = bh_sim_host(be->sim, &sz);
		rc = core_init(be);
	}
	if (!rc) {
		be->last = calloc(be->lanes, sizeof *be->last);
		if (!be->last)
			rc = BH_ENOMEM;
	}
	if (rc) {
		fpga_close(be);
		return rc;
	}
	*out = be;
	return BH_OK;
}

typedef struct row_key {
	uint64_t id;
	size_t idx;
} row_key;

static int cmp_row_key(const void *a, const void *b)
{
	const row_key *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int fpga_load(bh_backend *be, const bh_shard *s)
{
	if (!be || !s)
		return bh_fail(BH_EINVAL, "fpga: no shard");
	size_t dstride = bh_row_stride(s->kernel, s->dim);
	size_t row_bytes = s->kernel == BH_KERNEL_DOT_I8 ? s->dim : s->dim / 8;
	if (!dstride || s->stride < row_bytes || (s->n && (!s->data || !s->ids)))
		return bh_fail(BH_EINVAL, "fpga: kernel %d dim %u stride %zu", (int)s->kernel,
			       s->dim, s->stride);
	if (dstride > (size_t)be->max_beats * 64)
		return bh_fail(BH_EUNSUPPORTED, "fpga: %zu-byte rows (core limit %u)", row_bytes,
			       be->max_beats * 64);
	if (s->n >= BH_CORE_ROW_NONE || s->n > SIZE_MAX / dstride)
		return bh_fail(BH_ETOOBIG, "fpga: %zu rows", s->n);

	pthread_mutex_lock(&be->lock);
	be->loaded = 0;
	free(be->ids);
	be->ids = NULL;
	row_key *keys = s->n ? malloc(s->n * sizeof *keys) : NULL;
	uint64_t *ids = malloc((s->n ? s->n : 1) * sizeof *ids);
	int rc = (s->n && !keys) || !ids ? BH_ENOMEM : bh_sim_dev_alloc(be->sim, s->n * dstride);
	if (rc) {
		free(keys);
		free(ids);
		pthread_mutex_unlock(&be->lock);
		return rc;
	}
	/* Rows go to device memory in id order: the core breaks score ties by
	 * row, the engine by id. */
	for (size_t i = 0; i < s->n; i++)
		keys[i] = (row_key){s->ids[i], i};
	if (s->n)
		qsort(keys, s->n, sizeof *keys, cmp_row_key);
	size_t dsz;
	uint8_t *dev = bh_sim_dev(be->sim, &dsz);
	for (size_t r = 0; r < s->n; r++) {
		memcpy(dev + r * dstride, (const uint8_t *)s->data + keys[r].idx * s->stride, row_bytes);
		ids[r] = keys[r].id;
	}
	free(keys);
	be->ids = ids;
	be->kernel = s->kernel;
	be->dim = s->dim;
	be->row_bytes = row_bytes;
	be->dstride = dstride;
	be->n = s->n;
	be->loaded = 1;
	pthread_mutex_unlock(&be->lock);
	return BH_OK;
}

/* 1 if (sa, ra) comes before (sb, rb) in the engine's order. */
static int core_better(int32_t sa, uint32_t ra, int32_t sb, uint32_t rb)
{
	return sa > sb || (sa == sb && ra < rb);
}

/* Reads one pass of results for m lanes: `c` hits each, appended at `got`. */
static int read_pass(bh_backend *be, uint32_t m, uint32_t kp, uint32_t c, uint32_t got,
		     uint32_t k, bh_hit *out)
{
	uint32_t kw = (kp + 7) / 8;
	for (uint32_t j = 0; j < m; j++) {
		const uint8_t *base = be->host + be->result_off + 64 + (size_t)j * kw * 64;
		for (uint32_t e = 0; e < kp; e++) {
			bh_core_hit h;
			memcpy(&h, base + (size_t)e * 8, sizeof h);
			if (e >= c) {
				if (h.row != BH_CORE_ROW_NONE)
					return bh_fail(BH_EDEVICE, "fpga: lane %u: extra hit %u", j, e);
				continue;
			}
			if (h.row >= be->n)
				return bh_fail(BH_EDEVICE, "fpga: lane %u: row %u of %zu", j, h.row, be->n);
			if ((got || e) && !core_better(be->last[j].score, be->last[j].row, h.score, h.row))
				return bh_fail(BH_EDEVICE, "fpga: lane %u: hits out of order", j);
			be->last[j] = h;
			out[(size_t)j * k + got + e] = (bh_hit){.score = h.score, .pad_ = 0, .id = be->ids[h.row]};
		}
	}
	return BH_OK;
}

/* Scores m <= lanes queries (already in host memory) in ceil(want/kmax)
 * passes. */
static int search_chunk(bh_backend *be, uint32_t m, uint32_t k, bh_hit *out, int *fault)
{
	uint32_t want = be->n < k ? (uint32_t)be->n : k;
	uint32_t got = 0;
	uint64_t beats = (uint64_t)be->n * (be->dstride / 64);
	/* Generous: the core streams one beat per cycle; the watchdog catches
	 * a stall long before this. */
	uint64_t budget = 200000 + 4 * beats;
	do {
		uint32_t kp = want - got > be->kmax ? be->kmax : want - got;
		if (!kp)
			kp = 1; /* empty shard: the device still answers, with no hits */
		uint32_t c = be->n - got < kp ? (uint32_t)(be->n - got) : kp;
		bh_core_desc d = {
			.word0 = BH_DESC_MAGIC << 16 | (got ? BH_DESC_FLAG_AFTER : 0) << 8 | BH_DESC_OP_SEARCH,
			.kernel = (uint32_t)be->kernel,
			.dim = be->dim,
			.stride = (uint32_t)be->dstride,
			.gallery = 0,
			.n = (uint32_t)be->n,
			.nq = m,
			.query = BH_SIM_HOST_BASE + QUERY_OFF,
			.result = BH_SIM_HOST_BASE + be->result_off,
			.after = BH_SIM_HOST_BASE + AFTER_OFF,
			.k = kp,
			.tag = ++be->tag,
		};
		if (got)
			memcpy(be->host + AFTER_OFF, be->last, m * sizeof *be->last);
		switch (*fault) {
		case BH_FPGA_FAULT_DESC:
			d.word0 ^= 0x5a5a0000u;
			break;
		case BH_FPGA_FAULT_DMA_RANGE:
			d.gallery = ((uint64_t)bh_sim_reg_read(be->sim, BH_REG_DEVMEM_BEATS) + 1) * 64;
			break;
		case BH_FPGA_FAULT_TIMEOUT:
			bh_sim_set_stall(be->sim, 1);
			break;
		case BH_FPGA_FAULT_HOST_BUS:
			d.result = BH_SIM_HOST_BASE + HOST_BYTES;
			break;
		default:
			break;
		}
		*fault = BH_FPGA_FAULT_NONE;
		memset(be->host + be->result_off, 0, be->result_bytes);
		int rc = submit(be, &d, budget);
		bh_sim_set_stall(be->sim, 0);
		if (!rc)
			rc = read_pass(be, m, kp, c, got, k, out);
		if (rc)
			return rc;
		got += c;
	} while (got < want);
	return BH_OK;
}

static int fpga_search(bh_backend *be, const bh_queries *q, uint32_t k, bh_hit *out,
		       uint32_t *nout)
{
	if (!be || !q || (q->nq && (!q->data || !out || !nout)))
		return bh_fail(BH_EINVAL, "fpga: bad search arguments");
	if (!be->loaded)
		return bh_fail(BH_EINVAL, "fpga: no shard loaded");
	if (q->nq && q->stride < be->row_bytes)
		return bh_fail(BH_EINVAL, "fpga: query stride %zu < %zu", q->stride, be->row_bytes);
	uint32_t want = be->n < k ? (uint32_t)be->n : k;
	for (size_t j = 0; j < q->nq; j++)
		nout[j] = 0;
	if (!q->nq || !k)
		return BH_OK;

	pthread_mutex_lock(&be->lock);
	int fault = __atomic_exchange_n(&fault_next, BH_FPGA_FAULT_NONE, __ATOMIC_ACQ_REL);
	int rc = BH_OK;
	for (size_t q0 = 0; q0 < q->nq && !rc; q0 += be->lanes) {
		uint32_t m = q->nq - q0 < be->lanes ? (uint32_t)(q->nq - q0) : be->lanes;
		uint8_t *dst = be->host + QUERY_OFF;
		memset(dst, 0, be->query_bytes);
		for (uint32_t j = 0; j < m; j++)
			memcpy(dst + (size_t)j * be->dstride,
			       (const uint8_t *)q->data + (q0 + j) * q->stride, be->row_bytes);
		rc = search_chunk(be, m, k, out + q0 * k, &fault);
		for (uint32_t j = 0; j < m && !rc; j++)
			nout[q0 + j] = want;
	}
	/* The queries are probe data: nothing of them stays in the window. */
	bh_wipe(be->host + AFTER_OFF, HOST_BYTES - AFTER_OFF);
	be->st.sim_cycles = bh_sim_cycles(be->sim);
	pthread_mutex_unlock(&be->lock);
	if (rc)
		for (size_t j = 0; j < q->nq; j++)
			nout[j] = 0;
	return rc;
}

void bh_fpga_get_stats(const bh_backend *be, bh_fpga_stats *st)
{
	bh_backend *b = (bh_backend *)be;
	pthread_mutex_lock(&b->lock);
	*st = b->st;
	st->sim_cycles = bh_sim_cycles(b->sim);
	st->records = (uint64_t)bh_sim_reg_read(b->sim, BH_REG_REC_HI) << 32 |
		      bh_sim_reg_read(b->sim, BH_REG_REC_LO);
	st->stall_cycles = bh_sim_reg_read(b->sim, BH_REG_STALL_CYC);
	pthread_mutex_unlock(&b->lock);
}

static const bh_backend_ops fpga_ops = {
	.name = "fpga",
	.probe = fpga_probe,
	.open = fpga_open,
	.load = fpga_load,
	.search = fpga_search,
	.close = fpga_close,
};

__attribute__((constructor)) static void fpga_register(void)
{
	(void)bh_backend_register(&fpga_ops);
}
