/*
 * fuzz_bhp.c - libFuzzer target for biohubd's input path: Ethernet/ARP/
 * IPv4/UDP classification, the BHP/1 frame parser, AES-GCM open (with a
 * fixed key: forged tags must fail cleanly), the bounded reassembler and the
 * message payload decoders.
 *
 * Input: records of [op u8][len u16 big-endian][len bytes]:
 *   op % 4 == 0  the bytes are an Ethernet frame for dp_classify
 *   op % 4 == 1  the bytes are a BHP/1 frame: parse; if valid, try to open
 *                it, then hand its ciphertext to the reassembler as if it
 *                had authenticated (the fuzzer cannot forge GCM tags, and
 *                the reassembler must be safe for any authenticated input)
 *   op % 4 == 2  the bytes are a message body for the payload decoders
 *   op % 4 == 3  advance the clock by len ms and expire
 * Built with -Dfuzz=true (clang -fsanitize=fuzzer); the same function is
 * run over the seed corpus by fuzz_replay.c in the normal test suites.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bhp.h"
#include "dp_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[BHP_KEY_LEN] = {7, 7, 7};

static void one_frame(bhp_reasm *r, bhp_crypto *c, const uint8_t *f, size_t n, uint64_t now)
{
	bhp_hdr h;
	uint8_t pt[BHP_FRAG_MAX];
	for (int dir = 0; dir < 2; dir++) {
		if (bhp_parse(f, n, dir, &h) != BHP_DROP_COUNT)
			continue;
		if (bhp_open(c, &h, f, pt) == 0)
			__builtin_trap(); /* a forged tag must never verify */
		bhp_msg m = {0};
		if (bhp_reasm_add(r, &h, h.sender, f + BHP_HDR_LEN, now, &m) == 1) {
			/* Every completed message goes through the decoders too. */
			bhp_result res;
			int code;
			char text[64];
			bhp_stat st[8];
			size_t k;
			(void)bhp_result_decode(m.buf, m.len, &res);
			(void)bhp_error_decode(m.buf, m.len, &code, text, sizeof(text));
			(void)bhp_stats_decode(m.buf, m.len, st, 8, &k);
			bhp_msg_free(&m);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bhp_reasm_limits lim = {.max_msg = 64 * 1024, .max_per_agency = 4, .max_total = 8,
				.max_bytes = 256 * 1024, .timeout_ns = 1000000000ull};
	bhp_reasm *r = NULL;
	bhp_crypto *c = NULL;
	if (bhp_reasm_new(&lim, &r) || bhp_crypto_new(KEY, &c)) {
		bhp_reasm_free(r);
		bhp_crypto_free(c);
		return 0;
	}
	dp_local me = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0x0a000001, .port = 7700};
	uint64_t now = 1;
	uint8_t buf[65536];
	size_t p = 0;
	while (p + 3 <= size) {
		unsigned op = data[p];
		size_t len = (size_t)data[p + 1] << 8 | data[p + 2];
		p += 3;
		if (len > size - p)
			len = size - p;
		memcpy(buf, data + p, len); /* dp_classify rewrites ARP in place */
		p += len;
		switch (op % 4) {
		case 0: {
			dp_peer peer;
			uint8_t *pl;
			size_t plen;
			if (dp_classify(buf, len, &me, &peer, &pl, &plen) == DP_PKT_UDP)
				one_frame(r, c, pl, plen, now);
			break;
		}
		case 1:
			one_frame(r, c, buf, len, now);
			break;
		case 2: {
			bhp_result res;
			int code;
			char text[64];
			bhp_stat st[8];
			size_t k;
			(void)bhp_result_decode(buf, len, &res);
			(void)bhp_error_decode(buf, len, &code, text, sizeof(text));
			(void)bhp_stats_decode(buf, len, st, 8, &k);
			break;
		}
		default:
			now += (uint64_t)len * 1000000ull;
			bhp_reasm_expire(r, now);
			break;
		}
	}
	bhp_reasm_free(r);
	bhp_crypto_free(c);
	return 0;
}
