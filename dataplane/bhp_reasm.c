/* bhp_reasm.c - bounded reassembly of authenticated BHP/1 fragments.
 *
 * Bounds (bhp_reasm_limits): a message may not exceed max_msg; at most
 * max_per_agency messages per agency and max_total in all may be in flight,
 * holding at most max_bytes of buffers; an incomplete message is dropped
 * after timeout_ns.  So a flood of partial messages costs at most max_bytes
 * and is counted, never grows memory.  Every buffer is wiped before free.
 *
 * Fragments of a message may arrive in any order.  Each fragment records its
 * [off, off+len) interval; a fragment whose interval overlaps one already
 * received, a repeated index, or header fields that disagree with the
 * message's first fragment (msg_len, frag_count, peer) drop the message.
 * The message completes when all frag_count fragments arrived and their
 * lengths add up to msg_len (no overlap + in bounds = exact cover).
 */
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_mem.h"
#include "bhp.h"

typedef struct frag_span {
	uint32_t off;
	uint16_t len;
	uint8_t have;
} frag_span;

typedef struct slot {
	int used;
	uint32_t agency;
	uint8_t type;
	uint64_t request_id, peer, first_ns;
	uint32_t msg_len;
	uint16_t frag_count, got;
	uint64_t got_bytes;
	uint8_t *buf;
	frag_span *spans;
} slot;

struct bhp_reasm {
	bhp_reasm_limits lim;
	slot *slots; /* max_total of them */
	unsigned in_flight;
	size_t bytes;
};

void bhp_msg_free(bhp_msg *m)
{
	if (m && m->buf) {
		bh_wipe_free(m->buf, m->len ? m->len : 1);
		m->buf = NULL;
	}
}

int bhp_reasm_new(const bhp_reasm_limits *lim, bhp_reasm **out)
{
	if (!lim->max_total || !lim->max_per_agency || lim->max_msg > BHP_MAX_MSG)
		return bh_fail(BH_EINVAL, "reassembly limits");
	bhp_reasm *r = calloc(1, sizeof(*r));
	if (!r)
		return bh_fail(BH_ENOMEM, "reassembly");
	r->lim = *lim;
	r->slots = calloc(lim->max_total, sizeof(slot));
	if (!r->slots) {
		free(r);
		return bh_fail(BH_ENOMEM, "reassembly slots");
	}
	*out = r;
	return BH_OK;
}

static void slot_drop(bhp_reasm *r, slot *s)
{
	size_t cost = (size_t)s->msg_len + 1;
	bh_wipe_free(s->buf, s->msg_len ? s->msg_len : 1);
	free(s->spans);
	memset(s, 0, sizeof(*s));
	r->in_flight--;
	r->bytes -= cost;
}

void bhp_reasm_free(bhp_reasm *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->lim.max_total; i++)
		if (r->slots[i].used)
			slot_drop(r, &r->slots[i]);
	free(r->slots);
	free(r);
}

unsigned bhp_reasm_in_flight(const bhp_reasm *r) { return r->in_flight; }
size_t bhp_reasm_bytes(const bhp_reasm *r) { return r->bytes; }

unsigned bhp_reasm_expire(bhp_reasm *r, uint64_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->lim.max_total && r->in_flight; i++) {
		slot *s = &r->slots[i];
		if (s->used && now - s->first_ns > r->lim.timeout_ns) {
			slot_drop(r, s);
			n++;
		}
	}
	return n;
}

/* Finds the slot of (agency, request, type); counts the agency's slots and
 * remembers a free one. */
static slot *lookup(bhp_reasm *r, const bhp_hdr *h, unsigned *agency_n, slot **free_slot)
{
	*agency_n = 0;
	*free_slot = NULL;
	slot *hit = NULL;
	for (unsigned i = 0; i < r->lim.max_total; i++) {
		slot *s = &r->slots[i];
		if (!s->used) {
			if (!*free_slot)
				*free_slot = s;
			continue;
		}
		if (s->agency != h->agency)
			continue;
		(*agency_n)++;
		if (s->request_id == h->request_id && s->type == h->type)
			hit = s;
	}
	return hit;
}

static int slot_start(bhp_reasm *r, slot *s, const bhp_hdr *h, uint64_t peer, uint64_t now)
{
	size_t cost = (size_t)h->msg_len + 1;
	if (h->msg_len > r->lim.max_msg)
		return BHP_REASM_DROP(BHP_DROP_OVERSIZE);
	if (r->bytes + cost > r->lim.max_bytes)
		return BHP_REASM_DROP(BHP_DROP_BUSY);
	s->buf = malloc(h->msg_len ? h->msg_len : 1);
	s->spans = calloc(h->frag_count, sizeof(frag_span));
	if (!s->buf || !s->spans) {
		free(s->buf);
		free(s->spans);
		s->buf = NULL;
		s->spans = NULL;
		return BHP_REASM_DROP(BHP_DROP_BUSY);
	}
	s->used = 1;
	s->agency = h->agency;
	s->type = h->type;
	s->request_id = h->request_id;
	s->peer = peer;
	s->first_ns = now;
	s->msg_len = h->msg_len;
	s->frag_count = h->frag_count;
	s->got = 0;
	s->got_bytes = 0;
	r->in_flight++;
	r->bytes += cost;
	return 0;
}

/* 1 if [off, off+len) overlaps a fragment already received. */
static int overlaps(const slot *s, uint32_t off, uint16_t len)
{
	for (unsigned i = 0; i < s->frag_count; i++) {
		const frag_span *f = &s->spans[i];
		if (f->have && off < f->off + (uint32_t)f->len && f->off < off + (uint32_t)len)
			return 1;
	}
	return 0;
}

int bhp_reasm_add(bhp_reasm *r, const bhp_hdr *h, uint64_t peer, const uint8_t *pt,
		  uint64_t now, bhp_msg *done)
{
	unsigned agency_n;
	slot *fs;
	slot *s = lookup(r, h, &agency_n, &fs);
	if (!s) {
		if (agency_n >= r->lim.max_per_agency || !fs)
			return BHP_REASM_DROP(BHP_DROP_BUSY);
		int rc = slot_start(r, fs, h, peer, now);
		if (rc)
			return rc;
		s = fs;
	} else if (s->msg_len != h->msg_len || s->frag_count != h->frag_count ||
		   s->peer != peer || s->spans[h->frag_index].have ||
		   overlaps(s, h->frag_off, h->frag_len)) {
		slot_drop(r, s);
		return BHP_REASM_DROP(BHP_DROP_OVERLAP);
	}
	if (h->frag_len)
		memcpy(s->buf + h->frag_off, pt, h->frag_len);
	s->spans[h->frag_index] = (frag_span){h->frag_off, h->frag_len, 1};
	s->got++;
	s->got_bytes += h->frag_len;
	if (s->got < s->frag_count)
		return 0;
	if (s->got_bytes != s->msg_len) { /* all fragments, but a gap remains */
		slot_drop(r, s);
		return BHP_REASM_DROP(BHP_DROP_FRAG);
	}
	*done = (bhp_msg){
		.agency = s->agency,
		.type = s->type,
		.request_id = s->request_id,
		.peer = s->peer,
		.first_ns = s->first_ns,
		.buf = s->buf,
		.len = s->msg_len,
	};
	/* Ownership of buf moves to the caller. */
	r->bytes -= (size_t)s->msg_len + 1;
	r->in_flight--;
	free(s->spans);
	memset(s, 0, sizeof(*s));
	return 1;
}
