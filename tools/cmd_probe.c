/*
 * cmd_probe.c - `biohub probe`: the reference BHP/1 client.
 *
 *   biohub probe --agency A --key FILE --server IP:PORT [--modality M] [--k K]
 *                [--position P]  (finger position byte of SEARCH, docs/PROTOCOL.md)
 *                [--ppi N]       (finger image resolution, sent in units of 10 ppi)
 *                [--timeout MS] [--json] IMAGE
 *   biohub probe ... --health
 *   biohub probe ... --load N [--rate R] [--window W] IMAGE [IMAGE...]
 *
 * A search sends the image sealed under the agency key and prints the
 * candidates (or the server's error).  --load sends N searches (cycling
 * through the images) at R per second (0 = as fast as W outstanding allow;
 * W defaults to 8, so an open-loop overload needs a large --window) and
 * reports the answers in three kinds: results and search errors (ADMITTED:
 * latency p50/p99/max, histogram, searches/s), BH_EBUSY refusals (busy:
 * count and latency) and lost (no answer within --timeout of the last
 * answer).  --json: sent, offered_per_s, admitted, ok, errors, busy, lost,
 * seconds, searches_per_s (admitted), answers_per_s, p50_us/p99_us/max_us
 * (admitted), busy_p50_us/busy_p99_us.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"
#include "bhp.h"
#include "bhp_client.h"

typedef struct probe_opts {
	uint32_t agency;
	const char *key, *server;
	int modality; /* 0 = from the file name */
	unsigned position; /* finger position byte of SEARCH (0 = unknown) */
	unsigned ppi;      /* finger image resolution, ppi (0 = unknown); sent / 10 */
	unsigned k, timeout_ms, load, rate, window;
	int json, health;
} probe_opts;

static int modality_of(const char *name)
{
	if (!strcmp(name, "face"))
		return 1;
	if (!strcmp(name, "finger"))
		return 2;
	if (!strcmp(name, "palm"))
		return 3;
	return 0;
}

static const char *modality_name(int m)
{
	return m == 1 ? "face" : m == 2 ? "finger" : m == 3 ? "palm" : "?";
}

/* JPEG/PNG are faces, /palm/ paths palms, anything else a fingerprint. */
static int guess_modality(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png")))
		return 1;
	if (strstr(path, "palm"))
		return 3;
	return 2;
}

/* Reads IMAGE into a search message: modality, k, position, ppi / 10, image
 * bytes. */
static int build_search(const char *path, const probe_opts *o, uint8_t **msg, size_t *len)
{
	uint8_t *img = NULL;
	size_t n = 0;
	int rc = bh_read_file(path, BHP_MAX_MSG - 4, &img, &n);
	if (rc)
		return rc;
	*msg = malloc(n + 4);
	if (!*msg) {
		bh_wipe_free(img, n);
		return bh_fail(BH_ENOMEM, "probe message");
	}
	(*msg)[0] = (uint8_t)(o->modality ? o->modality : guess_modality(path));
	(*msg)[1] = (uint8_t)o->k;
	(*msg)[2] = (uint8_t)o->position;
	(*msg)[3] = (uint8_t)((o->ppi + 5) / 10);
	memcpy(*msg + 4, img, n);
	bh_wipe_free(img, n);
	*len = n + 4;
	return BH_OK;
}

static int print_reply(const bhp_msg *m, int json)
{
	if (m->type == BHP_T_ERROR) {
		int code = 0;
		char text[BHP_ERR_TEXT_MAX + 1];
		if (bhp_error_decode(m->buf, m->len, &code, text, sizeof(text)))
			return bh_cli_error("probe: malformed error reply", BH_EFORMAT);
		if (json)
			printf("{\"error\": %d, \"message\": \"%s\"}\n", code, bh_strerror(code));
		fprintf(stderr, "biohub: server error %d (%s): %s\n", code, bh_strerror(code), text);
		return 1;
	}
	if (m->type != BHP_T_RESULT)
		return bh_cli_error("probe: unexpected reply type", BH_EFORMAT);
	bhp_result *r = calloc(1, sizeof(*r));
	if (!r || bhp_result_decode(m->buf, m->len, r)) {
		free(r);
		return bh_cli_error("probe: malformed result", BH_EFORMAT);
	}
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		bh_json_str(&j, "modality", modality_name(r->modality));
		bh_json_str(&j, "backend", r->backend);
		bh_json_uint(&j, "search_us", r->search_us);
		bh_json_str(&j, "warning", r->warning);
		bh_json_arr(&j, "candidates");
		for (unsigned i = 0; i < r->n; i++) {
			bh_json_obj(&j, NULL);
			bh_json_uint(&j, "rank", i + 1);
			bh_json_int(&j, "subject_id", r->cand[i].subject_id);
			bh_json_str(&j, "external_ref", r->cand[i].external_ref);
			bh_json_int(&j, "score", r->cand[i].score);
			bh_json_uint(&j, "position", r->cand[i].position);
			bh_json_bool(&j, "match", r->cand[i].match);
			bh_json_end(&j);
		}
		bh_json_end(&j);
		bh_json_end(&j);
		bh_json_newline(&j);
	} else {
		printf("%s search: %u candidates (backend %s, %u us in the server)%s%s\n",
		       modality_name(r->modality), r->n, r->backend, r->search_us,
		       r->warning[0] ? ", warning: " : "", r->warning);
		printf("%4s  %-32s %10s %5s  %s\n", "rank", "subject", "score", "pos", "match");
		for (unsigned i = 0; i < r->n; i++)
			printf("%4u  %-32s %10d %5u  %s\n", i + 1, r->cand[i].external_ref,
			       r->cand[i].score, r->cand[i].position, r->cand[i].match ? "MATCH" : "-");
	}
	free(r);
	return 0;
}

static int do_health(bhp_client *c, const probe_opts *o)
{
	bhp_msg m = {0};
	int rc = bhp_client_call(c, BHP_T_HEALTH, NULL, 0, (int)o->timeout_ms, &m);
	if (rc <= 0)
		return bh_cli_error("probe --health: no answer", rc ? rc : BH_ETIMEOUT);
	int ok = m.type == BHP_T_HEALTH_OK && m.len == 16;
	if (ok)
		printf("health: ok version %u uptime %us searches_in_flight %u status %u\n",
		       bhp_get32(m.buf), bhp_get32(m.buf + 4), bhp_get32(m.buf + 8),
		       bhp_get32(m.buf + 12));
	bhp_msg_free(&m);
	return ok ? 0 : bh_cli_error("probe --health: bad answer", BH_EFORMAT);
}

static int do_search(bhp_client *c, const probe_opts *o, const char *path)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc = build_search(path, o, &msg, &len);
	if (rc)
		return bh_cli_error("probe: image", rc);
	bhp_msg m = {0};
	rc = bhp_client_call(c, BHP_T_SEARCH, msg, len, (int)o->timeout_ms, &m);
	bh_wipe_free(msg, len);
	if (rc <= 0)
		return bh_cli_error("probe: no answer", rc ? rc : BH_ETIMEOUT);
	int ret = print_reply(&m, o->json);
	bhp_msg_free(&m);
	return ret;
}

/* ---- load generator ---- */

/* Answers split three ways: results and search errors are ADMITTED searches
 * (they ran, or were judged), BH_EBUSY refusals were turned away at once.
 * Their latencies are kept apart: under overload the busy answers are fast
 * and would hide how long admitted searches take. */
typedef struct lat_set {
	uint64_t *us;
	unsigned n;
} lat_set;

typedef struct load_state {
	uint64_t *sent_ns; /* per request index, 0 = answered / not sent */
	lat_set adm, busy;
	unsigned ok, err, n_busy, outstanding;
	uint64_t base_req, first_send_ns, last_send_ns;
} load_state;

static int is_busy(const bhp_msg *m)
{
	int code = 0;
	char text[BHP_ERR_TEXT_MAX + 1];
	return m->type == BHP_T_ERROR &&
	       bhp_error_decode(m->buf, m->len, &code, text, sizeof(text)) == BH_OK &&
	       code == BH_EBUSY;
}

static void load_account(load_state *s, const bhp_msg *m, unsigned n)
{
	uint64_t idx = m->request_id - s->base_req;
	if (idx >= n || !s->sent_ns[idx])
		return;
	uint64_t us = (bh_now_ns() - s->sent_ns[idx]) / 1000u;
	s->sent_ns[idx] = 0;
	s->outstanding--;
	if (is_busy(m)) {
		s->busy.us[s->busy.n++] = us;
		s->n_busy++;
		return;
	}
	s->adm.us[s->adm.n++] = us;
	if (m->type == BHP_T_RESULT)
		s->ok++;
	else
		s->err++;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Quantile q of a sorted set (nearest rank); 0 when empty. */
static uint64_t quantile(const lat_set *l, double q)
{
	if (!l->n)
		return 0;
	size_t i = (size_t)(q * l->n);
	return l->us[i < l->n ? i : l->n - 1];
}

static void print_histogram(const lat_set *l)
{
	printf("admitted latency histogram (ms):\n");
	unsigned b = 0;
	for (uint64_t lo = 0, hi = 1000; b < 24; b++, lo = hi, hi *= 2) {
		unsigned cnt = 0;
		for (unsigned i = 0; i < l->n; i++)
			cnt += l->us[i] >= lo && (l->us[i] < hi || b == 23);
		if (cnt)
			printf("  %8.1f - %8.1f  %6u %.*s\n", lo / 1e3, hi / 1e3, cnt,
			       (int)(cnt * 50 / (l->n ? l->n : 1)),
			       "##################################################");
	}
}

static void load_report(load_state *s, unsigned n, double secs, int json)
{
	qsort(s->adm.us, s->adm.n, sizeof(uint64_t), cmp_u64);
	qsort(s->busy.us, s->busy.n, sizeof(uint64_t), cmp_u64);
	unsigned answered = s->adm.n + s->busy.n, lost = n - answered;
	double send_s = (double)(s->last_send_ns - s->first_send_ns) / 1e9;
	double offered = n > 1 && send_s > 0 ? (n - 1) / send_s : 0;
	uint64_t p50 = quantile(&s->adm, 0.5), p99 = quantile(&s->adm, 0.99);
	uint64_t mx = s->adm.n ? s->adm.us[s->adm.n - 1] : 0;
	uint64_t b50 = quantile(&s->busy, 0.5), b99 = quantile(&s->busy, 0.99);
	if (json) {
		printf("{\"sent\": %u, \"offered_per_s\": %.2f, \"admitted\": %u, \"ok\": %u, "
		       "\"errors\": %u, \"busy\": %u, \"lost\": %u, \"seconds\": %.3f, "
		       "\"searches_per_s\": %.2f, \"answers_per_s\": %.2f, \"p50_us\": %llu, "
		       "\"p99_us\": %llu, \"max_us\": %llu, \"busy_p50_us\": %llu, "
		       "\"busy_p99_us\": %llu}\n",
		       n, offered, s->adm.n, s->ok, s->err, s->n_busy, lost, secs, s->adm.n / secs,
		       answered / secs, (unsigned long long)p50, (unsigned long long)p99,
		       (unsigned long long)mx, (unsigned long long)b50, (unsigned long long)b99);
		return;
	}
	printf("load: %u sent (offered %.1f/s): %u admitted (%u results, %u errors), %u busy, "
	       "%u lost in %.2f s = %.2f searches/s\n",
	       n, offered, s->adm.n, s->ok, s->err, s->n_busy, lost, secs, s->adm.n / secs);
	printf("admitted latency: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", p50 / 1e3, p99 / 1e3,
	       mx / 1e3);
	if (s->busy.n)
		printf("busy answers: p50 %.2f ms  p99 %.2f ms\n", b50 / 1e3, b99 / 1e3);
	print_histogram(&s->adm);
}

/* Sends and collects until every search is answered or nothing came back for
 * timeout_ms (the rest counts as lost). */
static int load_loop(bhp_client *c, const probe_opts *o, uint8_t **msgs, size_t *lens,
		     int npaths, load_state *s, unsigned *sent_out)
{
	uint64_t t0 = bh_now_ns(), last_answer = t0;
	unsigned sent = 0;
	int rc = BH_OK;
	while (rc == BH_OK) {
		uint64_t now = bh_now_ns();
		int due = o->rate == 0 || sent * 1000000000ull / o->rate <= now - t0;
		if (sent < o->load && due && s->outstanding < o->window) {
			int i = (int)(sent % (unsigned)npaths);
			s->sent_ns[sent] = s->last_send_ns = bh_now_ns();
			if (sent == 0)
				s->first_send_ns = s->last_send_ns;
			rc = bhp_client_send(c, BHP_T_SEARCH, s->base_req + sent, msgs[i], lens[i]);
			sent++;
			s->outstanding++;
			continue;
		}
		if (sent == o->load && s->outstanding == 0)
			break;
		if (now - last_answer > (uint64_t)o->timeout_ms * 1000000u)
			break; /* the rest is lost */
		bhp_msg m = {0};
		int r = bhp_client_recv(c, 1, &m);
		if (r == 1) {
			load_account(s, &m, o->load);
			last_answer = bh_now_ns();
			bhp_msg_free(&m);
		} else if (r < 0) {
			rc = r;
		}
	}
	*sent_out = sent;
	return rc;
}

static int do_load(bhp_client *c, const probe_opts *o, char **paths, int npaths)
{
	uint8_t **msgs = calloc((size_t)npaths, sizeof(*msgs));
	size_t *lens = calloc((size_t)npaths, sizeof(*lens));
	load_state s = {.sent_ns = calloc(o->load, sizeof(uint64_t)),
			.adm.us = calloc(o->load, sizeof(uint64_t)),
			.busy.us = calloc(o->load, sizeof(uint64_t)),
			.base_req = c->next_req};
	int rc = msgs && lens && s.sent_ns && s.adm.us && s.busy.us ? BH_OK : BH_ENOMEM;
	for (int i = 0; rc == BH_OK && i < npaths; i++)
		rc = build_search(paths[i], o, &msgs[i], &lens[i]);
	if (rc == BH_OK) {
		c->next_req += o->load;
		uint64_t t0 = bh_now_ns();
		unsigned sent = 0;
		rc = load_loop(c, o, msgs, lens, npaths, &s, &sent);
		if (rc == BH_OK)
			load_report(&s, sent, (double)(bh_now_ns() - t0) / 1e9, o->json);
	}
	for (int i = 0; msgs && i < npaths; i++)
		bh_wipe_free(msgs[i], lens[i]);
	free(msgs);
	free(lens);
	free(s.sent_ns);
	free(s.adm.us);
	free(s.busy.us);
	return rc ? bh_cli_error("probe --load", rc) : (s.ok ? 0 : 1);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: biohub probe --agency A --key FILE --server IP:PORT [--modality face|finger|palm]\n"
		"                    [--k K] [--position P] [--ppi N] [--timeout MS] [--json] IMAGE\n"
		"       biohub probe --agency A --key FILE --server IP:PORT --health\n"
		"       biohub probe ... --load N [--rate R] [--window W] IMAGE [IMAGE...]\n");
	return 2;
}

int cmd_probe(int argc, char **argv)
{
	probe_opts o = {.k = 10, .timeout_ms = 30000, .window = 8};
	static const struct option lo[] = {
		{"agency", required_argument, NULL, 'a'}, {"key", required_argument, NULL, 'K'},
		{"server", required_argument, NULL, 's'}, {"modality", required_argument, NULL, 'm'},
		{"k", required_argument, NULL, 'k'},      {"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},         {"health", no_argument, NULL, 'H'},
		{"load", required_argument, NULL, 'n'},   {"rate", required_argument, NULL, 'r'},
		{"window", required_argument, NULL, 'w'}, {"position", required_argument, NULL, 'p'},
		{"ppi", required_argument, NULL, 'P'},    {NULL, 0, NULL, 0}};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'a': o.agency = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'K': o.key = optarg; break;
		case 's': o.server = optarg; break;
		case 'm':
			o.modality = modality_of(optarg);
			if (!o.modality)
				return usage();
			break;
		case 'k': o.k = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': o.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'j': o.json = 1; break;
		case 'H': o.health = 1; break;
		case 'n': o.load = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o.rate = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': o.window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'p': o.position = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'P': o.ppi = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (!o.agency || !o.key || !o.server || o.k > BHP_MAX_K || !o.window || o.position > 255 ||
	    o.ppi > 2550 ||
	    (!o.health && optind >= argc) || (!o.health && !o.load && optind + 1 != argc))
		return usage();
	bhp_client c;
	int rc = bhp_client_open(&c, o.key, o.agency, o.server);
	if (rc)
		return bh_cli_error("probe", rc);
	int ret = o.health ? do_health(&c, &o)
		  : o.load ? do_load(&c, &o, argv + optind, argc - optind)
			   : do_search(&c, &o, argv[optind]);
	bhp_client_close(&c);
	return ret;
}
