/* pointwise.h: the pointwise (1x1) conv's internal entry with an explicit kernel
 * configuration, for tests that run GPU-style tiles on a CPU device (the allowed values are
 * its descriptor's, scl__pointwise_desc). */
#ifndef SCL_OP_POINTWISE_H
#define SCL_OP_POINTWISE_H

#include "core/internal.h"

/* As scl_op_pointwise_create, with the register tile given: `vec` pixels by `co_tile` output
 * channels (clamped to the channels per group) per work-item, taken as is (the public create
 * also evens out the tiles of each group). vec >= 8 launches CPU-style work-groups of 8 rows,
 * vec < 8 GPU-style ones of 64 work-items along the plane. */
scl_status scl__op_pointwise_create_cfg(scl_context *ctx, int cin, int cout, int groups, int flags,
                                        const float *w, const float *b, int vec, int co_tile,
                                        scl_op **out);

#endif
