/* depthwise.h: the depthwise op's configuration as a struct, for tests and benchmarks (the
 * allowed values are its descriptor's, scl__depthwise_desc). scl_op_depthwise_create() is this
 * with the tuning table's entry for the shape, or scl__dw_default_cfg(). */
#ifndef SCL_OP_DEPTHWISE_H
#define SCL_OP_DEPTHWISE_H

#include "ops/op.h"

typedef struct scl_dw_cfg {
    int vw;          /* outputs computed together along W (a vector) */
    int th;          /* output rows per work-item */
    int seg;         /* outputs per work-item along W, a multiple of vw; 0: the whole row, and
                        then each launch takes the widest of vw, vw/2, ... (down to 4) whose
                        vector fits the row, building that kernel on first use */
    int plane_wg;    /* with local {0, 0}: work-groups of whole planes instead of the runtime's */
    size_t local[2]; /* work-group size over (W segments, row blocks); {0, 0}: see plane_wg */
    int half;        /* half storage (not a tunable: the op's precision) */
} scl_dw_cfg;

/* The configuration scl_op_depthwise_create uses on ctx's device type. */
void scl__dw_default_cfg(const scl_context *ctx, int stride, scl_dw_cfg *cfg);
/* scl_op_depthwise_create with explicit tunables; a bad cfg is SCL_ERROR_INVALID_ARGUMENT. */
scl_status scl__op_depthwise_create_cfg(scl_context *ctx, int channels, int stride, int flags,
                                        const float *weights, const float *bias,
                                        const scl_dw_cfg *cfg, scl_op **out);

#endif
