/*
 * bh_json.h - a small streaming JSON writer for CLI and bench output.
 *
 * Usage:
 *   bh_json j; bh_json_init(&j, stdout);
 *   bh_json_obj(&j, NULL);            // {
 *   bh_json_str(&j, "kernel", "dot"); //   "kernel": "dot",
 *   bh_json_int(&j, "dim", 128);
 *   bh_json_end(&j);                  // }
 *   bh_json_newline(&j);
 * Keys are ignored inside arrays (pass NULL).  Nesting depth is bounded by
 * BH_JSON_DEPTH; deeper nesting is a programming error (asserted).
 */
#ifndef BH_JSON_H
#define BH_JSON_H

#include <stdint.h>
#include <stdio.h>

#define BH_JSON_DEPTH 16

typedef struct bh_json {
	FILE *f;
	int depth;
	unsigned char first[BH_JSON_DEPTH]; /* no member written yet at this level */
	unsigned char is_obj[BH_JSON_DEPTH];
} bh_json;

void bh_json_init(bh_json *j, FILE *f);
void bh_json_obj(bh_json *j, const char *key);
void bh_json_arr(bh_json *j, const char *key);
void bh_json_end(bh_json *j);
void bh_json_str(bh_json *j, const char *key, const char *v);
void bh_json_int(bh_json *j, const char *key, int64_t v);
void bh_json_uint(bh_json *j, const char *key, uint64_t v);
void bh_json_num(bh_json *j, const char *key, double v); /* NaN/inf -> null */
void bh_json_bool(bh_json *j, const char *key, int v);
void bh_json_null(bh_json *j, const char *key);
void bh_json_newline(bh_json *j);

/* Writes s as a quoted JSON string with escapes. */
void bh_json_quote(FILE *f, const char *s);

#endif
