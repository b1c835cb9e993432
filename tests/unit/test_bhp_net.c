/* test_bhp_net.c - biohubd's Ethernet/ARP/IPv4/UDP handling (dp_net) and
 * its configuration file parser (dp_config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bhp.h"
#include "dp_config.h"
#include "dp_net.h"

static const dp_local ME = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0x0a000001, .port = 7700};
static const dp_peer PEER = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0x0a000002, .port = 40000};

/* One's complement sum over n bytes (for checking, written independently
 * of dp_net.c's helper: 32-bit accumulate of 16-bit words). */
static uint16_t fold(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum > 0xffff)
		sum = (sum >> 16) + (sum & 0xffff);
	return (uint16_t)sum;
}

/* Builds a packet as a client would send it to us (reuses dp_build_udp
 * with the roles swapped). */
static size_t client_packet(uint8_t *pkt, const uint8_t *payload, size_t n)
{
	dp_local from = {.ip = PEER.ip, .port = PEER.port};
	memcpy(from.mac, PEER.mac, 6);
	dp_peer to = {.ip = ME.ip, .port = ME.port};
	memcpy(to.mac, ME.mac, 6);
	memcpy(pkt + DP_HDRS, payload, n);
	dp_build_udp(pkt, &from, &to, n, 7);
	return DP_HDRS + n;
}

static void test_udp_roundtrip(void **state)
{
	(void)state;
	uint8_t pkt[256], *pl;
	size_t plen;
	dp_peer peer;
	size_t n = client_packet(pkt, (const uint8_t *)"hello world", 11);
	/* IPv4 header checksum and UDP checksum (with pseudo header) verify. */
	assert_int_equal(fold(pkt + 14, 20, 0), 0xffff);
	uint8_t pseudo[12];
	memcpy(pseudo, pkt + 14 + 12, 8);
	pseudo[8] = 0, pseudo[9] = 17, pseudo[10] = 0, pseudo[11] = 8 + 11;
	assert_int_equal(fold(pkt + 34, 8 + 11, fold(pseudo, 12, 0)), 0xffff);
	assert_int_equal(dp_classify(pkt, n, &ME, &peer, &pl, &plen), DP_PKT_UDP);
	assert_int_equal(plen, 11);
	assert_memory_equal(pl, "hello world", 11);
	assert_int_equal(peer.ip, PEER.ip);
	assert_int_equal(peer.port, PEER.port);
	assert_memory_equal(peer.mac, PEER.mac, 6);
	/* Ethernet padding after the IP datagram is ignored. */
	memset(pkt + n, 0, 20);
	assert_int_equal(dp_classify(pkt, n + 20, &ME, &peer, &pl, &plen), DP_PKT_UDP);
	assert_int_equal(plen, 11);
}

static void test_rejects(void **state)
{
	(void)state;
	uint8_t pkt[256], bad[256], *pl;
	size_t plen;
	dp_peer peer;
	size_t n = client_packet(pkt, (const uint8_t *)"0123456789", 10);
	struct {
		size_t off;
		uint8_t val;
	} flips[] = {
		{12, 0x86},    /* ethertype IPv6 */
		{14, 0x46},    /* IP options */
		{20, 0x20},    /* more-fragments */
		{23, 6},       /* TCP */
		{33, 2},       /* other destination */
		{24, 0},       /* header checksum */
		{37, 1},       /* other port */
		{39, 200},     /* UDP length beyond the IP length */
		{17, 200},     /* IP length beyond the frame */
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, pkt, n);
		bad[flips[i].off] = flips[i].val;
		assert_int_equal(dp_classify(bad, n, &ME, &peer, &pl, &plen), DP_PKT_OTHER);
	}
	for (size_t cut = 0; cut < n - 10; cut++)
		assert_int_equal(dp_classify(pkt, cut, &ME, &peer, &pl, &plen), DP_PKT_OTHER);
}

static void test_arp(void **state)
{
	(void)state;
	uint8_t a[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06,
			 0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2,
			 0, 0, 0, 0, 0, 0, 10, 0, 0, 1};
	uint8_t *pl;
	size_t plen;
	dp_peer peer;
	assert_int_equal(dp_classify(a, sizeof(a), &ME, &peer, &pl, &plen), DP_PKT_ARP);
	assert_memory_equal(a, PEER.mac, 6);         /* to the asker */
	assert_memory_equal(a + 6, ME.mac, 6);       /* from us */
	assert_int_equal(bhp_get16(a + 20), 2);      /* reply */
	assert_memory_equal(a + 22, ME.mac, 6);      /* sender hw = us */
	assert_int_equal(bhp_get32(a + 28), ME.ip);  /* sender ip = us */
	assert_memory_equal(a + 32, PEER.mac, 6);    /* target = asker */
	assert_int_equal(bhp_get32(a + 38), PEER.ip);
	/* Not for our IP, or a reply: ignored. */
	uint8_t b[60];
	memcpy(b, a, sizeof(b));
	b[41] = 9;
	bhp_put16(b + 20, 1);
	assert_int_equal(dp_classify(b, sizeof(b), &ME, &peer, &pl, &plen), DP_PKT_OTHER);
	assert_int_equal(dp_classify(a, sizeof(a), &ME, &peer, &pl, &plen), DP_PKT_OTHER);
}

static int write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static void test_config(void **state)
{
	(void)state;
	char path[] = "/tmp/bhd-conf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	dp_config c;
	assert_int_equal(write_conf(path, "# biohubd\n port = net_tap0,iface=x \nip=10.0.0.1\n"
					  "keys = /k\nworkers = 3\nreplay = off\nlcores = 0-1\n"),
			 0);
	dp_config_defaults(&c);
	assert_int_equal(dp_config_load(path, &c), BH_OK);
	assert_string_equal(c.port, "net_tap0,iface=x");
	assert_string_equal(c.ip, "10.0.0.1");
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.replay, 0);
	assert_int_equal(c.udp_port, 7700);
	assert_string_equal(c.lcores, "0-1");
	const char *bad[] = {
		"port = p\nip = 1.2.3.4\n",                         /* keys missing */
		"port = p\nip = 1.2.3.4\nkeys = k\nworkers = 0\n",   /* out of range */
		"port = p\nip = 1.2.3.4\nkeys = k\nudp_port = 7x\n", /* not a number */
		"port = p\nip = 1.2.3.4\nkeys = k\ncolour = red\n",  /* unknown key */
		"port = p\nip = 1.2.3.4\nkeys = k\nreplay = maybe\n",
		"port = p\nip = 1.2.3.4\nkeys = k\nhugepages = lots\n",
		"port p\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(write_conf(path, bad[i]), 0);
		dp_config_defaults(&c);
		assert_int_not_equal(dp_config_load(path, &c), BH_OK);
	}
	unlink(path);
	assert_int_equal(dp_config_load(path, &c), BH_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_roundtrip),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
