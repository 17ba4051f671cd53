/* ref_stem.c: plain-loop float64 stem convolution, written from the definition. */
#include "ref_stem.h"

#include <stddef.h>

void ref_stem3x3s2(const double *in, int n, int h, int w, int cout, const double *weights,
                   const double *bias, double *out) {
    int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (int b = 0; b < n; b++)
        for (int co = 0; co < cout; co++) {
            double *dst = out + ((size_t)b * cout + co) * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < 3; ci++) {
                        const double *src = in + ((size_t)b * 3 + ci) * h * w;
                        const double *k = weights + ((size_t)co * 3 + ci) * 9;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int y = 2 * oy - 1 + ky, x = 2 * ox - 1 + kx;
                                if (y >= 0 && y < h && x >= 0 && x < w)
                                    acc += k[ky * 3 + kx] * src[y * w + x];
                            }
                    }
                    dst[oy * ow + ox] = acc > 0 ? acc : 0.0;
                }
        }
}
