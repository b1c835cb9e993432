/* test_finger_an2k.c - finger templates from the NIST ANSI/NIST-ITL sample
 * transactions (bh_finger_an2k.h): which records are enrolled at which
 * position and which are refused; a transaction searched against itself
 * scores far above the threshold and far above another one; which probes a
 * finger search takes from a transaction; truncated transactions are errors
 * with nothing returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_an2k.h"
#include "bh_err.h"
#include "bh_finger.h"
#include "bh_finger_an2k.h"
#include "bh_mcc.h"
#include "bh_mem.h"

#define NIST BH_SHARED_DATA_DIR "/fingerprint/nist/"
#define MAXT 16

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *b = NULL;
	if (bh_read_file(name, 0, &b, len) != BH_OK)
		return NULL;
	return b;
}

typedef struct enrolled {
	bh_probe_tmpl t[MAXT];
	size_t n;
	char notes[2048];
	int rc;
} enrolled;

static int enrol(const char *file, enrolled *e)
{
	size_t len;
	uint8_t *b = load(file, &len);
	if (!b)
		return -1;
	memset(e, 0, sizeof *e);
	e->rc = bh_finger_an2k_enrol(b, len, e->t, MAXT, &e->n, e->notes, sizeof e->notes);
	free(b);
	return 0;
}

static void release(enrolled *e)
{
	for (size_t i = 0; i < e->n; i++)
		bh_probe_tmpl_clear(&e->t[i]);
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void finger_image_and_minutiae(void **state)
{
	(void)state;
	enrolled e;
	if (enrol(NIST "type3.an2k", &e))
		skip();
	assert_int_equal(e.rc, BH_OK);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.t[0].position, 2); /* type-3 record, right index */
	assert_int_equal(e.t[0].modality, BH_MOD_FINGER);
	assert_int_equal(bh_mcc_check(e.t[0].full, e.t[0].full_len), BH_OK);
	release(&e);

	/* EFS minutiae only: one template per finger position, no image */
	assert_int_equal(enrol(NIST "type9-efs.an2k", &e), 0);
	assert_int_equal(e.rc, BH_OK);
	assert_true(e.n >= 8);
	int seen[11] = {0};
	for (size_t i = 0; i < e.n; i++) {
		assert_in_range(e.t[i].position, 1, 10);
		assert_int_equal(seen[e.t[i].position]++, 0);
		assert_int_equal(bh_mcc_check(e.t[i].full, e.t[i].full_len), BH_OK);
	}
	release(&e);
}

static void refused_records(void **state)
{
	(void)state;
	enrolled e;
	if (enrol(NIST "type9-13.an2k", &e))
		skip();
	assert_int_equal(e.rc, BH_ENOFEATURE); /* latent image and its minutiae */
	assert_int_equal(count_lines(e.notes, "latent"), 2);

	assert_int_equal(enrol(NIST "type9-15.an2k", &e), 0);
	assert_int_equal(e.rc, BH_ENOFEATURE); /* palms and the palm's minutiae */
	assert_int_equal(count_lines(e.notes, "forensic palm"), 3);
}

static int32_t compare(const bh_probe_tmpl *a, const bh_probe_tmpl *b)
{
	return bh_mcc_compare_blobs(a->full, a->full_len, b->full, b->full_len);
}

/* The template our extractor makes from the first latent image of a
 * transaction. */
static bh_probe_tmpl latent_image_template(const uint8_t *b, size_t len)
{
	bh_an2k *a;
	assert_int_equal(bh_an2k_parse(b, len, &a), BH_OK);
	const bh_an2k_image *im = NULL;
	for (uint32_t i = 0; i < a->nimages && !im; i++)
		if (bh_an2k_image_kind(&a->images[i]) == BH_AN2K_KIND_LATENT)
			im = &a->images[i];
	assert_non_null(im);
	bh_image g;
	assert_int_equal(bh_an2k_image_decode(im, NULL, &g), BH_OK);
	bh_probe_tmpl t;
	assert_int_equal(bh_finger_extract(&g, 0, &t), BH_OK);
	bh_image_free(&g);
	bh_an2k_free(a);
	return t;
}

/* Two four-finger slaps and two plain thumbs (bh_slap.h): ten fingers, each
 * position once; as a probe, the first slap's first fingertip (position 10:
 * the file's first slap is the left hand, little finger leftmost) matches
 * its own reference and no other finger. */
static void slaps_give_ten_fingers(void **state)
{
	(void)state;
	enrolled e;
	if (enrol(NIST "type4-slaps.an2k", &e))
		skip();
	assert_int_equal(e.rc, BH_OK);
	assert_int_equal(e.n, 10);
	assert_int_equal(e.notes[0], '\0');
	int seen[11] = {0};
	for (size_t i = 0; i < e.n; i++) {
		assert_in_range(e.t[i].position, 1, 10);
		assert_int_equal(seen[e.t[i].position]++, 0);
		assert_int_equal(bh_mcc_check(e.t[i].full, e.t[i].full_len), BH_OK);
	}
	size_t len;
	uint8_t *b = load(NIST "type4-slaps.an2k", &len);
	assert_non_null(b);
	bh_probe_tmpl p;
	assert_int_equal(bh_finger_an2k_probe(b, len, &p), BH_OK);
	assert_int_equal(p.position, 10);
	for (size_t i = 0; i < e.n; i++) {
		int32_t s = compare(&p, &e.t[i]);
		if (e.t[i].position == 10)
			assert_true(s >= 5 * BH_FINGER_THRESHOLD);
		else
			assert_true(s < BH_FINGER_THRESHOLD);
	}
	bh_probe_tmpl_clear(&p);
	free(b);
	release(&e);
}

static void probe_matches_its_reference(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "type3.an2k", &len);
	if (!b)
		skip();
	bh_probe_tmpl p;
	assert_int_equal(bh_finger_an2k_probe(b, len, &p), BH_OK);
	assert_int_equal(p.position, 2);
	enrolled self, other;
	assert_int_equal(enrol(NIST "type3.an2k", &self), 0);
	assert_int_equal(enrol(NIST "type9.an2k", &other), 0);
	assert_int_equal(self.rc, BH_OK);
	assert_int_equal(other.rc, BH_OK);
	int32_t s_self = compare(&p, &self.t[0]), s_other = compare(&p, &other.t[0]);
	assert_true(s_self >= 5 * BH_FINGER_THRESHOLD);
	assert_true(s_other < BH_FINGER_THRESHOLD);
	bh_probe_tmpl_clear(&p);

	/* type9.an2k holds the 28 minutiae of the standard Type-9 record of
	 * the latent in type9-13.an2k (y moved by 0.01 mm): enrolled from
	 * them, it must match the template we extract from the latent image
	 * itself (same frame: the y flip and the direction sense of a
	 * standard record) */
	uint8_t *l = load(NIST "type9-13.an2k", &len);
	assert_non_null(l);
	bh_probe_tmpl img = latent_image_template(l, len);
	int32_t s_std = compare(&img, &other.t[0]);
	print_message("latent image vs its standard Type-9 record: %d\n", s_std);
	assert_true(s_std >= BH_FINGER_THRESHOLD);
	/* a latent transaction is a probe, by the minutiae marked on its latent
	 * (the same record as type9.an2k, hence the self score), not by its
	 * image (which scores s_std) */
	assert_int_equal(bh_finger_an2k_probe(l, len, &p), BH_OK);
	assert_true(p.code_len > 0 && p.full_len > 0);
	assert_int_equal(p.position, 0);
	assert_true(compare(&p, &other.t[0]) >= 5 * BH_FINGER_THRESHOLD);
	assert_true(compare(&p, &other.t[0]) > s_std);
	bh_probe_tmpl_clear(&img);
	bh_probe_tmpl_clear(&p);
	free(l);
	release(&self);
	release(&other);
	free(b);
}

/* What a finger search uses (bh_finger_an2k_probes): every finger of a card,
 * at its position; a latent transaction only its latent; a transaction with
 * one minutiae set of unknown position that one. */
static size_t probes_of(const char *file, bh_probe_tmpl *t, size_t max, int *rc)
{
	size_t len, n = 99;
	uint8_t *b = load(file, &len);
	if (!b)
		return 0;
	*rc = bh_finger_an2k_probes(b, len, t, max, &n);
	free(b);
	return n;
}

static void probes_per_transaction(void **state)
{
	(void)state;
	bh_probe_tmpl t[11];
	int rc = -1;
	size_t n = probes_of(NIST "type4-slaps.an2k", t, 11, &rc);
	if (rc == -1)
		skip();
	assert_int_equal(rc, BH_OK);
	assert_int_equal(n, 10);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i].position >= 1 && t[i].position <= 10);
		seen |= 1 << t[i].position;
		bh_probe_tmpl_clear(&t[i]);
	}
	assert_int_equal(seen, 0x7fe); /* positions 1..10, each once */
	assert_int_equal(probes_of(NIST "type9-efs.an2k", t, 11, &rc), 8);
	assert_int_equal(rc, BH_OK);
	for (size_t i = 0; i < 8; i++)
		bh_probe_tmpl_clear(&t[i]);
	/* latent (with its type-9 minutiae): the latent alone, position unknown */
	assert_int_equal(probes_of(NIST "type9-13.an2k", t, 11, &rc), 1);
	assert_int_equal(rc, BH_OK);
	assert_int_equal(t[0].position, 0);
	bh_probe_tmpl_clear(&t[0]);
	assert_int_equal(probes_of(NIST "type9.an2k", t, 11, &rc), 1);
	assert_int_equal(rc, BH_OK);
	bh_probe_tmpl_clear(&t[0]);
	/* no room for the card's fingers: an error, nothing returned */
	assert_int_equal(probes_of(NIST "type4-slaps.an2k", t, 4, &rc), 0);
	assert_int_equal(rc, BH_ETOOBIG);
}

static void truncated(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "type9-efs.an2k", &len);
	if (!b)
		skip();
	assert_true(bh_finger_an2k_sniff(b, len));
	for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
		enrolled e;
		memset(&e, 0, sizeof e);
		int rc = bh_finger_an2k_enrol(b, cut, e.t, MAXT, &e.n, e.notes, sizeof e.notes);
		assert_int_not_equal(rc, BH_OK);
		assert_int_equal(e.n, 0);
		bh_probe_tmpl p;
		assert_int_not_equal(bh_finger_an2k_probe(b, cut, &p), BH_OK);
		size_t np = 99;
		assert_int_not_equal(bh_finger_an2k_probes(b, cut, e.t, MAXT, &np), BH_OK);
		assert_int_equal(np, 0);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finger_image_and_minutiae),
		cmocka_unit_test(refused_records),
		cmocka_unit_test(slaps_give_ten_fingers),
		cmocka_unit_test(probe_matches_its_reference),
		cmocka_unit_test(probes_per_transaction),
		cmocka_unit_test(truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
