/* test_pool.c: max and average 3x3/s2 pools against the float64 reference, through every kind
 * of channel map on input and output, plus argument checks. */
#include "ref_pool.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum map_kind { MAP_NONE, MAP_OFFSET, MAP_STRIDED, MAP_SHUFFLE, MAP_UNSHUFFLE, MAP_COMPOSED } map_kind;

typedef struct pool_case {
    int n, c, h, w;
    map_kind in_map, out_map;
} pool_case;

static const pool_case cases[] = {
    {1, 3, 1, 1, MAP_NONE, MAP_NONE},        {1, 6, 2, 2, MAP_NONE, MAP_OFFSET},
    {3, 10, 7, 7, MAP_STRIDED, MAP_NONE},    {1, 24, 112, 112, MAP_NONE, MAP_NONE},
    {2, 12, 13, 13, MAP_SHUFFLE, MAP_OFFSET}, {1, 58, 28, 28, MAP_UNSHUFFLE, MAP_COMPOSED},
    {3, 6, 9, 5, MAP_COMPOSED, MAP_STRIDED}, {1, 4, 56, 56, MAP_OFFSET, MAP_SHUFFLE},
};

/* A map of kind k over c logical channels, and the plane count of the tensor it addresses. */
static scl_chanmap *make_map(scl_context *ctx, map_kind k, int c, int *planes) {
    scl_chanmap *m = NULL, *a = NULL, *b = NULL;
    switch (k) {
    case MAP_NONE: *planes = c; return NULL;
    case MAP_OFFSET: TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 5, 1, &m)); *planes = c + 7; break;
    case MAP_STRIDED: TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 1, 2, &m)); *planes = 2 * c + 1; break;
    case MAP_SHUFFLE:
    case MAP_UNSHUFFLE: {
        int g = c % 3 == 0 ? 3 : 2;
        TU_OK(ctx, scl_chanmap_create_shuffle(ctx, c, g, k == MAP_UNSHUFFLE, &m));
        *planes = c;
        break;
    }
    case MAP_COMPOSED: /* a shuffle read through an offset slot of a larger tensor */
        TU_OK(ctx, scl_chanmap_create_strided(ctx, c, 3, 1, &a));
        TU_OK(ctx, scl_chanmap_create_shuffle(ctx, c, 2, 0, &b));
        TU_OK(ctx, scl_chanmap_compose(ctx, a, b, &m));
        scl_chanmap_destroy(a);
        scl_chanmap_destroy(b);
        *planes = c + 3;
        break;
    }
    return m;
}

static void run_case(int i, int is_max) {
    const pool_case *pc = &cases[i];
    scl_context *ctx = tu_context();
    uint64_t seed = 1000 + (uint64_t)i * 2 + (uint64_t)is_max;
    int oh = (pc->h + 1) / 2, ow = (pc->w + 1) / 2, hw = pc->h * pc->w, ohw = oh * ow;
    int in_planes, out_planes;
    scl_chanmap *in_map = make_map(ctx, pc->in_map, pc->c, &in_planes);
    scl_chanmap *out_map = make_map(ctx, pc->out_map, pc->c, &out_planes);
    size_t nin = (size_t)pc->n * pc->c * hw, nout = (size_t)pc->n * pc->c * ohw;
    float *x = tu_random(nin, &seed);
    float *phys_in = malloc((size_t)pc->n * in_planes * hw * sizeof(float));
    tu_scatter(x, pc->n, pc->c, hw, in_map, in_planes, NAN, phys_in);
    scl_tensor *in = tu_tensor(ctx, pc->n, in_planes, pc->h, pc->w, phys_in);
    scl_tensor *out = tu_tensor(ctx, pc->n, out_planes, oh, ow, NULL);
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op *op = NULL;
    TU_OK(ctx, is_max ? scl_op_maxpool_create(ctx, pc->c, &op) : scl_op_avgpool_create(ctx, pc->c, &op));
    scl_op_args a = {.in = in, .in_map = in_map, .out = out, .out_map = out_map};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *phys_out = tu_download(out), *y = malloc(nout * sizeof(float));
    tu_gather(phys_out, pc->n, pc->c, ohw, out_map, out_planes, y);
    double *xd = tu_to_double(x, nin), *ref = malloc(nout * sizeof(double));
    if (is_max) ref_maxpool3x3s2(xd, pc->n, pc->c, pc->h, pc->w, ref);
    else ref_avgpool3x3s2(xd, pc->n, pc->c, pc->h, pc->w, ref);
    char what[128];
    snprintf(what, sizeof what, "%s case %d (%dx%dx%dx%d, maps %d/%d)", is_max ? "maxpool" : "avgpool",
             i, pc->n, pc->c, pc->h, pc->w, pc->in_map, pc->out_map);
    tu_check_close(what, y, ref, nout, 1e-6, 1e-5);
    /* planes outside the output map are untouched (still NaN) */
    int touched = 0;
    for (int b = 0; b < pc->n; b++)
        for (int p = 0; p < out_planes; p++) {
            int mapped = 0;
            for (int ch = 0; ch < pc->c; ch++) mapped |= (out_map ? scl_chanmap_plane(out_map, ch) : ch) == p;
            if (!mapped) touched |= !isnan(phys_out[((size_t)b * out_planes + p) * ohw]);
        }
    ck_assert_msg(!touched, "%s wrote outside its output map", what);
    free(x), free(phys_in), free(phys_out), free(y), free(xd), free(ref);
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_chanmap_destroy(in_map);
    scl_chanmap_destroy(out_map);
    scl_context_destroy(ctx);
}

START_TEST(test_maxpool) { run_case(_i, 1); }
END_TEST

START_TEST(test_avgpool) { run_case(_i, 0); }
END_TEST

START_TEST(test_pool_padding_never_wins) {
    /* all-negative input: a max pool that let the zero padding in would return 0 at borders */
    scl_context *ctx = tu_context();
    float x[25];
    for (int i = 0; i < 25; i++) x[i] = -1.0f - (float)i;
    scl_tensor *in = tu_tensor(ctx, 1, 1, 5, 5, x), *out = tu_tensor(ctx, 1, 1, 3, 3, NULL);
    scl_op *op;
    TU_OK(ctx, scl_op_maxpool_create(ctx, 1, &op));
    scl_op_args a = {.in = in, .out = out};
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
    scl_tensor *wrong_hw = tu_tensor(ctx, 1, 4, 5, 4, NULL), *wrong_c = tu_tensor(ctx, 1, 3, 4, 4, NULL);
    scl_tensor *wrong_n = tu_tensor(ctx, 2, 4, 4, 4, NULL);
    scl_op_args a = {.in = in, .out = wrong_hw};
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
    for (int c = 0; c < 6; c++) ck_assert_int_eq(scl_chanmap_plane(s, c), want[c]);
    /* the inverse undoes it: composing both is the identity */
    TU_OK(ctx, scl_chanmap_create_shuffle(ctx, 6, 2, 1, &u));
    TU_OK(ctx, scl_chanmap_compose(ctx, s, u, &id));
    for (int c = 0; c < 6; c++) ck_assert_int_eq(scl_chanmap_plane(id, c), c);
    ck_assert_int_eq(scl_chanmap_plane(id, 6), -1);
    ck_assert_int_eq(scl_chanmap_create_shuffle(ctx, 7, 2, 0, &s), SCL_ERROR_INVALID_ARGUMENT);
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
    tcase_add_test(tc, test_pool_padding_never_wins);
    tcase_add_test(tc, test_pool_bad_args);
    tcase_add_test(tc, test_chanmap_kinds);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
