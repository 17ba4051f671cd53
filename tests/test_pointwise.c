/* test_pointwise.c: the grouped 1x1 conv and the explicit channel shuffle against float64
 * references, through every kind of channel map, in the CPU-default and GPU-style tiles; the
 * zero-copy maps against explicit shuffles; argument checks.
 * SCL_TEST_QUICK=1 keeps only the small cases (for Oclgrind, which simulates every work-item). */
#include "ops/desc.h"
#include "ops/pointwise.h"
#include "ref_pointwise.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOL 1e-5
#define ABS_TOL 1e-4

/* The map kinds of the zero-copy test, one case each; the tables below use the same ones. */
static const tu_map_kind zc_kinds[] = {TU_MAP_NONE,     TU_MAP_OFFSET,  TU_MAP_EVEN,
                                       TU_MAP_ODD,      TU_MAP_SHUFFLE, TU_MAP_UNSHUFFLE,
                                       TU_MAP_COMPOSED, TU_MAP_RANDOM};
#define NZC ((int)(sizeof zc_kinds / sizeof zc_kinds[0]))

/* ---- pointwise against the reference ---------------------------------------------------- */

typedef struct pw_case {
    int n, cin, cout, groups, h, w, flags;
    tu_map_kind in_map, out_map, res_map;
} pw_case;

#define R SCL_OP_RELU
#define S SCL_OP_RESIDUAL
/* clang-format off */
static const pw_case cases[] = {
    /* n  cin cout  g    h    w  flags  input          output         residual */
    {1, 3, 3, 1, 1, 1, 0, TU_MAP_NONE, TU_MAP_NONE, TU_MAP_NONE},
    {1, 6, 10, 2, 2, 2, R, TU_MAP_OFFSET, TU_MAP_NONE, TU_MAP_NONE},
    {3, 10, 6, 2, 7, 7, R, TU_MAP_NONE, TU_MAP_EVEN, TU_MAP_NONE},
    {1, 58, 58, 1, 28, 28, R, TU_MAP_ODD, TU_MAP_SHUFFLE, TU_MAP_NONE},     /* V2 stage 2 branch */
    {1, 122, 122, 1, 13, 13, R, TU_MAP_SHUFFLE, TU_MAP_ODD, TU_MAP_NONE},
    {2, 116, 58, 1, 28, 28, R, TU_MAP_EVEN, TU_MAP_OFFSET, TU_MAP_NONE},
    {3, 24, 24, 3, 7, 7, R | S, TU_MAP_UNSHUFFLE, TU_MAP_OFFSET, TU_MAP_NONE},
    {1, 24, 48, 4, 14, 14, 0, TU_MAP_COMPOSED, TU_MAP_RANDOM, TU_MAP_NONE},
    {1, 240, 60, 3, 28, 28, R, TU_MAP_NONE, TU_MAP_UNSHUFFLE, TU_MAP_NONE}, /* V1 g=3 compress */
    /* V1 g=3 expand */
    {1, 60, 240, 3, 28, 28, R | S, TU_MAP_UNSHUFFLE, TU_MAP_NONE, TU_MAP_OFFSET},
    {1, 384, 96, 8, 14, 14, R, TU_MAP_RANDOM, TU_MAP_COMPOSED, TU_MAP_NONE}, /* V1 g=8 */
    {3, 96, 384, 8, 7, 7, R | S, TU_MAP_SHUFFLE, TU_MAP_EVEN, TU_MAP_ODD},
    {1, 10, 10, 10, 13, 13, 0, TU_MAP_ODD, TU_MAP_NONE, TU_MAP_NONE},       /* groups = C */
    {2, 6, 12, 6, 5, 5, R, TU_MAP_RANDOM, TU_MAP_SHUFFLE, TU_MAP_NONE},      /* groups = cin */
    {1, 3, 6, 3, 9, 11, S, TU_MAP_NONE, TU_MAP_RANDOM, TU_MAP_SHUFFLE},
    {1, 3, 8, 1, 112, 112, R, TU_MAP_NONE, TU_MAP_NONE, TU_MAP_NONE},
    {1, 4, 6, 2, 112, 112, S, TU_MAP_OFFSET, TU_MAP_ODD, TU_MAP_EVEN},
    /* V2 stage 2 first unit */
    {1, 24, 58, 1, 56, 56, R, TU_MAP_NONE, TU_MAP_COMPOSED, TU_MAP_NONE},
    {1, 58, 58, 1, 56, 56, 0, TU_MAP_SHUFFLE, TU_MAP_NONE, TU_MAP_NONE},
    {3, 58, 58, 2, 28, 28, R | S, TU_MAP_COMPOSED, TU_MAP_UNSHUFFLE, TU_MAP_RANDOM},
    {1, 232, 232, 1, 14, 14, R, TU_MAP_EVEN, TU_MAP_ODD, TU_MAP_NONE},      /* V2 stage 3 */
    {1, 464, 464, 1, 7, 7, R, TU_MAP_UNSHUFFLE, TU_MAP_EVEN, TU_MAP_NONE},  /* V2 stage 4 */
    {3, 122, 122, 2, 2, 2, S, TU_MAP_ODD, TU_MAP_NONE, TU_MAP_COMPOSED},
    {1, 6, 6, 2, 1, 1, R | S, TU_MAP_SHUFFLE, TU_MAP_OFFSET, TU_MAP_UNSHUFFLE},
    {3, 40, 40, 8, 13, 13, R, TU_MAP_RANDOM, TU_MAP_RANDOM, TU_MAP_NONE},
    {1, 272, 68, 4, 28, 28, R, TU_MAP_NONE, TU_MAP_SHUFFLE, TU_MAP_NONE},   /* V1 g=4 */
    {1, 68, 272, 4, 28, 28, S, TU_MAP_OFFSET, TU_MAP_NONE, TU_MAP_NONE},
    /* groups = cin, 3 per group */
    {2, 12, 36, 12, 3, 3, R | S, TU_MAP_EVEN, TU_MAP_COMPOSED, TU_MAP_EVEN},
};
/* clang-format on */
#undef R
#undef S
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* Beside the public default, each case runs three configurations of the descriptor's samples
 * (tu_desc_samples: both device types' defaults, then a fixed draw from the product of the
 * probes of vec and co_tile), case i taking samples 3i, 3i + 1, 3i + 2 (mod their count): the
 * cases together run every sample, a tunable added to the descriptor included. */
static int case_macs_small(const pw_case *pc) {
    return (double)pc->n * pc->h * pc->w * pc->cout * (pc->cin / pc->groups) <= 2e5;
}

START_TEST(test_pointwise_cases) {
    const pw_case *pc = &cases[_i];
    if (tu_quick() && !case_macs_small(pc)) return;
    scl_context *ctx = tu_context();
    uint64_t seed = 7000 + (uint64_t)_i;
    int hw = pc->h * pc->w, kg = pc->cin / pc->groups, has_res = pc->flags & SCL_OP_RESIDUAL;
    size_t nin = (size_t)pc->n * pc->cin * hw, nout = (size_t)pc->n * pc->cout * hw;
    size_t nw = (size_t)pc->cout * kg;
    float *x = tu_random(nin, &seed), *w = tu_random(nw, &seed), *b = tu_random(pc->cout, &seed);
    /* scaled so outputs stay O(1) whatever the fan-in, with ReLU cutting about half */
    for (size_t i = 0; i < nw; i++)
        w[i] /= sqrtf((float)kg);
    float *r = has_res ? tu_random(nout, &seed) : NULL;

    int in_planes, out_planes, res_planes = 0;
    scl_chanmap *in_map = tu_make_map(ctx, pc->in_map, pc->cin, seed + 1, &in_planes);
    scl_chanmap *out_map = tu_make_map(ctx, pc->out_map, pc->cout, seed + 2, &out_planes);
    scl_chanmap *res_map =
        has_res ? tu_make_map(ctx, pc->res_map, pc->cout, seed + 3, &res_planes) : NULL;
    scl_tensor *in = tu_place(ctx, x, pc->n, pc->cin, pc->h, pc->w, in_map, in_planes);
    scl_tensor *res =
        has_res ? tu_place(ctx, r, pc->n, pc->cout, pc->h, pc->w, res_map, res_planes) : NULL;
    scl_tensor *out = tu_tensor(ctx, pc->n, out_planes, pc->h, pc->w, NULL);

    double *xd = tu_to_double(x, nin), *wd = tu_to_double(w, nw), *bd = tu_to_double(b, pc->cout);
    double *rd = has_res ? tu_to_double(r, nout) : NULL, *ref = malloc(nout * sizeof(double));
    ck_assert_ptr_nonnull(ref);
    ref_pointwise(xd, pc->n, pc->cin, pc->cout, pc->groups, hw, wd, bd, rd, pc->flags & SCL_OP_RELU,
                  ref);

    scl__op_shape shape = {0, pc->cin, pc->cout, pc->groups, 1, pc->flags, 0};
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__pointwise_desc, &shape, samples);
    for (int conf = 0; conf < 4; conf++) {
        scl_op *op = NULL;
        char what[256];
        if (conf == 0) {
            TU_OK(ctx, scl_op_pointwise_create(ctx, pc->cin, pc->cout, pc->groups, pc->flags, w, b,
                                               &op));
            snprintf(what, sizeof what, "case %d default tile", _i);
        } else {
            const int *v = samples[(3 * _i + conf - 1) % ns];
            char cfg[128];
            scl__desc_format(&scl__pointwise_desc, v, cfg, sizeof cfg);
            TU_OK(ctx, scl__pointwise_desc.create(ctx, &shape, w, b, v, &op));
            snprintf(what, sizeof what, "case %d %s", _i, cfg);
        }
        size_t len = strlen(what);
        snprintf(what + len, sizeof what - len, " (%dx%d->%dx%dx%d g%d flags %d, maps %s/%s/%s)",
                 pc->n, pc->cin, pc->cout, pc->h, pc->w, pc->groups, pc->flags,
                 tu_map_name(pc->in_map), tu_map_name(pc->out_map),
                 has_res ? tu_map_name(pc->res_map) : "-");
        TU_OK(ctx, scl_tensor_fill(out, NAN));
        scl_op_args a = {.size = sizeof(scl_op_args),
                         .in = in,
                         .in_map = in_map,
                         .residual = res,
                         .residual_map = res_map,
                         .out = out,
                         .out_map = out_map};
        TU_OK(ctx, scl_op_enqueue(op, &a));
        ck_assert_str_eq(scl_op_kernel_name(op), "pointwise");
        float *y = tu_collect(out, pc->cout, out_map, what);
        tu_check_close(what, y, ref, nout, REL_TOL, ABS_TOL);
        free(y);
        scl_op_destroy(op);
    }

    free(x), free(w), free(b), free(r), free(xd), free(wd), free(bd), free(rd), free(ref);
    scl_tensor_destroy(in), scl_tensor_destroy(res), scl_tensor_destroy(out);
    scl_chanmap_destroy(in_map), scl_chanmap_destroy(out_map), scl_chanmap_destroy(res_map);
    scl_context_destroy(ctx);
}
END_TEST

/* V1's stride-1 unit writes relu(main + x) over x itself: the residual read and the store of
 * one channel hit the same plane, which is allowed. */
START_TEST(test_pointwise_inplace_residual) {
    scl_context *ctx = tu_context();
    uint64_t seed = 42;
    const int n = 2, cin = 12, cout = 24, g = 3, h = 5, wd = 7, hw = h * wd;
    size_t nin = (size_t)n * cin * hw, nout = (size_t)n * cout * hw;
    float *x = tu_random(nin, &seed), *w = tu_random((size_t)cout * cin / g, &seed);
    float *b = tu_random(cout, &seed), *r = tu_random(nout, &seed);
    scl_chanmap *slot;
    TU_OK(ctx, scl_chanmap_create_strided(ctx, cout, 4, 1, &slot)); /* planes 4..27 of 30 */
    scl_tensor *in = tu_tensor(ctx, n, cin, h, wd, x);
    scl_tensor *acc = tu_place(ctx, r, n, cout, h, wd, slot, cout + 6);
    scl_op *op;
    TU_OK(ctx,
          scl_op_pointwise_create(ctx, cin, cout, g, SCL_OP_RELU | SCL_OP_RESIDUAL, w, b, &op));
    scl_op_args a = {.size = sizeof(scl_op_args),
                     .in = in,
                     .residual = acc,
                     .residual_map = slot,
                     .out = acc,
                     .out_map = slot};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    double *xd = tu_to_double(x, nin), *wdd = tu_to_double(w, (size_t)cout * cin / g);
    double *bd = tu_to_double(b, cout), *rd = tu_to_double(r, nout),
           *ref = malloc(nout * sizeof(double));
    ref_pointwise(xd, n, cin, cout, g, hw, wdd, bd, rd, 1, ref);
    float *y = tu_collect(acc, cout, slot, "in-place residual");
    tu_check_close("in-place residual", y, ref, nout, REL_TOL, ABS_TOL);
    free(x), free(w), free(b), free(r), free(xd), free(wdd), free(bd), free(rd), free(ref), free(y);
    scl_op_destroy(op);
    scl_tensor_destroy(in), scl_tensor_destroy(acc);
    scl_chanmap_destroy(slot);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- explicit shuffle against the reference permutation --------------------------------- */

typedef struct shuffle_case {
    int n, c, groups, inverse, h, w;
    tu_map_kind in_map, out_map;
} shuffle_case;

static const shuffle_case shuffle_cases[] = {
    {1, 8, 2, 0, 7, 5, TU_MAP_NONE, TU_MAP_NONE},
    {2, 8, 2, 1, 7, 5, TU_MAP_NONE, TU_MAP_NONE},
    {1, 12, 3, 0, 3, 3, TU_MAP_NONE, TU_MAP_NONE},
    {3, 12, 3, 1, 13, 13, TU_MAP_NONE, TU_MAP_NONE},
    {2, 24, 4, 0, 1, 1, TU_MAP_NONE, TU_MAP_NONE},
    {1, 24, 4, 1, 9, 11, TU_MAP_NONE, TU_MAP_NONE},
    {1, 48, 8, 0, 15, 17, TU_MAP_NONE, TU_MAP_NONE},
    {2, 48, 8, 1, 5, 3, TU_MAP_NONE, TU_MAP_NONE},
    {1, 116, 2, 0, 28, 28, TU_MAP_OFFSET, TU_MAP_ODD},
    {2, 240, 3, 1, 7, 7, TU_MAP_RANDOM, TU_MAP_EVEN},
    {1, 30, 3, 0, 11, 13, TU_MAP_COMPOSED, TU_MAP_RANDOM},
    {3, 10, 10, 1, 3, 5, TU_MAP_ODD, TU_MAP_OFFSET},
};
#define NSHUFFLE ((int)(sizeof shuffle_cases / sizeof shuffle_cases[0]))

/* Each case under the public create and under descriptor samples i and i + NSHUFFLE (mod their
 * count): the cases together run every sample. */
START_TEST(test_shuffle_op) {
    const shuffle_case *sc = &shuffle_cases[_i];
    scl_context *ctx = tu_context();
    uint64_t seed = 9000 + (uint64_t)_i;
    int hw = sc->h * sc->w, in_planes, out_planes;
    size_t count = (size_t)sc->n * sc->c * hw;
    float *x = tu_random(count, &seed);
    scl_chanmap *in_map = tu_make_map(ctx, sc->in_map, sc->c, seed + 1, &in_planes);
    scl_chanmap *out_map = tu_make_map(ctx, sc->out_map, sc->c, seed + 2, &out_planes);
    scl_tensor *in = tu_place(ctx, x, sc->n, sc->c, sc->h, sc->w, in_map, in_planes);
    scl_tensor *out = tu_tensor(ctx, sc->n, out_planes, sc->h, sc->w, NULL);
    double *xd = tu_to_double(x, count), *ref = malloc(count * sizeof(double));
    ref_shuffle(xd, sc->n, sc->c, hw, sc->groups, sc->inverse, ref);
    scl__op_shape shape = {sc->inverse, sc->c, sc->c, sc->groups, 1, 0, 0};
    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, &scl__shuffle_desc, &shape, samples);
    for (int conf = 0; conf < 3; conf++) {
        TU_OK(ctx, scl_tensor_fill(out, NAN));
        scl_op *op;
        char cfg[96] = "default";
        if (conf == 0) {
            TU_OK(ctx, scl_op_shuffle_create(ctx, sc->c, sc->groups, sc->inverse, &op));
        } else {
            const int *v = samples[(_i + (conf - 1) * NSHUFFLE) % ns];
            scl__desc_format(&scl__shuffle_desc, v, cfg, sizeof cfg);
            TU_OK(ctx, scl__shuffle_desc.create(ctx, &shape, NULL, NULL, v, &op));
        }
        scl_op_args a = {.size = sizeof(scl_op_args),
                         .in = in,
                         .in_map = in_map,
                         .out = out,
                         .out_map = out_map};
        TU_OK(ctx, scl_op_enqueue(op, &a));
        char what[192];
        snprintf(what, sizeof what, "shuffle case %d (%dx%dx%dx%d g%d%s, maps %s/%s, %s)", _i,
                 sc->n, sc->c, sc->h, sc->w, sc->groups, sc->inverse ? " inverse" : "",
                 tu_map_name(sc->in_map), tu_map_name(sc->out_map), cfg);
        float *y = tu_collect(out, sc->c, out_map, what);
        /* a copy: exact */
        for (size_t i = 0; i < count; i++)
            ck_assert_msg((double)y[i] == ref[i], "%s: element %zu is %g, want %g", what, i, y[i],
                          ref[i]);
        /* and the map of the same name describes the same permutation */
        scl_chanmap *sm;
        TU_OK(ctx, scl_chanmap_create_shuffle(ctx, sc->c, sc->groups, sc->inverse, &sm));
        for (int b = 0; b < sc->n; b++)
            for (int c = 0; c < sc->c; c++)
                ck_assert(memcmp(y + ((size_t)b * sc->c + c) * hw,
                                 x + ((size_t)b * sc->c + scl_chanmap_plane(sm, c)) * hw,
                                 (size_t)hw * sizeof(float)) == 0);
        free(y);
        scl_op_destroy(op);
        scl_chanmap_destroy(sm);
    }
    free(x), free(xd), free(ref);
    scl_tensor_destroy(in), scl_tensor_destroy(out);
    scl_chanmap_destroy(in_map), scl_chanmap_destroy(out_map);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- zero-copy maps against explicit data movement -------------------------------------- */

/* For each map kind M: (a) the conv reads the physical tensor through M; (b) an explicit op
 * first moves the data into a dense tensor (scl_op_shuffle for shuffles, the groups = 1 shuffle,
 * a plain gather through the map, for slices, strides and tables), then a plain conv reads it.
 * The same on the output side, where the explicit path writes a dense result and then copies it
 * into its slot. Both must agree with each other bit for bit and with the reference. */
START_TEST(test_zero_copy_equivalence) {
    const tu_map_kind k = zc_kinds[_i];
    scl_context *ctx = tu_context();
    uint64_t seed = 11000 + (uint64_t)_i;
    const int n = 2, cin = 24, cout = 12, groups = 2, h = 9, wd = 7, hw = h * wd;
    size_t nin = (size_t)n * cin * hw, nout = (size_t)n * cout * hw,
           nw = (size_t)cout * cin / groups;
    float *x = tu_random(nin, &seed), *w = tu_random(nw, &seed), *b = tu_random(cout, &seed);
    int in_planes, out_planes;
    scl_chanmap *m_in = tu_make_map(ctx, k, cin, seed + 1, &in_planes);
    scl_chanmap *m_out = tu_make_map(ctx, k, cout, seed + 2, &out_planes);
    scl_tensor *phys_in = tu_place(ctx, x, n, cin, h, wd, m_in, in_planes);
    scl_tensor *dense_in = tu_tensor(ctx, n, cin, h, wd, NULL);
    scl_tensor *dense_out = tu_tensor(ctx, n, cout, h, wd, NULL);
    scl_tensor *zc_out = tu_tensor(ctx, n, cout, h, wd, NULL);
    scl_tensor *slot_zc = tu_tensor(ctx, n, out_planes, h, wd, NULL);
    scl_tensor *slot_ex = tu_tensor(ctx, n, out_planes, h, wd, NULL);
    TU_OK(ctx, scl_tensor_fill(zc_out, NAN));
    TU_OK(ctx, scl_tensor_fill(dense_out, NAN));
    TU_OK(ctx, scl_tensor_fill(slot_zc, NAN));
    TU_OK(ctx, scl_tensor_fill(slot_ex, NAN));

    scl_op *conv, *gather_in = NULL, *copy_out;
    TU_OK(ctx, scl_op_pointwise_create(ctx, cin, cout, groups, SCL_OP_RELU, w, b, &conv));
    /* the explicit mover for the input side */
    const scl_chanmap *gather_map = m_in;
    scl_chanmap *slice = NULL;
    if (k == TU_MAP_SHUFFLE || k == TU_MAP_UNSHUFFLE) {
        TU_OK(ctx, scl_op_shuffle_create(ctx, cin, tu_map_groups(k, cin), k == TU_MAP_UNSHUFFLE,
                                         &gather_in));
        gather_map = NULL;
    } else if (k == TU_MAP_COMPOSED) {
        /* slice out the slot, then a real shuffle */
        TU_OK(ctx, scl_chanmap_create_strided(ctx, cin, 3, 1, &slice));
        TU_OK(ctx, scl_op_shuffle_create(ctx, cin, tu_map_groups(k, cin), 0, &gather_in));
        gather_map = slice;
    } else {
        TU_OK(ctx, scl_op_shuffle_create(ctx, cin, 1, 0, &gather_in));
    }
    TU_OK(ctx, scl_op_shuffle_create(ctx, cout, 1, 0, &copy_out));

    /* input side */
    scl_op_args zc = {.size = sizeof(scl_op_args), .in = phys_in, .in_map = m_in, .out = zc_out};
    TU_OK(ctx, scl_op_enqueue(conv, &zc));
    scl_op_args g1 = {
        .size = sizeof(scl_op_args), .in = phys_in, .in_map = gather_map, .out = dense_in};
    TU_OK(ctx, scl_op_enqueue(gather_in, &g1));
    scl_op_args c1 = {.size = sizeof(scl_op_args), .in = dense_in, .out = dense_out};
    TU_OK(ctx, scl_op_enqueue(conv, &c1));
    /* output side: the conv writes straight into its slot, or writes dense then is copied */
    scl_tensor *x_dense = tu_tensor(ctx, n, cin, h, wd, x);
    scl_op_args zo = {.size = sizeof(scl_op_args), .in = x_dense, .out = slot_zc, .out_map = m_out};
    TU_OK(ctx, scl_op_enqueue(conv, &zo));
    scl_op_args co = {
        .size = sizeof(scl_op_args), .in = dense_out, .out = slot_ex, .out_map = m_out};
    TU_OK(ctx, scl_op_enqueue(copy_out, &co));

    char what[96];
    snprintf(what, sizeof what, "zero-copy %s", tu_map_name(k));
    float *y_zc = tu_download(zc_out), *y_ex = tu_download(dense_out);
    float *s_zc = tu_collect(slot_zc, cout, m_out, what),
          *s_ex = tu_collect(slot_ex, cout, m_out, what);
    ck_assert_msg(memcmp(y_zc, y_ex, nout * sizeof(float)) == 0,
                  "%s: reading through the map differs from the explicit move", what);
    ck_assert_msg(memcmp(s_zc, s_ex, nout * sizeof(float)) == 0,
                  "%s: writing through the map differs from the explicit copy", what);
    ck_assert_msg(memcmp(s_zc, y_zc, nout * sizeof(float)) == 0,
                  "%s: the output side differs from the input side", what);
    double *xd = tu_to_double(x, nin), *wdd = tu_to_double(w, nw), *bd = tu_to_double(b, cout);
    double *ref = malloc(nout * sizeof(double));
    ref_pointwise(xd, n, cin, cout, groups, hw, wdd, bd, NULL, 1, ref);
    tu_check_close(what, y_zc, ref, nout, REL_TOL, ABS_TOL);

    free(x), free(w), free(b), free(y_zc), free(y_ex), free(s_zc), free(s_ex);
    free(xd), free(wdd), free(bd), free(ref);
    scl_op_destroy(conv), scl_op_destroy(gather_in), scl_op_destroy(copy_out);
    scl_tensor_destroy(phys_in), scl_tensor_destroy(dense_in), scl_tensor_destroy(dense_out);
    scl_tensor_destroy(zc_out), scl_tensor_destroy(slot_zc), scl_tensor_destroy(slot_ex);
    scl_tensor_destroy(x_dense);
    scl_chanmap_destroy(m_in), scl_chanmap_destroy(m_out), scl_chanmap_destroy(slice);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- argument checks -------------------------------------------------------------------- */

START_TEST(test_pointwise_bad_args) {
    scl_context *ctx = tu_context();
    float w[64], bias[8];
    for (int i = 0; i < 64; i++)
        w[i] = 0.01f * (float)(i + 1);
    for (int i = 0; i < 8; i++)
        bias[i] = 1.0f;
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 6, 8, 4, 0, w, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "groups = 4");
    ck_assert_ptr_null(op);
    op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 8, 6, 4, 0, w, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cout = 6");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 0, 8, 1, 0, w, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cin = 0");
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 8, 8, 0, 0, w, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "groups = 0");
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 8, 8, 1, 0, NULL, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "weights");
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 8, 8, 1, 64, w, bias, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "flags");
    TU_EXPECT_FAIL(ctx, scl__op_pointwise_create_cfg(ctx, 8, 8, 1, 0, w, bias, 3, 8, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "vec = 3");
    TU_EXPECT_FAIL(ctx, scl__op_pointwise_create_cfg(ctx, 8, 8, 1, 0, w, bias, 4, 0, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "co_tile = 0");
    TU_EXPECT_FAIL(ctx, scl_op_shuffle_create(ctx, 10, 3, 0, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "groups = 3");
    ck_assert_int_eq(scl_op_pointwise_create(NULL, 8, 8, 1, 0, w, bias, &op),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(op);

    /* launch-time checks: nothing below may reach the device */
    TU_OK(ctx, scl_op_pointwise_create(ctx, 8, 8, 1, SCL_OP_RESIDUAL, w, bias, &op));
    scl_tensor *in = tu_tensor(ctx, 1, 8, 4, 4, NULL), *out = tu_tensor(ctx, 1, 8, 4, 4, NULL);
    scl_tensor *res_hw = tu_tensor(ctx, 1, 8, 4, 5, NULL),
               *res_c = tu_tensor(ctx, 1, 6, 4, 4, NULL);
    scl_tensor *big = tu_tensor(ctx, 1, 12, 4, 4, NULL), *res = tu_tensor(ctx, 1, 8, 4, 4, NULL);
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    TU_OK(ctx, scl_tensor_fill(big, NAN));
    cl_event ev = (cl_event)1;
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out, .event = &ev};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT,
                   "residual tensor is NULL");
    a.residual = res_hw;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH, "residual");
    a.residual = res_c;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_SHAPE_MISMATCH,
                   "residual has 6 channels");
    /* in place over overlapping planes: planes 0..7 read, planes 4..11 written */
    scl_chanmap *hi, *lo;
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 8, 4, 1, &hi));
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 8, 0, 1, &lo));
    scl_op_args ip = {.size = sizeof(scl_op_args),
                      .in = big,
                      .in_map = lo,
                      .residual = res,
                      .out = big,
                      .out_map = hi,
                      .event = &ev};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &ip), SCL_ERROR_INVALID_ARGUMENT, "share planes");
    /* a residual read from planes other channels write */
    scl_chanmap *rot;
    int rot_planes[8] = {5, 6, 7, 8, 9, 10, 11, 4};
    TU_OK(ctx, scl_chanmap_create_table(ctx, 8, rot_planes, &rot));
    scl_op_args rr = {.size = sizeof(scl_op_args),
                      .in = in,
                      .residual = big,
                      .residual_map = rot,
                      .out = big,
                      .out_map = hi,
                      .event = &ev};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &rr), SCL_ERROR_INVALID_ARGUMENT,
                   "residual shares planes");
    ck_assert(ev == (cl_event)1 || ev == NULL); /* no event was made */
    /* and the outputs were never written */
    TU_OK(ctx, scl_context_finish(ctx));
    float *y = tu_download(out), *z = tu_download(big);
    for (int i = 0; i < 8 * 16; i++)
        ck_assert(isnan(y[i]));
    for (int i = 0; i < 12 * 16; i++)
        ck_assert(isnan(z[i]));
    free(y), free(z);
    scl_op_destroy(op);

    /* a residual given to an op made without SCL_OP_RESIDUAL */
    TU_OK(ctx, scl_op_pointwise_create(ctx, 8, 8, 2, 0, w, NULL, &op));
    scl_op_args extra = {.size = sizeof(scl_op_args), .in = in, .residual = res, .out = out};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &extra), SCL_ERROR_INVALID_ARGUMENT, "SCL_OP_RESIDUAL");
    scl_op_destroy(op);

    scl_chanmap_destroy(hi), scl_chanmap_destroy(lo), scl_chanmap_destroy(rot);
    scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(res_hw);
    scl_tensor_destroy(res_c), scl_tensor_destroy(big), scl_tensor_destroy(res);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pointwise");
    TCase *tc = tcase_create("pointwise");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_pointwise_cases, 0, NCASES);
    tcase_add_test(tc, test_pointwise_inplace_residual);
    tcase_add_loop_test(tc, test_shuffle_op, 0, NSHUFFLE);
    tcase_add_loop_test(tc, test_zero_copy_equivalence, 0, NZC);
    tcase_add_test(tc, test_pointwise_bad_args);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
