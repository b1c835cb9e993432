/* bhp_client.c - BHP/1 client over a kernel UDP socket (see bhp_client.h). */
#include "bhp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bh_err.h"
#include "bh_mem.h"
#include "bh_time.h"

int bhp_parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return bh_fail(BH_EINVAL, "server '%s': expected IP:PORT", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	char *end = NULL;
	long port = strtol(colon + 1, &end, 10);
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return bh_fail(BH_EINVAL, "server '%s': expected IP:PORT", s);
	out->sin_port = htons((uint16_t)port);
	return BH_OK;
}

int bhp_client_open(bhp_client *c, const char *key_file, uint32_t agency, const char *server)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	bhp_key keys[BHP_MAX_AGENCIES];
	size_t n = 0;
	int rc = bhp_parse_addr(server, &c->server);
	if (rc == BH_OK)
		rc = bhp_keys_load(key_file, keys, BHP_MAX_AGENCIES, &n);
	size_t i = 0;
	while (rc == BH_OK && i < n && keys[i].agency != agency)
		i++;
	if (rc == BH_OK && i == n)
		rc = bh_fail(BH_ENOTFOUND, "agency %u not in key file %s", agency, key_file);
	if (rc == BH_OK)
		rc = bhp_crypto_new(keys[i].key, &c->crypto);
	bhp_keys_wipe(keys, BHP_MAX_AGENCIES);
	bhp_reasm_limits lim = {.max_msg = 1u << 20, .max_per_agency = 256, .max_total = 256,
				.max_bytes = 16u << 20, .timeout_ns = 5000000000ull};
	if (rc == BH_OK)
		rc = bhp_reasm_new(&lim, &c->reasm);
	if (rc == BH_OK) {
		c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 ||
		    connect(c->fd, (struct sockaddr *)&c->server, sizeof(c->server)) != 0)
			rc = bh_fail(BH_EIO, "udp socket to %s: %s", server, strerror(errno));
		int sz = 4 << 20;
		if (c->fd >= 0)
			setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	if (rc) {
		bhp_client_close(c);
		return rc;
	}
	bhp_sender_init(&c->tx, agency, c->crypto);
	/* Request ids are < 2^63 (the audit table stores them as SQLite integers). */
	c->next_req = (c->tx.seq ^ ((uint64_t)c->tx.sender << 32)) & (UINT64_MAX >> 2);
	return BH_OK;
}

void bhp_client_close(bhp_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	bhp_crypto_free(c->crypto);
	bhp_reasm_free(c->reasm);
	bh_wipe(c, sizeof(*c));
	c->fd = -1;
}

int bhp_client_send(bhp_client *c, unsigned type, uint64_t req, const uint8_t *msg, size_t len)
{
	uint8_t f[BHP_FRAME_MAX];
	unsigned n = bhp_frag_count(len);
	int rc = BH_OK;
	for (unsigned i = 0; i < n && rc == BH_OK; i++) {
		size_t fl = 0;
		rc = bhp_sender_frame(&c->tx, type, req, msg, len, i, f, &fl);
		if (rc == BH_OK && send(c->fd, f, fl, 0) != (ssize_t)fl) {
			/* A full socket buffer: wait briefly and retry once. */
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};
			poll(&p, 1, 100);
			if (send(c->fd, f, fl, 0) != (ssize_t)fl)
				rc = bh_fail(BH_EIO, "send: %s", strerror(errno));
		}
	}
	return rc;
}

/* Handles one datagram; 1 if it completed a message. */
static int on_datagram(bhp_client *c, const uint8_t *f, size_t len, bhp_msg *out)
{
	bhp_hdr h;
	uint8_t pt[BHP_FRAG_MAX];
	if (bhp_parse(f, len, 0, &h) != BHP_DROP_COUNT || h.agency != c->tx.agency ||
	    !bhp_replay_check(&c->replay, h.seq) || bhp_open(c->crypto, &h, f, pt) != BH_OK) {
		c->drops++;
		return 0;
	}
	bhp_replay_update(&c->replay, h.seq);
	int rc = bhp_reasm_add(c->reasm, &h, 0, pt, bh_now_ns(), out);
	bh_wipe(pt, h.frag_len);
	if (rc >= 100)
		c->drops++;
	return rc == 1;
}

int bhp_client_recv(bhp_client *c, int timeout_ms, bhp_msg *out)
{
	uint8_t f[BHP_FRAME_MAX + 64];
	uint64_t end = bh_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now = bh_now_ns();
		if (now >= end)
			return 0;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int pr = poll(&p, 1, (int)((end - now) / 1000000u) + 1);
		if (pr < 0 && errno != EINTR)
			return bh_fail(BH_EIO, "poll: %s", strerror(errno));
		if (pr <= 0)
			continue;
		ssize_t n = recv(c->fd, f, sizeof(f), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* ECONNREFUSED: nothing listens there (yet). */
			return bh_fail(BH_EIO, "recv: %s", strerror(errno));
		}
		if (on_datagram(c, f, (size_t)n, out))
			return 1;
		bhp_reasm_expire(c->reasm, bh_now_ns());
	}
}

int bhp_client_call(bhp_client *c, unsigned type, const uint8_t *msg, size_t len,
		    int timeout_ms, bhp_msg *reply)
{
	uint64_t req = c->next_req++;
	int rc = bhp_client_send(c, type, req, msg, len);
	if (rc)
		return rc;
	uint64_t end = bh_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now = bh_now_ns();
		if (now >= end)
			return 0;
		rc = bhp_client_recv(c, (int)((end - now) / 1000000u) + 1, reply);
		if (rc <= 0)
			return rc;
		if (reply->request_id == req)
			return 1;
		bhp_msg_free(reply); /* a late answer to an earlier request */
	}
}
