/* ref_head.c: plain-loop float64 global average pool and fully connected layer. */
#include "ref_head.h"

#include <math.h>
#include <stdlib.h>

void ref_gap_fc(const double *in, int n, int c, int h, int w, int classes, const double *weights,
                const double *bias, double *out) {
    size_t hw = (size_t)h * w;
    double *mean = malloc((size_t)c * sizeof *mean);
    if (!mean) { /* NaN fails the caller's comparison */
        for (size_t i = 0; i < (size_t)n * classes; i++)
            out[i] = NAN;
        return;
    }
    for (int b = 0; b < n; b++) {
        for (int ch = 0; ch < c; ch++) {
            const double *src = in + ((size_t)b * c + ch) * hw;
            double s = 0;
            for (size_t i = 0; i < hw; i++)
                s += src[i];
            mean[ch] = s / (double)hw;
        }
        for (int k = 0; k < classes; k++) {
            double acc = bias ? bias[k] : 0.0;
            for (int ch = 0; ch < c; ch++)
                acc += weights[(size_t)k * c + ch] * mean[ch];
            out[(size_t)b * classes + k] = acc;
        }
    }
    free(mean);
}
