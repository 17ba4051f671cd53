/* ref_pointwise.c: plain-loop float64 1x1 conv and channel shuffle, written from the
 * definitions and nothing else. */
#include "ref_pointwise.h"

#include <stddef.h>

void ref_pointwise(const double *in, int n, int cin, int cout, int groups, int hw, const double *w,
                   const double *bias, const double *res, int relu, double *out) {
    int kg = cin / groups, cg = cout / groups;
    for (int b = 0; b < n; b++)
        for (int co = 0; co < cout; co++) {
            int g = co / cg;
            for (int p = 0; p < hw; p++) {
                double acc = bias ? bias[co] : 0.0;
                for (int k = 0; k < kg; k++)
                    acc += w[(size_t)co * kg + k] * in[((size_t)b * cin + g * kg + k) * hw + p];
                size_t o = ((size_t)b * cout + co) * hw + p;
                if (res) acc += res[o];
                if (relu && acc < 0.0) acc = 0.0;
                out[o] = acc;
            }
        }
}

void ref_shuffle(const double *in, int n, int c, int hw, int groups, int inverse, double *out) {
    /* view the channels as a rows x cols matrix, in row-major order, and transpose it */
    int rows = inverse ? c / groups : groups, cols = c / rows;
    for (int b = 0; b < n; b++)
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) {
                const double *src = in + ((size_t)b * c + (size_t)r * cols + q) * hw;
                double *dst = out + ((size_t)b * c + (size_t)q * rows + r) * hw;
                for (int p = 0; p < hw; p++)
                    dst[p] = src[p];
            }
}
