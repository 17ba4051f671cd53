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

/* Tunes every pointwise and depthwise layer shape of a (checked) description at n x 3 x h x w and writes the
 * device's tuning file (merging with what it already holds). Needs a profiling queue and a
 * cache directory. */
scl_status scl__tune_model(scl_context *ctx, const scl_model_desc *desc, int n, int h, int w,
                           scl_tune_progress progress, void *user, scl_tune_report *report);

/* Forgets the loaded tuning table (after the file changed). */
void scl__tune_release(scl_context *ctx);

#endif
