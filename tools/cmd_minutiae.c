/*
 * cmd_minutiae.c - `biohub minutiae IMAGE [--ppi N] [--position P]
 * [--fmr OUT] [--json]`: the minutiae our extractor finds in a fingerprint
 * image (matcher/finger/bh_minutiae.h: 500-ppi pixels, y down, direction
 * out of the ridge end), listed as text or JSON, and with --fmr written as
 * an ISO/IEC 19794-2:2005 record (bh_iso19794.h; at most 255 minutiae, best
 * quality first) for another agency's system or for `biohub enroll --fmr`.
 *
 * The image may be a probe: the decoded pixels, the minutiae and the record
 * bytes are wiped before they are freed; the record file is created with
 * mode 0600 and is written only when asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bh_cli.h"
#include "bh_err.h"
#include "bh_image.h"
#include "bh_iso19794.h"
#include "bh_json.h"
#include "bh_mem.h"
#include "bh_minutiae.h"

static int usage(void)
{
	fprintf(stderr, "usage: biohub minutiae IMAGE [--ppi N] [--position 0..10] [--fmr OUT [--fmr-version 2005|2011]]\n"
			"        [--json]\n"
			"  --ppi: the image's resolution when the file does not say (PGM); default 500\n"
			"  --fmr: also write the minutiae as an ISO/IEC 19794-2 record, of the 2005\n"
			"         edition unless --fmr-version 2011\n");
	return 2;
}

static const char *type_name(int t)
{
	return t == BH_MINUTIA_BIFURCATION ? "bifurcation" : "ending";
}

static double degrees(float theta) { return theta * (180.0 / M_PI); }

static void print_json(const char *path, const bh_fp_features *f, const char *fmr, int edition)
{
	bh_json j;
	bh_json_init(&j, stdout);
	bh_json_obj(&j, NULL);
	bh_json_str(&j, "image", path);
	bh_json_uint(&j, "width", f->w);
	bh_json_uint(&j, "height", f->h);
	bh_json_int(&j, "quality", f->quality);
	bh_json_uint(&j, "count", f->n);
	bh_json_arr(&j, "minutiae");
	for (uint32_t i = 0; i < f->n; i++) {
		bh_json_obj(&j, NULL);
		bh_json_num(&j, "x", f->m[i].x);
		bh_json_num(&j, "y", f->m[i].y);
		bh_json_num(&j, "theta_deg", degrees(f->m[i].theta));
		bh_json_str(&j, "type", type_name(f->m[i].type));
		bh_json_int(&j, "quality", f->m[i].quality);
		bh_json_end(&j);
	}
	bh_json_end(&j);
	if (fmr) {
		bh_json_str(&j, "fmr", fmr);
		bh_json_int(&j, "fmr_edition", edition);
	} else {
		bh_json_null(&j, "fmr");
	}
	bh_json_end(&j);
	bh_json_newline(&j);
}

static void print_text(const char *path, const bh_fp_features *f, const char *fmr, int edition)
{
	printf("%s: %ux%u at 500 ppi, quality %d, %u minutiae (x y theta type quality; y down,\n"
	       "  theta in degrees from +x towards +y, pointing out of the ridge end)\n",
	       path, f->w, f->h, f->quality, f->n);
	for (uint32_t i = 0; i < f->n; i++)
		printf("%7.1f %7.1f %6.1f %-11s %3d\n", f->m[i].x, f->m[i].y, degrees(f->m[i].theta),
		       type_name(f->m[i].type), f->m[i].quality);
	if (fmr)
		printf("wrote %s (ISO/IEC 19794-2:%d)\n", fmr, edition);
}

/* Writes the minutiae as an ISO 19794-2 record of the 2005 or 2011
 * edition, mode 0600. */
static int write_fmr(const char *out, const bh_fp_features *f, int position, int edition)
{
	if (f->w > 0xffff || f->h > 0xffff)
		return bh_fail(BH_ETOOBIG, "fmr: image %ux%u too large for the record", f->w, f->h);
	bh_fmr *r;
	int rc = bh_fmr_from_fp(f->m, f->n, (uint16_t)f->w, (uint16_t)f->h, (uint8_t)position,
				(uint8_t)f->quality, &r);
	if (rc == BH_OK && edition == 2011)
		rc = bh_fmr_to_iso2011(r);
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rc == BH_OK)
		rc = bh_fmr_write(r, &buf, &len);
	bh_fmr_free(r);
	if (rc != BH_OK)
		return rc;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct stat st;
	int regular = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (fd < 0)
		rc = bh_fail(BH_EIO, "%s: %s", out, strerror(errno));
	for (size_t done = 0; rc == BH_OK && done < len;) {
		ssize_t w = write(fd, buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = bh_fail(BH_EIO, "%s: %s", out, strerror(errno));
		else
			done += (size_t)w;
	}
	if (fd >= 0 && close(fd) != 0 && rc == BH_OK)
		rc = bh_fail(BH_EIO, "%s: %s", out, strerror(errno));
	if (rc != BH_OK && regular)
		unlink(out); /* no partial record of the minutiae is left behind */
	bh_wipe_free(buf, len);
	return rc;
}

int cmd_minutiae(int argc, char **argv)
{
	static const struct option opts[] = {{"ppi", required_argument, 0, 'p'},
					     {"position", required_argument, 0, 'P'},
					     {"fmr", required_argument, 0, 'f'},
					     {"fmr-version", required_argument, 0, 'v'},
					     {"json", no_argument, 0, 'j'},
					     {0, 0, 0, 0}};
	long ppi = 0, position = 0, edition = 2005;
	const char *fmr = NULL;
	int json = 0, c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			ppi = strtol(optarg, &end, 10);
			if (*end || ppi < 150 || ppi > 4000)
				return usage();
			break;
		case 'P':
			position = strtol(optarg, &end, 10);
			if (*end || position < 0 || position > 10)
				return usage();
			break;
		case 'f': fmr = optarg; break;
		case 'v':
			edition = strtol(optarg, &end, 10);
			if (*end || (edition != 2005 && edition != 2011))
				return usage();
			break;
		case 'j': json = 1; break;
		default: return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	const char *path = argv[optind];
	bh_errclear();
	bh_image img;
	int rc = bh_image_load(path, 1, &img);
	if (rc != BH_OK)
		return bh_cli_error(path, rc);
	bh_fp_features f;
	bh_extract_opts o = {.ppi_override = (uint32_t)ppi, .max_minutiae = 0};
	rc = bh_fp_extract(&img, &o, &f);
	bh_image_free(&img);
	if (rc != BH_OK)
		return bh_cli_error(path, rc);
	if (fmr)
		rc = write_fmr(fmr, &f, (int)position, (int)edition);
	if (rc == BH_OK) {
		if (json)
			print_json(path, &f, fmr, (int)edition);
		else
			print_text(path, &f, fmr, (int)edition);
	}
	bh_fp_features_free(&f);
	return rc == BH_OK ? 0 : bh_cli_error(fmr ? fmr : path, rc);
}
