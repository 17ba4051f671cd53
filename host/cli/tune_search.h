/* tune_search.h: the tuning search of `shufflecl tune`: times the configurations that the op
 * descriptors name for every layer shape of a model, keeps those whose output matches the
 * default configuration's and that beat it, and merges them into the device's tuning table. */
#ifndef SCL_CLI_TUNE_SEARCH_H
#define SCL_CLI_TUNE_SEARCH_H

#include "shufflecl.h"

typedef void (*scl__tune_progress)(const char *line, void *user);

typedef struct scl__tune_report {
    int shapes;        /* distinct layer shapes tuned */
    int candidates;    /* configurations timed */
    int rejected;      /* candidates whose output differed from the default's */
    int improved;      /* shapes whose winner beat the default: the entries written */
    double default_ms; /* sum over shapes of the default configuration's time */
    double tuned_ms;   /* sum over shapes of the kept configuration's time */
    char path[4200];   /* the tuning file written */
} scl__tune_report;

/* Tunes every layer of `model` at n x 3 x h x w whose op family is in `families` (a comma-separated
 * list of descriptor names; NULL: "pointwise,depthwise") and writes the device's tuning file,
 * keeping the entries it holds for other shapes and sizes. Needs a profiling queue and a cache
 * directory. */
scl_status scl__tune_search(scl_context *ctx, const char *model, int n, int h, int w,
                            const char *families, scl__tune_progress progress, void *user,
                            scl__tune_report *report);

#endif
