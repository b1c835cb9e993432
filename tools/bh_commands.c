/* bh_commands.c - the sub-command tables of `biohub` (see bh_cli.h).
 * Each module adds its commands here, one line each. */
#include <stddef.h>

#include "bh_cli.h"

/* ---- declarations (one per command, defined in tools/cmd_*.c) ---- */

static int cmd_bench(int argc, char **argv);
static int cmd_eval(int argc, char **argv);
int cmd_eval_finger(int argc, char **argv);
int cmd_bench_extract(int argc, char **argv);
int cmd_bench_finger(int argc, char **argv);
int cmd_gallery(int argc, char **argv);
int cmd_search(int argc, char **argv);
int gallery_enroll(int argc, char **argv); /* tools/cmd_gallery_enroll.c */
int cmd_probe(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_bench_dataplane(int argc, char **argv);
int cmd_eval_face(int argc, char **argv);
int cmd_eval_palm(int argc, char **argv);
int cmd_eval_search(int argc, char **argv);
int cmd_an2k(int argc, char **argv);
int cmd_minutiae(int argc, char **argv);
int cmd_bench_face(int argc, char **argv);
int cmd_bench_engine(int argc, char **argv);
int cmd_bench_fpga(int argc, char **argv);
int cmd_bench_search(int argc, char **argv);

const bh_cmd bh_bench_commands[] = {
	{"extract", cmd_bench_extract, "fingerprint minutiae/template extraction ms per image (NBIS literature anchor)"},
	{"finger", cmd_bench_finger, "MCC comparisons/s vs naive float MCC; finger searches/s on a 1M-code gallery"},
	{"dataplane", cmd_bench_dataplane, "biohubd rx->auth->reply pps vs dpdk-testpmd on the same vdev"},
	{"engine", cmd_bench_engine, "1:N engine queries/s per backend vs FAISS and the memory roofline"},
	{"face", cmd_bench_face, "face pipeline ms per stage and face searches/s"},
	{"fpga", cmd_bench_fpga, "simulated matching core: modelled records/s vs avx2 on one core"},
	{"search", cmd_bench_search, "search service on a gallery file: searches/s vs fetches through one shared handle"},
	{NULL, NULL, NULL},
};

const bh_cmd bh_eval_commands[] = {
	{"finger", cmd_eval_finger, "fingerprint EER/FMR100/FMR1000 on an FVC-style folder"},
	{"face", cmd_eval_face, "face verification accuracy on a pairs file"},
	{"search", cmd_eval_search, "1:N rank-1/rank-10 through the search service on a probe list"},
	{"palm", cmd_eval_palm, "palm ROI texture code EER/FMR100/FMR1000 on a folder per palm"},
	{NULL, NULL, NULL},
};

const bh_cmd bh_commands[] = {
	{"bench", cmd_bench, "benchmarks (engine, extract, finger, face, fpga, dataplane, search)"},
	{"eval", cmd_eval, "accuracy on real data (finger, palm, face)"},
	{"an2k", cmd_an2k, "list the records, images and minutiae of an ANSI/NIST-ITL file"},
	{"minutiae", cmd_minutiae, "the minutiae of a fingerprint image; --fmr writes them as ISO 19794-2"},
	{"gallery", cmd_gallery, "gallery store: create, enroll, list, show, delete, stats, check, synth"},
	{"enroll", gallery_enroll, "enrol one subject from images, ANSI/NIST and ISO/INCITS files (= gallery enroll)"},
	{"search", cmd_search, "search one probe image against a gallery, in process"},
	{"probe", cmd_probe, "send a probe image to biohubd over BHP/1 (also --health, --load)"},
	{"stats", cmd_stats, "biohubd counters and search latency histogram"},
	{NULL, NULL, NULL},
};

static int cmd_bench(int argc, char **argv)
{
	return bh_cli_dispatch("biohub bench", bh_bench_commands, argc, argv);
}

static int cmd_eval(int argc, char **argv)
{
	return bh_cli_dispatch("biohub eval", bh_eval_commands, argc, argv);
}
