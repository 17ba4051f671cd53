/* tune.h: the per-device tuning table: load, look up, merge, save. Values only: what the values
 * mean and whether they are valid is the op descriptors' business (ops/desc.h), and timing is
 * host/tuner/search.c's. Nothing here depends on ops or models. */
#ifndef SCL_TUNE_H
#define SCL_TUNE_H

#include "core/internal.h"

#define SCL__TUNE_FORMAT 2
#define SCL__TUNE_MAX_INTS 8

/* One line of the table: "<family> <precision> <H>x<W>|* : <key ints> : <values> [# ms ms]". */
typedef struct scl__tune_entry {
    char family[16];
    char precision[8]; /* "f32", or "f16s" (half storage) */
    int h, w;          /* the input size it was measured at; 0 0 ("*"): any size */
    int nkey, key[SCL__TUNE_MAX_INTS];
    int nval, val[SCL__TUNE_MAX_INTS];
    double default_ms, tuned_ms; /* as measured by the search; < 0 when the line has none */
    int line;                    /* in the file it came from (0: made in memory) */
} scl__tune_entry;

typedef struct scl__tune_table {
    int n, cap;
    scl__tune_entry *e;
    char path[4200]; /* the file it was loaded from, for messages */
} scl__tune_table;

/* The device's tuning file in ctx's cache directory (named by a hash of device, driver and
 * platform version). */
void scl__tune_path(const scl_context *ctx, char *path, size_t cap);
/* The hash of every kernel source (hex, 64 characters): the table's second line. Any kernel
 * edit makes an old table stale. */
scl_status scl__tune_source_hash(scl_context *ctx, char out[65]);

/* The context's table, loaded from the tuning file on first use; NULL when there is none, or it
 * is stale or of another format (a warning names the file). Lines that do not parse are skipped
 * with a warning naming the file and line. */
const scl__tune_table *scl__tune_get(scl_context *ctx);
/* The reader behind scl__tune_get (and its fuzz target): parses the table at path; NULL when
 * missing, stale, of another format or unreadable (a warning names the file). */
scl__tune_table *scl__tune_load(scl_context *ctx, const char *path);
/* Forgets the context's table (after the file changed); the next scl__tune_get reads it again. */
void scl__tune_release(scl_context *ctx);

/* The entry for (family, precision, key) measured at h x w, or with h = w = 0 the one for any
 * size: an entry written for any size ("*") first, else the one measured at the largest size. */
const scl__tune_entry *scl__tune_find(const scl__tune_table *t, const char *family,
                                      const char *precision, const int *key, int nkey, int h,
                                      int w);

scl__tune_table *scl__tune_new(void);
void scl__tune_free(scl__tune_table *t);
/* Adds e, replacing an entry of the same family, precision, key and size. */
scl_status scl__tune_put(scl_context *ctx, scl__tune_table *t, const scl__tune_entry *e);
/* Adds the entries of src that dst has no entry for (same family, precision, key and size). */
scl_status scl__tune_merge(scl_context *ctx, scl__tune_table *dst, const scl__tune_table *src);
/* Writes t as the device's tuning file (atomically: a temporary file renamed), path gets its
 * name; the context's loaded table is forgotten. */
scl_status scl__tune_save(scl_context *ctx, const scl__tune_table *t, char *path, size_t cap);

#endif
