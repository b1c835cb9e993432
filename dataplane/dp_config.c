/* dp_config.c - biohubd configuration file (see dp_config.h). */
#include "dp_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bhp.h"

void dp_config_defaults(dp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->udp_port = 7700;
	snprintf(c->backend, sizeof(c->backend), "auto");
	c->workers = 1;
	c->engine_threads = 1;
	c->queue = 8;
	c->max_wait_ms = 0;
	c->fair_window_ms = 1000;
	c->idle_sleep_us = 50;
	c->idle_sleep_max_us = 1000;
	c->max_msg = BHP_MAX_MSG;
	c->max_inflight_agency = 8;
	c->max_inflight = 64;
	c->max_reasm_bytes = 64u << 20;
	c->reasm_timeout_ms = 2000;
	snprintf(c->hugepages, sizeof(c->hugepages), "auto");
	snprintf(c->lcores, sizeof(c->lcores), "0");
	snprintf(c->name, sizeof(c->name), "biohubd");
	c->replay = 1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

static int set_str(char *dst, size_t cap, const char *v, unsigned line)
{
	if (strlen(v) >= cap)
		return bh_fail(BH_EFORMAT, "config line %u: value too long", line);
	memcpy(dst, v, strlen(v) + 1);
	return BH_OK;
}

static int set_num(unsigned long long *out, const char *v, unsigned long long lo,
		   unsigned long long hi, unsigned line)
{
	char *end = NULL;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (errno || !*v || *end || x < lo || x > hi)
		return bh_fail(BH_EFORMAT, "config line %u: number out of range [%llu, %llu]", line,
			       lo, hi);
	*out = x;
	return BH_OK;
}

/* Applies one key = value. */
static int apply(dp_config *c, const char *k, const char *v, unsigned line)
{
	unsigned long long x = 0;
	int rc;
#define STR(name) if (!strcmp(k, #name)) return set_str(c->name, sizeof(c->name), v, line)
#define NUM(name, lo, hi)                                                                          \
	if (!strcmp(k, #name)) {                                                                   \
		if ((rc = set_num(&x, v, lo, hi, line)) == BH_OK)                                  \
			c->name = (__typeof__(c->name))x;                                          \
		return rc;                                                                         \
	}
	STR(port);
	STR(ip);
	STR(keys);
	STR(gallery);
	STR(backend);
	STR(hugepages);
	STR(lcores);
	STR(eal_extra);
	STR(name);
	NUM(udp_port, 1, 65535);
	NUM(workers, 1, 64);
	NUM(engine_threads, 0, 64);
	NUM(rerank_depth, 0, 65536);
	NUM(queue, 1, 4096);
	NUM(max_wait_ms, 0, 600000);
	NUM(fair_window_ms, 0, 600000);
	NUM(idle_sleep_us, 0, 100000);
	NUM(idle_sleep_max_us, 0, 100000);
	NUM(max_msg, 1024, BHP_MAX_MSG);
	NUM(max_inflight_agency, 1, 4096);
	NUM(max_inflight, 1, 4096);
	NUM(max_reasm_bytes, 4096, 1ull << 32);
	NUM(reasm_timeout_ms, 1, 600000);
	NUM(run_seconds, 0, 3600);
#undef STR
#undef NUM
	if (!strcmp(k, "replay")) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return bh_fail(BH_EFORMAT, "config line %u: replay = on|off", line);
		c->replay = !strcmp(v, "on");
		return BH_OK;
	}
	return bh_fail(BH_EFORMAT, "config line %u: unknown key '%s'", line, k);
}

int dp_config_load(const char *path, dp_config *c)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return bh_fail(BH_EIO, "config %s: %s", path, strerror(errno));
	char buf[512];
	unsigned line = 0;
	int rc = BH_OK;
	while (rc == BH_OK && fgets(buf, sizeof(buf), f)) {
		line++;
		char *s = trim(buf);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = bh_fail(BH_EFORMAT, "config line %u: expected key = value", line);
			break;
		}
		*eq = 0;
		rc = apply(c, trim(s), trim(eq + 1), line);
	}
	fclose(f);
	if (rc == BH_OK && (!c->port[0] || !c->ip[0] || !c->keys[0]))
		rc = bh_fail(BH_EINVAL, "config %s: port, ip and keys are required", path);
	if (rc == BH_OK && strcmp(c->hugepages, "auto") && strcmp(c->hugepages, "on") &&
	    strcmp(c->hugepages, "off"))
		rc = bh_fail(BH_EFORMAT, "config: hugepages = auto|on|off");
	return rc;
}
