/* ref_depthwise.h: float64 reference for the depthwise 3x3 pad-1 convolution, on dense NCHW. */
#ifndef SCL_REF_DEPTHWISE_H
#define SCL_REF_DEPTHWISE_H

/* out[b][ch][oy][ox] = act(bias[ch] + sum_{ky,kx} w[ch][ky][kx] * in[b][ch][s*oy-1+ky][s*ox-1+kx]),
 * taps outside the input counting as zero; act is ReLU when relu != 0. bias may be NULL. The
 * output is n x c x (h+s-1)/s x (w+s-1)/s. */
void ref_depthwise3x3(const double *in, int n, int c, int h, int w, int stride,
                      const double *weights, const double *bias, int relu, double *out);

#endif
