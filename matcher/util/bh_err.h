/*
 * bh_err.h - error values shared by every biohub module.
 *
 * Every fallible function returns int: BH_OK (0) on success or one of the
 * negative BH_E* codes below.  A function that fails may also leave a short,
 * human readable detail in a thread-local buffer (bh_errmsg()), which the CLI
 * and the daemon print next to bh_strerror().  The detail never contains probe
 * data: only names, sizes and positions.
 */
#ifndef BH_ERR_H
#define BH_ERR_H

#include <stddef.h>

enum {
	BH_OK = 0,
	BH_ENOMEM = -1,       /* allocation failed */
	BH_EINVAL = -2,       /* bad argument from the caller */
	BH_EIO = -3,          /* read/write/system call failed */
	BH_EFORMAT = -4,      /* malformed input data (image, record, frame) */
	BH_ENOTFOUND = -5,    /* no such subject, file, key, ... */
	BH_EEXIST = -6,       /* duplicate (external reference, ...) */
	BH_EDB = -7,          /* SQLite error or foreign/corrupt database */
	BH_EUNSUPPORTED = -8, /* valid but unsupported variant */
	BH_ETOOBIG = -9,      /* input exceeds a configured bound */
	BH_ENOFACE = -10,     /* no face found in the image */
	BH_EDEVICE = -11,     /* (simulated) device reported an error */
	BH_ETIMEOUT = -12,    /* operation timed out */
	BH_ECRYPTO = -13,     /* authentication/decryption failed */
	BH_EBUSY = -14,       /* overloaded, try again */
	BH_EVERSION = -15,    /* wrong format/template version */
	BH_ENOFEATURE = -16,  /* image has too little usable structure */
	BH_ECPU = -17,        /* the CPU lacks the instructions a backend needs */
};

/* Static text for a code ("out of memory", ...). Never NULL. */
const char *bh_strerror(int err);

/* Records a detail for the current thread (printf-style) and returns err,
 * so that error paths can be written as `return bh_fail(BH_EFORMAT, "...")`. */
int bh_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last detail recorded on this thread ("" if none). */
const char *bh_errmsg(void);

/* Clears the detail (call at the start of an operation whose errors you print). */
void bh_errclear(void);

/* Appends printf-style text to a caller's notes buffer of cap bytes (what
 * an operation skipped and why, e.g. records not enrolled), truncating
 * silently; notes may be NULL or cap 0 (nothing is written). */
void bh_note(char *notes, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
