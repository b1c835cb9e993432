/* bh_face_weights.c - TensorFlow.js weight manifest + shard loader (see header). */
#include "bh_face_weights.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bh_err.h"
#include "bh_image.h"
#include "bh_mem.h"

/* ---- a small, bounded JSON parser (DOM of index-linked nodes) ---------- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

#define J_MAX_DEPTH 16
#define J_MAX_NODES 200000

typedef struct jnode {
	int type;
	int child;  /* first child (array element / object value), -1 */
	int next;   /* next sibling, -1 */
	int key;    /* for object members: node index of the key string */
	double num;
	uint32_t off, len; /* strings: raw bytes between the quotes */
} jnode;

typedef struct jparser {
	const char *s;
	size_t len, pos;
	jnode *n;
	int count, cap;
} jparser;

static void j_ws(jparser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' ||
				   p->s[p->pos] == '\r' || p->s[p->pos] == '\t'))
		p->pos++;
}

static int j_new(jparser *p, int type)
{
	if (p->count >= J_MAX_NODES)
		return bh_fail(BH_EFORMAT, "manifest: more than %d JSON nodes", J_MAX_NODES);
	if (p->count == p->cap) {
		int cap = p->cap ? p->cap * 2 : 256;
		jnode *n = realloc(p->n, (size_t)cap * sizeof *n);
		if (!n)
			return bh_fail(BH_ENOMEM, "manifest: JSON nodes");
		p->n = n;
		p->cap = cap;
	}
	jnode *x = &p->n[p->count];
	memset(x, 0, sizeof *x);
	x->type = type;
	x->child = x->next = x->key = -1;
	return p->count++;
}

static int j_string(jparser *p)
{
	size_t start = ++p->pos; /* past the quote */
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return bh_fail(BH_EFORMAT, "manifest: control character in string at %zu", p->pos);
		if (c == '\\') {
			/* strchr() also "finds" a NUL byte (the terminator): test it apart */
			if (p->pos + 1 >= p->len || !p->s[p->pos + 1] ||
			    !strchr("\"\\/bfnrtu", p->s[p->pos + 1]))
				return bh_fail(BH_EFORMAT, "manifest: bad escape at %zu", p->pos);
			p->pos++;
		}
		p->pos++;
	}
	if (p->pos >= p->len)
		return bh_fail(BH_EFORMAT, "manifest: unterminated string");
	int id = j_new(p, J_STR);
	if (id < 0)
		return id;
	p->n[id].off = (uint32_t)start;
	p->n[id].len = (uint32_t)(p->pos - start);
	p->pos++;
	return id;
}

static int j_number(jparser *p)
{
	char buf[64];
	size_t k = 0;
	while (p->pos < p->len && p->s[p->pos] && strchr("+-0123456789.eE", p->s[p->pos])) {
		if (k + 1 >= sizeof buf)
			return bh_fail(BH_EFORMAT, "manifest: number too long at %zu", p->pos);
		buf[k++] = p->s[p->pos++];
	}
	buf[k] = 0;
	char *end;
	errno = 0;
	double v = strtod(buf, &end);
	if (k == 0 || *end || errno == ERANGE || !isfinite(v))
		return bh_fail(BH_EFORMAT, "manifest: bad number at %zu", p->pos - k);
	int id = j_new(p, J_NUM);
	if (id < 0)
		return id;
	p->n[id].num = v;
	return id;
}

static int j_value(jparser *p, int depth);

/* Parses the members of an array (is_obj = 0) or object after its bracket. */
static int j_container(jparser *p, int id, int is_obj, int depth)
{
	char close = is_obj ? '}' : ']';
	int last = -1;
	p->pos++;
	j_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return id;
	}
	for (;;) {
		int key = -1;
		j_ws(p);
		if (is_obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return bh_fail(BH_EFORMAT, "manifest: expected key at %zu", p->pos);
			key = j_string(p);
			if (key < 0)
				return key;
			j_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return bh_fail(BH_EFORMAT, "manifest: expected ':' at %zu", p->pos);
			p->pos++;
		}
		int v = j_value(p, depth + 1);
		if (v < 0)
			return v;
		p->n[v].key = key;
		if (last < 0)
			p->n[id].child = v;
		else
			p->n[last].next = v;
		last = v;
		j_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return id;
		}
		return bh_fail(BH_EFORMAT, "manifest: expected ',' or '%c' at %zu", close, p->pos);
	}
}

static int j_literal(jparser *p, const char *lit, int type, double v)
{
	size_t n = strlen(lit);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n))
		return bh_fail(BH_EFORMAT, "manifest: unexpected token at %zu", p->pos);
	p->pos += n;
	int id = j_new(p, type);
	if (id >= 0)
		p->n[id].num = v;
	return id;
}

static int j_value(jparser *p, int depth)
{
	if (depth > J_MAX_DEPTH)
		return bh_fail(BH_EFORMAT, "manifest: JSON nested deeper than %d", J_MAX_DEPTH);
	j_ws(p);
	if (p->pos >= p->len)
		return bh_fail(BH_EFORMAT, "manifest: unexpected end of JSON");
	char c = p->s[p->pos];
	int id;
	switch (c) {
	case '{':
	case '[':
		id = j_new(p, c == '{' ? J_OBJ : J_ARR);
		return id < 0 ? id : j_container(p, id, c == '{', depth);
	case '"':
		return j_string(p);
	case 't':
		return j_literal(p, "true", J_BOOL, 1);
	case 'f':
		return j_literal(p, "false", J_BOOL, 0);
	case 'n':
		return j_literal(p, "null", J_NULL, 0);
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return j_number(p);
		return bh_fail(BH_EFORMAT, "manifest: unexpected character at %zu", p->pos);
	}
}

static int j_streq(const jparser *p, int id, const char *s)
{
	const jnode *x = &p->n[id];
	return x->type == J_STR && strlen(s) == x->len && !memcmp(p->s + x->off, s, x->len);
}

/* Member `key` of object `obj`, or -1. */
static int j_get(const jparser *p, int obj, const char *key)
{
	for (int c = p->n[obj].child; c >= 0; c = p->n[c].next)
		if (j_streq(p, p->n[c].key, key))
			return c;
	return -1;
}

/* Copies a string node into buf (no escapes allowed: names and paths). */
static int j_copy(const jparser *p, int id, char *buf, size_t cap, const char *what)
{
	if (id < 0 || p->n[id].type != J_STR)
		return bh_fail(BH_EFORMAT, "manifest: %s missing or not a string", what);
	const jnode *x = &p->n[id];
	if (x->len == 0 || x->len >= cap || memchr(p->s + x->off, '\\', x->len))
		return bh_fail(BH_EFORMAT, "manifest: %s empty, too long or escaped", what);
	memcpy(buf, p->s + x->off, x->len);
	buf[x->len] = 0;
	return BH_OK;
}

/* ---- manifest semantics ------------------------------------------------- */

typedef struct wspec {
	int qbytes;   /* 0 = float32, 1 = uint8, 2 = uint16 */
	double scale, min;
} wspec;

static int parse_weight(const jparser *p, int w, bh_fw_tensor *t, wspec *ws)
{
	if (p->n[w].type != J_OBJ)
		return bh_fail(BH_EFORMAT, "manifest: weight entry is not an object");
	int rc = j_copy(p, j_get(p, w, "name"), t->name, sizeof t->name, "weight name");
	if (rc)
		return rc;
	int shape = j_get(p, w, "shape");
	if (shape < 0 || p->n[shape].type != J_ARR)
		return bh_fail(BH_EFORMAT, "manifest: %s: shape missing", t->name);
	t->rank = 0;
	t->count = 1;
	for (int d = p->n[shape].child; d >= 0; d = p->n[d].next) {
		double v = p->n[d].num;
		if (p->n[d].type != J_NUM || t->rank >= 4 || v < 1 || v > (1 << 24) || v != floor(v))
			return bh_fail(BH_EFORMAT, "manifest: %s: bad shape", t->name);
		t->shape[t->rank++] = (uint32_t)v;
		if (bh_mul_size(t->count, (size_t)v, &t->count) || t->count > (64u << 20))
			return bh_fail(BH_EFORMAT, "manifest: %s: tensor too large", t->name);
	}
	int dt = j_get(p, w, "dtype");
	if (dt < 0 || !j_streq(p, dt, "float32"))
		return bh_fail(BH_EUNSUPPORTED, "manifest: %s: dtype is not float32", t->name);
	ws->qbytes = 0;
	int q = j_get(p, w, "quantization");
	if (q >= 0 && p->n[q].type != J_NULL) {
		if (p->n[q].type != J_OBJ)
			return bh_fail(BH_EFORMAT, "manifest: %s: quantization not an object", t->name);
		int qd = j_get(p, q, "dtype"), sc = j_get(p, q, "scale"), mn = j_get(p, q, "min");
		if (qd >= 0 && j_streq(p, qd, "uint8"))
			ws->qbytes = 1;
		else if (qd >= 0 && j_streq(p, qd, "uint16"))
			ws->qbytes = 2;
		else
			return bh_fail(BH_EUNSUPPORTED, "manifest: %s: quantization dtype", t->name);
		if (sc < 0 || mn < 0 || p->n[sc].type != J_NUM || p->n[mn].type != J_NUM)
			return bh_fail(BH_EFORMAT, "manifest: %s: quantization scale/min", t->name);
		ws->scale = p->n[sc].num;
		ws->min = p->n[mn].num;
	}
	return BH_OK;
}

static size_t wbytes(const bh_fw_tensor *t, const wspec *ws)
{
	return t->count * (size_t)(ws->qbytes ? ws->qbytes : 4);
}

/* Reads and concatenates a group's shards into one buffer of exactly `need` bytes. */
static int read_group(const jparser *p, int paths, const char *dir, size_t need, uint8_t **out)
{
	if (paths < 0 || p->n[paths].type != J_ARR || p->n[paths].child < 0)
		return bh_fail(BH_EFORMAT, "manifest: group has no paths");
	uint8_t *buf = malloc(need ? need : 1);
	if (!buf)
		return bh_fail(BH_ENOMEM, "weights: %zu bytes", need);
	size_t have = 0;
	for (int c = p->n[paths].child; c >= 0; c = p->n[c].next) {
		char name[256], path[4096];
		int rc = j_copy(p, c, name, sizeof name, "shard path");
		if (!rc && (strchr(name, '/') || strstr(name, "..")))
			rc = bh_fail(BH_EFORMAT, "manifest: shard path '%s' is not a plain file name", name);
		if (!rc && (size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
			rc = bh_fail(BH_EINVAL, "weights: path too long");
		uint8_t *sh = NULL;
		size_t len = 0;
		if (!rc) {
			rc = bh_read_file(path, BH_FW_MAX_SHARD, &sh, &len);
			if (rc)
				rc = bh_fail(rc == BH_ENOMEM ? rc : BH_EFORMAT,
					     "weights: shard '%s' missing, unreadable or too big", name);
		}
		if (!rc && len > need - have)
			rc = bh_fail(BH_EFORMAT, "weights: shards hold more bytes than the manifest's %zu",
				     need);
		if (rc) {
			free(sh);
			free(buf);
			return rc;
		}
		memcpy(buf + have, sh, len);
		have += len;
		free(sh);
	}
	if (have != need) {
		free(buf);
		return bh_fail(BH_EFORMAT, "weights: shards hold %zu bytes, manifest needs %zu", have,
			       need);
	}
	*out = buf;
	return BH_OK;
}

static int decode(const uint8_t *src, const bh_fw_tensor *t, const wspec *ws)
{
	for (size_t i = 0; i < t->count; i++) {
		float v;
		if (ws->qbytes == 1)
			v = (float)(ws->min + ws->scale * src[i]);
		else if (ws->qbytes == 2)
			v = (float)(ws->min + ws->scale * (src[2 * i] | (src[2 * i + 1] << 8)));
		else
			memcpy(&v, src + 4 * i, 4); /* little-endian host (x86-64) */
		if (!isfinite(v))
			return bh_fail(BH_EFORMAT, "weights: %s has a non-finite value", t->name);
		t->data[i] = v;
	}
	return BH_OK;
}

/* Walks the groups twice: first to size the pool, then to fill it. */
static int build(const jparser *p, const char *dir, bh_fw_model *m)
{
	int root = 0;
	if (p->n[root].type != J_ARR || p->n[root].child < 0)
		return bh_fail(BH_EFORMAT, "manifest: top level is not a non-empty array");
	wspec *specs = calloc(BH_FW_MAX_TENSORS, sizeof *specs);
	m->t = calloc(BH_FW_MAX_TENSORS, sizeof *m->t);
	if (!specs || !m->t) {
		free(specs);
		return bh_fail(BH_ENOMEM, "weights: tensor table");
	}
	int rc = BH_OK;
	size_t total = 0;
	for (int g = p->n[root].child; g >= 0 && !rc; g = p->n[g].next) {
		int ws = p->n[g].type == J_OBJ ? j_get(p, g, "weights") : -1;
		if (ws < 0 || p->n[ws].type != J_ARR) {
			rc = bh_fail(BH_EFORMAT, "manifest: group without a weights array");
			break;
		}
		for (int w = p->n[ws].child; w >= 0 && !rc; w = p->n[w].next) {
			if (m->n >= BH_FW_MAX_TENSORS) {
				rc = bh_fail(BH_EFORMAT, "manifest: more than %d tensors", BH_FW_MAX_TENSORS);
				break;
			}
			rc = parse_weight(p, w, &m->t[m->n], &specs[m->n]);
			if (!rc) {
				total += bh_round_up(m->t[m->n].count, 16);
				m->n++;
			}
		}
	}
	if (!rc && total > (256u << 20) / 4)
		rc = bh_fail(BH_EFORMAT, "weights: %zu values is more than this loader allows", total);
	if (!rc) {
		m->pool = bh_aligned_zalloc(total * sizeof(float));
		m->pool_count = total;
		if (!m->pool)
			rc = bh_fail(BH_ENOMEM, "weights: %zu floats", total);
	}
	size_t ti = 0, fo = 0;
	for (int g = p->n[root].child; g >= 0 && !rc; g = p->n[g].next) {
		int ws = j_get(p, g, "weights");
		size_t first = ti, need = 0;
		for (int w = p->n[ws].child; w >= 0; w = p->n[w].next, ti++)
			need += wbytes(&m->t[ti], &specs[ti]);
		uint8_t *bytes = NULL;
		rc = read_group(p, j_get(p, g, "paths"), dir, need, &bytes);
		size_t bo = 0;
		for (size_t i = first; i < ti && !rc; i++) {
			m->t[i].data = m->pool + fo;
			fo += bh_round_up(m->t[i].count, 16);
			rc = decode(bytes + bo, &m->t[i], &specs[i]);
			bo += wbytes(&m->t[i], &specs[i]);
		}
		free(bytes);
	}
	free(specs);
	return rc;
}

int bh_fw_load_manifest(const char *dir, const char *json, size_t len, bh_fw_model *m)
{
	memset(m, 0, sizeof *m);
	if (!dir || !json)
		return bh_fail(BH_EINVAL, "weights: no manifest");
	if (len > BH_FW_MAX_MANIFEST)
		return bh_fail(BH_EFORMAT, "manifest: %zu bytes is larger than %u", len,
			       BH_FW_MAX_MANIFEST);
	jparser p = {.s = json, .len = len};
	int rc = j_value(&p, 0);
	if (rc >= 0) {
		j_ws(&p);
		rc = p.pos == p.len ? BH_OK
				    : bh_fail(BH_EFORMAT, "manifest: trailing bytes at %zu", p.pos);
	}
	if (!rc)
		rc = build(&p, dir, m);
	free(p.n);
	if (rc)
		bh_fw_free(m);
	return rc;
}

int bh_fw_load(const char *dir, const char *name, bh_fw_model *m)
{
	char path[4096];
	memset(m, 0, sizeof *m);
	if (!dir || !name)
		return bh_fail(BH_EINVAL, "weights: no model dir/name");
	if ((size_t)snprintf(path, sizeof path, "%s/%s-weights_manifest.json", dir, name) >=
	    sizeof path)
		return bh_fail(BH_EINVAL, "weights: path too long");
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = bh_read_file(path, BH_FW_MAX_MANIFEST, &buf, &len);
	if (rc)
		return bh_fail(rc == BH_ETOOBIG ? BH_EFORMAT : rc, "weights: cannot read %s", path);
	rc = bh_fw_load_manifest(dir, (const char *)buf, len, m);
	free(buf);
	return rc;
}

const float *bh_fw_get(const bh_fw_model *m, const char *name, uint32_t rank,
		       const uint32_t *shape)
{
	for (size_t i = 0; i < m->n; i++) {
		const bh_fw_tensor *t = &m->t[i];
		if (strcmp(t->name, name))
			continue;
		if (rank && (t->rank != rank || memcmp(t->shape, shape, rank * sizeof *shape))) {
			bh_fail(BH_EFORMAT, "weights: tensor %s has the wrong shape", name);
			return NULL;
		}
		return t->data;
	}
	bh_fail(BH_EFORMAT, "weights: tensor %s missing", name);
	return NULL;
}

const bh_fw_tensor *bh_fw_find(const bh_fw_model *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->t[i].name, name))
			return &m->t[i];
	bh_fail(BH_EFORMAT, "weights: tensor %s missing", name);
	return NULL;
}

void bh_fw_free(bh_fw_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->t && i < m->n; i++)
		bh_aligned_free(m->t[i].packed);
	bh_aligned_free(m->pool);
	free(m->t);
	memset(m, 0, sizeof *m);
}
