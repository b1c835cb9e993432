/*
 * biohubd.c - the biohub appliance daemon on DPDK.
 *
 *   biohubd --config FILE
 *
 * Pipeline (one port, one rx/tx lcore, N search workers, one audit writer):
 *   rx lcore: rx burst -> ARP reply | IPv4/UDP -> BHP/1 parse -> agency ->
 *             replay check -> AES-256-GCM open (into a scratch buffer) ->
 *             replay update -> wipe the mbuf's probe bytes ->
 *             health/stats answered at once | fragment into reassembly ->
 *             complete search -> admission (below) -> job ring -> worker,
 *             or a BH_EBUSY refusal at once (its audit row queued)
 *   worker:   bh_searcher_search_probe() -> wipe + free the probe -> result or
 *             error message -> audit writer
 *   audit:    one transaction (one fsync) for every row queued since the
 *             last commit -> done ring (dp_audit.h: no result or search
 *             error is answered before its audit row is on disk)
 *   rx lcore: done ring -> seal + fragment -> tx burst to the asking
 *             agency's address, under that agency's key, with its request id.
 *
 * Admission (overload): a search is admitted only if the work already
 * admitted, minus what the workers have done of it, per worker, is at most
 * `max_wait_ms` (0 = the modality's measured service time), and fewer than
 * workers + `queue` searches are in flight.  So an admitted search waits at
 * most about one search before it runs, its latency stays within about twice
 * the unloaded one however much is offered, and memory is bounded by the
 * queue.  While other agencies are active (`fair_window_ms`), an agency also
 * holds at most its share of what admission lets be in flight, so one
 * agency's flood cannot starve the others.  Everything else is refused at
 * once with BH_EBUSY.  Service times
 * are a moving average per modality of the workers' measurements.
 * Counters and the latency histogram are owned by the rx lcore only.
 * See docs/PROTOCOL.md for the wire format.
 */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bh_err.h"
#include "bh_mem.h"
#include "bh_time.h"
#include "bhp.h"
#include "dp_audit.h"
#include "dp_idle.h"
#include "dp_config.h"
#include "dp_net.h"
#include "bh_gallery.h"
#include "bh_search.h"

#define BURST 32
#define NB_MBUF 8191
#define NB_DESC 512
#define LAT_BUCKETS 24 /* bucket i: latency < 2^i us (last: everything above) */
#define MAX_WORKERS 64
#define IDLE_POLLS 64 /* empty rx polls before the loop may sleep */
#define AUDIT_QUEUE 1024          /* rows waiting for the audit writer */
#define SVC_EST_START_NS 50000000 /* service estimate before the first search: 50 ms */

typedef struct agency {
	bhp_key key;
	bhp_crypto *crypto;
	bhp_replay replay;
	bhp_sender tx;
	/* Admitted searches a worker has not finished: the rx lcore adds, the
	 * worker subtracts (the audit commit and the answer come after). */
	_Atomic unsigned pending;
	uint64_t last_search_ns; /* last search message, admitted or not (rx lcore only) */
} agency;

/* A search handed to a worker, then to the audit writer, and back. */
typedef struct job {
	unsigned agency;
	uint64_t request_id;
	dp_peer peer;
	uint64_t first_ns;
	int modality;
	unsigned k;
	uint8_t *msg; /* probe message (owned; wiped + freed by the worker) */
	size_t msg_len;
	uint64_t est_ns;     /* service estimate charged to the backlog at admission */
	uint64_t service_ns; /* measured by the worker */
	unsigned n_cand;
	const char *backend; /* static string of the engine, or NULL */
	char outcome[64];    /* audit outcome: ok, no_face, error:..., busy */
	unsigned reply_type;
	int outcome_ok;
	size_t reply_len;
	uint8_t reply[BHP_RESULT_HDR + BHP_MAX_K * BHP_CAND_SIZE];
} job;

struct bhd;
/* One search worker.  start_ns/est_ns/modality tell the rx lcore how far
 * the current search is, so admission does not count work already done. */
typedef struct worker {
	struct bhd *d;
	_Atomic uint64_t start_ns; /* 0 = idle */
	_Atomic uint64_t est_ns;   /* what the search was charged at admission */
	_Atomic int modality;
} worker;

typedef struct counters {
	uint64_t frames_in, frames_out, bytes_in, bytes_out, arp_replies, not_ours, tx_fail;
	uint64_t drops[BHP_DROP_COUNT];
	uint64_t health, stats, searches, search_admitted, search_ok, search_err, search_busy;
	uint64_t search_busy_fair; /* of search_busy: refused for the agency's fair share */
	uint64_t reasm_expired;
	uint64_t lat[LAT_BUCKETS];
} counters;

typedef struct bhd {
	dp_config cfg;
	agency ag[BHP_MAX_AGENCIES];
	size_t n_ag;
	dp_local me;
	uint16_t port;
	struct rte_mempool *pool;
	bhp_reasm *reasm;
	struct rte_ring *jobs, *done;
	dp_idle idle; /* the rx lcore's sleep; workers and the audit writer kick it */
	sem_t job_sem;
	pthread_t threads[MAX_WORKERS];
	worker w[MAX_WORKERS];
	unsigned n_workers, n_lcore_workers;
	cpu_set_t cpus;            /* for workers and the audit writer: not the rx lcore's */
	int have_cpus;
	volatile int stop_workers;
	bh_searcher *searcher;
	dp_audit *auditor;
	_Atomic uint64_t backlog_ns; /* estimates of admitted searches not yet finished */
	_Atomic uint64_t audit_overflow;
	uint64_t svc_est_ns[4];      /* per modality (1..3), rx lcore only */
	uint64_t svc_samples[4];
	counters c;
	uint64_t start_ns, in_flight;
	uint64_t now; /* clock read once per rx burst */
	uint16_t ip_id;
	struct rte_mbuf *txq[BURST];
	unsigned ntx;
	uint8_t scratch[BHP_FRAG_MAX];
} bhd;

static volatile sig_atomic_t g_quit;
static void on_signal(int sig) { (void)sig; g_quit = 1; }

/* ---------------------------------------------------------------- tx ---- */

static void tx_flush(bhd *d)
{
	unsigned sent = 0;
	while (sent < d->ntx) {
		uint16_t n = rte_eth_tx_burst(d->port, 0, d->txq + sent, (uint16_t)(d->ntx - sent));
		if (n == 0)
			break;
		sent += n;
	}
	d->c.frames_out += sent;
	for (unsigned i = sent; i < d->ntx; i++) {
		d->c.tx_fail++;
		rte_pktmbuf_free(d->txq[i]);
	}
	d->ntx = 0;
}

static void tx_push(bhd *d, struct rte_mbuf *m)
{
	d->c.bytes_out += rte_pktmbuf_pkt_len(m);
	d->txq[d->ntx++] = m;
	if (d->ntx == BURST)
		tx_flush(d);
}

/* Seals `msg` for agency a and sends it to peer, fragmenting as needed. */
static void send_msg(bhd *d, agency *a, const dp_peer *peer, unsigned type, uint64_t req,
		     const uint8_t *msg, size_t len)
{
	unsigned count = bhp_frag_count(len);
	for (unsigned i = 0; i < count; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(d->pool);
		uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, DP_HDRS + BHP_FRAME_MAX) : NULL;
		size_t fl = 0;
		if (!p || bhp_sender_frame(&a->tx, type, req, msg, len, i, p + DP_HDRS, &fl)) {
			d->c.tx_fail++;
			if (m)
				rte_pktmbuf_free(m);
			return;
		}
		rte_pktmbuf_trim(m, (uint16_t)(BHP_FRAME_MAX - fl));
		dp_build_udp(p, &d->me, peer, fl, d->ip_id++);
		tx_push(d, m);
	}
}

static void send_error(bhd *d, agency *a, const dp_peer *peer, uint64_t req, int code,
		       const char *text)
{
	uint8_t msg[4 + BHP_ERR_TEXT_MAX];
	size_t n = bhp_error_encode(code, text, msg);
	send_msg(d, a, peer, BHP_T_ERROR, req, msg, n);
}

/* ------------------------------------------------------- health/stats ---- */

static void answer_health(bhd *d, agency *a, const dp_peer *peer, uint64_t req)
{
	uint8_t msg[16];
	bhp_put32(msg, BHP_VERSION);
	bhp_put32(msg + 4, (uint32_t)((d->now - d->start_ns) / 1000000000u));
	bhp_put32(msg + 8, (uint32_t)d->in_flight);
	bhp_put32(msg + 12, 0);
	d->c.health++;
	send_msg(d, a, peer, BHP_T_HEALTH_OK, req, msg, sizeof(msg));
}

static uint64_t wait_estimate_ns(bhd *d, uint64_t now);

static size_t collect_stats(bhd *d, bhp_stat *s)
{
	size_t n = 0;
#define PUT(nm, v) (snprintf(s[n].name, sizeof(s[n].name), "%s", nm), s[n++].value = (v))
	const counters *c = &d->c;
	PUT("frames_in", c->frames_in);
	PUT("frames_out", c->frames_out);
	PUT("bytes_in", c->bytes_in);
	PUT("bytes_out", c->bytes_out);
	PUT("arp_replies", c->arp_replies);
	PUT("not_ours", c->not_ours);
	PUT("tx_fail", c->tx_fail);
	for (unsigned i = 0; i < BHP_DROP_COUNT; i++) {
		snprintf(s[n].name, sizeof(s[n].name), "drop_%s", bhp_drop_names[i]);
		s[n++].value = c->drops[i];
	}
	PUT("health", c->health);
	PUT("stats", c->stats);
	PUT("searches", c->searches);
	PUT("search_admitted", c->search_admitted);
	PUT("search_ok", c->search_ok);
	PUT("search_err", c->search_err);
	PUT("search_busy", c->search_busy);
	PUT("search_busy_fair", c->search_busy_fair);
	PUT("searches_in_flight", d->in_flight);
	PUT("reasm_in_flight", bhp_reasm_in_flight(d->reasm));
	PUT("reasm_bytes", bhp_reasm_bytes(d->reasm));
	PUT("reasm_expired", c->reasm_expired);
	PUT("wait_est_us", wait_estimate_ns(d, bh_now_ns()) / 1000u);
	PUT("svc_est_us_face", d->svc_est_ns[1] / 1000u);
	PUT("svc_est_us_finger", d->svc_est_ns[2] / 1000u);
	PUT("svc_est_us_palm", d->svc_est_ns[3] / 1000u);
	dp_audit_stats as;
	dp_audit_get_stats(d->auditor, &as);
	PUT("audit_rows", as.rows);
	PUT("audit_commits", as.commits);
	PUT("audit_commit_max_us", as.commit_max_ns / 1000u);
	PUT("audit_slow_commits", as.slow_commits);
	PUT("audit_fail", as.failed);
	PUT("audit_overflow", atomic_load(&d->audit_overflow));
	PUT("idle_sleeps", d->idle.sleeps);
	PUT("idle_kicks", d->idle.kicks);
	PUT("idle_sleep_us", d->idle.cur_us);
	PUT("uptime_s", (bh_now_ns() - d->start_ns) / 1000000000u);
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		snprintf(s[n].name, sizeof(s[n].name), "lat_us_lt_%llu",
			 i + 1 == LAT_BUCKETS ? 0ull : 1ull << i); /* 0 = overflow bucket */
		s[n++].value = c->lat[i];
	}
#undef PUT
	return n;
}

static void answer_stats(bhd *d, agency *a, const dp_peer *peer, uint64_t req)
{
	bhp_stat s[96];
	uint8_t msg[96 * 57];
	d->c.stats++;
	size_t n = collect_stats(d, s);
	size_t len = bhp_stats_encode(s, n, msg, sizeof(msg));
	send_msg(d, a, peer, BHP_T_STATS_OK, req, msg, len);
}

static void record_latency(bhd *d, uint64_t first_ns)
{
	uint64_t us = (bh_now_ns() - first_ns) / 1000u;
	unsigned b = 0;
	while (b + 1 < LAT_BUCKETS && us >= (1ull << b))
		b++;
	d->c.lat[b]++;
}

/* ------------------------------------------------------------ search ---- */

static unsigned n_workers_total(const bhd *d)
{
	return d->n_lcore_workers ? d->n_lcore_workers : d->n_workers;
}

/* Expected wait of a search admitted now, per worker: the estimates of the
 * queued searches, plus what is left of the running ones by the current
 * estimate of their modality (a search past its estimate counts as done:
 * the estimate is an average).  Using the current estimate for both the
 * running search and the budget makes "one running, none queued" always
 * admissible, so a client with two searches per worker in flight is served. */
static uint64_t wait_estimate_ns(bhd *d, uint64_t now)
{
	uint64_t queued = atomic_load(&d->backlog_ns), left = 0;
	unsigned nw = n_workers_total(d);
	for (unsigned i = 0; i < nw; i++) {
		const worker *w = &d->w[i];
		uint64_t start = atomic_load(&w->start_ns);
		if (!start)
			continue;
		uint64_t charged = atomic_load(&w->est_ns);
		uint64_t est = d->svc_est_ns[atomic_load(&w->modality) & 3];
		uint64_t elapsed = now > start ? now - start : 0;
		queued = queued > charged ? queued - charged : 0;
		left += est > elapsed ? est - elapsed : 0;
	}
	return nw ? (queued + left) / nw : queued + left;
}

enum { ADMIT, BUSY_FULL, BUSY_FAIR };

/* How many searches of this modality admission lets be in flight at once:
 * one running per worker plus as many waiting per worker as the wait budget
 * holds (at least one), at most workers + queue. */
static unsigned admission_slots(const bhd *d, int modality, uint64_t budget)
{
	unsigned nw = n_workers_total(d);
	uint64_t est = d->svc_est_ns[modality] ? d->svc_est_ns[modality] : 1;
	uint64_t waiting = budget / est ? budget / est : 1;
	uint64_t slots = nw * (1 + waiting), cap = (uint64_t)nw + d->cfg.queue;
	return (unsigned)(slots < cap ? slots : cap);
}

/* Fairness: while other agencies are active (a search pending or sent
 * within fair_window_ms), agency ai may hold at most ceil(slots / active)
 * of the slots.  Without it one agency's flood refills every freed slot
 * within a frame time, and the others are refused nearly always.  Pending
 * counts searches until a worker finishes them, not until they are
 * answered: the audit commit in between does not hold a worker, and
 * counting it measured the flooding agency's throughput halved. */
static int over_fair_share(const bhd *d, unsigned ai, unsigned slots, uint64_t now)
{
	uint64_t window = d->cfg.fair_window_ms * 1000000ull;
	if (!window)
		return 0;
	unsigned active = 0;
	for (size_t i = 0; i < d->n_ag; i++) {
		const agency *a = &d->ag[i];
		active += i == ai || atomic_load(&a->pending) ||
			  (a->last_search_ns && now - a->last_search_ns <= window);
	}
	return active > 1 && atomic_load(&d->ag[ai].pending) >= (slots + active - 1) / active;
}

/* Admission: room in the queue, an expected wait within the budget, and the
 * agency within its fair share. */
static int admit(bhd *d, unsigned ai, int modality, uint64_t now)
{
	if (d->in_flight >= n_workers_total(d) + d->cfg.queue)
		return BUSY_FULL;
	uint64_t budget = d->cfg.max_wait_ms ? d->cfg.max_wait_ms * 1000000ull
					     : d->svc_est_ns[modality];
	if (wait_estimate_ns(d, now) > budget)
		return BUSY_FULL;
	if (over_fair_share(d, ai, admission_slots(d, modality, budget), now))
		return BUSY_FAIR;
	return ADMIT;
}

/* Moving average (1/8) of the service time of successful searches: failures
 * (undecodable image, ...) end early and would make it optimistic. */
static void update_estimate(bhd *d, const job *j)
{
	uint64_t *e = &d->svc_est_ns[j->modality];
	if (d->svc_samples[j->modality]++ == 0)
		*e = j->service_ns; /* the start value was a guess */
	else
		*e = *e - *e / 8 + j->service_ns / 8;
}

static void audit_rec_of(const bhd *d, const job *j, bh_audit_rec *r)
{
	*r = (bh_audit_rec){.agency = d->ag[j->agency].key.name,
			    .request_id = j->request_id,
			    .modality = j->modality,
			    .candidates = j->n_cand,
			    .backend = j->backend ? j->backend : "",
			    .outcome = j->outcome};
}

static void set_error_reply(job *j, int code, const char *text)
{
	j->reply_type = BHP_T_ERROR;
	j->reply_len = bhp_error_encode(code, text, j->reply);
	j->outcome_ok = 0;
}

static void set_error_outcome(job *j, int rc)
{
	char text[BHP_ERR_TEXT_MAX + 1];
	snprintf(text, sizeof(text), "%s%s%s", bh_strerror(rc), bh_errmsg()[0] ? ": " : "",
		 bh_errmsg());
	if (rc == BH_ENOFACE)
		snprintf(j->outcome, sizeof(j->outcome), "no_face");
	else
		snprintf(j->outcome, sizeof(j->outcome), "error:%s", bh_strerror(rc));
	set_error_reply(j, rc, text);
}

/* Encodes the candidates as the RESULT reply. */
static int set_result_reply(job *j, const bh_candidate *cand, uint32_t n,
			    const bh_search_info *info)
{
	bhp_result *r = calloc(1, sizeof(*r));
	if (!r)
		return bh_fail(BH_ENOMEM, "out of memory");
	r->modality = (uint8_t)j->modality;
	r->n = (uint8_t)(n > BHP_MAX_K ? BHP_MAX_K : n);
	r->search_us = (uint32_t)((info->extract_ns + info->search_ns + info->rerank_ns) / 1000u);
	snprintf(r->backend, sizeof(r->backend), "%s", info->backend ? info->backend : "");
	snprintf(r->warning, sizeof(r->warning), "%s", info->warning);
	for (unsigned i = 0; i < r->n; i++) {
		r->cand[i].subject_id = cand[i].subject_id;
		r->cand[i].score = cand[i].score;
		r->cand[i].position = cand[i].position;
		r->cand[i].match = cand[i].match;
		snprintf(r->cand[i].external_ref, 64, "%s", cand[i].external_ref);
	}
	j->reply_type = BHP_T_RESULT;
	j->reply_len = bhp_result_encode(r, j->reply);
	j->outcome_ok = 1;
	j->n_cand = r->n;
	snprintf(j->outcome, sizeof(j->outcome), "ok");
	free(r);
	return BH_OK;
}

/* Runs one search job on a worker thread; always wipes the probe. */
static void run_job(bhd *d, job *j)
{
	bh_candidate cand[BHP_MAX_K];
	bh_search_info info;
	uint32_t n = 0;
	memset(&info, 0, sizeof(info));
	bh_errclear();
	const bh_probe_desc pd = {.position = j->msg[2], .ppi = 10u * j->msg[3]};
	int rc = bh_searcher_search_probe(d->searcher, j->modality, &pd, j->msg + 4, j->msg_len - 4,
					  j->k, cand, &n, &info);
	bh_wipe_free(j->msg, j->msg_len);
	j->msg = NULL;
	j->backend = info.backend;
	if (rc == BH_OK)
		rc = set_result_reply(j, cand, n, &info);
	if (rc)
		set_error_outcome(j, rc);
	bh_wipe(cand, sizeof(cand)); /* candidate lists are per-agency results */
}

/* Hands a finished job (search or refusal) to the rx lcore for sending. */
static void hand_done(bhd *d, job *j)
{
	while (rte_ring_enqueue(d->done, j) != 0) /* sized to never fill */
		;
	dp_idle_kick(&d->idle); /* answer now, not when the rx lcore's sleep ends */
}

/* Audit writer callback: the job's row is committed (or failed, logged and
 * counted by dp_audit); now it may be answered. */
static void audit_done(void *ctx, void *item, int rc)
{
	(void)rc;
	if (item) /* NULL: a busy refusal, already answered */
		hand_done(ctx, item);
}

/* Queues the job's audit row; answered once committed.  A full audit queue
 * (disk stalled) answers at once and counts audit_overflow: an agency is
 * never left without an answer. */
static void audit_then_answer(bhd *d, job *j)
{
	bh_audit_rec r;
	audit_rec_of(d, j, &r);
	if (dp_audit_submit(d->auditor, &r, j) == BH_OK)
		return;
	atomic_fetch_add(&d->audit_overflow, 1);
	fprintf(stderr, "biohubd: audit queue full: request %llu answered without its row\n",
		(unsigned long long)j->request_id);
	hand_done(d, j);
}

static void *worker_main(void *arg);
static int worker_lcore(void *arg)
{
	worker_main(arg);
	return 0;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	bhd *d = w->d;
	for (;;) {
		sem_wait(&d->job_sem);
		void *p = NULL;
		if (rte_ring_dequeue(d->jobs, &p) != 0) {
			if (d->stop_workers)
				return NULL;
			continue;
		}
		job *j = p;
		uint64_t t0 = bh_now_ns();
		atomic_store(&w->est_ns, j->est_ns);
		atomic_store(&w->modality, j->modality);
		atomic_store(&w->start_ns, t0); /* last: the rx lcore reads it first */
		run_job(d, j);
		j->service_ns = bh_now_ns() - t0;
		/* Idle first, backlog second: the rx lcore may overestimate the
		 * wait for an instant, never underestimate it. */
		atomic_store(&w->start_ns, 0);
		atomic_fetch_sub(&d->backlog_ns, j->est_ns);
		atomic_fetch_sub(&d->ag[j->agency].pending, 1);
		audit_then_answer(d, j);
	}
}

/* Refuses a valid search at once with BH_EBUSY.  Its audit row is queued
 * but not waited for: a refusal carries no result, and waiting for the
 * commit (an fsync) would make every refusal as slow as the disk - measured:
 * p50 28 ms instead of 0.8 ms on a loaded machine.  A crash may lose the rows
 * of the refusals of the last commit interval, never those of results. */
static void refuse_busy(bhd *d, unsigned ai, const dp_peer *peer, const bhp_msg *m,
			int verdict)
{
	d->c.search_busy++;
	d->c.search_busy_fair += verdict == BUSY_FAIR;
	bh_audit_rec r = {.agency = d->ag[ai].key.name,
			  .request_id = m->request_id,
			  .modality = m->buf[0],
			  .backend = "",
			  .outcome = "busy"};
	if (dp_audit_submit(d->auditor, &r, NULL) != BH_OK)
		atomic_fetch_add(&d->audit_overflow, 1);
	send_error(d, &d->ag[ai], peer, m->request_id, BH_EBUSY,
		   verdict == BUSY_FAIR ? "agency at its fair share of the search queue, retry later"
					: "search queue full, retry later");
}

/* Why a SEARCH message cannot be searched (0 = it can). */
static int search_invalid(const bhd *d, const bhp_msg *m, const char **text)
{
	if (m->request_id > INT64_MAX)
		return *text = "request_id must be below 2^63", BH_EINVAL;
	if (m->len < 4)
		return *text = "search message too short", BH_EFORMAT;
	if (m->buf[0] < 1 || m->buf[0] > 3)
		return *text = "unknown modality", BH_EUNSUPPORTED;
	if (m->buf[2] > 10 || (m->buf[2] && m->buf[0] != BH_MOD_FINGER))
		return *text = "position must be 0, or 1..10 for a finger", BH_EINVAL;
	if (m->buf[3] && (m->buf[3] < 15 || m->buf[0] != BH_MOD_FINGER))
		return *text = "resolution must be 0, or 15..255 (x 10 ppi) for a finger", BH_EINVAL;
	if (!d->searcher)
		return *text = "no gallery configured", BH_EUNSUPPORTED;
	return 0;
}

/* A complete SEARCH message: validate, admit and queue it; m->buf moves to
 * the job. */
static void start_search(bhd *d, unsigned ai, const dp_peer *peer, bhp_msg *m)
{
	const char *why = NULL;
	d->c.searches++;
	int code = search_invalid(d, m, &why);
	if (code) {
		send_error(d, &d->ag[ai], peer, m->request_id, code, why);
		d->c.search_err++;
		bhp_msg_free(m);
		return;
	}
	int modality = m->buf[0];
	uint64_t now = bh_now_ns();
	int verdict = admit(d, ai, modality, now);
	d->ag[ai].last_search_ns = now;
	job *j = verdict == ADMIT ? calloc(1, sizeof(*j)) : NULL;
	if (!j) {
		refuse_busy(d, ai, peer, m, verdict);
		bhp_msg_free(m);
		return;
	}
	*j = (job){.agency = ai, .request_id = m->request_id, .peer = *peer,
		   .first_ns = m->first_ns, .modality = modality,
		   .k = m->buf[1] == 0 ? 10 : (m->buf[1] > BHP_MAX_K ? BHP_MAX_K : m->buf[1]),
		   .msg = m->buf, .msg_len = m->len, .est_ns = d->svc_est_ns[modality]};
	atomic_fetch_add(&d->backlog_ns, j->est_ns);
	if (rte_ring_enqueue(d->jobs, j) != 0) { /* cannot happen: ring > workers + queue */
		atomic_fetch_sub(&d->backlog_ns, j->est_ns);
		free(j);
		refuse_busy(d, ai, peer, m, BUSY_FULL);
		bhp_msg_free(m);
		return;
	}
	m->buf = NULL;
	d->in_flight++;
	atomic_fetch_add(&d->ag[ai].pending, 1);
	d->c.search_admitted++;
	sem_post(&d->job_sem);
}

static void drain_done(bhd *d)
{
	void *p[BURST];
	unsigned n = rte_ring_dequeue_burst(d->done, p, BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		job *j = p[i];
		send_msg(d, &d->ag[j->agency], &j->peer, j->reply_type, j->request_id, j->reply,
			 j->reply_len);
		if (j->outcome_ok) {
			d->c.search_ok++;
			update_estimate(d, j);
		} else {
			d->c.search_err++;
		}
		record_latency(d, j->first_ns);
		d->in_flight--;
		bh_wipe_free(j, sizeof(*j)); /* the reply holds one agency's candidates */
	}
}

/* ------------------------------------------------------------ rx path ---- */

static agency *find_agency(bhd *d, uint32_t id, unsigned *idx)
{
	for (size_t i = 0; i < d->n_ag; i++)
		if (d->ag[i].key.agency == id) {
			*idx = (unsigned)i;
			return &d->ag[i];
		}
	return NULL;
}

static void on_message(bhd *d, unsigned ai, const dp_peer *peer, bhp_msg *m)
{
	agency *a = &d->ag[ai];
	switch (m->type) {
	case BHP_T_HEALTH:
		answer_health(d, a, peer, m->request_id);
		break;
	case BHP_T_STATS:
		answer_stats(d, a, peer, m->request_id);
		break;
	case BHP_T_SEARCH:
		start_search(d, ai, peer, m);
		break;
	}
	bhp_msg_free(m);
}

/* One BHP frame (UDP payload p of len bytes, inside an mbuf). */
static void on_frame(bhd *d, uint8_t *p, size_t len, const dp_peer *peer)
{
	bhp_hdr h;
	unsigned ai = 0;
	int r = bhp_parse(p, len, 1, &h);
	agency *a = r == BHP_DROP_COUNT ? find_agency(d, h.agency, &ai) : NULL;
	if (r == BHP_DROP_COUNT && !a)
		r = BHP_DROP_AGENCY;
	if (r == BHP_DROP_COUNT && d->cfg.replay && !bhp_replay_check(&a->replay, h.seq))
		r = BHP_DROP_REPLAY;
	if (r == BHP_DROP_COUNT && bhp_open(a->crypto, &h, p, d->scratch) != BH_OK)
		r = BHP_DROP_TAG;
	if (r != BHP_DROP_COUNT) {
		d->c.drops[r]++;
		return;
	}
	bhp_replay_update(&a->replay, h.seq);
	if (h.type == BHP_T_SEARCH)
		bh_wipe(p, len); /* the mbuf held (sealed) probe bytes */
	bhp_msg m = {0};
	uint64_t now = d->now;
	if (h.frag_count == 1 && h.type != BHP_T_SEARCH) {
		/* Control messages are answered straight from the scratch buffer. */
		if (h.type == BHP_T_HEALTH)
			answer_health(d, a, peer, h.request_id);
		else
			answer_stats(d, a, peer, h.request_id);
	} else if (h.frag_count == 1) {
		m = (bhp_msg){.agency = h.agency, .type = h.type, .request_id = h.request_id,
			      .peer = dp_peer_tag(peer), .first_ns = now, .len = h.msg_len};
		m.buf = malloc(h.msg_len ? h.msg_len : 1);
		if (!m.buf) {
			d->c.drops[BHP_DROP_BUSY]++;
		} else {
			memcpy(m.buf, d->scratch, h.msg_len);
			on_message(d, ai, peer, &m);
		}
	} else {
		int rc = bhp_reasm_add(d->reasm, &h, dp_peer_tag(peer), d->scratch, now, &m);
		if (rc == 1)
			on_message(d, ai, peer, &m);
		else if (rc >= 100)
			d->c.drops[rc - 100]++;
	}
	bh_wipe(d->scratch, h.frag_len);
}

static void on_packet(bhd *d, struct rte_mbuf *m)
{
	d->c.frames_in++;
	d->c.bytes_in += rte_pktmbuf_pkt_len(m);
	if (m->nb_segs != 1) {
		d->c.not_ours++;
		rte_pktmbuf_free(m);
		return;
	}
	uint8_t *pkt = rte_pktmbuf_mtod(m, uint8_t *);
	dp_peer peer;
	uint8_t *pl = NULL;
	size_t plen = 0;
	switch (dp_classify(pkt, rte_pktmbuf_data_len(m), &d->me, &peer, &pl, &plen)) {
	case DP_PKT_ARP:
		d->c.arp_replies++;
		tx_push(d, m); /* rewritten in place */
		return;
	case DP_PKT_UDP:
		on_frame(d, pl, plen, &peer);
		break;
	default:
		d->c.not_ours++;
		d->c.drops[BHP_DROP_NOTIP]++;
		break;
	}
	rte_pktmbuf_free(m);
}

/* Work for the rx lcore besides frames: answers to send. */
static int done_pending(void *ctx)
{
	const bhd *d = ctx;
	return rte_ring_count(d->done) != 0;
}

static void main_loop(bhd *d)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t last_expire = bh_now_ns();
	uint64_t end = d->cfg.run_seconds ? d->start_ns + d->cfg.run_seconds * 1000000000ull : 0;
	unsigned iter = 0, idle = 0, slept = 0;
	while (!g_quit) {
		uint16_t n = rte_eth_rx_burst(d->port, 0, pkts, BURST);
		if (slept)
			dp_idle_woke(&d->idle, n, BURST);
		slept = 0;
		if (n)
			d->now = bh_now_ns();
		for (uint16_t i = 0; i < n; i++)
			on_packet(d, pkts[i]);
		uint64_t sent = d->c.frames_out;
		drain_done(d);
		if (d->ntx)
			tx_flush(d);
		idle = n || d->c.frames_out != sent ? 0 : idle + 1;
		/* Idle for a while: give the CPU back (dp_idle.h) so that on a
		 * small box the busy-poll does not starve the other threads. */
		if (idle >= IDLE_POLLS && d->cfg.idle_sleep_us)
			slept = dp_idle_sleep(&d->idle, done_pending, d);
		if ((++iter & 255) == 0 || n == 0) {
			uint64_t now = bh_now_ns();
			if (now - last_expire > 10000000u) {
				unsigned x = bhp_reasm_expire(d->reasm, now);
				d->c.reasm_expired += x;
				d->c.drops[BHP_DROP_TIMEOUT] += x;
				last_expire = now;
			}
			if (end && now >= end)
				break;
		}
	}
}

/* ------------------------------------------------------------- set-up ---- */

static int hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n > 64;
}

/* Builds the EAL argument vector from the config. */
static int eal_init(bhd *d, const char *prog)
{
	static char buf[1024];
	char *argv[64];
	int argc = 0;
	int huge = !strcmp(d->cfg.hugepages, "on") ||
		   (!strcmp(d->cfg.hugepages, "auto") && hugepages_free());
	snprintf(buf, sizeof(buf),
		 "-l %s --no-pci --no-shconf --no-telemetry --log-level=*:warning %s --vdev %s %s",
		 d->cfg.lcores, huge ? "--in-memory" : "--no-huge -m 256", d->cfg.port,
		 d->cfg.eal_extra);
	argv[argc++] = (char *)prog;
	char *save = NULL;
	for (char *t = strtok_r(buf, " ", &save); t && argc < 63; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0)
		return bh_fail(BH_EIO, "rte_eal_init: %s", rte_strerror(rte_errno));
	return BH_OK;
}

static int port_init(bhd *d)
{
	if (rte_eth_dev_count_avail() < 1)
		return bh_fail(BH_ENOTFOUND, "no DPDK port (vdev '%s')", d->cfg.port);
	uint16_t p;
	RTE_ETH_FOREACH_DEV(p)
	{
		d->port = p;
		break;
	}
	d->pool = rte_pktmbuf_pool_create("bhd_mbufs", NB_MBUF, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!d->pool)
		return bh_fail(BH_ENOMEM, "mbuf pool: %s", rte_strerror(rte_errno));
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	int rc = rte_eth_dev_configure(d->port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(d->port, 0, NB_DESC, (unsigned)rte_eth_dev_socket_id(d->port),
					    NULL, d->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(d->port, 0, NB_DESC, (unsigned)rte_eth_dev_socket_id(d->port),
					    NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(d->port);
	if (rc != 0)
		return bh_fail(BH_EIO, "port set-up: %s", rte_strerror(-rc));
	rte_eth_promiscuous_enable(d->port); /* tap/af_packet peers use other MACs */
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(d->port, &mac);
	memcpy(d->me.mac, mac.addr_bytes, 6);
	return BH_OK;
}

static int keys_init(bhd *d)
{
	bhp_key keys[BHP_MAX_AGENCIES];
	size_t n = 0;
	int rc = bhp_keys_load(d->cfg.keys, keys, BHP_MAX_AGENCIES, &n);
	for (size_t i = 0; rc == BH_OK && i < n; i++) {
		agency *a = &d->ag[i];
		a->key = keys[i];
		rc = bhp_crypto_new(a->key.key, &a->crypto);
		if (rc == BH_OK) {
			bhp_sender_init(&a->tx, a->key.agency, a->crypto);
			d->n_ag = i + 1;
		}
	}
	bhp_keys_wipe(keys, BHP_MAX_AGENCIES);
	return rc;
}

/* Workers and the audit writer run off the rx lcore's CPU: it busy-polls,
 * so a thread sharing its CPU would get half of it.  The set is what the
 * process was allowed before EAL pinned the main thread, minus the main
 * lcore's CPUs (all of it when nothing else is left). */
static void worker_cpus_init(bhd *d, const cpu_set_t *orig)
{
	rte_cpuset_t main_set = rte_lcore_cpuset(rte_get_main_lcore());
	CPU_AND(&d->cpus, orig, orig);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &main_set))
			CPU_CLR(c, &d->cpus);
	if (CPU_COUNT(&d->cpus) == 0)
		CPU_AND(&d->cpus, orig, orig);
	d->have_cpus = 1;
}

static int rings_init(bhd *d, unsigned nw)
{
	unsigned qsz = 1;
	while (qsz < nw + d->cfg.queue + 1)
		qsz <<= 1;
	unsigned dsz = 1; /* every admitted job */
	while (dsz < qsz + nw + 1)
		dsz <<= 1;
	d->jobs = rte_ring_create("bhd_jobs", qsz, (int)rte_socket_id(), RING_F_SP_ENQ);
	d->done = rte_ring_create("bhd_done", dsz, (int)rte_socket_id(), RING_F_SC_DEQ);
	if (!d->jobs || !d->done)
		return bh_fail(BH_ENOMEM, "rings: %s", rte_strerror(rte_errno));
	dp_idle_init(&d->idle, d->cfg.idle_sleep_us, d->cfg.idle_sleep_max_us);
	return BH_OK;
}

/* Search workers: one per EAL worker lcore, else plain threads. */
static int workers_init(bhd *d)
{
	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc)
	{
		worker *w = &d->w[d->n_lcore_workers];
		w->d = d;
		if (d->n_lcore_workers == MAX_WORKERS || rte_eal_remote_launch(worker_lcore, w, lc) != 0)
			return bh_fail(BH_EIO, "launch worker lcore %u", lc);
		d->n_lcore_workers++;
	}
	pthread_attr_t at;
	pthread_attr_init(&at);
	if (d->have_cpus)
		pthread_attr_setaffinity_np(&at, sizeof(d->cpus), &d->cpus);
	int rc = BH_OK;
	for (unsigned i = 0; d->n_lcore_workers == 0 && i < d->cfg.workers && rc == BH_OK; i++) {
		d->w[i].d = d;
		if (pthread_create(&d->threads[i], &at, worker_main, &d->w[i]) != 0)
			rc = bh_fail(BH_EIO, "worker thread");
		else
			d->n_workers++;
	}
	pthread_attr_destroy(&at);
	return rc;
}

static int pipeline_init(bhd *d)
{
	unsigned nw = rte_lcore_count() > 1 ? rte_lcore_count() - 1 : d->cfg.workers;
	int rc = rings_init(d, nw);
	bhp_reasm_limits lim = {.max_msg = d->cfg.max_msg,
				.max_per_agency = d->cfg.max_inflight_agency,
				.max_total = d->cfg.max_inflight,
				.max_bytes = d->cfg.max_reasm_bytes,
				.timeout_ns = d->cfg.reasm_timeout_ms * 1000000ull};
	if (rc == BH_OK)
		rc = bhp_reasm_new(&lim, &d->reasm);
	if (rc == BH_OK && d->searcher)
		rc = dp_audit_start(d->cfg.gallery, AUDIT_QUEUE, audit_done, d,
				    d->have_cpus ? &d->cpus : NULL, &d->auditor);
	for (int m = 1; m <= 3; m++)
		d->svc_est_ns[m] = SVC_EST_START_NS;
	sem_init(&d->job_sem, 0, 0);
	if (rc == BH_OK)
		rc = workers_init(d);
	return rc;
}

static int search_init(bhd *d)
{
	if (!d->cfg.gallery[0])
		return BH_OK;
	bh_searcher_config sc = {.gallery_path = d->cfg.gallery,
				 .backend = d->cfg.backend,
				 .threads = d->cfg.engine_threads,
				 .model_dir = NULL,
				 .rerank_depth = d->cfg.rerank_depth};
	int rc = bh_searcher_open(&sc, &d->searcher);
	unsigned mode = 0;
	if (rc == BH_OK && bh_gallery_open_to_others(d->cfg.gallery, &mode) == 1)
		fprintf(stderr, "biohubd: warning: gallery %s is open to group or others (mode %04o); "
				"chmod 600 it\n", d->cfg.gallery, mode);
	return rc;
}

/* Searches still queued at shutdown are refused like any busy search: every
 * admitted request gets an answer and an audit row. */
static void refuse_queued(bhd *d)
{
	void *p = NULL;
	while (d->jobs && rte_ring_dequeue(d->jobs, &p) == 0) {
		job *j = p;
		bh_wipe_free(j->msg, j->msg_len);
		j->msg = NULL;
		snprintf(j->outcome, sizeof(j->outcome), "busy");
		set_error_reply(j, BH_EBUSY, "biohubd is shutting down, retry later");
		audit_then_answer(d, j);
	}
}

/* Sends every answer still in the done ring (the port is up if pool is). */
static void send_remaining(bhd *d)
{
	while (d->pool && d->done && rte_ring_count(d->done))
		drain_done(d);
	void *p = NULL;
	while (d->done && rte_ring_dequeue(d->done, &p) == 0)
		bh_wipe_free(p, sizeof(job));
	if (d->ntx)
		tx_flush(d);
}

static void stop_workers(bhd *d)
{
	d->stop_workers = 1;
	for (unsigned i = 0; i < d->n_workers + d->n_lcore_workers; i++)
		sem_post(&d->job_sem);
	for (unsigned i = 0; i < d->n_workers; i++)
		pthread_join(d->threads[i], NULL);
	if (d->n_lcore_workers)
		rte_eal_mp_wait_lcore();
}

static void shutdown_all(bhd *d)
{
	stop_workers(d);
	refuse_queued(d);
	dp_audit_stop(d->auditor); /* commits the last rows, hands their jobs on */
	d->auditor = NULL;
	send_remaining(d);
	bhp_reasm_free(d->reasm);
	/* Keys: EVP_CIPHER_CTX_free cleanses the AES key schedules; our copies
	 * of the keys, replay windows and sender state are wiped here. */
	for (size_t i = 0; i < d->n_ag; i++)
		bhp_crypto_free(d->ag[i].crypto);
	bh_wipe(d->ag, sizeof(d->ag));
	d->n_ag = 0;
	bh_searcher_close(d->searcher);
	if (d->pool) {
		rte_eth_dev_stop(d->port);
		rte_eth_dev_close(d->port);
	}
	rte_ring_free(d->jobs);
	rte_ring_free(d->done);
	rte_mempool_free(d->pool);
}

static void print_summary(const bhd *d)
{
	double s = (double)(bh_now_ns() - d->start_ns) / 1e9;
	printf("{\"seconds\": %.3f, \"frames_in\": %llu, \"frames_out\": %llu, \"drop_tag\": %llu, "
	       "\"drop_replay\": %llu, \"tx_fail\": %llu}\n",
	       s, (unsigned long long)d->c.frames_in, (unsigned long long)d->c.frames_out,
	       (unsigned long long)d->c.drops[BHP_DROP_TAG],
	       (unsigned long long)d->c.drops[BHP_DROP_REPLAY], (unsigned long long)d->c.tx_fail);
	fflush(stdout);
}

/* A core file would put agency keys and probe images on disk: none, and no
 * ptrace attach by other processes of the same user. */
static void no_core_dumps(void)
{
	struct rlimit none = {0, 0};
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int usage(void)
{
	fprintf(stderr, "usage: biohubd --config FILE | --features\n");
	return 2;
}

int main(int argc, char **argv)
{
	static bhd d; /* large (scratch, agencies): static, not on the stack */
	const char *cfg_path = NULL;
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"features", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int o;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (o == 'c') {
			cfg_path = optarg;
		} else if (o == 'f') {
			printf("bhp/1 health stats search\n");
			return 0;
		} else {
			return usage();
		}
	}
	if (!cfg_path || optind != argc)
		return usage();
	dp_config_defaults(&d.cfg);
	int rc = dp_config_load(cfg_path, &d.cfg);
	struct in_addr ia;
	if (rc == BH_OK && inet_pton(AF_INET, d.cfg.ip, &ia) != 1)
		rc = bh_fail(BH_EINVAL, "config: bad ip '%s'", d.cfg.ip);
	if (rc) {
		fprintf(stderr, "biohubd: %s: %s\n", bh_strerror(rc), bh_errmsg());
		return 1;
	}
	d.me.ip = ntohl(ia.s_addr);
	d.me.port = d.cfg.udp_port;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* A peer that goes away must not kill the appliance: net_memif sends
	 * on its control socket with flags 0 (no MSG_NOSIGNAL), so a client
	 * that hung up just before our port close (which sends it a
	 * disconnect message) raises SIGPIPE, and the server socket file is
	 * left behind.  Ignored, the send fails with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	no_core_dumps();
	cpu_set_t orig; /* before EAL pins this thread to the main lcore */
	if (sched_getaffinity(0, sizeof(orig), &orig) != 0)
		CPU_ZERO(&orig);
	rc = keys_init(&d);
	if (rc == BH_OK)
		rc = search_init(&d);
	if (rc == BH_OK)
		rc = eal_init(&d, argv[0]);
	int eal_up = rc == BH_OK;
	if (eal_up && CPU_COUNT(&orig) > 0)
		worker_cpus_init(&d, &orig);
	if (rc == BH_OK)
		rc = port_init(&d);
	if (rc == BH_OK)
		rc = pipeline_init(&d);
	if (rc == BH_OK) {
		d.start_ns = bh_now_ns();
		fprintf(stderr, "biohubd: %s ready on %s udp %u (%zu agencies%s)\n", d.cfg.name,
			d.cfg.ip, d.cfg.udp_port, d.n_ag, d.cfg.gallery[0] ? ", gallery" : "");
		fprintf(stderr, "biohubd: %u search workers on %s\n",
			d.n_lcore_workers ? d.n_lcore_workers : d.n_workers,
			d.n_lcore_workers ? "EAL worker lcores" : "threads");
		main_loop(&d);
		if (d.cfg.run_seconds)
			print_summary(&d);
	} else {
		fprintf(stderr, "biohubd: %s: %s\n", bh_strerror(rc), bh_errmsg());
	}
	shutdown_all(&d);
	if (eal_up)
		rte_eal_cleanup();
	/* Test hook (tests/integration/faults.sh): stop with everything torn
	 * down but the memory still mapped, so a scan can prove the keys are
	 * gone; the test continues the process. */
	if (getenv("BIOHUBD_STOP_AT_EXIT"))
		raise(SIGSTOP);
	return rc ? 1 : 0;
}
