/* test_pool.c: max and average 3x3/s2 pools against the float64 reference, through every kind
 * of channel map on input and output, at widths and heights that take every path of
 * cl/pool.cl (first / middle / last vector chunks, overlapping tails, single columns) under
 * each kernel configuration, on tensors whose plane pitch is not the padded one, plus argument
 * checks. SCL_TEST_QUICK=1 skips the large cases (for Oclgrind). */
#include "core/internal.h"
#include "ops/desc.h"
#include "ref_pool.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The map kinds the width cases cycle through (the case table names its own). */
static const tu_map_kind width_maps[] = {TU_MAP_NONE,    TU_MAP_OFFSET,    TU_MAP_ODD,
                                         TU_MAP_SHUFFLE, TU_MAP_UNSHUFFLE, TU_MAP_COMPOSED};
#define NWMAPS ((int)(sizeof width_maps / sizeof width_maps[0]))

/* host/op_pool.c's internal entry (it has no header): the op with explicit tunables. avg 0/1;
 * vw outputs per vector; th output rows per work-item; seg outputs per work-item along W (0:
 * whole rows, the CPU mode; a multiple of vw: the GPU mode); group_outputs -1: the default. */
scl_status scl__op_pool_create_cfg(scl_context *ctx, int channels, int avg, int vw, int th, int seg,
                                   int group_outputs, scl_op **out);

/* Configuration k of a test: 0 is the public create (the device's defaults); k >= 1 is sample
 * k - 1 of the pool descriptor (tu_desc_samples: both device types' defaults first, so k = 1, 2
 * are the two defaults, then a fixed draw from the product of the tunables' probes). */
#define NCFG (1 + TU_SAMPLES)

static scl_op *make_op(scl_context *ctx, int is_max, int c, int k, char *cfg, size_t cap) {
    scl_op *op = NULL;
    snprintf(cfg, cap, "default");
    if (k == 0) {
        TU_OK(ctx,
              is_max ? scl_op_maxpool_create(ctx, c, &op) : scl_op_avgpool_create(ctx, c, &op));
        return op;
    }
    scl__op_shape shape = {!is_max, c, c, c, 2, 0, 0};
    int samples[TU_SAMPLES][8];
    const int *v = samples[(k - 1) % tu_desc_samples(ctx, &scl__pool_desc, &shape, samples)];
    scl__desc_format(&scl__pool_desc, v, cfg, cap);
    TU_OK(ctx, scl__pool_desc.create(ctx, &shape, NULL, NULL, v, &op));
    return op;
}

typedef struct pool_case {
    int n, c, h, w;
    tu_map_kind in_map, out_map;
} pool_case;

static const pool_case cases[] = {
    {1, 3, 1, 1, TU_MAP_NONE, TU_MAP_NONE},
    {1, 6, 2, 2, TU_MAP_NONE, TU_MAP_OFFSET},
    {3, 10, 7, 7, TU_MAP_ODD, TU_MAP_NONE},
    {1, 24, 112, 112, TU_MAP_NONE, TU_MAP_NONE},
    {2, 12, 13, 13, TU_MAP_SHUFFLE, TU_MAP_OFFSET},
    {1, 58, 28, 28, TU_MAP_UNSHUFFLE, TU_MAP_COMPOSED},
    {3, 6, 9, 5, TU_MAP_COMPOSED, TU_MAP_ODD},
    {1, 4, 56, 56, TU_MAP_OFFSET, TU_MAP_SHUFFLE},
};

/* Pools an n x c x h x w tensor read through a map of kind in_k and written through one of kind
 * out_k, with op configuration cfg, and checks it against the reference. negative: all inputs
 * below zero (a max pool that let the padding in would show at every border). */
static void check_pool(int is_max, int n, int c, int h, int w, tu_map_kind in_k, tu_map_kind out_k,
                       int k, int negative, uint64_t seed, const char *label) {
    if (tu_quick() && (size_t)n * c * h * w > 20000) return;
    scl_context *ctx = tu_context();
    int oh = (h + 1) / 2, ow = (w + 1) / 2;
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * c * oh * ow;
    float *x = tu_random(nin, &seed);
    if (negative)
        for (size_t i = 0; i < nin; i++)
            x[i] = x[i] - 2.0f;
    char what[384], cfg[128];
    scl_op *op = make_op(ctx, is_max, c, k, cfg, sizeof cfg);
    snprintf(what, sizeof what, "%s %s (%dx%dx%dx%d, maps %s/%s, %s%s)",
             is_max ? "maxpool" : "avgpool", label, n, c, h, w, tu_map_name(in_k),
             tu_map_name(out_k), cfg, negative ? ", negative" : "");
    /* checks too that the planes outside the output map are untouched (still NaN) */
    float *y = tu_run_op(ctx, op, x, n, c, h, w, in_k, c, oh, ow, out_k, what);
    double *xd = tu_to_double(x, nin), *ref = malloc(nout * sizeof(double));
    if (is_max)
        ref_maxpool3x3s2(xd, n, c, h, w, ref);
    else
        ref_avgpool3x3s2(xd, n, c, h, w, ref);
    tu_check_close(what, y, ref, nout, 1e-6, 1e-5);
    if (is_max) /* a max is one of its inputs, exactly */
        for (size_t i = 0; i < nout; i++)
            ck_assert_msg((double)y[i] == ref[i], "%s: output %zu = %.9g, want %.9g", what, i,
                          (double)y[i], ref[i]);
    free(x), free(y), free(xd), free(ref);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}

static void run_case(int i, int is_max) {
    const pool_case *pc = &cases[i];
    char label[32];
    snprintf(label, sizeof label, "case %d", i);
    check_pool(is_max, pc->n, pc->c, pc->h, pc->w, pc->in_map, pc->out_map, 0, 0,
               1000 + (uint64_t)i * 2 + (uint64_t)is_max, label);
}

START_TEST(test_maxpool) {
    run_case(_i, 1);
}
END_TEST

START_TEST(test_avgpool) {
    run_case(_i, 0);
}
END_TEST

/* Widths that take every path: narrower than any vector (1, 2, 3), odd and even around the
 * vector widths (7, 15, 16, 17, 33), wide odd (57) and the network's 112; heights odd and even
 * (1, 2 and around the row blocks). Each width runs under the public create, the GPU and CPU
 * defaults, and two of the other configurations (each of those sees four widths): every shape
 * and configuration is a kernel PoCL compiles for its work-group size, so not the product. */
static const int widths[] = {1, 2, 3, 7, 15, 16, 17, 33, 57, 112};
static const int heights[] = {1, 2, 3, 5, 9, 6, 17, 4, 11, 8, 13};
#define NW ((int)(sizeof widths / sizeof widths[0]))
#define NH ((int)(sizeof heights / sizeof heights[0]))

static void run_width(int i, int is_max) {
    int w = widths[i % NW], k = i / NW, h = heights[i % NH];
    if (k >= 3) k = 3 + (i - 3 * NW) % (NCFG - 3);
    if (w == 112) h = h % 2 ? 9 : 6; /* keep the largest planes short */
    tu_map_kind in_k = width_maps[i % NWMAPS], out_k = width_maps[(i / 3) % NWMAPS];
    char label[32];
    snprintf(label, sizeof label, "width case %d", i);
    check_pool(is_max, 1 + i % 2, 2 + (i % 3) * 2, h, w, in_k, out_k, k, is_max && i % 2,
               5000 + (uint64_t)i * 2 + (uint64_t)is_max, label);
}

START_TEST(test_maxpool_widths) {
    run_width(_i, 1);
}
END_TEST

START_TEST(test_avgpool_widths) {
    run_width(_i, 0);
}
END_TEST

/* Tensors whose plane pitch is not H*W rounded up to 16 (views over buffers of exactly
 * n * c * pitch floats): the kernels must use the pitch they are given, and must not read past
 * the last row of the last plane (Oclgrind flags any such read). */
static scl_tensor *view(scl_context *ctx, int n, int c, int h, int w, size_t pitch) {
    cl_int e;
    cl_mem mem = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_READ_WRITE,
                                (size_t)n * c * pitch * sizeof(float), NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    scl_tensor *t = NULL;
    TU_OK(ctx, scl__tensor_view(ctx, mem, n, c, h, w, pitch, &t));
    clReleaseMemObject(mem); /* the view holds it */
    return t;
}

static const struct {
    int n, c, h, w, in_extra, out_extra; /* pitches: h*w + in_extra, oh*ow + out_extra */
} pitch_cases[] = {
    {2, 3, 9, 33, 0, 3}, {1, 4, 17, 57, 0, 0}, {2, 2, 5, 16, 5, 1},
    {1, 3, 1, 1, 0, 0},  {1, 2, 2, 2, 0, 7},   {3, 2, 7, 112, 0, 0},
};
#define NPITCH ((int)(sizeof pitch_cases / sizeof pitch_cases[0]))

static void run_pitch(int i, int is_max) {
    int pc = i % NPITCH, k = i / NPITCH; /* the public create, the GPU and CPU defaults */
    int n = pitch_cases[pc].n, c = pitch_cases[pc].c, h = pitch_cases[pc].h, w = pitch_cases[pc].w;
    int oh = (h + 1) / 2, ow = (w + 1) / 2;
    scl_context *ctx = tu_context();
    uint64_t seed = 9000 + (uint64_t)i * 2 + (uint64_t)is_max;
    size_t nin = (size_t)n * c * h * w, nout = (size_t)n * c * oh * ow;
    float *x = tu_random(nin, &seed);
    scl_tensor *in = view(ctx, n, c, h, w, (size_t)h * w + (size_t)pitch_cases[pc].in_extra);
    scl_tensor *out = view(ctx, n, c, oh, ow, (size_t)oh * ow + (size_t)pitch_cases[pc].out_extra);
    TU_OK(ctx, scl_tensor_fill(in, NAN)); /* the gaps between planes, if any, are poison */
    TU_OK(ctx, scl_tensor_upload(in, x, nin));
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    char cfg[128];
    scl_op *op = make_op(ctx, is_max, c, k, cfg, sizeof cfg);
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *y = tu_download(out);
    double *xd = tu_to_double(x, nin), *ref = malloc(nout * sizeof(double));
    if (is_max)
        ref_maxpool3x3s2(xd, n, c, h, w, ref);
    else
        ref_avgpool3x3s2(xd, n, c, h, w, ref);
    char what[128];
    snprintf(what, sizeof what, "%s pitch case %d (%dx%dx%dx%d, cfg %d)",
             is_max ? "maxpool" : "avgpool", pc, n, c, h, w, k);
    tu_check_close(what, y, ref, nout, 1e-6, 1e-5);
    free(x), free(y), free(xd), free(ref);
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_context_destroy(ctx);
}

START_TEST(test_pool_pitch) {
    run_pitch(_i % (3 * NPITCH), _i < 3 * NPITCH);
}
END_TEST

START_TEST(test_pool_padding_never_wins) {
    /* all-negative input: a max pool that let the zero padding in would return 0 at borders */
    scl_context *ctx = tu_context();
    float x[25];
    for (int i = 0; i < 25; i++)
        x[i] = -1.0f - (float)i;
    scl_tensor *in = tu_tensor(ctx, 1, 1, 5, 5, x), *out = tu_tensor(ctx, 1, 1, 3, 3, NULL);
    scl_op *op;
    TU_OK(ctx, scl_op_maxpool_create(ctx, 1, &op));
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *y = tu_download(out);
    ck_assert_float_eq(y[0], -1.0f);  /* max of x[0], x[1], x[5], x[6] */
    ck_assert_float_eq(y[8], -19.0f); /* max of x[18], x[19], x[23], x[24] */
    free(y);
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_pool_bad_args) {
    scl_context *ctx = tu_context();
    scl_op *op = (scl_op *)1;
    ck_assert_int_eq(scl_op_maxpool_create(ctx, 0, &op), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(op);
    TU_OK(ctx, scl_op_avgpool_create(ctx, 4, &op));
    scl_tensor *in = tu_tensor(ctx, 1, 4, 8, 8, NULL), *out = tu_tensor(ctx, 1, 4, 4, 4, NULL);
    scl_tensor *wrong_hw = tu_tensor(ctx, 1, 4, 5, 4, NULL);
    scl_tensor *wrong_c = tu_tensor(ctx, 1, 3, 4, 4, NULL);
    scl_tensor *wrong_n = tu_tensor(ctx, 2, 4, 4, 4, NULL);
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = wrong_hw};
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "4x4"));
    a.out = wrong_c;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH);
    a.out = wrong_n;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH);
    a.out = NULL;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT);
    /* a map that reaches past the tensor's planes */
    scl_chanmap *far;
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 4, 2, 1, &far));
    a.out = out, a.in_map = far;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "plane 5"));
    /* an output map that writes two channels to one plane */
    int dup[4] = {0, 1, 1, 2};
    scl_chanmap *dm;
    TU_OK(ctx, scl_chanmap_create_table(ctx, 4, dup, &dm));
    a.in_map = NULL, a.out_map = dm;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT);
    /* bad tunables */
    scl_op *bad = (scl_op *)1;
#define BAD_CFG(ch, avg, vw, th, seg, out)                                                         \
    ck_assert_int_eq(scl__op_pool_create_cfg(ctx, ch, avg, vw, th, seg, -1, out),                  \
                     SCL_ERROR_INVALID_ARGUMENT)
    BAD_CFG(4, 0, 3, 1, 0, &bad);
    ck_assert_ptr_null(bad);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "vw = 3"));
    BAD_CFG(4, 1, 4, 0, 0, &bad);
    BAD_CFG(4, 1, 4, 9, 0, &bad);
    BAD_CFG(4, 0, 4, 1, 6, &bad);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "seg = 6"));
    BAD_CFG(0, 0, 4, 1, 0, &bad);
    BAD_CFG(4, 0, 4, 1, 0, NULL);
    ck_assert_ptr_null(bad);
#undef BAD_CFG
    /* a residual given to an op that has none */
    a.out_map = NULL, a.residual = out;
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT);
    /* nothing above launched: the queue is idle and the output untouched */
    TU_OK(ctx, scl_context_finish(ctx));
    scl_chanmap_destroy(far);
    scl_chanmap_destroy(dm);
    scl_op_destroy(op);
    scl_op_destroy(NULL);
    scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(wrong_hw);
    scl_tensor_destroy(wrong_c), scl_tensor_destroy(wrong_n);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_chanmap_kinds) {
    scl_context *ctx = tu_context();
    scl_chanmap *s, *u, *id;
    /* shuffle(g=2) of 6: y[2j+i] = x[i*3+j]  ->  planes 0,3,1,4,2,5 */
    TU_OK(ctx, scl_chanmap_create_shuffle(ctx, 6, 2, 0, &s));
    const int want[6] = {0, 3, 1, 4, 2, 5};
    for (int c = 0; c < 6; c++)
        ck_assert_int_eq(scl_chanmap_plane(s, c), want[c]);
    /* the inverse undoes it: composing both is the identity */
    TU_OK(ctx, scl_chanmap_create_shuffle(ctx, 6, 2, 1, &u));
    TU_OK(ctx, scl_chanmap_compose(ctx, s, u, &id));
    for (int c = 0; c < 6; c++)
        ck_assert_int_eq(scl_chanmap_plane(id, c), c);
    ck_assert_int_eq(scl_chanmap_plane(id, 6), -1);
    scl_chanmap *bad = (scl_chanmap *)1;
    ck_assert_int_eq(scl_chanmap_create_shuffle(ctx, 7, 2, 0, &bad), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(bad); /* a failed create leaves nothing behind */
    scl_chanmap_destroy(u);
    scl_chanmap_destroy(id);
    scl_chanmap_destroy(s);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_maxpool, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, test_avgpool, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, test_maxpool_widths, 0, NW * 5);
    tcase_add_loop_test(tc, test_avgpool_widths, 0, NW * 5);
    tcase_add_loop_test(tc, test_pool_pitch, 0, 6 * NPITCH);
    tcase_add_test(tc, test_pool_padding_never_wins);
    tcase_add_test(tc, test_pool_bad_args);
    tcase_add_test(tc, test_chanmap_kinds);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
