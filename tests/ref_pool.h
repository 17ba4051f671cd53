/* ref_pool.h: float64 references for the 3x3 stride-2 pad-1 pools, on dense NCHW tensors. */
#ifndef SCL_REF_POOL_H
#define SCL_REF_POOL_H

void ref_maxpool3x3s2(const double *in, int n, int c, int h, int w, double *out);
/* count_include_pad=True: always divides by 9 */
void ref_avgpool3x3s2(const double *in, int n, int c, int h, int w, double *out);

#endif
