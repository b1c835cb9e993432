/* bhp.c - BHP/1 frame codec, AES-256-GCM sealing, replay window, key files
 * and message payloads (layouts in bhp.h). */
#include "bhp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bh_err.h"
#include "bh_mem.h"

const char *const bhp_drop_names[BHP_DROP_COUNT] = {
	[BHP_DROP_SHORT] = "short",       [BHP_DROP_MAGIC] = "magic",
	[BHP_DROP_VERSION] = "version",   [BHP_DROP_TYPE] = "type",
	[BHP_DROP_LENGTH] = "length",     [BHP_DROP_FRAG] = "fragment",
	[BHP_DROP_OVERSIZE] = "oversize", [BHP_DROP_AGENCY] = "agency",
	[BHP_DROP_REPLAY] = "replay",     [BHP_DROP_TAG] = "tag",
	[BHP_DROP_OVERLAP] = "overlap",   [BHP_DROP_BUSY] = "busy",
	[BHP_DROP_TIMEOUT] = "timeout",   [BHP_DROP_NOTIP] = "not_ip_udp",
};

int bhp_parse(const uint8_t *f, size_t len, int to_server, bhp_hdr *h)
{
	if (len < BHP_HDR_LEN + BHP_TAG_LEN)
		return BHP_DROP_SHORT;
	if (bhp_get16(f) != BHP_MAGIC)
		return BHP_DROP_MAGIC;
	h->version = f[2];
	h->type = f[3];
	h->flags = f[4];
	h->reserved = f[5];
	h->frag_count = bhp_get16(f + 6);
	h->agency = bhp_get32(f + 8);
	h->sender = bhp_get32(f + 12);
	h->request_id = bhp_get64(f + 16);
	h->seq = bhp_get64(f + 24);
	h->msg_len = bhp_get32(f + 32);
	h->frag_off = bhp_get32(f + 36);
	h->frag_index = bhp_get16(f + 40);
	h->frag_len = bhp_get16(f + 42);
	if (h->version != BHP_VERSION)
		return BHP_DROP_VERSION;
	if (to_server ? !bhp_type_to_server(h->type) : !bhp_type_to_client(h->type))
		return BHP_DROP_TYPE;
	if (h->flags || h->reserved || h->frag_len > BHP_FRAG_MAX ||
	    len != (size_t)BHP_HDR_LEN + h->frag_len + BHP_TAG_LEN)
		return BHP_DROP_LENGTH;
	if (h->msg_len > BHP_MAX_MSG)
		return BHP_DROP_OVERSIZE;
	/* Fragment geometry: inside the message, count within bounds, and an
	 * empty fragment only for an empty single-fragment message. */
	if (h->frag_count == 0 || h->frag_count > BHP_MAX_FRAGS || h->frag_index >= h->frag_count ||
	    (uint64_t)h->frag_off + h->frag_len > h->msg_len ||
	    (h->frag_len == 0 && (h->msg_len != 0 || h->frag_count != 1)))
		return BHP_DROP_FRAG;
	return BHP_DROP_COUNT;
}

void bhp_hdr_write(const bhp_hdr *h, uint8_t *o)
{
	bhp_put16(o, BHP_MAGIC);
	o[2] = BHP_VERSION;
	o[3] = h->type;
	o[4] = 0;
	o[5] = 0;
	bhp_put16(o + 6, h->frag_count);
	bhp_put32(o + 8, h->agency);
	bhp_put32(o + 12, h->sender);
	bhp_put64(o + 16, h->request_id);
	bhp_put64(o + 24, h->seq);
	bhp_put32(o + 32, h->msg_len);
	bhp_put32(o + 36, h->frag_off);
	bhp_put16(o + 40, h->frag_index);
	bhp_put16(o + 42, h->frag_len);
}

/* ---- crypto ---- */

struct bhp_crypto {
	EVP_CIPHER_CTX *enc, *dec;
};

int bhp_crypto_new(const uint8_t key[BHP_KEY_LEN], bhp_crypto **out)
{
	bhp_crypto *c = calloc(1, sizeof(*c));
	if (!c)
		return bh_fail(BH_ENOMEM, "crypto context");
	c->enc = EVP_CIPHER_CTX_new();
	c->dec = EVP_CIPHER_CTX_new();
	/* The key schedule is set once; each frame only sets the nonce. */
	if (!c->enc || !c->dec ||
	    EVP_EncryptInit_ex(c->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_EncryptInit_ex(c->enc, NULL, NULL, key, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->dec, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->dec, NULL, NULL, key, NULL) != 1) {
		bhp_crypto_free(c);
		return bh_fail(BH_ECRYPTO, "AES-256-GCM initialisation failed");
	}
	*out = c;
	return BH_OK;
}

void bhp_crypto_free(bhp_crypto *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->enc); /* OpenSSL cleanses the key schedule */
	EVP_CIPHER_CTX_free(c->dec);
	free(c);
}

static void nonce_of(const bhp_hdr *h, uint8_t iv[12])
{
	bhp_put32(iv, h->sender);
	bhp_put64(iv + 4, h->seq);
}

int bhp_seal(bhp_crypto *c, const bhp_hdr *h, const uint8_t *pt, uint8_t *out)
{
	uint8_t iv[12];
	int n = 0, m = 0;
	nonce_of(h, iv);
	bhp_hdr_write(h, out);
	if (EVP_EncryptInit_ex(c->enc, NULL, NULL, NULL, iv) != 1 ||
	    EVP_EncryptUpdate(c->enc, NULL, &n, out, BHP_HDR_LEN) != 1 ||
	    (h->frag_len &&
	     EVP_EncryptUpdate(c->enc, out + BHP_HDR_LEN, &n, pt, h->frag_len) != 1) ||
	    EVP_EncryptFinal_ex(c->enc, out + BHP_HDR_LEN + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->enc, EVP_CTRL_GCM_GET_TAG, BHP_TAG_LEN,
				out + BHP_HDR_LEN + h->frag_len) != 1)
		return bh_fail(BH_ECRYPTO, "seal failed");
	return BH_OK;
}

int bhp_open(bhp_crypto *c, const bhp_hdr *h, const uint8_t *f, uint8_t *pt)
{
	uint8_t iv[12], tag[BHP_TAG_LEN];
	int n = 0, m = 0;
	nonce_of(h, iv);
	memcpy(tag, f + BHP_HDR_LEN + h->frag_len, BHP_TAG_LEN);
	if (EVP_DecryptInit_ex(c->dec, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(c->dec, NULL, &n, f, BHP_HDR_LEN) != 1 ||
	    (h->frag_len && EVP_DecryptUpdate(c->dec, pt, &n, f + BHP_HDR_LEN, h->frag_len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(c->dec, EVP_CTRL_GCM_SET_TAG, BHP_TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(c->dec, pt + n, &m) != 1) {
		bh_wipe(pt, h->frag_len);
		return BH_ECRYPTO;
	}
	return BH_OK;
}

/* ---- replay window ---- */

int bhp_replay_check(const bhp_replay *r, uint64_t seq)
{
	if (seq == 0)
		return 0; /* 0 marks "nothing seen"; senders never use it */
	if (seq > r->top)
		return 1;
	uint64_t age = r->top - seq;
	if (age >= BHP_REPLAY_WIN)
		return 0;
	return !(r->bits[(seq % BHP_REPLAY_WIN) / 64] >> (seq % 64) & 1);
}

void bhp_replay_update(bhp_replay *r, uint64_t seq)
{
	if (seq > r->top) {
		uint64_t shift = seq - r->top;
		if (shift >= BHP_REPLAY_WIN || r->top == 0) {
			memset(r->bits, 0, sizeof(r->bits));
		} else {
			/* Clear the slots the window slides over. */
			for (uint64_t s = r->top + 1; s <= seq; s++)
				r->bits[(s % BHP_REPLAY_WIN) / 64] &= ~(1ull << (s % 64));
		}
		r->top = seq;
	}
	r->bits[(seq % BHP_REPLAY_WIN) / 64] |= 1ull << (seq % 64);
}

/* ---- key files ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses one non-comment line into k. */
static int parse_key_line(char *line, unsigned lineno, bhp_key *k)
{
	char *save = NULL;
	char *id = strtok_r(line, " \t\r\n", &save);
	char *hex = strtok_r(NULL, " \t\r\n", &save);
	char *name = strtok_r(NULL, " \t\r\n", &save);
	char *end = NULL;
	if (!id || !hex)
		return bh_fail(BH_EFORMAT, "key file line %u: need `<agency> <64 hex>`", lineno);
	errno = 0;
	unsigned long v = strtoul(id, &end, 10);
	if (errno || *end || v == 0 || v > UINT32_MAX)
		return bh_fail(BH_EFORMAT, "key file line %u: bad agency id", lineno);
	if (strlen(hex) != 2 * BHP_KEY_LEN)
		return bh_fail(BH_EFORMAT, "key file line %u: key must be 64 hex digits", lineno);
	for (unsigned i = 0; i < BHP_KEY_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return bh_fail(BH_EFORMAT, "key file line %u: bad hex", lineno);
		k->key[i] = (uint8_t)(hi << 4 | lo);
	}
	k->agency = (uint32_t)v;
	snprintf(k->name, sizeof(k->name), "%s", name ? name : id);
	return BH_OK;
}

int bhp_keys_load(const char *path, bhp_key *keys, size_t max, size_t *n)
{
	struct stat st;
	*n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return bh_fail(BH_EIO, "key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return bh_fail(BH_EINVAL, "key file %s must be a regular file owned by us, mode 0600",
			       path);
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return bh_fail(BH_EIO, "key file %s", path);
	}
	setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the key bytes */
	char line[256];
	unsigned lineno = 0;
	int rc = BH_OK;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0)
			continue;
		if (*n == max) {
			rc = bh_fail(BH_ETOOBIG, "key file has more than %zu agencies", max);
			break;
		}
		rc = parse_key_line(p, lineno, &keys[*n]);
		if (rc)
			break;
		for (size_t i = 0; i < *n; i++)
			if (keys[i].agency == keys[*n].agency)
				rc = bh_fail(BH_EEXIST, "key file line %u: agency listed twice", lineno);
		if (rc)
			break;
		(*n)++;
	}
	bh_wipe(line, sizeof(line));
	fclose(f);
	if (rc) {
		bhp_keys_wipe(keys, max);
		*n = 0;
	} else if (*n == 0) {
		rc = bh_fail(BH_ENOTFOUND, "key file %s lists no agency", path);
	}
	return rc;
}

void bhp_keys_wipe(bhp_key *keys, size_t n)
{
	bh_wipe(keys, n * sizeof(*keys));
}

/* ---- sender ---- */

void bhp_sender_init(bhp_sender *s, uint32_t agency, bhp_crypto *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->agency = agency;
	s->crypto = c;
	s->seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (RAND_bytes((unsigned char *)&s->sender, sizeof(s->sender)) != 1)
		s->sender = (uint32_t)getpid() ^ (uint32_t)ts.tv_nsec;
}

int bhp_sender_frame(bhp_sender *s, unsigned type, uint64_t request_id, const uint8_t *msg,
		     size_t len, unsigned i, uint8_t *out, size_t *out_len)
{
	unsigned count = bhp_frag_count(len);
	if (len > BHP_MAX_MSG || i >= count)
		return bh_fail(BH_EINVAL, "fragment %u of a %zu-byte message", i, len);
	size_t off = (size_t)i * BHP_FRAG_MAX;
	size_t fl = len - off < BHP_FRAG_MAX ? len - off : BHP_FRAG_MAX;
	bhp_hdr h = {
		.version = BHP_VERSION,
		.type = (uint8_t)type,
		.frag_count = (uint16_t)count,
		.frag_index = (uint16_t)i,
		.frag_len = (uint16_t)fl,
		.agency = s->agency,
		.sender = s->sender,
		.msg_len = (uint32_t)len,
		.frag_off = (uint32_t)off,
		.request_id = request_id,
		.seq = s->seq++,
	};
	*out_len = BHP_HDR_LEN + fl + BHP_TAG_LEN;
	return bhp_seal(s->crypto, &h, msg ? msg + off : NULL, out);
}

/* ---- payloads ---- */

size_t bhp_result_encode(const bhp_result *r, uint8_t *o)
{
	unsigned n = r->n > BHP_MAX_K ? BHP_MAX_K : r->n;
	memset(o, 0, BHP_RESULT_HDR + n * BHP_CAND_SIZE);
	o[0] = r->modality;
	o[1] = (uint8_t)n;
	bhp_put32(o + 4, r->search_us);
	memcpy(o + 8, r->backend, strnlen(r->backend, 15));
	memcpy(o + 24, r->warning, strnlen(r->warning, 95));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *c = o + BHP_RESULT_HDR + i * BHP_CAND_SIZE;
		const bhp_result_cand *k = &r->cand[i];
		bhp_put64(c, (uint64_t)k->subject_id);
		bhp_put32(c + 8, (uint32_t)k->score);
		c[12] = k->position;
		c[13] = k->match;
		memcpy(c + 16, k->external_ref, strnlen(k->external_ref, 63));
	}
	return BHP_RESULT_HDR + n * BHP_CAND_SIZE;
}

int bhp_result_decode(const uint8_t *m, size_t len, bhp_result *r)
{
	memset(r, 0, sizeof(*r));
	if (len < BHP_RESULT_HDR || m[1] > BHP_MAX_K ||
	    len != BHP_RESULT_HDR + (size_t)m[1] * BHP_CAND_SIZE)
		return bh_fail(BH_EFORMAT, "result message of %zu bytes", len);
	r->modality = m[0];
	r->n = m[1];
	r->search_us = bhp_get32(m + 4);
	memcpy(r->backend, m + 8, 15);
	memcpy(r->warning, m + 24, 95);
	for (unsigned i = 0; i < r->n; i++) {
		const uint8_t *c = m + BHP_RESULT_HDR + i * BHP_CAND_SIZE;
		bhp_result_cand *k = &r->cand[i];
		k->subject_id = (int64_t)bhp_get64(c);
		k->score = (int32_t)bhp_get32(c + 8);
		k->position = c[12];
		k->match = c[13];
		memcpy(k->external_ref, c + 16, 63);
	}
	return BH_OK;
}

size_t bhp_error_encode(int code, const char *text, uint8_t *o)
{
	size_t tl = text ? strnlen(text, BHP_ERR_TEXT_MAX) : 0;
	bhp_put32(o, (uint32_t)code);
	if (tl)
		memcpy(o + 4, text, tl);
	return 4 + tl;
}

int bhp_error_decode(const uint8_t *m, size_t len, int *code, char *text, size_t cap)
{
	if (len < 4 || len > 4 + BHP_ERR_TEXT_MAX || cap == 0)
		return bh_fail(BH_EFORMAT, "error message of %zu bytes", len);
	*code = (int32_t)bhp_get32(m);
	size_t tl = len - 4 < cap - 1 ? len - 4 : cap - 1;
	for (size_t i = 0; i < tl; i++)
		text[i] = isprint(m[4 + i]) ? (char)m[4 + i] : '?';
	text[tl] = 0;
	return BH_OK;
}

size_t bhp_stats_encode(const bhp_stat *s, size_t n, uint8_t *o, size_t cap)
{
	size_t p = 2;
	if (cap < 2 || n > UINT16_MAX)
		return 0;
	bhp_put16(o, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strnlen(s[i].name, sizeof(s[i].name) - 1);
		if (p + 1 + nl + 8 > cap)
			return 0;
		o[p++] = (uint8_t)nl;
		memcpy(o + p, s[i].name, nl);
		p += nl;
		bhp_put64(o + p, s[i].value);
		p += 8;
	}
	return p;
}

int bhp_stats_decode(const uint8_t *m, size_t len, bhp_stat *s, size_t cap, size_t *n)
{
	*n = 0;
	if (len < 2)
		return bh_fail(BH_EFORMAT, "stats message of %zu bytes", len);
	size_t count = bhp_get16(m), p = 2;
	for (size_t i = 0; i < count; i++) {
		if (p >= len)
			return bh_fail(BH_EFORMAT, "stats entry %zu truncated", i);
		size_t nl = m[p++];
		if (nl >= sizeof(s->name) || p + nl + 8 > len)
			return bh_fail(BH_EFORMAT, "stats entry %zu truncated", i);
		if (*n < cap) {
			for (size_t j = 0; j < nl; j++)
				s[*n].name[j] = isprint(m[p + j]) ? (char)m[p + j] : '?';
			s[*n].name[nl] = 0;
			s[*n].value = bhp_get64(m + p + nl);
			(*n)++;
		}
		p += nl + 8;
	}
	return p == len ? BH_OK : bh_fail(BH_EFORMAT, "stats message has trailing bytes");
}
