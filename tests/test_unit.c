/* test_unit.c: the fused ShuffleNet V2 and V1 units (host/ops/unit.c, cl/unit.cl) against the
 * float64 references composed layer by layer (tests/ref_unit.c): both strides, both V2 layouts'
 * channel splits, V1's group counts (its first unit's ungrouped first conv too), the shapes
 * ShuffleNet uses and odd ones (rows narrower and wider than a vector, one row, bands of every
 * height down to one row), every kind of channel map, and every sample of the descriptor; plus
 * the argument checks. SCL_TEST_QUICK=1 skips the large cases. */
#include "net/network.h"
#include "ops/desc.h"
#include "ops/unit.h"
#include "ref_unit.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct unit_case {
    int n, cin, h, w, stride, cout, megvii;
    tu_map_kind in_map, out_map;
    int vec, th, wg; /* 0 0 0: the device's default configuration */
} unit_case;

static const unit_case cases[] = {
    {1, 58, 28, 28, 1, 58, 0, TU_MAP_ODD, TU_MAP_ODD, 0, 0, 0}, /* V2 1x stage 2 */
    {1, 116, 14, 14, 1, 116, 0, TU_MAP_SHUFFLE, TU_MAP_TABLE, 0, 0, 0},
    {1, 232, 7, 7, 1, 232, 1, TU_MAP_EVEN, TU_MAP_OFFSET, 0, 0, 0},  /* stage 4, Megvii */
    {1, 24, 56, 56, 2, 116, 0, TU_MAP_NONE, TU_MAP_OFFSET, 0, 0, 0}, /* stage 2's first unit */
    {1, 24, 56, 56, 2, 116, 1, TU_MAP_NONE, TU_MAP_COMPOSED, 0, 0, 0},
    {1, 116, 28, 28, 2, 232, 0, TU_MAP_COMPOSED, TU_MAP_NONE, 0, 0, 0},
    {1, 232, 14, 14, 2, 464, 1, TU_MAP_TABLE, TU_MAP_SHUFFLE, 0, 0, 0},
    {3, 24, 7, 7, 1, 24, 0, TU_MAP_NONE, TU_MAP_NONE, 0, 0, 0},
    {2, 12, 13, 13, 2, 24, 0, TU_MAP_RANDOM, TU_MAP_NONE, 0, 0, 0}, /* odd rows: right padding */
    {2, 12, 13, 13, 2, 24, 1, TU_MAP_NONE, TU_MAP_RANDOM, 0, 1, 0},
    {1, 10, 1, 1, 1, 10, 0, TU_MAP_NONE, TU_MAP_NONE, 0, 0, 0},
    {2, 6, 1, 1, 2, 12, 1, TU_MAP_OFFSET, TU_MAP_NONE, 0, 0, 0},
    {1, 9, 2, 2, 2, 14, 0, TU_MAP_NONE, TU_MAP_NONE, 0, 0, 0},
    {1, 20, 5, 9, 1, 20, 0, TU_MAP_UNSHUFFLE, TU_MAP_EVEN, 0, 2, 0},
    {2, 16, 33, 17, 1, 16, 0, TU_MAP_NONE, TU_MAP_NONE, 16, 3, 16}, /* 17 wide: two vectors a row */
    {1, 16, 33, 17, 2, 32, 0, TU_MAP_NONE, TU_MAP_ODD, 16, 4, 4},
    {1, 16, 9, 40, 1, 16, 0, TU_MAP_NONE, TU_MAP_NONE, 4, 1, 64},
    {1, 16, 9, 40, 2, 32, 1, TU_MAP_NONE, TU_MAP_NONE, 8, 0, 0},
    {1, 11, 6, 5, 1, 11, 0, TU_MAP_NONE, TU_MAP_NONE, 1, 64, 16},
    {1, 11, 6, 5, 2, 22, 0, TU_MAP_NONE, TU_MAP_NONE, 2, 2, 0},
    {3, 58, 28, 28, 1, 58, 0, TU_MAP_COMPOSED_INV, TU_MAP_ODD, 0, 0, 0},
    {4, 116, 14, 14, 2, 232, 0, TU_MAP_ODD, TU_MAP_OFFSET, 0, 0, 0},
    {1, 58, 28, 28, 1, 58, 0, TU_MAP_TABLE, TU_MAP_ODD, 16, 0, 16}, /* GPU-style groups */
    {2, 116, 28, 28, 2, 232, 1, TU_MAP_NONE, TU_MAP_EVEN, 16, 5, 64},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Weights and biases of the unit, each conv's scaled by 1 / sqrt(fan) (fan: the 1x1 convs'
 * inputs per output, at least 9) so that activations stay near unit size through the layers (as
 * a trained network's do). */
static void fan_weights(const scl__op_shape *s, int fan, uint64_t *seed, float **w, float **b) {
    size_t nw, nb;
    scl__unit_desc.weight_counts(s, &nw, &nb);
    *w = tu_random(nw, seed);
    *b = tu_random(nb, seed);
    float scale = 1.0f / sqrtf((float)(fan > 9 ? fan : 9));
    for (size_t i = 0; i < nw; i++)
        (*w)[i] *= scale;
}

static void unit_weights(const scl__op_shape *s, uint64_t *seed, float **w, float **b) {
    fan_weights(s, s->cin, seed, w, b);
}

static void check_unit(scl_context *ctx, scl_op *op, const unit_case *uc, const float *wt,
                       const float *bias, uint64_t seed, const char *label) {
    int s = uc->stride, oh = (uc->h + s - 1) / s, ow = (uc->w + s - 1) / s;
    size_t nin = (size_t)uc->n * uc->cin * uc->h * uc->w, nout = (size_t)uc->n * uc->cout * oh * ow;
    float *x = tu_random(nin, &seed);
    char what[256];
    snprintf(what, sizeof what, "%s: %dx%dx%dx%d s%d -> %d%s maps %s/%s", label, uc->n, uc->cin,
             uc->h, uc->w, s, uc->cout, uc->megvii ? " (Megvii)" : "", tu_map_name(uc->in_map),
             tu_map_name(uc->out_map));
    float *y = tu_run_op(ctx, op, x, uc->n, uc->cin, uc->h, uc->w, uc->in_map, uc->cout, oh, ow,
                         uc->out_map, what);
    scl__op_shape shape = {uc->megvii, uc->cin, uc->cout, 1, s, 0, 0};
    size_t nw, nb;
    scl__unit_desc.weight_counts(&shape, &nw, &nb);
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, nw), *bd = tu_to_double(bias, nb);
    double *ref = malloc(nout * sizeof(double));
    ref_unit(xd, uc->n, uc->cin, uc->h, uc->w, s, uc->cout, uc->megvii, wd, bd, ref);
    tu_check_close(what, y, ref, nout, 1e-5, 1e-5);
    free(x), free(y), free(xd), free(wd), free(bd), free(ref);
}

/* A shape op cannot run on this device: enqueue says so, and writes nothing. */
static void expect_refused(scl_context *ctx, scl_op *op, const unit_case *uc) {
    int s = uc->stride, oh = (uc->h + s - 1) / s, ow = (uc->w + s - 1) / s;
    scl_tensor *in = tu_tensor(ctx, uc->n, uc->cin, uc->h, uc->w, NULL);
    scl_tensor *out = tu_tensor(ctx, uc->n, uc->cout, oh, ow, NULL);
    ck_assert_uint_lt(ctx->info.local_mem_bytes, 1024 * 1024);
    TU_OK(ctx, scl_tensor_fill(in, 1.0f));
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_UNSUPPORTED, "local memory");
    TU_OK(ctx, scl_context_finish(ctx));
    float *y = tu_download(out);
    for (size_t i = 0; i < (size_t)uc->n * uc->cout * oh * ow; i++)
        ck_assert_msg(isnan(y[i]), "element %zu written by a refused launch", i);
    free(y);
    scl_tensor_destroy(in), scl_tensor_destroy(out);
}

START_TEST(test_unit) {
    const unit_case *uc = &cases[_i];
    if (tu_quick() && (size_t)uc->n * uc->cin * uc->h * uc->w > 20000) return;
    scl_context *ctx = tu_context();
    uint64_t seed = 5100 + (uint64_t)_i * 17;
    scl__op_shape shape = {uc->megvii, uc->cin, uc->cout, 1, uc->stride, 0, 0};
    float *wt, *bias;
    unit_weights(&shape, &seed, &wt, &bias);
    scl_op *op = NULL;
    if (uc->vec == 0 && uc->wg == 0) {
        TU_OK(ctx, scl__op_unit_create(ctx, uc->stride, uc->cin, uc->cout, uc->megvii, 0, wt, bias,
                                       &op));
    } else {
        int vals[8] = {uc->vec, uc->th, uc->wg};
        TU_OK(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, vals, &op));
    }
    if (!scl__op_unit_fits(op, uc->n, uc->h, uc->w)) {
        /* a device of little local memory (Oclgrind's): the launch is refused, never wrong; a
         * CPU's megabytes always fit these shapes */
        expect_refused(ctx, op, uc);
        free(wt), free(bias);
        scl_op_destroy(op);
        scl_context_destroy(ctx);
        return;
    }
    char label[64];
    snprintf(label, sizeof label, "case %d (vec %d th %d wg %d)", _i, uc->vec, uc->th, uc->wg);
    check_unit(ctx, op, uc, wt, bias, seed, label);
    free(wt), free(bias);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* Every sample of the descriptor, on a rotating set of small shapes, strides and maps. */
START_TEST(test_unit_samples) {
    static const int shapes[][4] = {
        {12, 9, 17, 24}, {8, 13, 13, 16}, {20, 7, 7, 40}, {6, 2, 33, 12}, {10, 28, 28, 20}};
    static const tu_map_kind maps[] = {TU_MAP_NONE, TU_MAP_OFFSET, TU_MAP_SHUFFLE, TU_MAP_ODD};
    int k = _i % 5, stride = 1 + _i % 2;
    unit_case uc = {1 + _i % 2,
                    shapes[k][0],
                    shapes[k][1],
                    shapes[k][2],
                    stride,
                    stride == 2 ? shapes[k][3] : shapes[k][0],
                    (_i / 2) % 2,
                    maps[_i % 4],
                    maps[(_i / 4) % 4],
                    0,
                    0,
                    0};
    scl_context *ctx = tu_context();
    scl__op_shape shape = {uc.megvii, uc.cin, uc.cout, 1, uc.stride, 0, 0};
    int samples[TU_SAMPLES][8];
    if (_i >= tu_desc_samples(ctx, &scl__unit_desc, &shape, samples)) {
        scl_context_destroy(ctx);
        return;
    }
    uint64_t seed = 8100 + (uint64_t)_i * 7;
    float *wt, *bias;
    unit_weights(&shape, &seed, &wt, &bias);
    scl_op *op = NULL;
    TU_OK(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, samples[_i], &op));
    char label[160], cfg[128];
    scl__desc_format(&scl__unit_desc, samples[_i], cfg, sizeof cfg);
    snprintf(label, sizeof label, "sample %d (%s)", _i, cfg);
    check_unit(ctx, op, &uc, wt, bias, seed, label);
    free(wt), free(bias);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* One op serves every input size and batch: the bands follow each launch's shape. */
START_TEST(test_unit_reuse) {
    scl_context *ctx = tu_context();
    for (int s = 1; s <= 2; s++) {
        scl__op_shape shape = {0, 16, s == 1 ? 16 : 32, 1, s, 0, 0};
        uint64_t seed = 77 + (uint64_t)s;
        float *wt, *bias;
        unit_weights(&shape, &seed, &wt, &bias);
        scl_op *op = NULL;
        TU_OK(ctx, scl__op_unit_create(ctx, s, 16, shape.cout, 0, 0, wt, bias, &op));
        const int sizes[][3] = {{1, 28, 28}, {2, 7, 7}, {1, 3, 40}, {3, 28, 28}};
        for (int k = 0; k < 4; k++) {
            if (tu_quick() && sizes[k][0] * sizes[k][1] * sizes[k][2] > 400) continue;
            unit_case uc = {sizes[k][0], 16,          sizes[k][1], sizes[k][2], s, shape.cout,
                            0,           TU_MAP_NONE, TU_MAP_NONE, 0,           0, 0};
            check_unit(ctx, op, &uc, wt, bias, seed + (uint64_t)k, "reuse");
        }
        scl_op_destroy(op);
        free(wt), free(bias);
    }
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_unit_bad_args) {
    scl_context *ctx = tu_context();
    float wt[4096] = {0}, bias[256] = {0};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl__op_unit_create(ctx, 3, 8, 8, 0, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "stride = 3");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl__op_unit_create(ctx, 1, 0, 8, 0, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cin = 0");
    TU_EXPECT_FAIL(ctx, scl__op_unit_create(ctx, 2, 8, 15, 0, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cout = 15");
    TU_EXPECT_FAIL(ctx, scl__op_unit_create(ctx, 2, 16, 16, 1, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "no channels");
    TU_EXPECT_FAIL(ctx, scl__op_unit_create(ctx, 1, 8, 8, 0, 0, NULL, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "weights");
    scl__op_shape shape = {0, 8, 8, 1, 1, 0, 0};
    int bad[8] = {3, 0, 0};
    TU_EXPECT_FAIL(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, bad, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "vec = 3");
    int bad_th[8] = {16, 65, 0};
    TU_EXPECT_FAIL(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, bad_th, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "th = 65");
    int bad_wg[8] = {16, 0, 3};
    TU_EXPECT_FAIL(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, bad_wg, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "wg = 3");
    ck_assert_ptr_null(op);
    /* input and output sharing planes would race between bands: refused before any launch */
    TU_OK(ctx, scl__op_unit_create(ctx, 1, 8, 8, 0, 0, wt, bias, &op));
    scl_tensor *t = tu_tensor(ctx, 1, 8, 6, 6, NULL);
    TU_OK(ctx, scl_tensor_fill(t, NAN));
    scl_op_args a = {.size = sizeof(scl_op_args), .in = t, .out = t};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT, "share planes");
    scl_tensor *small = tu_tensor(ctx, 1, 8, 3, 3, NULL);
    a.out = small;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "6x6");
    scl_op_destroy(op);
    scl_tensor_destroy(t), scl_tensor_destroy(small);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- ShuffleNet V1 ------------------------------------------------------------------------ */

typedef struct v1_case {
    int n, cin, h, w, stride, cout, groups, first_groups;
    tu_map_kind in_map, out_map;
    int vec, th, wg; /* 0 0 0: the device's default configuration */
} v1_case;

static const v1_case v1_cases[] = {
    {1, 24, 56, 56, 2, 240, 3, 1, TU_MAP_NONE, TU_MAP_OFFSET, 0, 0, 0}, /* g3 1x stage 2, first */
    {1, 240, 28, 28, 1, 240, 3, 3, TU_MAP_TABLE, TU_MAP_ODD, 0, 0, 0},
    {1, 240, 28, 28, 2, 480, 3, 3, TU_MAP_SHUFFLE, TU_MAP_COMPOSED, 0, 0, 0},
    {1, 960, 7, 7, 1, 960, 3, 3, TU_MAP_ODD, TU_MAP_TABLE, 0, 0, 0},  /* stage 4 */
    {1, 24, 56, 56, 2, 384, 8, 1, TU_MAP_NONE, TU_MAP_NONE, 0, 0, 0}, /* g8 1x stage 2, first */
    {1, 384, 14, 14, 2, 768, 8, 8, TU_MAP_COMPOSED_INV, TU_MAP_OFFSET, 0, 0, 0},
    {1, 768, 14, 14, 1, 768, 8, 8, TU_MAP_EVEN, TU_MAP_RANDOM, 0, 0, 0},
    {2, 40, 13, 11, 1, 40, 2, 2, TU_MAP_COMPOSED, TU_MAP_TABLE, 0, 0, 0}, /* odd sizes, batch 2 */
    {2, 24, 13, 11, 2, 96, 8, 1, TU_MAP_RANDOM, TU_MAP_SHUFFLE, 0, 0, 0},
    {2, 8, 13, 11, 2, 32, 8, 1, TU_MAP_ODD, TU_MAP_NONE, 0, 1, 0},
    {2, 32, 7, 7, 2, 96, 4, 4, TU_MAP_TABLE, TU_MAP_EVEN, 0, 0, 0},
    {2, 24, 7, 7, 1, 24, 3, 3, TU_MAP_RANDOM, TU_MAP_ODD, 0, 0, 0},
    {1, 24, 13, 11, 2, 48, 3, 3, TU_MAP_UNSHUFFLE, TU_MAP_COMPOSED, 0, 0, 0},
    {1, 16, 9, 40, 1, 16, 1, 1, TU_MAP_NONE, TU_MAP_NONE, 4, 1, 16},
    {1, 16, 9, 40, 2, 48, 1, 1, TU_MAP_OFFSET, TU_MAP_NONE, 8, 3, 64},
    {2, 32, 33, 17, 1, 32, 4, 4, TU_MAP_NONE, TU_MAP_ODD, 16, 4, 4}, /* 17 wide: two vectors */
    {1, 32, 33, 17, 2, 64, 2, 2, TU_MAP_ODD, TU_MAP_NONE, 16, 64, 0},
    {1, 64, 6, 5, 1, 64, 8, 8, TU_MAP_NONE, TU_MAP_TABLE, 1, 2, 0},
    {1, 8, 1, 1, 2, 32, 2, 2, TU_MAP_NONE, TU_MAP_NONE, 2, 0, 0},
    {1, 16, 1, 1, 1, 16, 4, 4, TU_MAP_OFFSET, TU_MAP_NONE, 0, 0, 0},
    {3, 16, 2, 3, 2, 48, 4, 1, TU_MAP_NONE, TU_MAP_RANDOM, 0, 0, 0},
    {4, 96, 14, 14, 1, 96, 8, 8, TU_MAP_SHUFFLE, TU_MAP_COMPOSED_INV, 16, 0, 16},
};
#define NV1 ((int)(sizeof v1_cases / sizeof v1_cases[0]))

static scl__op_shape v1_shape(const v1_case *vc) {
    scl__op_shape s = {vc->first_groups == vc->groups ? SCL__UNIT_V1 : SCL__UNIT_V1_FIRST,
                       vc->cin,
                       vc->cout,
                       vc->groups,
                       vc->stride,
                       0,
                       0};
    return s;
}

/* Weights as unit_weights: the grouped convs' fan-in is per group. */
static void v1_weights(const v1_case *vc, uint64_t *seed, float **w, float **b) {
    scl__op_shape s = v1_shape(vc);
    fan_weights(&s, vc->cout / 4 / vc->groups, seed, w, b);
}

static void check_v1(scl_context *ctx, scl_op *op, const v1_case *vc, const float *wt,
                     const float *bias, uint64_t seed, const char *label) {
    int s = vc->stride, oh = (vc->h + s - 1) / s, ow = (vc->w + s - 1) / s;
    size_t nin = (size_t)vc->n * vc->cin * vc->h * vc->w, nout = (size_t)vc->n * vc->cout * oh * ow;
    float *x = tu_random(nin, &seed);
    char what[256];
    snprintf(what, sizeof what, "%s: V1 %dx%dx%dx%d s%d -> %d, groups %d (first %d), maps %s/%s",
             label, vc->n, vc->cin, vc->h, vc->w, s, vc->cout, vc->groups, vc->first_groups,
             tu_map_name(vc->in_map), tu_map_name(vc->out_map));
    float *y = tu_run_op(ctx, op, x, vc->n, vc->cin, vc->h, vc->w, vc->in_map, vc->cout, oh, ow,
                         vc->out_map, what);
    scl__op_shape shape = v1_shape(vc);
    size_t nw, nb;
    scl__unit_desc.weight_counts(&shape, &nw, &nb);
    double *xd = tu_to_double(x, nin), *wd = tu_to_double(wt, nw), *bd = tu_to_double(bias, nb);
    double *ref = malloc(nout * sizeof(double));
    ref_unit_v1(xd, vc->n, vc->cin, vc->h, vc->w, s, vc->cout, vc->groups, vc->first_groups, wd, bd,
                ref);
    tu_check_close(what, y, ref, nout, 1e-5, 1e-5);
    free(x), free(y), free(xd), free(wd), free(bd), free(ref);
}

/* Makes and checks the V1 case with the configuration vals (NULL: the public create's). */
static void run_v1(const v1_case *vc, const int *vals, uint64_t seed, const char *label) {
    scl_context *ctx = tu_context();
    scl__op_shape shape = v1_shape(vc);
    float *wt, *bias;
    v1_weights(vc, &seed, &wt, &bias);
    scl_op *op = NULL;
    if (vals)
        TU_OK(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, vals, &op));
    else
        TU_OK(ctx, scl__op_unit_v1_create(ctx, vc->stride, vc->cin, vc->cout, vc->groups,
                                          vc->first_groups, 0, wt, bias, &op));
    if (scl__op_unit_fits(op, vc->n, vc->h, vc->w)) {
        check_v1(ctx, op, vc, wt, bias, seed, label);
    } else {
        unit_case uc = {vc->n, vc->cin,    vc->h,       vc->w, vc->stride, vc->cout,
                        0,     vc->in_map, vc->out_map, 0,     0,          0};
        expect_refused(ctx, op, &uc);
    }
    free(wt), free(bias);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}

START_TEST(test_unit_v1) {
    const v1_case *vc = &v1_cases[_i];
    if (tu_quick() && (size_t)vc->n * vc->cin * vc->h * vc->w > 4000) return;
    char label[64];
    snprintf(label, sizeof label, "V1 case %d (vec %d th %d wg %d)", _i, vc->vec, vc->th, vc->wg);
    int vals[8] = {vc->vec, vc->th, vc->wg};
    run_v1(vc, vc->vec || vc->wg ? vals : NULL, 9100 + (uint64_t)_i * 13, label);
}
END_TEST

/* Every sample of the descriptor on rotating small V1 shapes, strides, groups and maps. */
START_TEST(test_unit_v1_samples) {
    static const v1_case shapes[] = {
        {1, 24, 9, 17, 2, 96, 3, 1, TU_MAP_NONE, TU_MAP_OFFSET, 0, 0, 0},
        {2, 48, 7, 7, 1, 48, 4, 4, TU_MAP_ODD, TU_MAP_NONE, 0, 0, 0},
        {1, 16, 13, 13, 2, 64, 8, 8, TU_MAP_SHUFFLE, TU_MAP_TABLE, 0, 0, 0},
        {1, 32, 6, 33, 1, 32, 2, 2, TU_MAP_NONE, TU_MAP_ODD, 0, 0, 0},
    };
    const v1_case *vc = &shapes[_i % 4];
    scl_context *ctx = tu_context();
    scl__op_shape shape = v1_shape(vc);
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__unit_desc, &shape, samples);
    scl_context_destroy(ctx);
    if (_i >= ns) return;
    char label[160], cfg[128];
    scl__desc_format(&scl__unit_desc, samples[_i], cfg, sizeof cfg);
    snprintf(label, sizeof label, "V1 sample %d (%s)", _i, cfg);
    run_v1(vc, samples[_i], 9700 + (uint64_t)_i * 5, label);
}
END_TEST

START_TEST(test_unit_v1_bad_args) {
    scl_context *ctx = tu_context();
    float wt[4096] = {0}, bias[256] = {0};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl__op_unit_v1_create(ctx, 1, 16, 32, 2, 2, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "adds its input");
    ck_assert_ptr_null(op);
    /* mid = 6 does not split into 4 groups */
    TU_EXPECT_FAIL(ctx, scl__op_unit_v1_create(ctx, 1, 24, 24, 4, 4, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "groups");
    /* the pool keeps cin = 32 of cout = 32: nothing left to the branch */
    TU_EXPECT_FAIL(ctx, scl__op_unit_v1_create(ctx, 2, 32, 32, 1, 1, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "groups");
    TU_EXPECT_FAIL(ctx, scl__op_unit_v1_create(ctx, 2, 24, 96, 8, 3, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "first_groups = 3");
    TU_EXPECT_FAIL(ctx, scl__op_unit_v1_create(ctx, 1, 16, 16, 0, 0, 0, wt, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "groups = 0");
    scl__op_shape shape = {SCL__UNIT_V1, 16, 16, 2, 1, SCL_OP_RELU, 0};
    int vals[8] = {16, 0, 0};
    TU_EXPECT_FAIL(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, vals, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "flags");
    shape = (scl__op_shape){4, 16, 16, 2, 1, 0, 0};
    TU_EXPECT_FAIL(ctx, scl__unit_desc.create(ctx, &shape, wt, bias, vals, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "kind = 4");
    ck_assert_ptr_null(op);
    /* the weight count of a shape with no groups is none, not a division by zero */
    size_t nw = 1, nb = 1;
    shape = (scl__op_shape){SCL__UNIT_V1, 16, 16, 0, 1, 0, 0};
    scl__unit_desc.weight_counts(&shape, &nw, &nb);
    ck_assert(nw == 0 && nb == 0);
    shape.groups = 2;
    scl__unit_desc.weight_counts(&shape, &nw, &nb);
    ck_assert(nw == 16 * 4 / 2 + 4 * 9 + 4 * 16 / 2 && nb == 4 + 4 + 16);
    scl_context_destroy(ctx);
}
END_TEST

/* How many of preset `model`'s units fit a device's local memory at 1 x 3 x 224 x 224 in their
 * default configuration (a band of one output row), as the launch count asks before weights. */
static int units_fitting(const scl_device_info *dev, const char *model) {
    scl_model_desc d;
    ck_assert(scl__desc_preset(model, &d));
    scl_model *m = NULL;
    ck_assert_int_eq(scl__model_build_fusable(&d, 1, &m), SCL_OK);
    int fit = 0, units = 0;
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].unit_len) units++, fit += scl__model_unit_fits(dev, m, i, 0, 1, 224, 224);
    scl__model_free(m);
    ck_assert_int_eq(units, 16);
    return fit;
}

/* Where local memory is scarce, stride-1 bands stage nothing (cl/unit.cl's STAGE_X 0), so that
 * a GPU's 48 or 64 KiB holds 13 of the 16 units (staged, none or 3 would: docs/kernels.md);
 * a CPU's 2 MiB holds them all. */
START_TEST(test_unit_fits_local_memory) {
    unsetenv("SHUFFLECL_UNIT_STAGE"); /* the defaults (CI sets it for other runs of this test) */
    /* {type, local KiB, units of V2 1x and of V1 g3 that fit} */
    static const struct {
        scl_device_type type;
        int kib, fit;
    } cases[] = {{SCL_DEVICE_GPU, 48, 13}, {SCL_DEVICE_GPU, 64, 13}, {SCL_DEVICE_CPU, 2048, 16}};
    for (size_t i = 0; i < SCL_ARRAY_LEN(cases); i++) {
        int cpu = cases[i].type == SCL_DEVICE_CPU;
        scl_device_info dev = {.size = sizeof dev,
                               .type = cases[i].type,
                               .compute_units = cpu ? 2 : 132,
                               .native_float_width = cpu ? 16 : 1,
                               .local_mem_bytes = (uint64_t)cases[i].kib * 1024};
        ck_assert_int_eq(units_fitting(&dev, "v2_x1_0"), cases[i].fit);
        ck_assert_int_eq(units_fitting(&dev, "v1_g3_x1_0"), cases[i].fit);
    }
    /* and fewer below that: the choice is not a fixed answer */
    scl_device_info small = {.size = sizeof small,
                             .type = SCL_DEVICE_GPU,
                             .compute_units = 132,
                             .native_float_width = 1,
                             .local_mem_bytes = 16 * 1024};
    ck_assert_int_lt(units_fitting(&small, "v2_x1_0"), 13);
}
END_TEST

int main(void) {
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("unit");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_unit, 0, NCASES);
    tcase_add_loop_test(tc, test_unit_samples, 0, TU_SAMPLES);
    tcase_add_test(tc, test_unit_reuse);
    tcase_add_test(tc, test_unit_bad_args);
    tcase_add_loop_test(tc, test_unit_v1, 0, NV1);
    tcase_add_loop_test(tc, test_unit_v1_samples, 0, TU_SAMPLES);
    tcase_add_test(tc, test_unit_v1_bad_args);
    tcase_add_test(tc, test_unit_fits_local_memory);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
