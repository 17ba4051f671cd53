/* unit.h: the fused ShuffleNet V1 and V2 units (cl/unit.cl): every layer of a unit in one
 * launch, for the network (net/weights.c groups a unit's layers into one op where it can). */
#ifndef SCL_OP_UNIT_H
#define SCL_OP_UNIT_H

#include "core/internal.h"
#include "ops/desc.h"

/* A unit's layers, in the order the model lists them (net/model.c), BN folded in:
 *   stride 1: 1x1 conv cin -> cout + ReLU, depthwise 3x3 (cout), 1x1 conv cout -> cout + ReLU;
 *   stride 2: branch a: depthwise 3x3 s2 (cin), 1x1 conv cin -> couta + ReLU; branch b: 1x1 conv
 *   cin -> cout / 2 + ReLU, depthwise 3x3 s2 (cout / 2), 1x1 conv cout / 2 -> cout - couta + ReLU,
 *   where couta is cout / 2 (torchvision, megvii 0) or cin (Megvii's branch_proj, megvii 1).
 * Branch a writes output channels 0 .. couta-1, branch b the rest (the concat's order).
 * w holds each layer's weights one after the other (1x1: cout x cin row-major; depthwise: C x
 * 9), b each layer's biases (one per output channel). The op's input has cin channels, its
 * output cout, and its input must not share planes with its output. half: half storage. */
scl_status scl__op_unit_create(scl_context *ctx, int stride, int cin, int cout, int megvii,
                               int half, const float *w, const float *b, scl_op **out);

/* The descriptor's shape kinds (scl__op_shape.kind): V2's channel splits, and V1 with its first
 * 1x1 conv grouped as its last (groups) or ungrouped (the first unit of stage 2). */
enum { SCL__UNIT_V2 = 0, SCL__UNIT_MEGVII = 1, SCL__UNIT_V1 = 2, SCL__UNIT_V1_FIRST = 3 };

/* A ShuffleNet V1 unit, its layers' weights in the order of scl__op_unit_create (BN folded in,
 * grouped 1x1: cout x cin / groups row-major), mid = cout / 4:
 *   1x1 conv cin -> mid in first_groups groups (1 or groups) + ReLU, depthwise 3x3 (mid, the
 *   stride), Megvii's channel shuffle of groups groups, 1x1 conv mid -> cout' in groups groups;
 *   stride 1 (cin = cout, cout' = cout): out = relu(x + that); stride 2 (cout' = cout - cin):
 *   out = concat(avgpool3x3s2p1(x) (count_include_pad), relu(that)).
 * The input must not share planes with the output. */
scl_status scl__op_unit_v1_create(scl_context *ctx, int stride, int cin, int cout, int groups,
                                  int first_groups, int half, const float *w, const float *b,
                                  scl_op **out);

/* 0 if op was made with fuse = 0 (a tuning entry: the unit measured faster layer by layer on
 * this device), so that the network runs its layers instead; else 1. */
int scl__op_unit_wanted(const scl_op *op);

/* 1 if op can run an n x cin x h x w input on its device (the band of one output row fits the
 * local memory); else the caller runs the unit layer by layer. */
int scl__op_unit_fits(const scl_op *op, int n, int h, int w);

/* The same for a unit of shape s in its default configuration on a device `dev`, before any op
 * exists (the launch count a network plans before its weights). */
int scl__unit_shape_fits(const scl_device_info *dev, const scl__op_shape *s, int n, int h, int w);

#endif
