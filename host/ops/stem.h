/* stem.h: the stem op's configuration as a struct, for tests and benchmarks (the allowed
 * values are its descriptor's, scl__stem_desc). scl_op_stem_create() is this with the tuning
 * table's entry for the shape, or scl__stem_default_cfg() with its co evened out over cout. */
#ifndef SCL_OP_STEM_H
#define SCL_OP_STEM_H

#include "ops/op.h"

typedef struct scl_stem_cfg {
    int vw;          /* outputs computed together along W (a vector) */
    int co;          /* output channels per work-item (taken as given here; the weights
                        are padded to a multiple of it) */
    int seg;         /* outputs per work-item along W, a multiple of vw; 0: the whole row, and
                        then each launch takes the widest of vw, vw/2, ... (down to 4) whose
                        vector fits the row, building that kernel on first use */
    int row_wg;      /* with local {0, 0}: work-groups of whole rows instead of the runtime's */
    size_t local[2]; /* work-group size over (W segments, rows); {0, 0}: see row_wg */
    int half;        /* half storage (not a tunable: the op's precision) */
} scl_stem_cfg;

void scl__stem_default_cfg(const scl_context *ctx, scl_stem_cfg *cfg);
/* scl_op_stem_create with explicit tunables; a bad cfg is SCL_ERROR_INVALID_ARGUMENT. */
scl_status scl__op_stem_create_cfg(scl_context *ctx, int cout, const float *weights,
                                   const float *bias, const scl_stem_cfg *cfg, scl_op **out);

#endif
