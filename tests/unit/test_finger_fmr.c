/* test_finger_fmr.c - finger templates from the NIST sample minutiae
 * records (bh_finger_fmr.h): the INCITS 378-2004 sample gives its three
 * fingers at their positions, the ISO 19794-2 sample's two fingers match
 * the same fingers of it and no other; a second view of a position is noted
 * and skipped; the INCITS 378-2009 sample gives the first two of them;
 * no room, a truncated record and an unknown version are errors with
 * nothing returned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bh_err.h"
#include "bh_finger.h"
#include "bh_finger_fmr.h"
#include "bh_image.h"
#include "bh_iso19794.h"
#include "bh_mcc.h"

#define NIST BH_SHARED_DATA_DIR "/fingerprint/nist/"
#define MAXT 11

typedef struct fingers {
	bh_probe_tmpl t[MAXT];
	size_t n;
	char notes[512];
	int rc;
} fingers;

static uint8_t *load(const char *name, size_t *len)
{
	uint8_t *b = NULL;
	if (bh_read_file(name, 0, &b, len) != BH_OK)
		return NULL;
	return b;
}

static void read_buf(const uint8_t *b, size_t len, size_t max, fingers *f)
{
	memset(f, 0, sizeof *f);
	f->n = 99;
	f->rc = bh_finger_fmr_templates(b, len, f->t, max, &f->n, f->notes, sizeof f->notes);
}

static int read_file(const char *name, size_t max, fingers *f)
{
	size_t len;
	uint8_t *b = load(name, &len);
	if (!b)
		return -1;
	read_buf(b, len, max, f);
	free(b);
	return 0;
}

static void release(fingers *f)
{
	for (size_t i = 0; i < f->n; i++)
		bh_probe_tmpl_clear(&f->t[i]);
}

static int32_t compare(const bh_probe_tmpl *a, const bh_probe_tmpl *b)
{
	return bh_mcc_compare_blobs(a->full, a->full_len, b->full, b->full_len);
}

static void iso_and_incits_agree(void **state)
{
	(void)state;
	fingers incits, iso;
	if (read_file(NIST "fmr.ansi2004", MAXT, &incits))
		skip();
	assert_int_equal(incits.rc, BH_OK);
	assert_int_equal(incits.n, 3);
	assert_int_equal(incits.notes[0], '\0');
	static const int pos[3] = {7, 2, 3};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(incits.t[i].position, pos[i]);
		assert_int_equal(incits.t[i].modality, BH_MOD_FINGER);
		assert_true(incits.t[i].code_len > 0 && incits.t[i].full_len > 0);
	}
	assert_int_equal(read_file(NIST "fmr.iso2005", MAXT, &iso), 0);
	assert_int_equal(iso.rc, BH_OK);
	assert_int_equal(iso.n, 2);
	for (size_t i = 0; i < iso.n; i++)
		for (size_t j = 0; j < incits.n; j++) {
			int32_t s = compare(&iso.t[i], &incits.t[j]);
			if (iso.t[i].position == incits.t[j].position)
				assert_true(s >= 5 * BH_FINGER_THRESHOLD);
			else
				assert_true(s < BH_FINGER_THRESHOLD);
		}
	/* INCITS 378-2009: the first two fingers again */
	fingers v2009;
	assert_int_equal(read_file(NIST "fmr.ansi2007", MAXT, &v2009), 0);
	assert_int_equal(v2009.rc, BH_OK);
	assert_int_equal(v2009.n, 2);
	for (size_t i = 0; i < v2009.n; i++) {
		assert_int_equal(v2009.t[i].position, pos[i]);
		assert_true(compare(&v2009.t[i], &incits.t[i]) >= 5 * BH_FINGER_THRESHOLD);
	}
	release(&v2009);
	release(&incits);
	release(&iso);
}

/* The INCITS sample written again with its second view at the first one's
 * position: two fingers, one note. */
static void repeated_position(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "fmr.ansi2004", &len);
	if (!b)
		skip();
	bh_fmr *r;
	assert_int_equal(bh_fmr_parse(b, len, &r), BH_OK);
	r->views[1].position = r->views[0].position;
	uint8_t *w;
	size_t wlen;
	assert_int_equal(bh_fmr_write(r, &w, &wlen), BH_OK);
	fingers f;
	read_buf(w, wlen, MAXT, &f);
	assert_int_equal(f.rc, BH_OK);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.t[0].position, 7);
	assert_int_equal(f.t[1].position, 3);
	assert_non_null(strstr(f.notes, "view 1"));
	release(&f);
	free(w);
	bh_fmr_free(r);
	free(b);
}

static void errors_return_nothing(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load(NIST "fmr.ansi2004", &len);
	if (!b)
		skip();
	assert_true(bh_finger_fmr_sniff(b, len));
	assert_false(bh_finger_fmr_sniff(b, 3));
	assert_false(bh_finger_fmr_sniff((const uint8_t *)"1.001:", 6));
	fingers f;
	read_buf(b, len, 2, &f); /* three fingers, room for two */
	assert_int_equal(f.rc, BH_ETOOBIG);
	assert_int_equal(f.n, 0);
	for (size_t cut = 0; cut < len; cut += len / 9 + 1) {
		read_buf(b, cut, MAXT, &f);
		assert_int_not_equal(f.rc, BH_OK);
		assert_int_equal(f.n, 0);
	}
	free(b);
	static const uint8_t v21[] = {'F', 'M', 'R', 0, ' ', '2', '1', 0};
	read_buf(v21, sizeof v21, MAXT, &f);
	assert_int_equal(f.rc, BH_EUNSUPPORTED);
	assert_int_equal(f.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(iso_and_incits_agree),
		cmocka_unit_test(repeated_position),
		cmocka_unit_test(errors_return_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
