/* tune.h: the auto-tuner: times candidate kernel configurations per layer shape on this device,
 * keeps only those whose output matches the default configuration's, and persists the winners
 * in the cache directory so that every later network on the device uses them. */
#ifndef SCL_TUNE_H
#define SCL_TUNE_H

#include "core/internal.h"
#include "ops/depthwise.h"

/* The tuned configuration for a layer shape, if the device's tuning file has one. */
int scl__tune_pointwise(scl_context *ctx, int cin, int cout, int groups, int flags, int *vec, int *co_tile);
int scl__tune_depthwise(scl_context *ctx, int channels, int stride, int flags, scl_dw_cfg *cfg);

typedef void (*scl_tune_progress)(const char *line, void *user);

typedef struct scl_tune_report {
    int shapes;        /* distinct layer shapes tuned */
    int candidates;    /* configurations timed */
    int rejected;      /* candidates whose output differed from the default's */
    int improved;      /* shapes whose winner beat the default */
    double default_ms; /* sum over shapes of the default configuration's time */
    double tuned_ms;   /* sum over shapes of the winner's time */
    char path[1024];   /* the tuning file written */
} scl_tune_report;

/* Tunes every pointwise and depthwise layer shape of `model` at n x 3 x h x w and writes the
 * device's tuning file (merging with what it already holds). Needs a profiling queue and a
 * cache directory. */
scl_status scl__tune_model(scl_context *ctx, const char *model, int n, int h, int w,
                           scl_tune_progress progress, void *user, scl_tune_report *report);

/* The reader behind the lookups, exposed for its fuzz target: parses the tuning file at `path`
 * (NULL when missing, stale or malformed; logged) into a table for ctx->tune, and the source
 * hash its second line must carry. */
struct scl_tune_db *scl__tune_read(scl_context *ctx, const char *path);
scl_status scl__tune_source_hash(scl_context *ctx, char out[65]);

/* Forgets the loaded tuning table (after the file changed). */
void scl__tune_release(scl_context *ctx);

#endif
