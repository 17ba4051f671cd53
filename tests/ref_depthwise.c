/* ref_depthwise.c: plain-loop float64 depthwise convolution, written from the definition. */
#include "ref_depthwise.h"

#include <stddef.h>

void ref_depthwise3x3(const double *in, int n, int c, int h, int w, int stride,
                      const double *weights, const double *bias, int relu, double *out) {
    int oh = (h + stride - 1) / stride, ow = (w + stride - 1) / stride;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            const double *src = in + ((size_t)b * c + ch) * h * w;
            const double *k = weights + (size_t)ch * 9;
            double *dst = out + ((size_t)b * c + ch) * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[ch] : 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int y = stride * oy - 1 + ky, x = stride * ox - 1 + kx;
                            if (y >= 0 && y < h && x >= 0 && x < w)
                                acc += k[ky * 3 + kx] * src[y * w + x];
                        }
                    dst[oy * ow + ox] = relu && acc < 0 ? 0.0 : acc;
                }
        }
}
