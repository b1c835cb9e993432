/* cmd_bench_fpga.c - `biohub bench fpga`: throughput of the simulated
 * matching core, modelled at its stated clock and memory bandwidth, against
 * the AVX2 backend on one core, same run, same data, same queries.
 *
 * For each workload (face 128 x int8, finger 256-bit code, palm 3072-bit
 * code) it builds a random gallery of --n records and one batch of `lanes`
 * queries (the core scores one query per lane against every streamed
 * record), then:
 *   - runs the batch on the fpga backend once; the core reports the cycles
 *     of each descriptor (fetch to completion write); modelled time =
 *     cycles / clock;
 *   - runs the same batch on the avx2 backend (one thread) repeatedly for
 *     --seconds, timed in thread CPU seconds (steadier than wall time on a
 *     shared machine);
 *   - compares the two top-K lists (bit_exact).
 * A "record" below is one query-record comparison (records = n x queries),
 * the unit both sides are measured in.  Figures from a simulation: the
 * modelled rate assumes the stated clock is met and the stated device
 * memory bandwidth/latency (sim/bh_fpga.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_cli.h"
#include "bh_engine.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_template.h"
#include "bh_time.h"

#ifdef BH_HAVE_FPGA_SIM
#include "bh_fpga.h"

typedef struct workload {
	const char *name;
	bh_kernel kernel;
	uint32_t dim;
} workload;

static const workload workloads[] = {
	{"face", BH_KERNEL_DOT_I8, 128},
	{"finger", BH_KERNEL_HAMMING, 256},
	{"palm", BH_KERNEL_HAMMING, BH_PALM_CODE_BITS},
};

typedef struct result {
	const workload *w;
	size_t n, nq;
	uint32_t k;
	int bit_exact;
	bh_fpga_stats st;
	double sim_s;
	double avx2_rate;  /* comparisons per CPU second */
	const char *anchor; /* backend used as anchor */
} result;

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int same_hits(const bh_hit *a, const bh_hit *b, const uint32_t *na, const uint32_t *nb,
		     size_t nq, uint32_t k)
{
	for (size_t j = 0; j < nq; j++) {
		if (na[j] != nb[j])
			return 0;
		for (uint32_t i = 0; i < na[j]; i++)
			if (a[j * k + i].score != b[j * k + i].score || a[j * k + i].id != b[j * k + i].id)
				return 0;
	}
	return 1;
}

/* Times `ops` on one thread until `secs` CPU seconds have passed. */
static int time_cpu(const bh_backend_ops *ops, const bh_shard *s, const bh_queries *q, uint32_t k,
		    bh_hit *out, uint32_t *nout, double secs, double *rate)
{
	bh_backend *be;
	int rc = ops->open(&be);
	if (rc)
		return rc;
	if ((rc = ops->load(be, s))) {
		ops->close(be);
		return rc;
	}
	double t0 = thread_cpu_s(), t;
	uint64_t calls = 0;
	do {
		if ((rc = ops->search(be, q, k, out, nout)))
			break;
		calls++;
		t = thread_cpu_s() - t0;
	} while (t < secs);
	ops->close(be);
	if (!rc)
		*rate = t > 0 ? (double)calls * (double)s->n * (double)q->nq / t : 0;
	return rc;
}

static int run_one(const workload *w, size_t n, uint32_t k, double secs, result *r)
{
	const bh_backend_ops *fpga = bh_backend_find("fpga");
	const bh_backend_ops *cpu = bh_backend_find("avx2");
	r->anchor = "avx2";
	if (!cpu || cpu->probe() != BH_OK) {
		cpu = bh_backend_find("scalar");
		r->anchor = "scalar";
	}
	if (!fpga || !cpu)
		return bh_fail(BH_ENOTFOUND, "bench fpga: backend missing");
	bh_backend *be;
	int rc = fpga->open(&be);
	if (rc)
		return rc;
	bh_fpga_stats st0;
	bh_fpga_get_stats(be, &st0);
	size_t nq = st0.lanes;
	size_t stride = bh_row_stride(w->kernel, w->dim);
	uint8_t *data = bh_aligned_zalloc(n * stride), *qs = bh_aligned_zalloc(nq * stride);
	uint64_t *ids = malloc(n * sizeof *ids);
	bh_hit *h1 = calloc(nq * k, sizeof *h1), *h2 = calloc(nq * k, sizeof *h2);
	uint32_t *n1 = calloc(nq, sizeof *n1), *n2 = calloc(nq, sizeof *n2);
	if (!data || !qs || !ids || !h1 || !h2 || !n1 || !n2) {
		rc = BH_ENOMEM;
		goto out;
	}
	size_t rb = w->kernel == BH_KERNEL_DOT_I8 ? w->dim : w->dim / 8;
	for (size_t i = 0; i < n; i++) {
		for (size_t b = 0; b < rb; b++)
			data[i * stride + b] = (uint8_t)rnd();
		ids[i] = i;
	}
	for (size_t i = 0; i < nq * stride; i++)
		qs[i] = (i % stride) < rb ? (uint8_t)rnd() : 0;
	bh_shard s = {w->kernel, w->dim, stride, n, data, ids};
	bh_queries q = {nq, stride, qs};

	if ((rc = fpga->load(be, &s)))
		goto out;
	if ((rc = fpga->search(be, &q, k, h1, n1)))
		goto out;
	bh_fpga_get_stats(be, &r->st);
	r->st.jobs -= st0.jobs;
	r->st.job_cycles -= st0.job_cycles;
	r->st.records -= st0.records;
	r->st.sim_cycles -= st0.sim_cycles;
	r->st.sim_ns -= st0.sim_ns;
	if ((rc = time_cpu(cpu, &s, &q, k, h2, n2, secs, &r->avx2_rate)))
		goto out;
	r->w = w;
	r->n = n;
	r->nq = nq;
	r->k = k;
	r->bit_exact = same_hits(h1, h2, n1, n2, nq, k);
out:
	fpga->close(be);
	bh_aligned_free(data);
	bh_wipe_aligned_free(qs, nq * stride);
	free(ids);
	free(h1);
	free(h2);
	free(n1);
	free(n2);
	return rc;
}

static double modeled_rate(const result *r)
{
	return r->st.job_cycles ? (double)(r->n * r->nq) * BH_FPGA_CLOCK_MHZ * 1e6 /
					  (double)r->st.job_cycles
				: 0;
}

static void print_json(bh_json *j, const result *r)
{
	double recs = (double)(r->n * r->nq), mod = modeled_rate(r);
	bh_json_obj(j, NULL);
	bh_json_str(j, "workload", r->w->name);
	bh_json_str(j, "kernel", r->w->kernel == BH_KERNEL_DOT_I8 ? "dot_i8" : "hamming");
	bh_json_uint(j, "dim", r->w->dim);
	bh_json_uint(j, "gallery", r->n);
	bh_json_uint(j, "queries", r->nq);
	bh_json_uint(j, "k", r->k);
	bh_json_bool(j, "bit_exact", r->bit_exact);
	bh_json_uint(j, "lanes", r->st.lanes);
	bh_json_num(j, "clock_mhz", BH_FPGA_CLOCK_MHZ);
	bh_json_num(j, "devmem_gb_per_s", BH_FPGA_DEV_BYTES_PER_CYCLE * BH_FPGA_CLOCK_MHZ / 1e3);
	bh_json_uint(j, "cycles", r->st.job_cycles);
	bh_json_uint(j, "descriptors", r->st.jobs);
	bh_json_num(j, "records", recs);
	bh_json_num(j, "cycles_per_record", recs > 0 ? (double)r->st.job_cycles / recs : 0);
	bh_json_num(j, "modeled_records_per_s", mod);
	bh_json_str(j, "anchor", r->anchor);
	bh_json_num(j, "avx2_records_per_s", r->avx2_rate);
	bh_json_num(j, "ratio_vs_avx2", r->avx2_rate > 0 ? mod / r->avx2_rate : 0);
	bh_json_num(j, "sim_cycles_per_s",
		    r->st.sim_ns ? (double)r->st.sim_cycles * 1e9 / (double)r->st.sim_ns : 0);
	bh_json_end(j);
}

static void print_human(const result *r)
{
	double recs = (double)(r->n * r->nq), mod = modeled_rate(r);
	printf("%-7s n %7zu x %2zu queries  %s  cycles %9llu  %.4f cyc/rec  fpga %.3g rec/s  "
	       "%s %.3g rec/s  ratio %.1f  sim %.3g cyc/s\n",
	       r->w->name, r->n, r->nq, r->bit_exact ? "bit-exact" : "MISMATCH",
	       (unsigned long long)r->st.job_cycles, recs > 0 ? r->st.job_cycles / recs : 0, mod,
	       r->anchor, r->avx2_rate, r->avx2_rate > 0 ? mod / r->avx2_rate : 0,
	       r->st.sim_ns ? (double)r->st.sim_cycles * 1e9 / (double)r->st.sim_ns : 0);
}

int cmd_bench_fpga(int argc, char **argv)
{
	int json = 0;
	size_t n = 50000;
	uint32_t k = 10;
	double secs = 0.5;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--n") && v && (n = strtoull(v, NULL, 10)) > 0 && ++i)
			;
		else if (!strcmp(a, "--k") && v && (k = (uint32_t)atoi(v)) > 0 && ++i)
			;
		else if (!strcmp(a, "--seconds") && v && (secs = atof(v)) > 0 && ++i)
			;
		else if (!strcmp(a, "--workload") && v && ++i)
			only = v;
		else {
			fprintf(stderr, "usage: biohub bench fpga [--json] [--n N] [--k K] [--seconds S]\n"
					"                         [--workload face|finger|palm]\n");
			return 2;
		}
	}
	result res[3];
	int nres = 0, all_exact = 1;
	for (unsigned i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
		if (only && strcmp(only, workloads[i].name))
			continue;
		memset(&res[nres], 0, sizeof res[nres]);
		int rc = run_one(&workloads[i], n, k, secs, &res[nres]);
		if (rc)
			return bh_cli_error("bench fpga", rc);
		all_exact &= res[nres].bit_exact;
		if (!json)
			print_human(&res[nres]);
		nres++;
	}
	if (!nres) {
		fprintf(stderr, "biohub bench fpga: unknown workload '%s'\n", only);
		return 2;
	}
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "bench", "fpga");
		bh_json_bool(&j, "bit_exact", all_exact);
		bh_json_str(&j, "note", "modelled at the stated clock and device memory bandwidth; "
					"avx2 on one core (thread CPU time); shared machine, noisy");
		bh_json_arr(&j, "workloads");
		for (int i = 0; i < nres; i++)
			print_json(&j, &res[i]);
		bh_json_end(&j);
		bh_json_end(&j);
		bh_json_newline(&j);
	}
	return all_exact ? 0 : 1;
}

#else

int cmd_bench_fpga(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "biohub bench fpga: built without the Verilator model (-Dfpga_sim)\n");
	return 1;
}

#endif
