/* search.h: the tuning search behind `shufflecl tune` (scl_tune_model / scl_tune_desc in
 * shufflecl_ext.h): times the configurations that the op descriptors name for every layer shape
 * of a model, keeps those whose output matches the default configuration's and that beat it, and
 * merges them into the device's tuning table. The top layer: above ops, net and the table. */
#ifndef SCL_TUNER_SEARCH_H
#define SCL_TUNER_SEARCH_H

#include "shufflecl_ext.h"

/* Tunes every layer of the (checked) description `model` at n x 3 x h x w whose op family is in
 * `families` (a comma-separated list of descriptor names, and "block": the batch's block size,
 * at n > 1; NULL: "pointwise,depthwise,unit,block") and writes the device's tuning file, keeping
 * the entries it holds for other shapes and sizes. Needs a profiling queue and a cache
 * directory. */
scl_status scl__tune_search(scl_context *ctx, const scl_model_desc *model, int n, int h, int w,
                            const char *families, int half, scl_tune_progress progress, void *user,
                            scl_tune_report *report);

#endif
