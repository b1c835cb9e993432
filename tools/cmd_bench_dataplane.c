/*
 * cmd_bench_dataplane.c - `biohub bench dataplane [--json] [--seconds S]
 *                          [--gallery G [--searches N] [--depth D] [--workers W]]`
 *
 * Part 1, packet path (same vdev, same number of polling lcores = 1):
 *   ours:   biohubd on net_pcap (rx_pcap of 1024 sealed BHP/1 health requests,
 *           infinite_rx, tx dropped by the PMD) for S seconds: every frame is
 *           parsed (Ethernet/IPv4/UDP/BHP), authenticated (AES-256-GCM open),
 *           answered (health message sealed, Ethernet/IPv4/UDP built with
 *           software checksums) and transmitted.  pps = answers sent / s.
 *           The pcap loop replays the same 1024 frames, so the replay
 *           window is switched off for this run only (config `replay = off`).
 *   anchor: dpdk-testpmd io forwarding on the same vdev and pcap, one
 *           forwarding lcore, for S seconds.  testpmd_pps = median of its
 *           per-second Tx-pps samples (start-up excluded).
 *   ratio_vs_testpmd = pps / testpmd_pps.
 * Part 1b, the same over net_memif (JSON object "memif"; run_memif()): the
 *   server under test on CPU 0 (biohubd, then testpmd io forwarding), and
 *   one generator for both, testpmd on CPU 1 feeding the pcap's requests
 *   into memif and counting the answers that come back.
 * Part 2 (with --gallery, needs root): biohubd on af_packet in two network
 *   namespaces (scripts/netns-up) and `biohub probe --load` with real face
 *   and finger images: searches/s and end-to-end latency p50/p99, biohubd
 *   with W search workers (default 1).  With
 *   --depth D, biohubd is started a second time with rerank_depth = D and
 *   the finger searches are run again (JSON "finger_depth"): the cost of a
 *   deeper re-rank end to end, SQLite reads of the full templates included,
 *   with the shipped depth's run on the same gallery and probes as anchor.
 * The machine is shared: figures are noisy; runs are kept short.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"
#include "bhp.h"
#include "dp_net.h"

#define N_FRAMES 1024

typedef struct bench_env {
	char dir[64];     /* temp dir */
	char biohubd[PATH_MAX + 32], biohub[PATH_MAX], src[PATH_MAX];
	unsigned seconds;
	unsigned workers; /* biohubd search workers in part 2 */
} bench_env;

/* biohubd sits next to the `biohub` binary's build dir: <build>/dataplane/. */
static int find_binaries(bench_env *e)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return bh_fail(BH_EIO, "readlink /proc/self/exe");
	self[n] = 0;
	snprintf(e->biohub, sizeof(e->biohub), "%s", self);
	char *slash = strrchr(self, '/');
	*slash = 0;
	snprintf(e->biohubd, sizeof(e->biohubd), "%s/../dataplane/biohubd", self);
	if (access(e->biohubd, X_OK) != 0)
		snprintf(e->biohubd, sizeof(e->biohubd), "biohubd");
	snprintf(e->src, sizeof(e->src), "%s", BH_SOURCE_ROOT);
	return BH_OK;
}

static void put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, f);
}

/* Writes the key file and a pcap of N_FRAMES sealed health requests. */
static int write_inputs(const bench_env *e)
{
	uint8_t key[BHP_KEY_LEN];
	char path[128];
	FILE *f;
	for (unsigned i = 0; i < BHP_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 37 + 11); /* bench-only key, not a secret */
	snprintf(path, sizeof(path), "%s/keys", e->dir);
	f = fopen(path, "w");
	if (!f)
		return bh_fail(BH_EIO, "%s", path);
	fchmod(fileno(f), 0600);
	fprintf(f, "1 ");
	for (unsigned i = 0; i < BHP_KEY_LEN; i++)
		fprintf(f, "%02x", key[i]);
	fprintf(f, " bench\n");
	fclose(f);
	bhp_crypto *c;
	int rc = bhp_crypto_new(key, &c);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/health.pcap", e->dir);
	f = fopen(path, "wb");
	if (!f) {
		bhp_crypto_free(c);
		return bh_fail(BH_EIO, "%s", path);
	}
	put_le32(f, 0xa1b2c3d4); /* pcap global header, LINKTYPE_ETHERNET */
	put_le32(f, 0x00040002);
	put_le32(f, 0);
	put_le32(f, 0);
	put_le32(f, 65535);
	put_le32(f, 1);
	bhp_sender s;
	bhp_sender_init(&s, 1, c);
	dp_local client = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0x0a630002, .port = 40000};
	dp_peer server = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0x0a630001, .port = 7700};
	for (unsigned i = 0; i < N_FRAMES && rc == BH_OK; i++) {
		uint8_t pkt[DP_HDRS + BHP_FRAME_MAX];
		size_t fl = 0;
		rc = bhp_sender_frame(&s, BHP_T_HEALTH, i + 1, NULL, 0, 0, pkt + DP_HDRS, &fl);
		dp_build_udp(pkt, &client, &server, fl, (uint16_t)i);
		put_le32(f, i);
		put_le32(f, 0);
		put_le32(f, (uint32_t)(DP_HDRS + fl));
		put_le32(f, (uint32_t)(DP_HDRS + fl));
		fwrite(pkt, 1, DP_HDRS + fl, f);
	}
	fclose(f);
	bhp_crypto_free(c);
	bh_wipe(key, sizeof(key));
	return rc;
}

/* Runs cmd through the shell, returns its stdout (malloc'd) or NULL. */
static char *run_capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	size_t got;
	while (out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
		n += got;
		if (n + 1 == cap) {
			char *bigger = realloc(out, cap *= 2);
			if (!bigger) {
				free(out);
				out = NULL;
			}
			out = bigger;
		}
	}
	pclose(p);
	if (out)
		out[n] = 0;
	return out;
}

static double json_num(const char *s, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *p = strstr(s, pat);
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

static int run_ours(const bench_env *e, double *pps)
{
	char conf[128], cmd[PATH_MAX * 3];
	snprintf(conf, sizeof(conf), "%s/bench.conf", e->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return bh_fail(BH_EIO, "%s", conf);
	fprintf(f, "port = net_pcap0,rx_pcap=%s/health.pcap,infinite_rx=1\nip = 10.99.0.1\n"
		   "keys = %s/keys\nreplay = off\nrun_seconds = %u\nname = bench\n",
		e->dir, e->dir, e->seconds);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' --config '%s' 2>'%s/biohubd.log'", e->biohubd, conf, e->dir);
	char *out = run_capture(cmd);
	double secs = out ? json_num(out, "seconds") : -1;
	double sent = out ? json_num(out, "frames_out") : -1;
	double tag = out ? json_num(out, "drop_tag") : -1;
	free(out);
	if (secs <= 0 || sent < 0)
		return bh_fail(BH_EIO, "biohubd bench run failed (see %s/biohubd.log)", e->dir);
	if (tag > 0)
		return bh_fail(BH_ECRYPTO, "bench frames failed authentication");
	*pps = sent / secs;
	return BH_OK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of the per-second "Rx-pps"/"Tx-pps" samples testpmd printed for
 * one port (its "NIC statistics for port N" blocks), the first sample
 * (start-up) and idle ones dropped; 0 when there are none. */
static double port_pps_median(const char *out, unsigned port, const char *what)
{
	char hdr[48];
	snprintf(hdr, sizeof(hdr), "NIC statistics for port %u ", port);
	double v[128];
	unsigned n = 0;
	for (const char *p = out; (p = strstr(p, hdr)) && n < 128; p += strlen(hdr)) {
		const char *next = strstr(p + strlen(hdr), "NIC statistics for port ");
		const char *q = strstr(p, what);
		if (q && (!next || q < next))
			v[n++] = strtod(q + strlen(what), NULL);
	}
	unsigned k = 0;
	for (unsigned i = 1; i < n; i++)
		if (v[i] > 0)
			v[k++] = v[i];
	if (k == 0)
		return 0;
	qsort(v, k, sizeof(double), cmp_double);
	return v[k / 2];
}

/* Shell text that runs the dpdk-testpmd command line `tp` (with its
 * redirections; --stats-period 1) in the background, stdout line-buffered
 * into `out`, stops it with SIGINT once it has printed `blocks` statistics
 * blocks (or after 60 s, or when it exits by itself) and waits for it; $st
 * is then its exit status.  Counting blocks rather than running a fixed
 * time keeps the number of samples independent of how long EAL start-up
 * takes on a loaded machine (with a fixed S + 2 s, a slow start left one
 * sample, which is dropped, and the run measured nothing).  `out` is
 * created before testpmd starts: the background job opens its redirection
 * only once it runs, and on a loaded machine the first grep came earlier,
 * found no file, ended the loop and stopped testpmd before it had printed
 * anything. */
static void testpmd_sampled(char *buf, size_t n, const char *tp, const char *out,
			    unsigned blocks)
{
	snprintf(buf, n,
		 ": >'%s'; stdbuf -oL %s >'%s' & tp=$!; i=0; "
		 "while [ $i -lt 600 ] && kill -0 $tp 2>/dev/null && "
		 "[ \"$(grep -c 'Port statistics' '%s')\" -lt %u ]; do sleep 0.1; i=$((i+1)); done; "
		 "kill -INT $tp 2>/dev/null; wait $tp; st=$?",
		 out, tp, out, out, blocks);
}

/* testpmd: io forwarding, one forwarding lcore, port statistics every
 * second (--stats-period 1), stopped after S + 2 of them.  testpmd_pps is
 * the median of its per-second Tx-pps samples (the first sample, which
 * includes start-up, is dropped), so EAL start-up and pcap loading do not
 * count against it. */
static int run_testpmd(const bench_env *e, double *pps)
{
	char tp[PATH_MAX * 2], out[128], run[PATH_MAX * 3], cmd[PATH_MAX * 4];
	snprintf(tp, sizeof(tp),
		 "dpdk-testpmd -l 0-1 --no-huge -m 256 --no-pci --no-shconf "
		 "--no-telemetry --log-level='*:warning' "
		 "--vdev net_pcap0,rx_pcap=%s/health.pcap,infinite_rx=1 -- --forward-mode=io "
		 "--port-topology=loop --nb-cores=1 --total-num-mbufs=32768 --auto-start "
		 "--stats-period=1 </dev/null 2>'%s/testpmd.err'",
		 e->dir, e->dir);
	snprintf(out, sizeof(out), "%s/testpmd.out", e->dir);
	testpmd_sampled(run, sizeof(run), tp, out, e->seconds + 2);
	snprintf(cmd, sizeof(cmd), "%s; cat '%s'", run, out);
	char *text = run_capture(cmd);
	if (!text)
		return bh_fail(BH_EIO, "dpdk-testpmd did not run");
	*pps = port_pps_median(text, 0, "Tx-pps:");
	free(text);
	if (*pps <= 0)
		return bh_fail(BH_EIO, "dpdk-testpmd output not understood (see %s/testpmd.out, .err)",
			       e->dir);
	return BH_OK;
}

/* ---- part 1b: the same health path over net_memif ---- */

/* One memif run.  The device under test, on CPU 0, is the memif server:
 * biohubd (ours = 1, same config as the pcap run) or dpdk-testpmd io
 * forwarding every frame straight back (the anchor).  The generator, on
 * CPU 1, is dpdk-testpmd as the memif client, io forwarding between a
 * net_pcap port replaying the health requests (infinite_rx) and the memif
 * port: requests go in as fast as memif takes them, and the answers that
 * come back are counted (the memif port's Rx-pps, median of its
 * per-second samples) and dropped by the pcap port.  Both runs use the same
 * generator, so the ratio compares the two servers, not two clients. */
static int run_memif(const bench_env *e, int ours, double *pps, double *requests)
{
	char conf[128], sock[128], gen_out[128], dut[PATH_MAX * 2], gen[PATH_MAX * 2];
	char run[PATH_MAX * 3], cmd[PATH_MAX * 6];
	const char *tag = ours ? "biohubd" : "testpmd";
	const char *eal = "--no-huge -m 256 --no-pci --no-shconf --no-telemetry "
			  "--log-level='*:warning'";
	/* Each run has its own socket file, so a server that died without
	 * removing it cannot make the next run's server fail to bind. */
	snprintf(sock, sizeof(sock), "%s/memif-%s.sock", e->dir, tag);
	snprintf(conf, sizeof(conf), "%s/memif.conf", e->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return bh_fail(BH_EIO, "%s", conf);
	fprintf(f, "port = net_memif0,role=server,socket=%s,socket-abstract=no\nip = 10.99.0.1\n"
		   "keys = %s/keys\nreplay = off\neal_extra = --file-prefix bhbench-dut\n"
		   "name = bench\n",
		sock, e->dir);
	fclose(f);
	if (ours)
		snprintf(dut, sizeof(dut), "'%s' --config '%s'", e->biohubd, conf);
	else
		snprintf(dut, sizeof(dut),
			 "dpdk-testpmd --lcores 0@0,1@0 %s --file-prefix bhbench-dut "
			 "--vdev net_memif0,role=server,socket=%s,socket-abstract=no -- "
			 "--forward-mode=io --port-topology=loop --nb-cores=1 "
			 "--total-num-mbufs=32768 --auto-start --stats-period=1",
			 eal, sock);
	snprintf(gen, sizeof(gen),
		 "dpdk-testpmd --lcores 0@1,1@1 %s --file-prefix bhbench-gen "
		 "--vdev net_pcap0,rx_pcap=%s/health.pcap,infinite_rx=1 "
		 "--vdev net_memif0,role=client,socket=%s,socket-abstract=no -- "
		 "--forward-mode=io --nb-cores=1 --total-num-mbufs=32768 --auto-start "
		 "--stats-period=1 </dev/null 2>'%s/memif-%s-gen.err'",
		 eal, e->dir, sock, e->dir, tag);
	snprintf(gen_out, sizeof(gen_out), "%s/memif-%s-gen.out", e->dir, tag);
	testpmd_sampled(run, sizeof(run), gen, gen_out, e->seconds + 2);
	/* The server first (its socket file appears once it listens); the
	 * generator connects, takes its samples and stops; then the server is
	 * stopped the same way.  The last line says whether the server was
	 * still up when the generator started and how both exited. */
	snprintf(cmd, sizeof(cmd),
		 "rm -f '%s'; %s </dev/null >'%s/memif-%s.out' 2>'%s/memif-%s.log' & dut=$!; "
		 "for i in $(seq 100); do [ -S '%s' ] && break; sleep 0.1; done; "
		 "kill -0 $dut 2>/dev/null && up=1 || up=0; %s; gst=$st; "
		 "kill -INT $dut 2>/dev/null; wait $dut; st=$?; "
		 "cat '%s'; echo \"dut up=$up exit=$st gen=$gst\"",
		 sock, dut, e->dir, tag, e->dir, tag, sock, run, gen_out);
	char *out = run_capture(cmd);
	if (!out)
		return bh_fail(BH_EIO, "memif run did not start");
	const char *last = strstr(out, "dut up=");
	int up = 0, st = -1, gst = -1;
	if (!last || sscanf(last, "dut up=%d exit=%d gen=%d", &up, &st, &gst) != 3)
		up = 0;
	*pps = port_pps_median(out, 1, "Rx-pps:");
	*requests = port_pps_median(out, 1, "Tx-pps:");
	free(out);
	if (!up)
		return bh_fail(BH_EIO, "memif %s run: the server was not up when the generator "
				       "started (see %s/memif-%s.log)", tag, e->dir, tag);
	if (ours && st != 0)
		return bh_fail(BH_EIO, "memif biohubd run: biohubd exited with status %d "
				       "(see %s/memif-biohubd.log)", st, e->dir);
	if (*pps <= 0)
		return bh_fail(BH_EIO, "memif %s run: no answers came back (see %s/memif-%s*)",
			       tag, e->dir, tag);
	if (gst != 0 || st != 0) /* after its samples: the figures stand */
		fprintf(stderr, "bench dataplane: memif %s run: dpdk-testpmd exited with status "
				"%d (generator) / %d (server) after stopping\n", tag, gst, st);
	return BH_OK;
}

/* ---- part 2: end-to-end searches through biohubd on af_packet ---- */

typedef struct search_fig {
	const char *modality;
	double per_s, p50_ms, p99_ms;
	unsigned ok, sent;
	int done;
} search_fig;

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* Runs `biohub probe --load` for one modality inside the client netns. */
static void load_one(const bench_env *e, search_fig *f, const char *images, unsigned n)
{
	char cmd[PATH_MAX * 5];
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec bhbenchc '%s' probe --agency 1 --key '%s/keys' --server "
		 "10.77.8.1:7700 --modality %s --load %u --window 2 --json --timeout 60000 %s "
		 "2>>'%s/load.err'",
		 e->biohub, e->dir, f->modality, n, images, e->dir);
	char *out = run_capture(cmd);
	if (out && json_num(out, "sent") > 0) {
		f->sent = (unsigned)json_num(out, "sent");
		f->ok = (unsigned)json_num(out, "ok");
		f->per_s = json_num(out, "searches_per_s");
		f->p50_ms = json_num(out, "p50_us") / 1e3;
		f->p99_ms = json_num(out, "p99_us") / 1e3;
		f->done = 1;
	}
	free(out);
}

/* biohubd on `gallery` (rerank_depth = depth unless 0), then fig[0..nfig)
 * loaded one modality after the other. */
static int run_searches(const bench_env *e, const char *gallery, unsigned n, uint32_t depth,
			search_fig *fig, int nfig)
{
	if (geteuid() != 0)
		return bh_fail(BH_EINVAL, "--gallery needs root (network namespaces)");
	char conf[128];
	snprintf(conf, sizeof(conf), "%s/search.conf", e->dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		return bh_fail(BH_EIO, "%s", conf);
	fprintf(f, "port = net_af_packet0,iface=bhbenchd0\nip = 10.77.8.1\nkeys = %s/keys\n"
		   "gallery = %s\nworkers = %u\nname = bench-search\n", e->dir, gallery, e->workers);
	if (depth)
		fprintf(f, "rerank_depth = %u\n", depth);
	fclose(f);
	sh("bash '%s/scripts/netns-down' bhbench; bash '%s/scripts/netns-up' bhbench 10.77.8",
	   e->src, e->src);
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec bhbenchd '%s' --config '%s' >/dev/null 2>'%s/search-biohubd.log' & echo $!",
		 e->biohubd, conf, e->dir);
	char *pid_s = run_capture(cmd);
	long pid = pid_s ? strtol(pid_s, NULL, 10) : 0;
	free(pid_s);
	int up = 0;
	for (int i = 0; pid > 0 && i < 100 && !up; i++) {
		snprintf(cmd, sizeof(cmd),
			 "ip netns exec bhbenchc '%s' probe --agency 1 --key '%s/keys' --server "
			 "10.77.8.1:7700 --health --timeout 200 >/dev/null 2>&1",
			 e->biohub, e->dir);
		up = system(cmd) == 0;
	}
	for (int i = 0; up && i < nfig; i++) {
		const char *data = BH_SHARED_DATA_DIR;
		char imgs[PATH_MAX * 2];
		if (strcmp(fig[i].modality, "face") == 0)
			snprintf(imgs, sizeof(imgs), "%s/face/lfw_dev/*/*_0002.jpg", data);
		else
			snprintf(imgs, sizeof(imgs), "%s/fingerprint/fvc2002/DB1_B/1*_2.pgm", data);
		load_one(e, &fig[i], imgs, n);
	}
	if (pid > 0)
		kill((pid_t)pid, SIGTERM);
	usleep(500000);
	sh("bash '%s/scripts/netns-down' bhbench%s", e->src, "");
	return up ? BH_OK : bh_fail(BH_EIO, "biohubd with the gallery did not come up "
					    "(see %s/search-biohubd.log)", e->dir);
}

static int usage(void)
{
	fprintf(stderr, "usage: biohub bench dataplane [--json] [--seconds S] [--gallery G "
			"[--searches N] [--depth D] [--workers W]]\n");
	return 2;
}

int cmd_bench_dataplane(int argc, char **argv)
{
	bench_env e = {.seconds = 3, .workers = 1};
	int json = 0, ch;
	const char *gallery = NULL;
	unsigned searches = 40;
	unsigned depth = 0;
	/* face and finger at the configured depth, then finger at --depth */
	search_fig fig[3] = {{.modality = "face"}, {.modality = "finger"}, {.modality = "finger"}};
	static const struct option lo[] = {{"json", no_argument, NULL, 'j'},
					   {"seconds", required_argument, NULL, 's'},
					   {"gallery", required_argument, NULL, 'g'},
					   {"searches", required_argument, NULL, 'n'},
					   {"depth", required_argument, NULL, 'd'},
					   {"workers", required_argument, NULL, 'w'},
					   {NULL, 0, NULL, 0}};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if (ch == 's')
			e.seconds = (unsigned)strtoul(optarg, NULL, 10);
		else if (ch == 'g')
			gallery = optarg;
		else if (ch == 'n')
			searches = (unsigned)strtoul(optarg, NULL, 10);
		else if (ch == 'd')
			depth = (unsigned)strtoul(optarg, NULL, 10);
		else if (ch == 'w')
			e.workers = (unsigned)strtoul(optarg, NULL, 10);
		else
			return usage();
	}
	if (optind != argc || e.seconds < 1 || e.seconds > 60 || depth > 65536 ||
	    (depth && !gallery) || e.workers < 1 || e.workers > 64)
		return usage();
	snprintf(e.dir, sizeof(e.dir), "/tmp/bh-bench-dp.XXXXXX");
	if (!mkdtemp(e.dir))
		return bh_cli_error("bench dataplane: mkdtemp", BH_EIO);
	double pps = 0, tpps = 0, m_pps = 0, m_tpps = 0, m_req = 0, m_treq = 0;
	int rc = find_binaries(&e);
	if (rc == BH_OK)
		rc = write_inputs(&e);
	if (rc == BH_OK)
		rc = run_ours(&e, &pps);
	if (rc == BH_OK)
		rc = run_testpmd(&e, &tpps);
	if (rc == BH_OK)
		rc = run_memif(&e, 1, &m_pps, &m_req);
	if (rc == BH_OK)
		rc = run_memif(&e, 0, &m_tpps, &m_treq);
	if (rc == BH_OK && gallery)
		rc = run_searches(&e, gallery, searches, 0, fig, 2);
	if (rc == BH_OK && gallery && depth)
		rc = run_searches(&e, gallery, searches, depth, &fig[2], 1);
	if (rc) {
		fprintf(stderr, "(inputs and logs kept in %s)\n", e.dir);
		return bh_cli_error("bench dataplane", rc);
	}
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench dataplane: could not remove %s\n", e.dir);
	double ratio = tpps > 0 ? pps / tpps : 0;
	double m_ratio = m_tpps > 0 ? m_pps / m_tpps : 0;
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "vdev", "net_pcap (infinite_rx, tx drop)");
		bh_json_str(&j, "frame", "BHP/1 health request, 102 bytes on the wire");
		bh_json_uint(&j, "lcores", 1);
		bh_json_uint(&j, "seconds", e.seconds);
		bh_json_num(&j, "pps", pps);
		bh_json_num(&j, "testpmd_pps", tpps);
		bh_json_num(&j, "ratio_vs_testpmd", ratio);
		bh_json_obj(&j, "memif");
		bh_json_str(&j, "vdev", "net_memif (server; generator: testpmd, memif client)");
		bh_json_num(&j, "pps", m_pps);
		bh_json_num(&j, "testpmd_pps", m_tpps);
		bh_json_num(&j, "ratio_vs_testpmd", m_ratio);
		bh_json_num(&j, "requests_pps", m_req);
		bh_json_num(&j, "testpmd_requests_pps", m_treq);
		bh_json_end(&j);
		for (int i = 0; i < 3; i++) {
			if (!fig[i].done)
				continue;
			bh_json_obj(&j, i == 2 ? "finger_depth" : fig[i].modality);
			bh_json_uint(&j, "workers", e.workers);
			if (i == 2) {
				bh_json_uint(&j, "depth", depth);
				bh_json_num(&j, "ratio_vs_shipped_depth",
					    fig[1].per_s > 0 ? fig[2].per_s / fig[1].per_s : 0);
			}
			bh_json_uint(&j, "sent", fig[i].sent);
			bh_json_uint(&j, "results", fig[i].ok);
			bh_json_num(&j, "searches_per_s", fig[i].per_s);
			bh_json_num(&j, "p50_ms", fig[i].p50_ms);
			bh_json_num(&j, "p99_ms", fig[i].p99_ms);
			bh_json_end(&j);
		}
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("vdev net_pcap (infinite_rx), 1 polling lcore, %u s per run, 102-byte frames\n",
		       e.seconds);
		printf("  biohubd rx->parse->authenticate->reply  %12.0f pps\n", pps);
		printf("  dpdk-testpmd io forwarding (anchor)     %12.0f pps\n", tpps);
		printf("  ratio_vs_testpmd                        %12.3f\n", ratio);
		printf("vdev net_memif (server, CPU 0; generator testpmd memif client, CPU 1)\n");
		printf("  biohubd rx->parse->authenticate->reply  %12.0f pps (requests in %.0f)\n",
		       m_pps, m_req);
		printf("  dpdk-testpmd io forwarding (anchor)     %12.0f pps (requests in %.0f)\n",
		       m_tpps, m_treq);
		printf("  ratio_vs_testpmd                        %12.3f\n", m_ratio);
		for (int i = 0; i < 3; i++)
			if (fig[i].done)
				printf("  %-6s searches through biohubd (af_packet, %u workers, depth %s): "
				       "%u/%u results, %.2f searches/s, p50 %.1f ms, p99 %.1f ms\n",
				       fig[i].modality, e.workers, i == 2 ? "--depth" : "shipped", fig[i].ok,
				       fig[i].sent, fig[i].per_s, fig[i].p50_ms, fig[i].p99_ms);
		if (fig[2].done && fig[1].per_s > 0)
			printf("  finger searches/s at --depth %u / at the shipped depth: %.3f\n", depth,
			       fig[2].per_s / fig[1].per_s);
	}
	return 0;
}
