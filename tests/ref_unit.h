/* ref_unit.h: float64 reference for the fused ShuffleNet V2 unit (host/ops/unit.h), on dense
 * NCHW: the layers composed from ref_pointwise and ref_depthwise3x3, in the model's order. */
#ifndef SCL_REF_UNIT_H
#define SCL_REF_UNIT_H

/* The unit of scl__op_unit_create(stride, cin, cout, megvii) with its weights w and biases b laid
 * out as there, on n x cin x h x w; out is n x cout x oh x ow (branch a's channels first). */
void ref_unit(const double *in, int n, int cin, int h, int w, int stride, int cout, int megvii,
              const double *wts, const double *bias, double *out);

#endif
