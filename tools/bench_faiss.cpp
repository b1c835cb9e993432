// bench_faiss.cpp - FAISS flat indexes on the bench's gallery (see
// bench_faiss.h).  Compiled with -DBH_HAVE_FAISS=1 when libfaiss is linked;
// otherwise it reports that FAISS is not available.
#include "bench_faiss.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <vector>

#if BH_HAVE_FAISS
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexFlat.h>
#include <omp.h>

// FAISS 1.7 spells the id type faiss::Index::idx_t (later faiss::idx_t).
using bh_idx = faiss::Index::idx_t;

struct bh_faiss {
	std::unique_ptr<faiss::IndexFlatIP> ip;
	std::unique_ptr<faiss::IndexBinaryFlat> bin;
	uint32_t dim = 0; // elements (ip) or bits (binary)
	unsigned threads = 1;
};

static int fail(char *err, size_t errlen, const char *what)
{
	if (err && errlen)
		std::snprintf(err, errlen, "faiss: %s", what);
	return -1;
}

extern "C" const char *bh_faiss_version(void)
{
#define BH_STR2(x) #x
#define BH_STR(x) BH_STR2(x)
	return BH_STR(FAISS_VERSION_MAJOR) "." BH_STR(FAISS_VERSION_MINOR) "." BH_STR(
		FAISS_VERSION_PATCH);
}

// Adds the int8 rows as floats in chunks, so the float copy is never held
// twice (FAISS copies what it is given).
extern "C" int bh_faiss_open_ip(const void *rows, size_t n, uint32_t dim, size_t stride,
				unsigned threads, bh_faiss **out, char *err, size_t errlen)
{
	try {
		omp_set_num_threads((int)threads);
		auto f = std::make_unique<bh_faiss>();
		f->ip = std::make_unique<faiss::IndexFlatIP>((bh_idx)dim);
		f->dim = dim;
		f->threads = threads;
		const size_t chunk = 65536;
		std::vector<float> buf(chunk * dim);
		const int8_t *src = static_cast<const int8_t *>(rows);
		for (size_t i0 = 0; i0 < n; i0 += chunk) {
			size_t m = n - i0 < chunk ? n - i0 : chunk;
			for (size_t i = 0; i < m; i++)
				for (uint32_t d = 0; d < dim; d++)
					buf[i * dim + d] = (float)src[(i0 + i) * stride + d];
			f->ip->add((bh_idx)m, buf.data());
		}
		*out = f.release();
		return 0;
	} catch (const std::exception &e) {
		return fail(err, errlen, e.what());
	}
}

extern "C" int bh_faiss_open_binary(const void *rows, size_t n, uint32_t bits, size_t stride,
				    unsigned threads, bh_faiss **out, char *err, size_t errlen)
{
	try {
		omp_set_num_threads((int)threads);
		auto f = std::make_unique<bh_faiss>();
		f->bin = std::make_unique<faiss::IndexBinaryFlat>((bh_idx)bits);
		f->dim = bits;
		f->threads = threads;
		const size_t rb = bits / 8, chunk = 65536;
		std::vector<uint8_t> buf(chunk * rb);
		const uint8_t *src = static_cast<const uint8_t *>(rows);
		for (size_t i0 = 0; i0 < n; i0 += chunk) {
			size_t m = n - i0 < chunk ? n - i0 : chunk;
			for (size_t i = 0; i < m; i++)
				std::memcpy(&buf[i * rb], src + (i0 + i) * stride, rb);
			f->bin->add((bh_idx)m, buf.data());
		}
		*out = f.release();
		return 0;
	} catch (const std::exception &e) {
		return fail(err, errlen, e.what());
	}
}

extern "C" int bh_faiss_search(bh_faiss *f, const void *q, size_t nq, size_t qstride, uint32_t k,
			       int32_t *top1, char *err, size_t errlen)
{
	try {
		omp_set_num_threads((int)f->threads);
		std::vector<bh_idx> labels(nq * k);
		const uint8_t *src = static_cast<const uint8_t *>(q);
		if (f->ip) {
			std::vector<float> xq(nq * f->dim), dist(nq * k);
			for (size_t j = 0; j < nq; j++)
				for (uint32_t d = 0; d < f->dim; d++)
					xq[j * f->dim + d] = (float)(int8_t)src[j * qstride + d];
			f->ip->search((bh_idx)nq, xq.data(), (bh_idx)k, dist.data(),
				      labels.data());
			for (size_t j = 0; top1 && j < nq; j++)
				top1[j] = (int32_t)dist[j * k];
		} else {
			const size_t rb = f->dim / 8;
			std::vector<uint8_t> xq(nq * rb);
			for (size_t j = 0; j < nq; j++)
				std::memcpy(&xq[j * rb], src + j * qstride, rb);
			std::vector<int32_t> dist(nq * k);
			f->bin->search((bh_idx)nq, xq.data(), (bh_idx)k, dist.data(),
				       labels.data());
			for (size_t j = 0; top1 && j < nq; j++)
				top1[j] = (int32_t)f->dim - dist[j * k];
		}
		return 0;
	} catch (const std::exception &e) {
		return fail(err, errlen, e.what());
	}
}

extern "C" size_t bh_faiss_bytes(const bh_faiss *f)
{
	if (f->ip)
		return f->ip->codes.size();
	return f->bin->xb.size();
}

extern "C" void bh_faiss_close(bh_faiss *f)
{
	delete f;
}

#else /* built without FAISS: the bench prints faiss_queries_per_s null */

struct bh_faiss {
	int unused;
};

static int absent(char *err, size_t errlen)
{
	if (err && errlen)
		std::snprintf(err, errlen, "faiss: not built in (meson option faiss, libfaiss-dev)");
	return -1;
}

extern "C" const char *bh_faiss_version(void) { return nullptr; }
extern "C" int bh_faiss_open_ip(const void *, size_t, uint32_t, size_t, unsigned, bh_faiss **,
				char *err, size_t errlen)
{
	return absent(err, errlen);
}
extern "C" int bh_faiss_open_binary(const void *, size_t, uint32_t, size_t, unsigned, bh_faiss **,
				    char *err, size_t errlen)
{
	return absent(err, errlen);
}
extern "C" int bh_faiss_search(bh_faiss *, const void *, size_t, size_t, uint32_t, int32_t *,
			       char *err, size_t errlen)
{
	return absent(err, errlen);
}
extern "C" size_t bh_faiss_bytes(const bh_faiss *) { return 0; }
extern "C" void bh_faiss_close(bh_faiss *f) { delete f; }

#endif
