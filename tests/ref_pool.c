/* ref_pool.c: plain-loop float64 pools, written from the definition and nothing else. */
#include "ref_pool.h"

#include <math.h>
#include <stddef.h>

static void pool(const double *in, int n, int c, int h, int w, double *out, int is_max) {
    int oh = (h + 1) / 2, ow = (w + 1) / 2;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            const double *src = in + ((size_t)b * c + ch) * h * w;
            double *dst = out + ((size_t)b * c + ch) * oh * ow;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = is_max ? -INFINITY : 0.0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int y = 2 * oy - 1 + ky, x = 2 * ox - 1 + kx;
                            if (y < 0 || y >= h || x < 0 || x >= w) continue;
                            double v = src[y * w + x];
                            acc = is_max ? (v > acc ? v : acc) : acc + v;
                        }
                    dst[oy * ow + ox] = is_max ? acc : acc / 9.0;
                }
        }
}

void ref_maxpool3x3s2(const double *in, int n, int c, int h, int w, double *out) {
    pool(in, n, c, h, w, out, 1);
}

void ref_avgpool3x3s2(const double *in, int n, int c, int h, int w, double *out) {
    pool(in, n, c, h, w, out, 0);
}
