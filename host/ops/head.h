/* head.h: the classifier head's configuration (global average pool + fully connected) as a
 * struct, for tests and benchmarks (the allowed values are its descriptor's, scl__head_desc).
 * scl_op_gap_fc_create() is this with the tuning table's entry, or the default cfg. */
#ifndef SCL_OP_HEAD_H
#define SCL_OP_HEAD_H

#include "ops/op.h"

typedef struct scl_head_cfg {
    int fused;       /* 1: one launch, each work-item pooling the planes it needs; 0: a pooling
                        launch into a buffer the op owns, then the FC launch over it */
    int kv;          /* classes per vector */
    int kn;          /* vectors of classes per work-item */
    int nb;          /* images per work-item */
    int blocked;     /* weights tile by tile (CPUs: each work-item streams one block) rather
                        than channel by channel (GPUs: neighbouring work-items coalesce) */
    size_t local[2]; /* FC work-group size over (image blocks, class tiles); {0, 0}: runtime's */
    int half;        /* half storage (not a tunable: the op's precision) */
} scl_head_cfg;

void scl__head_default_cfg(const scl_context *ctx, scl_head_cfg *cfg);
/* The build options of the default configuration's program (the stem builds it with its own,
 * stem.c). */
void scl__head_default_options(const scl_context *ctx, char *buf, size_t cap);
/* scl_op_gap_fc_create with explicit tunables; a bad cfg is SCL_ERROR_INVALID_ARGUMENT. */
scl_status scl__op_gap_fc_create_cfg(scl_context *ctx, int cin, int classes, const float *weights,
                                     const float *bias, const scl_head_cfg *cfg, scl_op **out);

#endif
