/* testutil.c: shared helpers for the Check tests (see testutil.h). */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

scl_context *tu_context(void) {
    scl_context *ctx = NULL;
    scl_status st = scl_context_create(NULL, &ctx);
    ck_assert_msg(st == SCL_OK, "no OpenCL context: %s", scl_last_error(NULL));
    return ctx;
}

const char *tu_tmpdir(void) {
    const char *d = getenv("SCL_TEST_TMPDIR");
    return d && *d ? d : "/tmp";
}

static uint64_t next(uint64_t *s) {
    /* splitmix64: good enough spread for test data, identical on every platform */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *seed) {
    for (size_t i = 0; i < n; i++) {
        float v;
        do v = lo + (hi - lo) * (float)((next(seed) >> 40) * (1.0 / 16777216.0));
        while (v == 0.0f);
        x[i] = v;
    }
}

float *tu_random(size_t n, uint64_t *seed) {
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(x, n, -1.0f, 1.0f, seed);
    return x;
}

double tu_rel_err(const float *out, const double *ref, size_t n, double *max_abs) {
    double num = 0, den = 0, mx = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i])) {
            if (max_abs) *max_abs = INFINITY;
            return INFINITY;
        }
        double d = (double)out[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
        if (fabs(d) > mx) mx = fabs(d);
    }
    if (max_abs) *max_abs = mx;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

void tu_check_close(const char *what, const float *out, const double *ref, size_t n, double tol,
                    double abs_tol) {
    double mx;
    double rel = tu_rel_err(out, ref, n, &mx);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]) || fabs(out[i] - ref[i]) >= abs_tol) {
            bad = i;
            break;
        }
    ck_assert_msg(rel < tol && mx < abs_tol,
                  "%s: relative error %.3g (limit %.1g), max abs error %.3g (limit %.1g); "
                  "first bad element %zu: got %.9g, want %.9g",
                  what, rel, tol, mx, abs_tol, bad, (double)out[bad], ref[bad]);
}

void tu_scatter(const float *logical, int n, int c, int hw, const scl_chanmap *m, int planes,
                float fill, float *physical) {
    for (size_t i = 0; i < (size_t)n * planes * hw; i++) physical[i] = fill;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int p = m ? scl_chanmap_plane(m, ch) : ch;
            memcpy(physical + ((size_t)b * planes + p) * hw, logical + ((size_t)b * c + ch) * hw,
                   (size_t)hw * sizeof(float));
        }
}

void tu_gather(const float *physical, int n, int c, int hw, const scl_chanmap *m, int planes,
               float *logical) {
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int p = m ? scl_chanmap_plane(m, ch) : ch;
            memcpy(logical + ((size_t)b * c + ch) * hw, physical + ((size_t)b * planes + p) * hw,
                   (size_t)hw * sizeof(float));
        }
}

scl_tensor *tu_tensor(scl_context *ctx, int n, int c, int h, int w, const float *data) {
    scl_tensor *t = NULL;
    TU_OK(ctx, scl_tensor_create(ctx, n, c, h, w, &t));
    if (data) TU_OK(ctx, scl_tensor_upload(t, data, (size_t)n * c * h * w));
    return t;
}

float *tu_download(const scl_tensor *t) {
    int n, c, h, w;
    scl_tensor_shape(t, &n, &c, &h, &w);
    size_t count = (size_t)n * c * h * w;
    float *x = malloc(count * sizeof *x);
    ck_assert_ptr_nonnull(x);
    scl_status st = scl_tensor_download(t, x, count);
    ck_assert_msg(st == SCL_OK, "download failed: %s", scl_status_string(st));
    return x;
}

double *tu_to_double(const float *x, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    ck_assert_ptr_nonnull(d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

int tu_run(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
