/* test_depthwise.c: the depthwise 3x3 op against the float64 reference, over the shapes ShuffleNet
 * uses and odd ones, every kind of channel map, and CPU- and GPU-style kernel configurations;
 * plus argument checks. SCL_TEST_QUICK=1 skips the large cases (for Oclgrind runs). */
#include "ops/depthwise.h"
#include "ops/desc.h"
#include "ref_depthwise.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CFG_DEFAULT: the public create (whatever the device type gets); CFG_SAMPLE: one of the
 * descriptor's samples (tu_desc_samples), case i taking sample i (mod their count), and
 * test_depthwise_samples runs every sample on shapes of its own. */
typedef enum cfg_kind { CFG_DEFAULT, CFG_SAMPLE } cfg_kind;

typedef struct dw_case {
    int n, c, h, w, stride, relu, bias;
    tu_map_kind in_map, out_map;
    cfg_kind cfg;
} dw_case;

static const dw_case cases[] = {
    {1, 3, 1, 1, 1, 0, 1, TU_MAP_NONE, TU_MAP_NONE, CFG_DEFAULT},
    {1, 6, 2, 2, 2, 1, 1, TU_MAP_OFFSET, TU_MAP_NONE, CFG_DEFAULT},
    {3, 10, 7, 7, 2, 0, 1, TU_MAP_ODD, TU_MAP_NONE, CFG_DEFAULT}, /* 7x7 -> 4x4 */
    {1, 24, 112, 112, 1, 0, 1, TU_MAP_NONE, TU_MAP_NONE, CFG_DEFAULT},
    {1, 24, 112, 112, 2, 1, 0, TU_MAP_NONE, TU_MAP_OFFSET, CFG_SAMPLE},
    {1, 58, 28, 28, 1, 0, 1, TU_MAP_SHUFFLE, TU_MAP_EVEN, CFG_DEFAULT},
    {3, 58, 28, 28, 1, 1, 1, TU_MAP_UNSHUFFLE, TU_MAP_COMPOSED, CFG_SAMPLE},
    {1, 122, 13, 13, 2, 0, 1, TU_MAP_COMPOSED, TU_MAP_TABLE, CFG_DEFAULT},
    {3, 232, 14, 14, 1, 0, 0, TU_MAP_TABLE, TU_MAP_SHUFFLE, CFG_SAMPLE},
    {1, 232, 7, 7, 1, 1, 1, TU_MAP_NONE, TU_MAP_ODD, CFG_SAMPLE},
    {3, 24, 56, 56, 2, 0, 1, TU_MAP_EVEN, TU_MAP_NONE, CFG_DEFAULT}, /* 56x56 -> 28x28 */
    {3, 6, 9, 5, 2, 1, 1, TU_MAP_OFFSET, TU_MAP_UNSHUFFLE, CFG_SAMPLE},
    {1, 10, 13, 13, 2, 0, 0, TU_MAP_NONE, TU_MAP_NONE, CFG_SAMPLE},
    {1, 3, 56, 56, 1, 1, 1, TU_MAP_NONE, TU_MAP_NONE, CFG_SAMPLE},
    {3, 122, 13, 13, 1, 0, 1, TU_MAP_SHUFFLE, TU_MAP_OFFSET, CFG_SAMPLE},
    {1, 58, 28, 28, 2, 0, 1, TU_MAP_NONE, TU_MAP_COMPOSED, CFG_SAMPLE},
    {1, 6, 2, 2, 1, 0, 1, TU_MAP_TABLE, TU_MAP_NONE, CFG_SAMPLE},
    {3, 24, 1, 1, 2, 1, 1, TU_MAP_NONE, TU_MAP_NONE, CFG_SAMPLE},
    {1, 10, 5, 9, 1, 0, 1, TU_MAP_NONE, TU_MAP_EVEN, CFG_SAMPLE},
    {1, 3, 66, 67, 2, 1, 1, TU_MAP_NONE, TU_MAP_NONE,
     CFG_SAMPLE}, /* vector path inside a stride-2 row */
    {3, 58, 28, 28, 2, 1, 1, TU_MAP_ODD, TU_MAP_SHUFFLE, CFG_SAMPLE},
    {1, 116, 14, 14, 1, 1, 1, TU_MAP_EVEN, TU_MAP_UNSHUFFLE, CFG_DEFAULT},
    {3, 24, 13, 13, 2, 1, 1, TU_MAP_SHUFFLE, TU_MAP_NONE, CFG_SAMPLE},
    {1, 58, 28, 28, 1, 0, 1, TU_MAP_NONE, TU_MAP_TABLE, CFG_SAMPLE},
    {3, 10, 7, 7, 1, 1, 0, TU_MAP_COMPOSED, TU_MAP_ODD, CFG_SAMPLE},
    {1, 6, 33, 17, 1, 0, 1, TU_MAP_NONE, TU_MAP_NONE,
     CFG_SAMPLE}, /* 17 wide: both edges, one vector */
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static scl_op *make_op(scl_context *ctx, const dw_case *dc, int sample, const float *wt,
                       const float *bias) {
    scl_op *op = NULL;
    int flags = dc->relu ? SCL_OP_RELU : 0;
    if (dc->cfg == CFG_DEFAULT) {
        TU_OK(ctx, scl_op_depthwise_create(ctx, dc->c, dc->stride, flags, wt, bias, &op));
        return op;
    }
    scl__op_shape shape = {0, dc->c, dc->c, dc->c, dc->stride, flags, 0};
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__depthwise_desc, &shape, samples);
    TU_OK(ctx, scl__depthwise_desc.create(ctx, &shape, wt, bias, samples[sample % ns], &op));
    return op;
}

/* Runs op on a fresh random input of dc's shape and checks it; the op may be shared. */
static void check_op(scl_context *ctx, scl_op *op, const dw_case *dc, const float *wt,
                     const float *bias, uint64_t seed, const char *label) {
    int s = dc->stride, oh = (dc->h + s - 1) / s, ow = (dc->w + s - 1) / s;
    size_t nin = (size_t)dc->n * dc->c * dc->h * dc->w, nout = (size_t)dc->n * dc->c * oh * ow;
    float *x = tu_random(nin, &seed);
    char what[256];
    snprintf(what, sizeof what, "%s: %dx%dx%dx%d s%d relu %d bias %d maps %s/%s, kernel %s", label,
             dc->n, dc->c, dc->h, dc->w, s, dc->relu, dc->bias, tu_map_name(dc->in_map),
             tu_map_name(dc->out_map), scl_op_kernel_name(op));
    float *y = tu_run_op(ctx, op, x, dc->n, dc->c, dc->h, dc->w, dc->in_map, dc->c, oh, ow,
                         dc->out_map, what);

    double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, (size_t)dc->c * 9);
    double *bd = bias ? tu_to_double(bias, (size_t)dc->c) : NULL;
    double *ref = malloc(nout * sizeof(double));
    ref_depthwise3x3(xd, dc->n, dc->c, dc->h, dc->w, s, wd, bd, dc->relu, ref);
    tu_check_close(what, y, ref, nout, 1e-5, 1e-5);
    free(x), free(y), free(xd), free(wd), free(bd), free(ref);
}

START_TEST(test_depthwise) {
    const dw_case *dc = &cases[_i];
    if (tu_quick() && (size_t)dc->n * dc->c * dc->h * dc->w > 20000) return;
    scl_context *ctx = tu_context();
    uint64_t seed = 7000 + (uint64_t)_i * 31;
    float *wt = tu_random((size_t)dc->c * 9, &seed);
    float *bias = dc->bias ? tu_random((size_t)dc->c, &seed) : NULL;
    scl_op *op = make_op(ctx, dc, _i, wt, bias);
    char label[32];
    snprintf(label, sizeof label, "case %d", _i);
    check_op(ctx, op, dc, wt, bias, seed, label);
    free(wt), free(bias);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* Every sample of the descriptor, on a rotating set of small shapes, strides and maps. */
START_TEST(test_depthwise_samples) {
    static const int shapes[][3] = {{5, 9, 17}, {3, 13, 13}, {10, 7, 7}, {6, 2, 33}, {4, 28, 28}};
    static const tu_map_kind maps[] = {TU_MAP_NONE, TU_MAP_OFFSET, TU_MAP_SHUFFLE, TU_MAP_ODD};
    int k = _i % 5;
    dw_case dc = {1 + _i % 2,  shapes[k][0], shapes[k][1], shapes[k][2],       1 + _i % 2,
                  _i % 3 != 0, _i % 4 != 1,  maps[_i % 4], maps[(_i / 4) % 4], CFG_SAMPLE};
    scl_context *ctx = tu_context();
    scl__op_shape shape = {0, dc.c, dc.c, dc.c, dc.stride, dc.relu ? SCL_OP_RELU : 0, 0};
    int samples[TU_SAMPLES][8];
    if (_i >= tu_desc_samples(ctx, &scl__depthwise_desc, &shape, samples)) {
        scl_context_destroy(ctx);
        return;
    }
    uint64_t seed = 3000 + (uint64_t)_i * 7;
    float *wt = tu_random((size_t)dc.c * 9, &seed);
    float *bias = dc.bias ? tu_random((size_t)dc.c, &seed) : NULL;
    scl_op *op = make_op(ctx, &dc, _i, wt, bias);
    char label[160], cfg[128];
    scl__desc_format(&scl__depthwise_desc, samples[_i], cfg, sizeof cfg);
    snprintf(label, sizeof label, "sample %d (%s)", _i, cfg);
    check_op(ctx, op, &dc, wt, bias, seed, label);
    free(wt), free(bias);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* One op serves every input size: the segment length follows the width at each launch. */
START_TEST(test_depthwise_reuse) {
    scl_context *ctx = tu_context();
    uint64_t seed = 99;
    float *wt = tu_random(16 * 9, &seed), *bias = tu_random(16, &seed);
    for (int s = 1; s <= 2; s++) {
        scl_op *op = NULL;
        TU_OK(ctx, scl_op_depthwise_create(ctx, 16, s, SCL_OP_RELU, wt, bias, &op));
        const int sizes[][2] = {{28, 28}, {7, 7}, {3, 40}, {28, 28}};
        for (int k = 0; k < 4; k++) {
            if (tu_quick() && sizes[k][0] * sizes[k][1] > 400) continue;
            dw_case dc = {2, 16, sizes[k][0], sizes[k][1], s,
                          1, 1,  TU_MAP_NONE, TU_MAP_NONE, CFG_DEFAULT};
            check_op(ctx, op, &dc, wt, bias, seed + (uint64_t)k, "reuse");
        }
        scl_op_destroy(op);
    }
    free(wt), free(bias);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_depthwise_bad_args) {
    scl_context *ctx = tu_context();
    float wt[8 * 9] = {0}, bias[8] = {0};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 8, 3, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "stride = 3");
    ck_assert_ptr_null(op);
    op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 0, 1, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "channels = 0");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 8, 1, 0, NULL, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "weights");
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 8, 1, SCL_OP_RESIDUAL, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "flags");
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 8, 1, 0, wt, bias, NULL),
                   SCL_ERROR_INVALID_ARGUMENT, "NULL");
    scl_dw_cfg bad = {.vw = 3, .th = 1};
    TU_EXPECT_FAIL(ctx, scl__op_depthwise_create_cfg(ctx, 8, 1, 0, wt, bias, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "vw = 3");
    bad = (scl_dw_cfg){.vw = 4, .th = 5};
    TU_EXPECT_FAIL(ctx, scl__op_depthwise_create_cfg(ctx, 8, 1, 0, wt, bias, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "th = 5");
    bad = (scl_dw_cfg){.vw = 4, .th = 1, .seg = 6};
    TU_EXPECT_FAIL(ctx, scl__op_depthwise_create_cfg(ctx, 8, 1, 0, wt, bias, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "seg = 6");
    bad = (scl_dw_cfg){.vw = 4, .th = 1, .local = {8, 0}};
    TU_EXPECT_FAIL(ctx, scl__op_depthwise_create_cfg(ctx, 8, 1, 0, wt, bias, &bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "work-group");
    ck_assert_ptr_null(op);

    TU_OK(ctx, scl_op_depthwise_create(ctx, 8, 2, 0, wt, NULL, &op));
    scl_tensor *in = tu_tensor(ctx, 1, 8, 14, 14, NULL), *out = tu_tensor(ctx, 1, 8, 7, 7, NULL);
    scl_tensor *same = tu_tensor(ctx, 1, 8, 14, 14, NULL);
    TU_OK(ctx, scl_tensor_fill(in, 1.0f));
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op_args a = {
        .size = sizeof(scl_op_args), .in = in, .out = same}; /* stride 2 halves the plane */
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "7x7");
    scl_chanmap *far;
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 8, 1, 1, &far));
    a.out = out, a.in_map = far;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "plane 8");
    a.in_map = NULL, a.out_map = far;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "plane 8");
    /* nothing above launched: the output is still all NaN */
    TU_OK(ctx, scl_context_finish(ctx));
    float *y = tu_download(out);
    for (int i = 0; i < 8 * 49; i++)
        ck_assert_msg(isnan(y[i]), "element %d written by a refused launch", i);
    free(y);
    scl_chanmap_destroy(far);
    scl_op_destroy(op);
    scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(same);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("depthwise");
    TCase *tc = tcase_create("depthwise");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_depthwise, 0, NCASES);
    tcase_add_loop_test(tc, test_depthwise_samples, 0, TU_SAMPLES);
    tcase_add_test(tc, test_depthwise_reuse);
    tcase_add_test(tc, test_depthwise_bad_args);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
