/* cmd_gallery.h - shared pieces of `biohub gallery` (cmd_gallery*.c). */
#ifndef CMD_GALLERY_H
#define CMD_GALLERY_H

#include "bh_gallery.h"

/* Sub-commands, argv[0] = sub-command name; return an exit code. */
int gallery_enroll(int argc, char **argv);
int gallery_synth(int argc, char **argv);

/* Opens a gallery, printing a clear error on failure (returns 1 then). */
int gallery_open_cli(const char *path, unsigned flags, bh_gallery **g);

/* Strict integer parsing of an option value; prints an error on failure. */
int gallery_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);

#endif
