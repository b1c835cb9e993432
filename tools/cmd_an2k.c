/*
 * cmd_an2k.c - `biohub an2k FILE [--json] [--decode]`: lists the records,
 * images (type, position, resolution, compression) and minutiae sets of an
 * ANSI/NIST-ITL transaction (matcher/finger/bh_an2k.h).  With --decode each
 * image is also decoded (WSQ, JPEG 2000, ...) and its status and decode
 * time reported.  Nothing is written anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_an2k.h"
#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_time.h"

typedef struct dec_result {
	int rc;
	uint32_t w, h, ppi;
	double ms;
} dec_result;

static const char *kind_name(const bh_an2k_image *im)
{
	static const char *const n[] = {"other", "finger", "latent", "slap", "palm", "face"};
	return n[bh_an2k_image_kind(im)];
}

/* Type-10 (face, scars, marks, tattoos) has no finger or palm position
 * and no impression type; the listing leaves them out there. */
static int has_position(const bh_an2k_image *im) { return im->record_type != 10; }

static dec_result decode_one(const bh_an2k_image *im)
{
	dec_result r = {0, 0, 0, 0, 0};
	bh_image img;
	uint64_t t0 = bh_now_ns();
	r.rc = bh_an2k_image_decode(im, NULL, &img);
	r.ms = (double)(bh_now_ns() - t0) / 1e6;
	if (r.rc == BH_OK) {
		r.w = img.w;
		r.h = img.h;
		r.ppi = img.ppi;
		bh_image_free(&img);
	}
	return r;
}

static void print_json(const char *file, const bh_an2k *a, int decode)
{
	bh_json j;
	bh_json_init(&j, stdout);
	bh_json_obj(&j, NULL);
	bh_json_str(&j, "file", file);
	bh_json_str(&j, "version", a->version);
	bh_json_str(&j, "tot", a->tot);
	bh_json_uint(&j, "nsr_ppi", a->nsr_ppi);
	bh_json_uint(&j, "ntr_ppi", a->ntr_ppi);
	bh_json_arr(&j, "records");
	for (uint32_t i = 0; i < a->nrecords; i++) {
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "type", a->records[i].type);
		bh_json_int(&j, "idc", a->records[i].idc);
		bh_json_uint(&j, "offset", a->records[i].offset);
		bh_json_uint(&j, "length", a->records[i].len);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_arr(&j, "images");
	for (uint32_t i = 0; i < a->nimages; i++) {
		const bh_an2k_image *im = &a->images[i];
		bh_json_obj(&j, NULL);
		bh_json_int(&j, "record_type", im->record_type);
		bh_json_uint(&j, "record", im->record);
		bh_json_int(&j, "idc", im->idc);
		if (has_position(im))
			bh_json_int(&j, "position", im->position);
		bh_json_str(&j, "kind", kind_name(im));
		if (has_position(im))
			bh_json_int(&j, "impression", im->impression);
		bh_json_uint(&j, "width", im->w);
		bh_json_uint(&j, "height", im->h);
		bh_json_uint(&j, "ppi", im->ppi);
		bh_json_uint(&j, "bpx", im->bpx);
		bh_json_str(&j, "compression", bh_an2k_comp_name(im->comp));
		bh_json_uint(&j, "bytes", im->len);
		if (decode) {
			dec_result r = decode_one(im);
			bh_json_str(&j, "decode", r.rc == BH_OK ? "ok" : bh_strerror(r.rc));
			if (r.rc == BH_OK)
				bh_json_uint(&j, "decoded_ppi", r.ppi);
			bh_json_num(&j, "decode_ms", r.ms);
		}
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_arr(&j, "minutiae");
	for (uint32_t i = 0; i < a->nminsets; i++) {
		const bh_an2k_minset *s = &a->minsets[i];
		bh_json_obj(&j, NULL);
		bh_json_uint(&j, "record", s->record);
		bh_json_int(&j, "idc", s->idc);
		bh_json_int(&j, "position", s->position);
		bh_json_str(&j, "format", s->fmt == BH_AN2K_MIN_STD ? "standard" : "efs");
		bh_json_uint(&j, "count", s->n);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	bh_json_end(&j);
	bh_json_newline(&j);
}

static void print_text(const char *file, const bh_an2k *a, int decode)
{
	printf("%s: ANSI/NIST-ITL %s, transaction %s, %u records, %u images, %u minutiae sets\n",
	       file, a->version, a->tot, a->nrecords, a->nimages, a->nminsets);
	for (uint32_t i = 0; i < a->nrecords; i++)
		printf("  record %u: type %d idc %d, %zu bytes at %zu\n", i, a->records[i].type,
		       a->records[i].idc, a->records[i].len, a->records[i].offset);
	for (uint32_t i = 0; i < a->nimages; i++) {
		const bh_an2k_image *im = &a->images[i];
		printf("  image: type-%d idc %d %s", im->record_type, im->idc, kind_name(im));
		if (has_position(im))
			printf(" position %d impression %d", im->position, im->impression);
		printf(" %ux%u", im->w, im->h);
		if (im->ppi) /* 0: the record states no scale (a photo's 10.008 SLC = 0) */
			printf(" %u ppi", im->ppi);
		printf(" %s (%zu bytes)", bh_an2k_comp_name(im->comp), im->len);
		if (decode) {
			dec_result r = decode_one(im);
			printf(" decode %s %.1f ms", r.rc == BH_OK ? "ok" : bh_strerror(r.rc), r.ms);
		}
		printf("\n");
	}
	for (uint32_t i = 0; i < a->nminsets; i++)
		printf("  minutiae: idc %d position %d %s, %u minutiae\n", a->minsets[i].idc,
		       a->minsets[i].position, a->minsets[i].fmt == BH_AN2K_MIN_STD ? "standard" : "EFS",
		       a->minsets[i].n);
}

int cmd_an2k(int argc, char **argv)
{
	const char *file = NULL;
	int json = 0, decode = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--decode"))
			decode = 1;
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			file = NULL, i = argc;
	}
	if (!file) {
		fprintf(stderr, "usage: biohub an2k FILE [--json] [--decode]\n");
		return 2;
	}
	bh_errclear();
	uint8_t *buf;
	size_t len;
	int rc = bh_read_file(file, 0, &buf, &len);
	if (rc != BH_OK)
		return bh_cli_error(file, rc);
	bh_an2k *a;
	rc = bh_an2k_parse(buf, len, &a);
	if (rc == BH_OK) {
		if (json)
			print_json(file, a, decode);
		else
			print_text(file, a, decode);
		bh_an2k_free(a);
	}
	bh_wipe_free(buf, len);
	return rc == BH_OK ? 0 : bh_cli_error(file, rc);
}
