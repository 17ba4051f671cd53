/* ref_head.h: float64 reference for the classifier head, a global average pool then a fully
 * connected layer, on dense NCHW tensors. */
#ifndef SCL_REF_HEAD_H
#define SCL_REF_HEAD_H

/* out[b][k] = bias[k] + sum_c w[k][c] * mean over h x w of in[b][c]; in is n x c x h x w, out
 * n x classes, w classes x c. bias may be NULL (zero). */
void ref_gap_fc(const double *in, int n, int c, int h, int w, int classes, const double *weights,
                const double *bias, double *out);

#endif
