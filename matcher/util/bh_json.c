/* bh_json.c - streaming JSON writer (see bh_json.h). */
#include "bh_json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>

void bh_json_init(bh_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first[0] = 1;
	j->is_obj[0] = 0;
}

void bh_json_quote(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator and key for the next member at the current level. */
static void member(bh_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputs(", ", j->f);
	j->first[j->depth] = 0;
	if (j->is_obj[j->depth] && key) {
		bh_json_quote(j->f, key);
		fputs(": ", j->f);
	}
}

static void open(bh_json *j, const char *key, int obj)
{
	member(j, key);
	fputc(obj ? '{' : '[', j->f);
	assert(j->depth + 1 < BH_JSON_DEPTH);
	j->depth++;
	j->first[j->depth] = 1;
	j->is_obj[j->depth] = (unsigned char)obj;
}

void bh_json_obj(bh_json *j, const char *key) { open(j, key, 1); }
void bh_json_arr(bh_json *j, const char *key) { open(j, key, 0); }

void bh_json_end(bh_json *j)
{
	assert(j->depth > 0);
	fputc(j->is_obj[j->depth] ? '}' : ']', j->f);
	j->depth--;
}

void bh_json_str(bh_json *j, const char *key, const char *v)
{
	member(j, key);
	if (v)
		bh_json_quote(j->f, v);
	else
		fputs("null", j->f);
}

void bh_json_int(bh_json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void bh_json_uint(bh_json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void bh_json_num(bh_json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

void bh_json_bool(bh_json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void bh_json_null(bh_json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}

void bh_json_newline(bh_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}
