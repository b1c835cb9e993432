/*
 * cmd_stats.c - `biohub stats`: biohubd's counters over BHP/1.
 *
 *   biohub stats --agency A --key FILE --server IP:PORT [--json] [--timeout MS]
 *
 * Prints every counter the daemon reports (frames, drops by reason,
 * searches, reassembly state) and the search latency histogram with the
 * p50/p99 bucket bounds.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_json.h"
#include "bhp.h"
#include "bhp_client.h"

#define MAX_STATS 128

/* Upper bound (us) of the bucket holding quantile q; 0 if no samples. */
static uint64_t quantile_bound(const bhp_stat *s, size_t n, double q)
{
	uint64_t total = 0, acc = 0;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(s[i].name, "lat_us_lt_", 10))
			total += s[i].value;
	if (!total)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(s[i].name, "lat_us_lt_", 10))
			continue;
		acc += s[i].value;
		if ((double)acc >= q * (double)total)
			return strtoull(s[i].name + 10, NULL, 10); /* 0 = overflow bucket */
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: biohub stats --agency A --key FILE --server IP:PORT [--json] "
			"[--timeout MS]\n");
	return 2;
}

int cmd_stats(int argc, char **argv)
{
	uint32_t agency = 0;
	const char *key = NULL, *server = NULL;
	int json = 0;
	unsigned timeout = 3000;
	static const struct option lo[] = {
		{"agency", required_argument, NULL, 'a'}, {"key", required_argument, NULL, 'K'},
		{"server", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'a': agency = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'K': key = optarg; break;
		case 's': server = optarg; break;
		case 'j': json = 1; break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return usage();
		}
	}
	if (!agency || !key || !server || optind != argc)
		return usage();
	bhp_client c;
	int rc = bhp_client_open(&c, key, agency, server);
	if (rc)
		return bh_cli_error("stats", rc);
	bhp_msg m = {0};
	rc = bhp_client_call(&c, BHP_T_STATS, NULL, 0, (int)timeout, &m);
	bhp_client_close(&c);
	if (rc <= 0)
		return bh_cli_error("stats: no answer", rc ? rc : BH_ETIMEOUT);
	static bhp_stat s[MAX_STATS];
	size_t n = 0;
	rc = m.type == BHP_T_STATS_OK ? bhp_stats_decode(m.buf, m.len, s, MAX_STATS, &n)
				      : bh_fail(BH_EFORMAT, "reply type %u", m.type);
	bhp_msg_free(&m);
	if (rc)
		return bh_cli_error("stats", rc);
	uint64_t p50 = quantile_bound(s, n, 0.5), p99 = quantile_bound(s, n, 0.99);
	if (json) {
		bh_json j;
		bh_json_init(&j, stdout);
		bh_json_obj(&j, NULL);
		for (size_t i = 0; i < n; i++)
			bh_json_uint(&j, s[i].name, s[i].value);
		bh_json_uint(&j, "lat_p50_us_lt", p50);
		bh_json_uint(&j, "lat_p99_us_lt", p99);
		bh_json_end(&j);
		bh_json_newline(&j);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(s[i].name, "lat_us_lt_", 10))
			continue;
		printf("%-24s %llu\n", s[i].name, (unsigned long long)s[i].value);
	}
	printf("search latency histogram:\n");
	for (size_t i = 0; i < n; i++) {
		if (strncmp(s[i].name, "lat_us_lt_", 10) || !s[i].value)
			continue;
		unsigned long long hi = strtoull(s[i].name + 10, NULL, 10);
		if (hi)
			printf("  < %10.3f ms  %llu\n", hi / 1e3, (unsigned long long)s[i].value);
		else
			printf("  >= overflow     %llu\n", (unsigned long long)s[i].value);
	}
	if (p50)
		printf("p50 < %.3f ms, p99 < %.3f ms (bucket bounds)\n", p50 / 1e3, p99 / 1e3);
	return 0;
}
