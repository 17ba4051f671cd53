/* ref_unit.h: float64 references for the fused ShuffleNet units (host/ops/unit.h), on dense
 * NCHW: the layers composed from ref_pointwise, ref_depthwise3x3, ref_shuffle and
 * ref_avgpool3x3s2, in the model's order. */
#ifndef SCL_REF_UNIT_H
#define SCL_REF_UNIT_H

/* The unit of scl__op_unit_create(stride, cin, cout, megvii) with its weights w and biases b laid
 * out as there, on n x cin x h x w; out is n x cout x oh x ow (branch a's channels first). */
void ref_unit(const double *in, int n, int cin, int h, int w, int stride, int cout, int megvii,
              const double *wts, const double *bias, double *out);

/* The V1 unit of scl__op_unit_v1_create(stride, cin, cout, groups, first_groups), weights and
 * biases laid out as there; out is n x cout x oh x ow (at stride 2 the pool's cin channels first).
 */
void ref_unit_v1(const double *in, int n, int cin, int h, int w, int stride, int cout, int groups,
                 int first_groups, const double *wts, const double *bias, double *out);

#endif
