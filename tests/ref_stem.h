/* ref_stem.h: float64 reference for the stem, a 3x3 stride-2 pad-1 convolution from 3 channels
 * with bias and ReLU, on dense NCHW tensors. */
#ifndef SCL_REF_STEM_H
#define SCL_REF_STEM_H

/* out[b][co][oy][ox] = max(0, bias[co] + sum_{ci,ky,kx} w[co][ci][ky][kx] *
 * in[b][ci][2oy-1+ky][2ox-1+kx]), taps outside the input counting as zero; in is n x 3 x h x w, out
 * n x cout x (h+1)/2 x (w+1)/2. bias may be NULL. */
void ref_stem3x3s2(const double *in, int n, int h, int w, int cout, const double *weights,
                   const double *bias, double *out);

#endif
