/* ref_unit.c: the fused units' float64 references, layer by layer (see ref_unit.h). */
#include "ref_unit.h"
#include "ref_depthwise.h"
#include "ref_pointwise.h"
#include "ref_pool.h"

#include <stdlib.h>
#include <string.h>

/* One branch: an optional 1x1 conv + ReLU (cin -> mid), the depthwise (mid, stride s), a 1x1
 * conv + ReLU (mid -> co) into channels [at, at + co) of out (ctot channels of ohw). */
static void branch(const double *in, int n, int cin, int h, int w, int s, int first_pw, int mid,
                   int co, const double **wts, const double **bias, double *out, int ctot, int at) {
    int oh = (h + s - 1) / s, ow = (w + s - 1) / s, hw = h * w, ohw = oh * ow;
    double *e = malloc((size_t)n * mid * hw * sizeof *e);
    double *f = malloc((size_t)n * mid * ohw * sizeof *f);
    double *g = malloc((size_t)n * co * ohw * sizeof *g);
    if (first_pw) {
        ref_pointwise(in, n, cin, mid, 1, hw, *wts, *bias, NULL, 1, e);
        *wts += (size_t)mid * cin, *bias += mid;
    } else {
        memcpy(e, in, (size_t)n * mid * hw * sizeof *e);
    }
    ref_depthwise3x3(e, n, mid, h, w, s, *wts, *bias, 0, f);
    *wts += (size_t)mid * 9, *bias += mid;
    ref_pointwise(f, n, mid, co, 1, ohw, *wts, *bias, NULL, 1, g);
    *wts += (size_t)co * mid, *bias += co;
    for (int b = 0; b < n; b++)
        memcpy(out + ((size_t)b * ctot + at) * ohw, g + (size_t)b * co * ohw,
               (size_t)co * ohw * sizeof *g);
    free(e), free(f), free(g);
}

void ref_unit(const double *in, int n, int cin, int h, int w, int stride, int cout, int megvii,
              const double *wts, const double *bias, double *out) {
    if (stride == 1) {
        branch(in, n, cin, h, w, 1, 1, cout, cout, &wts, &bias, out, cout, 0);
        return;
    }
    int couta = megvii ? cin : cout / 2;
    branch(in, n, cin, h, w, 2, 0, cin, couta, &wts, &bias, out, cout, 0);
    branch(in, n, cin, h, w, 2, 1, cout / 2, cout - couta, &wts, &bias, out, cout, couta);
}

void ref_unit_v1(const double *in, int n, int cin, int h, int w, int stride, int cout, int groups,
                 int first_groups, const double *wts, const double *bias, double *out) {
    int mid = cout / 4, s = stride, oh = (h + s - 1) / s, ow = (w + s - 1) / s;
    int hw = h * w, ohw = oh * ow, cb = s == 2 ? cout - cin : cout;
    double *e = malloc((size_t)n * mid * hw * sizeof *e);
    double *f = malloc((size_t)n * mid * ohw * sizeof *f);
    double *sh = malloc((size_t)n * mid * ohw * sizeof *sh);
    double *g = malloc((size_t)n * cb * ohw * sizeof *g);
    ref_pointwise(in, n, cin, mid, first_groups, hw, wts, bias, NULL, 1, e);
    wts += (size_t)mid * (cin / first_groups), bias += mid;
    ref_depthwise3x3(e, n, mid, h, w, s, wts, bias, 0, f);
    wts += (size_t)mid * 9, bias += mid;
    /* Megvii's shuffle: view (mid / g, g), transpose */
    ref_shuffle(f, n, mid, ohw, groups, 1, sh);
    if (s == 1) {
        ref_pointwise(sh, n, mid, cout, groups, ohw, wts, bias, in, 1, out);
    } else {
        ref_pointwise(sh, n, mid, cb, groups, ohw, wts, bias, NULL, 1, g);
        double *pool = malloc((size_t)n * cin * ohw * sizeof *pool);
        ref_avgpool3x3s2(in, n, cin, h, w, pool);
        for (int b = 0; b < n; b++) {
            memcpy(out + (size_t)b * cout * ohw, pool + (size_t)b * cin * ohw,
                   (size_t)cin * ohw * sizeof *out);
            memcpy(out + ((size_t)b * cout + cin) * ohw, g + (size_t)b * cb * ohw,
                   (size_t)cb * ohw * sizeof *out);
        }
        free(pool);
    }
    free(e), free(f), free(sh), free(g);
}
