/*
 * bhp_client.h - BHP/1 over an ordinary kernel UDP socket: the reference
 * client used by `biohub probe`, `biohub stats` and the tests.
 *
 * One client = one agency key, one sender id, one server.  Replies are
 * authenticated with the same key, checked against the client's own replay
 * window and reassembled with the same bounded reassembler as the server.
 */
#ifndef BHP_CLIENT_H
#define BHP_CLIENT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "bhp.h"

typedef struct bhp_client {
	int fd;
	struct sockaddr_in server;
	bhp_sender tx;
	bhp_crypto *crypto;
	bhp_replay replay;
	bhp_reasm *reasm;
	uint64_t next_req;
	uint64_t drops; /* reply frames refused (bad tag, replay, malformed) */
} bhp_client;

/* Loads the key of `agency` from key_file (owner-only, bhp.h format) and
 * connects a UDP socket to server "IP:PORT". */
int bhp_client_open(bhp_client *c, const char *key_file, uint32_t agency, const char *server);
void bhp_client_close(bhp_client *c);

/* Sends a whole message (all fragments) with request id req. */
int bhp_client_send(bhp_client *c, unsigned type, uint64_t req, const uint8_t *msg, size_t len);

/* Waits up to timeout_ms for one complete reply message.  Returns 1 with
 * *out filled (free with bhp_msg_free), 0 on timeout, < 0 on error. */
int bhp_client_recv(bhp_client *c, int timeout_ms, bhp_msg *out);

/* Sends (type, msg) with a fresh request id and waits for the reply to that
 * request id (other replies are discarded).  1 / 0 (timeout) / < 0. */
int bhp_client_call(bhp_client *c, unsigned type, const uint8_t *msg, size_t len,
		    int timeout_ms, bhp_msg *reply);

/* Parses "A.B.C.D:PORT". */
int bhp_parse_addr(const char *s, struct sockaddr_in *out);

#endif
