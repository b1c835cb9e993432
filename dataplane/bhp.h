/*
 * bhp.h - BHP/1, the biohub wire protocol (codec shared by biohubd, the
 * `biohub probe` client, the tests and the fuzz target).  docs/PROTOCOL.md
 * is the prose specification; this header is the normative layout.
 *
 * One BHP/1 frame is the payload of one UDP datagram:
 *
 *   off size field
 *    0   2   magic 0x4248 ("BH")
 *    2   1   version (1)
 *    3   1   type (BHP_T_*)
 *    4   1   flags (must be 0)
 *    5   1   reserved (must be 0)
 *    6   2   frag_count   fragments in this message, 1..BHP_MAX_FRAGS
 *    8   4   agency       agency id (selects the key)
 *   12   4   sender       random id of the sending endpoint (nonce part)
 *   16   8   request_id   chosen by the client; echoed in the answer
 *   24   8   seq          per-sender frame counter (nonce part, replay window)
 *   32   4   msg_len      plaintext length of the whole message, <= BHP_MAX_MSG
 *   36   4   frag_off     offset of this fragment's bytes in the message
 *   40   2   frag_index   0..frag_count-1
 *   42   2   frag_len     ciphertext bytes in this frame, <= BHP_FRAG_MAX
 *   44   frag_len        ciphertext (AES-256-GCM)
 *   44+frag_len 16       GCM tag
 * All integers are big-endian.  The frame length must be exactly
 * 44 + frag_len + 16.  The 44 header bytes are the GCM associated data; the
 * nonce is sender (4 bytes) || seq (8 bytes), so every field is authenticated
 * and a nonce never repeats under one key while senders keep seq increasing.
 *
 * Each fragment is sealed on its own, so a forged fragment is rejected before
 * it costs reassembly memory.  Messages (reassembled plaintext) per type:
 *   SEARCH  modality u8, k u8, position u8 (0 = unknown; 1..10, the ANSI/NIST
 *           finger code, finger only), ppi10 u8 (0 = unknown; 15..255: the
 *           finger image's scan resolution in units of 10 ppi, for images
 *           that state none; bh_probe_desc), image bytes (rest; for a
 *           finger also an ANSI/NIST transaction or an ISO/INCITS minutiae
 *           record, bh_search.h)
 *   RESULT  modality u8, n u8, reserved u16, search_us u32, backend[16],
 *           warning[96], then n candidates of BHP_CAND_SIZE bytes:
 *           subject_id i64, score i32, position u8, match u8, reserved u16,
 *           external_ref[64] (NUL padded)
 *   ERROR   code i32 (a BH_E* value), text (rest, not NUL terminated, <= 200)
 *   HEALTH  request: empty; answer (HEALTH_OK): version u32, uptime_s u32,
 *           searches_in_flight u32, status u32 (0 = ok)
 *   STATS   request: empty; answer (STATS_OK): count u16, then count entries
 *           of name_len u8, name (ASCII), value u64
 */
#ifndef BHP_H
#define BHP_H

#include <stddef.h>
#include <stdint.h>

#define BHP_MAGIC 0x4248u
#define BHP_VERSION 1u
#define BHP_HDR_LEN 44u
#define BHP_TAG_LEN 16u
#define BHP_KEY_LEN 32u
#define BHP_FRAG_MAX 1400u   /* ciphertext bytes per frame: fits a 1500 MTU */
#define BHP_FRAME_MAX (BHP_HDR_LEN + BHP_FRAG_MAX + BHP_TAG_LEN)
#define BHP_MAX_MSG (2u << 20) /* 2 MiB: any probe image we accept */
#define BHP_MAX_FRAGS 2048u    /* ceil(BHP_MAX_MSG / 1024): senders use >= 1 KiB */
#define BHP_CAND_SIZE 80u
#define BHP_RESULT_HDR 120u
#define BHP_MAX_K 50u
#define BHP_ERR_TEXT_MAX 200u

enum bhp_type {
	BHP_T_SEARCH = 1,    /* client -> server */
	BHP_T_RESULT = 2,    /* server -> client */
	BHP_T_ERROR = 3,     /* server -> client */
	BHP_T_HEALTH = 4,    /* client -> server */
	BHP_T_HEALTH_OK = 5, /* server -> client */
	BHP_T_STATS = 6,     /* client -> server */
	BHP_T_STATS_OK = 7,  /* server -> client */
};

/* Is `t` a type the server accepts / a client accepts? */
static inline int bhp_type_to_server(unsigned t)
{
	return t == BHP_T_SEARCH || t == BHP_T_HEALTH || t == BHP_T_STATS;
}
static inline int bhp_type_to_client(unsigned t)
{
	return t == BHP_T_RESULT || t == BHP_T_ERROR || t == BHP_T_HEALTH_OK ||
	       t == BHP_T_STATS_OK;
}

typedef struct bhp_hdr {
	uint8_t version, type, flags, reserved;
	uint16_t frag_count, frag_index, frag_len;
	uint32_t agency, sender, msg_len, frag_off;
	uint64_t request_id, seq;
} bhp_hdr;

/* Why a frame was dropped (counters are indexed by these). */
enum bhp_drop {
	BHP_DROP_SHORT = 0,   /* shorter than header + tag */
	BHP_DROP_MAGIC,       /* not BHP */
	BHP_DROP_VERSION,     /* other protocol version */
	BHP_DROP_TYPE,        /* unknown type or wrong direction */
	BHP_DROP_LENGTH,      /* frame length != header + frag_len + tag, or flags */
	BHP_DROP_FRAG,        /* fragment fields inconsistent (index/count/offset) */
	BHP_DROP_OVERSIZE,    /* msg_len > limit */
	BHP_DROP_AGENCY,      /* unknown agency */
	BHP_DROP_REPLAY,      /* seq seen or too old */
	BHP_DROP_TAG,         /* authentication failed (wrong key, forged, corrupted) */
	BHP_DROP_OVERLAP,     /* fragment overlaps / duplicates / disagrees with message */
	BHP_DROP_BUSY,        /* reassembly limits reached (per agency / total) */
	BHP_DROP_TIMEOUT,     /* message expired incomplete (gap) */
	BHP_DROP_NOTIP,       /* not IPv4/UDP to our address and port */
	BHP_DROP_COUNT
};
extern const char *const bhp_drop_names[BHP_DROP_COUNT];

/* Parses and validates the header of a frame of `len` bytes (structure only,
 * no crypto).  Returns BHP_DROP_COUNT when valid, else the drop reason.
 * `to_server` selects which types are accepted. */
int bhp_parse(const uint8_t *frame, size_t len, int to_server, bhp_hdr *h);
/* Writes h as 44 bytes at out. */
void bhp_hdr_write(const bhp_hdr *h, uint8_t *out);

/* ---- per-key AES-256-GCM contexts ---- */
typedef struct bhp_crypto bhp_crypto;
/* One context per key and thread (OpenSSL contexts are not shared). */
int bhp_crypto_new(const uint8_t key[BHP_KEY_LEN], bhp_crypto **out);
void bhp_crypto_free(bhp_crypto *c);
/* Seals `pt` (h->frag_len bytes) into a full frame at out (BHP_HDR_LEN +
 * frag_len + BHP_TAG_LEN bytes). */
int bhp_seal(bhp_crypto *c, const bhp_hdr *h, const uint8_t *pt, uint8_t *out);
/* Opens a parsed frame: writes h->frag_len plaintext bytes to pt and checks
 * the tag.  On BH_ECRYPTO pt is wiped. */
int bhp_open(bhp_crypto *c, const bhp_hdr *h, const uint8_t *frame, uint8_t *pt);

/* ---- replay window (per agency, like an IPsec SA) ---- */
#define BHP_REPLAY_WIN 1024u
typedef struct bhp_replay {
	uint64_t top; /* highest seq accepted; 0 = none yet */
	uint64_t bits[BHP_REPLAY_WIN / 64];
} bhp_replay;
/* 1 if seq may be accepted (not seen, not older than the window). */
int bhp_replay_check(const bhp_replay *r, uint64_t seq);
/* Marks seq seen (call after the tag verified). */
void bhp_replay_update(bhp_replay *r, uint64_t seq);

/* ---- key files ----
 * Text, one agency per line: `<agency-id> <64 hex digits> [name]`; '#'
 * comments.  The file must be a regular file owned by the caller with no
 * group/other permission bits (0600 or 0400), else BH_EINVAL. */
typedef struct bhp_key {
	uint32_t agency;
	uint8_t key[BHP_KEY_LEN];
	char name[32];
} bhp_key;
#define BHP_MAX_AGENCIES 64
int bhp_keys_load(const char *path, bhp_key *keys, size_t max, size_t *n);
/* Wipes every key. */
void bhp_keys_wipe(bhp_key *keys, size_t n);

/* ---- sender: sequence numbers and fragmentation ---- */
typedef struct bhp_sender {
	uint32_t agency, sender;
	uint64_t seq; /* next seq; starts at CLOCK_REALTIME ns so restarts move forward */
	bhp_crypto *crypto;
} bhp_sender;
/* Initialises seq and a random sender id. */
void bhp_sender_init(bhp_sender *s, uint32_t agency, bhp_crypto *c);
/* Number of frames message `len` needs. */
static inline unsigned bhp_frag_count(size_t len)
{
	return len == 0 ? 1u : (unsigned)((len + BHP_FRAG_MAX - 1) / BHP_FRAG_MAX);
}
/* Seals fragment `i` of message (type, request_id, msg, len) into out
 * (BHP_FRAME_MAX bytes); *out_len gets the frame length. */
int bhp_sender_frame(bhp_sender *s, unsigned type, uint64_t request_id, const uint8_t *msg,
		     size_t len, unsigned i, uint8_t *out, size_t *out_len);

/* ---- reassembly ---- */
typedef struct bhp_reasm bhp_reasm;
typedef struct bhp_reasm_limits {
	size_t max_msg;          /* <= BHP_MAX_MSG */
	unsigned max_per_agency; /* messages in flight per agency */
	unsigned max_total;      /* messages in flight in total */
	size_t max_bytes;        /* buffer bytes in flight in total */
	uint64_t timeout_ns;     /* incomplete messages older than this are dropped */
} bhp_reasm_limits;

/* A completed message, handed to the caller who owns buf (wipe + free with
 * bhp_msg_free).  `peer` is an opaque 64-bit address tag (e.g. IP:port) that
 * every fragment of the message had to share. */
typedef struct bhp_msg {
	uint32_t agency;
	uint8_t type;
	uint64_t request_id;
	uint64_t peer;
	uint64_t first_ns; /* arrival of the first fragment */
	uint8_t *buf;
	size_t len;
} bhp_msg;
void bhp_msg_free(bhp_msg *m);

int bhp_reasm_new(const bhp_reasm_limits *lim, bhp_reasm **out);
/* Wipes and frees every buffer. */
void bhp_reasm_free(bhp_reasm *r);
/* Adds an authenticated fragment (plaintext pt, h->frag_len bytes).
 * Returns 1 and fills *done when the message is complete, 0 when more
 * fragments are needed, or a drop reason + 100 (BHP_DROP_OVERLAP, _BUSY,
 * _OVERSIZE, _FRAG) when the fragment was refused (an inconsistent
 * fragment also drops its whole message: its bytes are wiped). */
#define BHP_REASM_DROP(x) (100 + (x))
int bhp_reasm_add(bhp_reasm *r, const bhp_hdr *h, uint64_t peer, const uint8_t *pt,
		  uint64_t now_ns, bhp_msg *done);
/* Drops (wipes) every message older than the timeout; returns how many. */
unsigned bhp_reasm_expire(bhp_reasm *r, uint64_t now_ns);
unsigned bhp_reasm_in_flight(const bhp_reasm *r);
size_t bhp_reasm_bytes(const bhp_reasm *r);

/* ---- big-endian helpers ---- */
static inline void bhp_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void bhp_put32(uint8_t *p, uint32_t v)
{
	bhp_put16(p, (uint16_t)(v >> 16));
	bhp_put16(p + 2, (uint16_t)v);
}
static inline void bhp_put64(uint8_t *p, uint64_t v)
{
	bhp_put32(p, (uint32_t)(v >> 32));
	bhp_put32(p + 4, (uint32_t)v);
}
static inline uint16_t bhp_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t bhp_get32(const uint8_t *p)
{
	return ((uint32_t)bhp_get16(p) << 16) | bhp_get16(p + 2);
}
static inline uint64_t bhp_get64(const uint8_t *p)
{
	return ((uint64_t)bhp_get32(p) << 32) | bhp_get32(p + 4);
}

/* ---- message payloads ---- */
typedef struct bhp_result_cand {
	int64_t subject_id;
	int32_t score;
	uint8_t position, match;
	char external_ref[64];
} bhp_result_cand;

typedef struct bhp_result {
	uint8_t modality, n;
	uint32_t search_us;
	char backend[16];
	char warning[96];
	bhp_result_cand cand[BHP_MAX_K];
} bhp_result;
/* Encodes into out (BHP_RESULT_HDR + n*BHP_CAND_SIZE bytes); returns length. */
size_t bhp_result_encode(const bhp_result *r, uint8_t *out);
int bhp_result_decode(const uint8_t *m, size_t len, bhp_result *r);

/* Error message: writes code + text (truncated) to out (4 + 200 bytes). */
size_t bhp_error_encode(int code, const char *text, uint8_t *out);
int bhp_error_decode(const uint8_t *m, size_t len, int *code, char *text, size_t text_cap);

/* Stats message: name/value list. */
typedef struct bhp_stat {
	char name[48];
	uint64_t value;
} bhp_stat;
/* Encodes n stats into out (cap bytes); returns the length or 0 if it does not fit. */
size_t bhp_stats_encode(const bhp_stat *s, size_t n, uint8_t *out, size_t cap);
/* Decodes up to cap entries; BH_EFORMAT on malformed input. */
int bhp_stats_decode(const uint8_t *m, size_t len, bhp_stat *s, size_t cap, size_t *n);

#endif
