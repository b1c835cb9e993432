/*
 * cmd_probe.c - `biohub probe`: the reference BHP/1 client.
 *
 *   biohub probe --agency A --key FILE --server IP:PORT [--modality M] [--k K]
 *                [--timeout MS] [--json] IMAGE
 *   biohub probe ... --health
 *   biohub probe ... --load N [--rate R] [--window W] IMAGE [IMAGE...]
 *
 * A search sends the image sealed under the agency key and prints the
 * candidates (or the server's error).  --load sends N searches (cycling
 * through the images) at R per second (0 = as fast as W outstanding allow)
 * and prints a latency histogram, p50/p99 and searches/s.
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

/* Reads IMAGE into a search message: modality, k, 0, 0, image bytes. */
static int build_search(const char *path, int modality, unsigned k, uint8_t **msg, size_t *len)
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
	(*msg)[0] = (uint8_t)(modality ? modality : guess_modality(path));
	(*msg)[1] = (uint8_t)k;
	(*msg)[2] = (*msg)[3] = 0;
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
	int rc = build_search(path, o->modality, o->k, &msg, &len);
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

typedef struct load_state {
	uint64_t *sent_ns; /* per request index, 0 = answered / not sent */
	uint64_t *lat_us;
	unsigned n_lat, ok, err, outstanding;
	uint64_t base_req;
} load_state;

static void load_account(load_state *s, const bhp_msg *m, unsigned n)
{
	uint64_t idx = m->request_id - s->base_req;
	if (idx >= n || !s->sent_ns[idx])
		return;
	s->lat_us[s->n_lat++] = (bh_now_ns() - s->sent_ns[idx]) / 1000u;
	s->sent_ns[idx] = 0;
	s->outstanding--;
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

static void load_report(const load_state *s, unsigned n, double secs, int json)
{
	qsort(s->lat_us, s->n_lat, sizeof(uint64_t), cmp_u64);
	uint64_t p50 = s->n_lat ? s->lat_us[s->n_lat / 2] : 0;
	uint64_t p99 = s->n_lat ? s->lat_us[(s->n_lat * 99) / 100 < s->n_lat ? (s->n_lat * 99) / 100 : s->n_lat - 1] : 0;
	uint64_t mx = s->n_lat ? s->lat_us[s->n_lat - 1] : 0;
	unsigned lost = n - s->n_lat;
	if (json) {
		printf("{\"sent\": %u, \"ok\": %u, \"errors\": %u, \"lost\": %u, \"seconds\": %.3f, "
		       "\"searches_per_s\": %.2f, \"p50_us\": %llu, \"p99_us\": %llu, \"max_us\": %llu}\n",
		       n, s->ok, s->err, lost, secs, s->n_lat / secs, (unsigned long long)p50,
		       (unsigned long long)p99, (unsigned long long)mx);
		return;
	}
	printf("load: %u sent, %u results, %u errors, %u lost in %.2f s = %.2f answers/s\n", n,
	       s->ok, s->err, lost, secs, s->n_lat / secs);
	printf("latency: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", p50 / 1e3, p99 / 1e3, mx / 1e3);
	printf("histogram (ms):\n");
	unsigned b = 0;
	for (uint64_t lo = 0, hi = 1000; b < 24; b++, lo = hi, hi *= 2) {
		unsigned cnt = 0;
		for (unsigned i = 0; i < s->n_lat; i++)
			cnt += s->lat_us[i] >= lo && (s->lat_us[i] < hi || b == 23);
		if (cnt)
			printf("  %8.1f - %8.1f  %6u %.*s\n", lo / 1e3, hi / 1e3, cnt,
			       (int)(cnt * 50 / (s->n_lat ? s->n_lat : 1)),
			       "##################################################");
	}
}

static int do_load(bhp_client *c, const probe_opts *o, char **paths, int npaths)
{
	uint8_t **msgs = calloc((size_t)npaths, sizeof(*msgs));
	size_t *lens = calloc((size_t)npaths, sizeof(*lens));
	load_state s = {.sent_ns = calloc(o->load, sizeof(uint64_t)),
			.lat_us = calloc(o->load, sizeof(uint64_t)),
			.base_req = c->next_req};
	int rc = msgs && lens && s.sent_ns && s.lat_us ? BH_OK : BH_ENOMEM;
	for (int i = 0; rc == BH_OK && i < npaths; i++)
		rc = build_search(paths[i], o->modality, o->k, &msgs[i], &lens[i]);
	if (rc == BH_OK) {
		c->next_req += o->load;
		uint64_t t0 = bh_now_ns();
		unsigned sent = 0;
		uint64_t last_answer = t0;
		while (rc == BH_OK) {
			uint64_t now = bh_now_ns();
			int due = o->rate == 0 || sent * 1000000000ull / o->rate <= now - t0;
			if (sent < o->load && due && s.outstanding < o->window) {
				int i = (int)(sent % (unsigned)npaths);
				s.sent_ns[sent] = bh_now_ns();
				rc = bhp_client_send(c, BHP_T_SEARCH, s.base_req + sent, msgs[i], lens[i]);
				sent++;
				s.outstanding++;
				continue;
			}
			if (sent == o->load && s.outstanding == 0)
				break;
			if (now - last_answer > (uint64_t)o->timeout_ms * 1000000u)
				break; /* the rest is lost */
			bhp_msg m = {0};
			int r = bhp_client_recv(c, 1, &m);
			if (r == 1) {
				load_account(&s, &m, o->load);
				last_answer = bh_now_ns();
				bhp_msg_free(&m);
			} else if (r < 0) {
				rc = r;
			}
		}
		double secs = (double)(bh_now_ns() - t0) / 1e9;
		if (rc == BH_OK)
			load_report(&s, sent, secs, o->json);
	}
	for (int i = 0; msgs && i < npaths; i++)
		bh_wipe_free(msgs[i], lens[i]);
	free(msgs);
	free(lens);
	free(s.sent_ns);
	free(s.lat_us);
	return rc ? bh_cli_error("probe --load", rc) : (s.ok ? 0 : 1);
}

static int usage(void)
{
	fprintf(stderr,
		"usage: biohub probe --agency A --key FILE --server IP:PORT [--modality face|finger|palm]\n"
		"                    [--k K] [--timeout MS] [--json] IMAGE\n"
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
		{"window", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
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
		default: return usage();
		}
	}
	if (!o.agency || !o.key || !o.server || o.k > BHP_MAX_K || !o.window ||
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
