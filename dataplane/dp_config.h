/*
 * dp_config.h - biohubd's configuration file.
 *
 * Text, `key = value` per line, '#' comments.  Keys:
 *   port        DPDK vdev of the one port, e.g. net_af_packet0,iface=veth0
 *               or net_tap0,iface=bhtap0 (required)
 *   ip          our IPv4 address on that port (required)
 *   udp_port    our UDP port (default 7700)
 *   keys        agency key file (required; owner-only, see bhp.h)
 *   gallery     gallery database; absent = health/stats only, searches get
 *               an error frame
 *   backend     engine backend: auto, scalar, avx2, avx512, fpga (default auto)
 *   workers     search worker threads (default 1)
 *   engine_threads  threads per search inside the engine (default 1)
 *   rerank_depth    engine candidates re-ranked per finger or palm probe
 *               (0 = the shipped depth, finger 512; docs/FINGER.md has the
 *               recall / speed trade-off)
 *   queue       searches that may wait for a worker (default 8): a hard
 *               bound on queued probe memory (queue x max_msg)
 *   max_wait_ms admission: a search is admitted only if the expected wait
 *               for a worker (admitted work not yet done, per worker) is at
 *               most this; 0 = the modality's measured service time, so an
 *               admitted search takes at most about twice an unloaded one
 *               (default 0).  Others are refused at once with BH_EBUSY
 *   fair_window_ms  fairness between agencies: an agency that sent a search
 *               in the last fair_window_ms is active; while more than one is,
 *               each may hold at most its share of the searches admission
 *               allows in flight (rounded up, at least one), so one agency's
 *               flood cannot take every slot from the others (default 1000;
 *               0 = off)
 *   max_msg     largest message in bytes (default and cap BHP_MAX_MSG)
 *   max_inflight_agency / max_inflight / max_reasm_bytes / reasm_timeout_ms
 *               reassembly bounds (defaults 8 / 64 / 64 MiB / 2000)
 *   idle_sleep_us / idle_sleep_max_us  after 64 empty rx polls the rx
 *               lcore sleeps before polling again, first idle_sleep_us, then
 *               longer while wake-ups find little waiting, up to
 *               idle_sleep_max_us (dp_idle.h; defaults 50 / 1000;
 *               idle_sleep_us 0 = pure busy poll).  A frame then waits at
 *               most idle_sleep_max_us more; answers do not wait (the
 *               threads that hand them over end the sleep), and an idle
 *               daemon leaves its CPU to the workers and other processes
 *   hugepages   auto | on | off: EAL memory from hugepages (--in-memory) or
 *               from anonymous memory (--no-huge -m 256); auto = on when
 *               /proc/meminfo shows free hugepages (default auto)
 *   lcores      EAL lcore list (default 0).  The first lcore runs rx/tx;
 *               every further lcore runs one search worker (then `workers`
 *               is ignored); with one lcore, workers are plain threads
 *   eal_extra   more EAL arguments, space separated (e.g. a second --vdev)
 *   name        instance name (printed by health)
 *   replay      on | off (default on; off only for `biohub bench dataplane`,
 *               whose pcap loop replays the same frames)
 *   run_seconds stop after this many seconds and print a JSON summary (bench)
 */
#ifndef DP_CONFIG_H
#define DP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct dp_config {
	char port[256];
	char ip[32];
	uint16_t udp_port;
	char keys[256];
	char gallery[256];
	char backend[16];
	unsigned workers, engine_threads, queue, max_wait_ms, fair_window_ms, idle_sleep_us,
		 idle_sleep_max_us, rerank_depth;
	size_t max_msg;
	unsigned max_inflight_agency, max_inflight;
	size_t max_reasm_bytes;
	unsigned reasm_timeout_ms;
	char hugepages[8];
	char lcores[32];
	char eal_extra[256];
	char name[64];
	int replay;
	unsigned run_seconds;
} dp_config;

void dp_config_defaults(dp_config *c);
/* Reads `path` over the defaults; BH_EFORMAT names the bad line. */
int dp_config_load(const char *path, dp_config *c);

#endif
