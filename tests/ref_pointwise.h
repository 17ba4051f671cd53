/* ref_pointwise.h: float64 references for the grouped 1x1 conv and the channel shuffle, on
 * dense NCHW tensors (no maps, no padding). */
#ifndef SCL_REF_POINTWISE_H
#define SCL_REF_POINTWISE_H

/* out[b][co][p] = act(bias[co] + sum_k w[co][k] * in[b][(co / (cout/groups)) * (cin/groups) + k][p]
 *                     + res[b][co][p]), act = ReLU when relu; w is cout x (cin/groups);
 * bias and res may be NULL (zero). */
void ref_pointwise(const double *in, int n, int cin, int cout, int groups, int hw, const double *w,
                   const double *bias, const double *res, int relu, double *out);

/* y = channel_shuffle(x, groups): not inverse, x viewed as (groups, c/groups) and transposed;
 * inverse, x viewed as (c/groups, groups) and transposed. */
void ref_shuffle(const double *in, int n, int c, int hw, int groups, int inverse, double *out);

#endif
