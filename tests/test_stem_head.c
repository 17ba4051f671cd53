/* test_stem_head.c: the stem convolution and the classifier head (global average pool + fully
 * connected) against float64 references, through channel maps, in CPU- and GPU-style kernel
 * configurations; plus argument checks. SCL_TEST_QUICK=1 skips the large cases (Oclgrind). */
#include "ops/desc.h"
#include "ops/head.h"
#include "ops/stem.h"
#include "ref_head.h"
#include "ref_stem.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- stem ---------------------------------------------------------------------------------- */

/* STEM_DEFAULT: the public create; STEM_SAMPLE: one of the descriptor's samples
 * (tu_desc_samples), case i taking sample i (mod their count); test_stem_samples runs them all. */
typedef enum stem_cfg_kind { STEM_DEFAULT, STEM_SAMPLE } stem_cfg_kind;

static scl_op *make_stem(scl_context *ctx, int cout, int sample, const float *wt, const float *bias,
                         char *cfg, size_t cap) {
    scl_op *op = NULL;
    snprintf(cfg, cap, "default");
    if (sample < 0) {
        TU_OK(ctx, scl_op_stem_create(ctx, cout, wt, bias, &op));
        return op;
    }
    scl__op_shape shape = {0, 3, cout, 1, 2, SCL_OP_RELU, 0};
    int samples[TU_SAMPLES][8];
    const int *v = samples[sample % tu_desc_samples(ctx, &scl__stem_desc, &shape, samples)];
    scl__desc_format(&scl__stem_desc, v, cfg, cap);
    TU_OK(ctx, scl__stem_desc.create(ctx, &shape, wt, bias, v, &op));
    return op;
}

typedef struct stem_case {
    int n, h, w, cout, bias;
    tu_map_kind in_map, out_map;
    stem_cfg_kind cfg;
} stem_case;

static const stem_case stem_cases[] = {
    {1, 224, 224, 24, 1, TU_MAP_NONE, TU_MAP_NONE, STEM_DEFAULT},
    {3, 64, 96, 24, 1, TU_MAP_OFFSET, TU_MAP_NONE, STEM_DEFAULT},
    {1, 65, 33, 12, 0, TU_MAP_NONE, TU_MAP_ODD, STEM_DEFAULT},
    {1, 1, 1, 24, 1, TU_MAP_NONE, TU_MAP_NONE, STEM_DEFAULT},
    {2, 65, 33, 24, 1, TU_MAP_TABLE, TU_MAP_SHUFFLE, STEM_SAMPLE},
    {1, 1, 1, 12, 1, TU_MAP_SHUFFLE, TU_MAP_NONE, STEM_SAMPLE},
    {3, 64, 96, 12, 1, TU_MAP_NONE, TU_MAP_COMPOSED_INV, STEM_SAMPLE},
    {1, 37, 50, 24, 0, TU_MAP_EVEN, TU_MAP_NONE, STEM_SAMPLE},
    {1, 224, 224, 12, 1, TU_MAP_NONE, TU_MAP_OFFSET, STEM_SAMPLE},
    {3, 9, 5, 24, 1, TU_MAP_COMPOSED_INV, TU_MAP_TABLE, STEM_DEFAULT},
    {2, 65, 67, 24, 1, TU_MAP_NONE, TU_MAP_OFFSET, STEM_SAMPLE},
};
#define NSTEM ((int)(sizeof stem_cases / sizeof stem_cases[0]))

START_TEST(test_stem) {
    const stem_case *sc = &stem_cases[_i];
    if (tu_quick() && (size_t)sc->n * sc->h * sc->w > 8000) return;
    scl_context *ctx = tu_context();
    uint64_t seed = 5000 + (uint64_t)_i * 17;
    int oh = (sc->h + 1) / 2, ow = (sc->w + 1) / 2;
    size_t nin = (size_t)sc->n * 3 * sc->h * sc->w, nout = (size_t)sc->n * sc->cout * oh * ow;
    float *wt = tu_random((size_t)sc->cout * 27, &seed);
    float *bias = sc->bias ? tu_random((size_t)sc->cout, &seed) : NULL;
    float *x = tu_random(nin, &seed);
    char cfg[128], what[300];
    scl_op *op =
        make_stem(ctx, sc->cout, sc->cfg == STEM_DEFAULT ? -1 : _i, wt, bias, cfg, sizeof cfg);
    snprintf(what, sizeof what, "stem case %d: %dx3x%dx%d -> %d, bias %d, maps %s/%s, %s", _i,
             sc->n, sc->h, sc->w, sc->cout, sc->bias, tu_map_name(sc->in_map),
             tu_map_name(sc->out_map), cfg);
    float *y = tu_run_op(ctx, op, x, sc->n, 3, sc->h, sc->w, sc->in_map, sc->cout, oh, ow,
                         sc->out_map, what);
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, (size_t)sc->cout * 27);
    double *bd = bias ? tu_to_double(bias, (size_t)sc->cout) : NULL,
           *ref = malloc(nout * sizeof *ref);
    ref_stem3x3s2(xd, sc->n, sc->h, sc->w, sc->cout, wd, bd, ref);
    tu_check_close(what, y, ref, nout, 1e-5, 2e-5);
    free(wt), free(bias), free(x), free(y), free(xd), free(wd), free(bd), free(ref);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- head ---------------------------------------------------------------------------------- */

/* HEAD_DEFAULT: the public create; HEAD_SAMPLE: one of the descriptor's samples, case i taking
 * sample i (mod their count); test_head_samples runs them all. */
typedef enum head_cfg_kind { HEAD_DEFAULT, HEAD_SAMPLE } head_cfg_kind;

static scl_op *make_head(scl_context *ctx, int c, int classes, int sample, const float *wt,
                         const float *bias, char *cfg, size_t cap) {
    scl_op *op = NULL;
    snprintf(cfg, cap, "default");
    if (sample < 0) {
        TU_OK(ctx, scl_op_gap_fc_create(ctx, c, classes, wt, bias, &op));
        return op;
    }
    scl__op_shape shape = {0, c, classes, 1, 1, 0, 0};
    int samples[TU_SAMPLES][8];
    const int *v = samples[sample % tu_desc_samples(ctx, &scl__head_desc, &shape, samples)];
    scl__desc_format(&scl__head_desc, v, cfg, cap);
    TU_OK(ctx, scl__head_desc.create(ctx, &shape, wt, bias, v, &op));
    return op;
}

typedef struct head_case {
    int n, c, h, w, classes, bias;
    tu_map_kind in_map, out_map;
    head_cfg_kind cfg;
} head_case;

static const head_case head_cases[] = {
    {1, 1024, 7, 7, 1000, 1, TU_MAP_NONE, TU_MAP_NONE, HEAD_DEFAULT},
    {3, 1024, 7, 7, 1000, 0, TU_MAP_OFFSET, TU_MAP_NONE, HEAD_DEFAULT},
    {1, 192, 1, 1, 10, 1, TU_MAP_NONE, TU_MAP_NONE, HEAD_DEFAULT},
    {3, 480, 2, 3, 10, 0, TU_MAP_SHUFFLE, TU_MAP_OFFSET, HEAD_DEFAULT},
    {3, 192, 4, 4, 1000, 1, TU_MAP_TABLE, TU_MAP_NONE, HEAD_SAMPLE},
    {1, 480, 7, 7, 1000, 0, TU_MAP_COMPOSED_INV, TU_MAP_NONE, HEAD_SAMPLE},
    {3, 1024, 7, 7, 10, 1, TU_MAP_ODD, TU_MAP_NONE, HEAD_SAMPLE},
    {1, 192, 4, 4, 1000, 1, TU_MAP_NONE, TU_MAP_EVEN, HEAD_SAMPLE},
    {3, 1024, 7, 7, 1000, 1, TU_MAP_NONE, TU_MAP_NONE, HEAD_SAMPLE},
    {3, 480, 1, 1, 1000, 1, TU_MAP_EVEN, TU_MAP_TABLE, HEAD_SAMPLE},
    {1, 1024, 7, 7, 10, 0, TU_MAP_NONE, TU_MAP_SHUFFLE, HEAD_SAMPLE},
    {1, 1024, 7, 7, 1000, 1, TU_MAP_SHUFFLE, TU_MAP_NONE, HEAD_SAMPLE},
    {3, 192, 2, 3, 1000, 0, TU_MAP_NONE, TU_MAP_ODD, HEAD_SAMPLE},
    {3, 480, 7, 7, 1000, 1, TU_MAP_ODD, TU_MAP_SHUFFLE, HEAD_SAMPLE},
};
#define NHEAD ((int)(sizeof head_cases / sizeof head_cases[0]))

START_TEST(test_head) {
    const head_case *hc = &head_cases[_i];
    if (tu_quick() && (size_t)hc->n * hc->c * hc->h * hc->w * hc->classes > 20000000) return;
    scl_context *ctx = tu_context();
    uint64_t seed = 6000 + (uint64_t)_i * 23;
    size_t nin = (size_t)hc->n * hc->c * hc->h * hc->w, nout = (size_t)hc->n * hc->classes;
    float *wt = tu_random((size_t)hc->classes * hc->c, &seed);
    float *bias = hc->bias ? tu_random((size_t)hc->classes, &seed) : NULL;
    float *x = tu_random(nin, &seed);
    char cfg[128];
    scl_op *op = make_head(ctx, hc->c, hc->classes, hc->cfg == HEAD_DEFAULT ? -1 : _i, wt, bias,
                           cfg, sizeof cfg);
    int oh = -1, ow = -1;
    scl_op_output_hw(op, hc->h, hc->w, &oh, &ow);
    ck_assert_int_eq(oh, 1);
    ck_assert_int_eq(ow, 1);
    char what[300];
    snprintf(what, sizeof what, "gap_fc case %d: %dx%dx%dx%d -> %d, bias %d, maps %s/%s, %s", _i,
             hc->n, hc->c, hc->h, hc->w, hc->classes, hc->bias, tu_map_name(hc->in_map),
             tu_map_name(hc->out_map), cfg);
    float *y = tu_run_op(ctx, op, x, hc->n, hc->c, hc->h, hc->w, hc->in_map, hc->classes, 1, 1,
                         hc->out_map, what);
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, (size_t)hc->classes * hc->c);
    double *bd = bias ? tu_to_double(bias, (size_t)hc->classes) : NULL,
           *ref = malloc(nout * sizeof *ref);
    ref_gap_fc(xd, hc->n, hc->c, hc->h, hc->w, hc->classes, wd, bd, ref);
    tu_check_close(what, y, ref, nout, 1e-5, 5e-5);
    free(wt), free(bias), free(x), free(y), free(xd), free(wd), free(bd), free(ref);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* Every sample of the stem's and the head's descriptors, on small rotating shapes. */
START_TEST(test_stem_samples) {
    static const int sizes[][3] = {{9, 5, 24}, {13, 33, 12}, {1, 1, 5}, {20, 17, 16}};
    const int *sz = sizes[_i % 4];
    stem_case sc = {1 + _i % 2,
                    sz[0],
                    sz[1],
                    sz[2],
                    _i % 3 != 0,
                    TU_MAP_NONE,
                    _i % 2 ? TU_MAP_OFFSET : TU_MAP_NONE,
                    STEM_SAMPLE};
    scl_context *ctx = tu_context();
    scl__op_shape shape = {0, 3, sc.cout, 1, 2, SCL_OP_RELU, 0};
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__stem_desc, &shape, samples);
    if (_i < ns) {
        uint64_t seed = 8000 + (uint64_t)_i;
        int oh = (sc.h + 1) / 2, ow = (sc.w + 1) / 2;
        size_t nin = (size_t)sc.n * 3 * sc.h * sc.w, nout = (size_t)sc.n * sc.cout * oh * ow;
        float *wt = tu_random((size_t)sc.cout * 27, &seed), *x = tu_random(nin, &seed);
        float *bias = sc.bias ? tu_random((size_t)sc.cout, &seed) : NULL;
        char cfg[128], what[256];
        scl_op *op = make_stem(ctx, sc.cout, _i, wt, bias, cfg, sizeof cfg);
        snprintf(what, sizeof what, "stem sample %d (%s)", _i, cfg);
        float *y = tu_run_op(ctx, op, x, sc.n, 3, sc.h, sc.w, sc.in_map, sc.cout, oh, ow,
                             sc.out_map, what);
        double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, (size_t)sc.cout * 27);
        double *bd = bias ? tu_to_double(bias, (size_t)sc.cout) : NULL,
               *ref = malloc(nout * sizeof *ref);
        ref_stem3x3s2(xd, sc.n, sc.h, sc.w, sc.cout, wd, bd, ref);
        tu_check_close(what, y, ref, nout, 1e-5, 2e-5);
        free(wt), free(bias), free(x), free(y), free(xd), free(wd), free(bd), free(ref);
        scl_op_destroy(op);
    }
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_head_samples) {
    static const int sizes[][4] = {{3, 48, 2, 3}, {1, 96, 7, 7}, {2, 16, 1, 1}, {3, 64, 4, 4}};
    const int *sz = sizes[_i % 4];
    int n = sz[0], c = sz[1], h = sz[2], w = sz[3], classes = 10 + 13 * (_i % 3), has_bias = _i % 2;
    scl_context *ctx = tu_context();
    scl__op_shape shape = {0, c, classes, 1, 1, 0, 0};
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__head_desc, &shape, samples);
    if (_i < ns) {
        uint64_t seed = 8500 + (uint64_t)_i;
        size_t nin = (size_t)n * c * h * w, nout = (size_t)n * classes;
        float *wt = tu_random((size_t)classes * c, &seed), *x = tu_random(nin, &seed);
        float *bias = has_bias ? tu_random((size_t)classes, &seed) : NULL;
        char cfg[128], what[256];
        scl_op *op = make_head(ctx, c, classes, _i, wt, bias, cfg, sizeof cfg);
        snprintf(what, sizeof what, "gap_fc sample %d (%s)", _i, cfg);
        float *y = tu_run_op(ctx, op, x, n, c, h, w, _i % 2 ? TU_MAP_SHUFFLE : TU_MAP_NONE, classes,
                             1, 1, TU_MAP_NONE, what);
        double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, (size_t)classes * c);
        double *bd = bias ? tu_to_double(bias, (size_t)classes) : NULL,
               *ref = malloc(nout * sizeof *ref);
        ref_gap_fc(xd, n, c, h, w, classes, wd, bd, ref);
        tu_check_close(what, y, ref, nout, 1e-5, 5e-5);
        free(wt), free(bias), free(x), free(y), free(xd), free(wd), free(bd), free(ref);
        scl_op_destroy(op);
    }
    scl_context_destroy(ctx);
}
END_TEST

/* Two launches of a two-phase head in a row, the second on a larger batch: the pooled buffer
 * grows, and the event the caller gets covers the whole op. */
START_TEST(test_head_regrow) {
    scl_context *ctx = tu_context();
    uint64_t seed = 77;
    const int c = 64, k = 20;
    float *wt = tu_random((size_t)k * c, &seed), *bias = tu_random(k, &seed);
    double *wd = tu_to_double(wt, (size_t)k * c), *bd = tu_to_double(bias, k);
    scl_op *op;
    const scl_head_cfg two = {.fused = 0, .kv = 4, .kn = 1, .nb = 1, .blocked = 0};
    TU_OK(ctx, scl__op_gap_fc_create_cfg(ctx, c, k, wt, bias, &two, &op));
    for (int n = 1; n <= 4; n += 3) {
        float *x = tu_random((size_t)n * c * 9, &seed);
        scl_tensor *in = tu_tensor(ctx, n, c, 3, 3, x), *out = tu_tensor(ctx, n, k, 1, 1, NULL);
        TU_OK(ctx, scl_tensor_fill(out, NAN));
        cl_event ev = NULL;
        scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out, .event = &ev};
        TU_OK(ctx, scl_op_enqueue(op, &a));
        ck_assert_ptr_nonnull(ev);
        ck_assert_int_eq(clWaitForEvents(1, &ev), CL_SUCCESS);
        clReleaseEvent(ev);
        float *y = tu_download(out);
        double *xd = tu_to_double(x, (size_t)n * c * 9), *ref = malloc((size_t)n * k * sizeof *ref);
        ref_gap_fc(xd, n, c, 3, 3, k, wd, bd, ref);
        tu_check_close("two-phase head, regrown", y, ref, (size_t)n * k, 1e-5, 2e-5);
        free(x), free(y), free(xd), free(ref);
        scl_tensor_destroy(in), scl_tensor_destroy(out);
    }
    free(wt), free(bias), free(wd), free(bd);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- argument checks ----------------------------------------------------------------------- */

/* Asserts that nothing was written to t since it was filled with NaN. */
static void expect_all_nan(scl_context *ctx, const scl_tensor *t) {
    TU_OK(ctx, scl_context_finish(ctx));
    int n, c, h, w;
    scl_tensor_shape(t, &n, &c, &h, &w);
    float *y = tu_download(t);
    for (int i = 0; i < n * c * h * w; i++)
        ck_assert_msg(isnan(y[i]), "element %d written by a refused launch", i);
    free(y);
}

START_TEST(test_stem_bad_args) {
    scl_context *ctx = tu_context();
    float wt[8 * 27] = {0};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_stem_create(ctx, 0, wt, NULL, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "cout = 0");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl_op_stem_create(ctx, 8, NULL, NULL, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "weights");
    TU_EXPECT_FAIL(ctx, scl_op_stem_create(ctx, 8, wt, NULL, NULL), SCL_ERROR_INVALID_ARGUMENT,
                   "NULL");
    scl_stem_cfg bad = {.vw = 4, .co = 17};
    TU_EXPECT_FAIL(ctx, scl__op_stem_create_cfg(ctx, 8, wt, NULL, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "co = 17");
    bad = (scl_stem_cfg){.vw = 5, .co = 4};
    TU_EXPECT_FAIL(ctx, scl__op_stem_create_cfg(ctx, 8, wt, NULL, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "vw = 5");
    ck_assert_ptr_null(op);

    TU_OK(ctx, scl_op_stem_create(ctx, 8, wt, NULL, &op));
    scl_tensor *in = tu_tensor(ctx, 1, 3, 16, 16, NULL), *in4 = tu_tensor(ctx, 1, 4, 16, 16, NULL);
    scl_tensor *out = tu_tensor(ctx, 1, 8, 8, 8, NULL), *full = tu_tensor(ctx, 1, 8, 16, 16, NULL);
    TU_OK(ctx, scl_tensor_fill(in, 1.0f));
    TU_OK(ctx, scl_tensor_fill(in4, 1.0f));
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op_args a = {
        .size = sizeof(scl_op_args), .in = in, .out = full}; /* stride 2 halves the plane */
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "8x8");
    a.in = in4, a.out = out; /* four channels and no map to pick three */
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "needs 3");
    scl_chanmap *far;
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 3, 2, 1, &far));
    a.in = in, a.in_map = far;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "plane 4");
    expect_all_nan(ctx, out);
    scl_chanmap_destroy(far);
    scl_op_destroy(op);
    scl_tensor_destroy(in), scl_tensor_destroy(in4), scl_tensor_destroy(out),
        scl_tensor_destroy(full);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_head_bad_args) {
    scl_context *ctx = tu_context();
    float wt[10 * 16] = {0};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_gap_fc_create(ctx, 0, 10, wt, NULL, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "cin = 0");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl_op_gap_fc_create(ctx, 16, 0, wt, NULL, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "classes = 0");
    TU_EXPECT_FAIL(ctx, scl_op_gap_fc_create(ctx, 16, 10, NULL, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "weights");
    scl_head_cfg bad = {.fused = 1, .kv = 3, .kn = 1, .nb = 1};
    TU_EXPECT_FAIL(ctx, scl__op_gap_fc_create_cfg(ctx, 16, 10, wt, NULL, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "kv = 3");
    bad = (scl_head_cfg){.fused = 1, .kv = 4, .kn = 1, .nb = 9};
    TU_EXPECT_FAIL(ctx, scl__op_gap_fc_create_cfg(ctx, 16, 10, wt, NULL, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "nb = 9");
    ck_assert_ptr_null(op);

    for (int fused = 0; fused <= 1; fused++) {
        scl_head_cfg cfg = {.fused = fused, .kv = 4, .kn = 2, .nb = 2};
        TU_OK(ctx, scl__op_gap_fc_create_cfg(ctx, 16, 10, wt, NULL, &cfg, &op));
        scl_tensor *in = tu_tensor(ctx, 2, 16, 7, 7, NULL),
                   *out = tu_tensor(ctx, 2, 10, 1, 1, NULL);
        scl_tensor *spatial = tu_tensor(ctx, 2, 10, 7, 7, NULL),
                   *few = tu_tensor(ctx, 2, 9, 1, 1, NULL);
        scl_tensor *batch1 = tu_tensor(ctx, 1, 10, 1, 1, NULL);
        TU_OK(ctx, scl_tensor_fill(in, 1.0f));
        TU_OK(ctx, scl_tensor_fill(out, NAN));
        scl_op_args a = {.size = sizeof(scl_op_args),
                         .in = in,
                         .out = spatial}; /* the head's output is always 1 x 1 */
        TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "1x1");
        a.out = few;
        TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "needs 10");
        a.out = batch1;
        TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "batch 2");
        scl_chanmap *far;
        TU_OK(ctx, scl_chanmap_create_strided(ctx, 16, 1, 1, &far));
        a.out = out, a.in_map = far;
        TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "plane 16");
        expect_all_nan(ctx, out);
        scl_chanmap_destroy(far);
        scl_op_destroy(op);
        scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(spatial);
        scl_tensor_destroy(few), scl_tensor_destroy(batch1);
    }
    scl_context_destroy(ctx);
}
END_TEST

/* Programs a context has made so far: compiled, or loaded from a disk cache (which
 * scl_context_create's default directory may hold). */
static unsigned programs_made(const scl_context *ctx) {
    scl_cache_stats s = {.size = sizeof s};
    ck_assert_int_eq(scl_context_cache_stats(ctx, &s), SCL_OK);
    return s.compiles + s.disk_hits;
}

/* The stem's program holds the max pool's and the head's in their default configurations too
 * (one program front end for a network's three one-off ops at the cold start); a stem in a
 * configuration whose options clash with the pool's (another vector width) is built alone, and
 * the pool then has a program of its own. */
START_TEST(test_stem_program_group) {
    uint64_t seed = 4242;
    float *w = tu_random(24 * 27, &seed), *b = tu_random(1000, &seed);
    float *fc = tu_random((size_t)1000 * 64, &seed);
    scl_context *ctx = tu_context();
    scl_op *stem, *pool, *head;
    TU_OK(ctx, scl_op_stem_create(ctx, 24, w, b, &stem));
    ck_assert_uint_eq(programs_made(ctx), 1);
    TU_OK(ctx, scl_op_maxpool_create(ctx, 24, &pool));
    TU_OK(ctx, scl_op_gap_fc_create(ctx, 64, 1000, fc, b, &head));
    ck_assert_msg(programs_made(ctx) == 1, "stem, max pool and head: %u programs",
                  programs_made(ctx));
    scl_op_destroy(stem), scl_op_destroy(pool), scl_op_destroy(head);
    scl_context_destroy(ctx);

    ctx = tu_context();
    scl_stem_cfg cfg;
    scl__stem_default_cfg(ctx, &cfg);
    /* the default widths are the pool's (the native width on CPUs, 4 elsewhere): another one */
    cfg.vw = cfg.vw == 8 ? 16 : 8, cfg.co = 12, cfg.seg = 0;
    TU_OK(ctx, scl__op_stem_create_cfg(ctx, 24, w, b, &cfg, &stem));
    ck_assert_uint_eq(programs_made(ctx), 1);
    TU_OK(ctx, scl_op_maxpool_create(ctx, 24, &pool));
    ck_assert_msg(programs_made(ctx) == 2, "a stem of width %d, then the max pool: %u programs",
                  cfg.vw, programs_made(ctx));
    scl_op_destroy(stem), scl_op_destroy(pool);
    scl_context_destroy(ctx);
    free(w), free(b), free(fc);
}
END_TEST

int main(void) {
    Suite *s = suite_create("stem_head");
    TCase *tc = tcase_create("stem_head");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_stem, 0, NSTEM);
    tcase_add_loop_test(tc, test_head, 0, NHEAD);
    tcase_add_loop_test(tc, test_stem_samples, 0, TU_SAMPLES);
    tcase_add_loop_test(tc, test_head_samples, 0, TU_SAMPLES);
    tcase_add_test(tc, test_head_regrow);
    tcase_add_test(tc, test_stem_bad_args);
    tcase_add_test(tc, test_head_bad_args);
    tcase_add_test(tc, test_stem_program_group);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
