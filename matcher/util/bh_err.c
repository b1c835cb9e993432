/* bh_err.c - error strings and the per-thread error detail. */
#include "bh_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[256];

const char *bh_strerror(int err)
{
	switch (err) {
	case BH_OK: return "ok";
	case BH_ENOMEM: return "out of memory";
	case BH_EINVAL: return "invalid argument";
	case BH_EIO: return "i/o error";
	case BH_EFORMAT: return "malformed input";
	case BH_ENOTFOUND: return "not found";
	case BH_EEXIST: return "already exists";
	case BH_EDB: return "database error";
	case BH_EUNSUPPORTED: return "unsupported";
	case BH_ETOOBIG: return "too big";
	case BH_ENOFACE: return "no face found";
	case BH_EDEVICE: return "device error";
	case BH_ETIMEOUT: return "timed out";
	case BH_ECRYPTO: return "authentication failed";
	case BH_EBUSY: return "busy";
	case BH_EVERSION: return "wrong version";
	case BH_ENOFEATURE: return "too few features";
	case BH_ECPU: return "cpu lacks required instructions";
	default: return "unknown error";
	}
}

int bh_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return err;
}

const char *bh_errmsg(void) { return errbuf; }

void bh_errclear(void) { errbuf[0] = '\0'; }

void bh_note(char *notes, size_t cap, const char *fmt, ...)
{
	if (!notes || !cap)
		return;
	size_t used = strnlen(notes, cap);
	if (used + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(notes + used, cap - used, fmt, ap);
	va_end(ap);
}
