/* test_half.c: half-precision storage (SCL_PRECISION_HALF_STORAGE): the host's float <-> half
 * conversion against its definition and against the device's vstore_half_rte, half tensors,
 * every op family stored in halves against float64 references, whole networks against the
 * float64 forward pass within the documented tolerance (docs/precision.md), and the refusals
 * (16-bit arithmetic, unknown precisions, tensors of the wrong storage).
 * SCL_TEST_QUICK=1 keeps the small op cases and skips the networks (Oclgrind). */
#include "ops/desc.h"
#include "ops/unit.h"
#include "ref_depthwise.h"
#include "ref_head.h"
#include "ref_network.h"
#include "ref_pointwise.h"
#include "ref_pool.h"
#include "ref_stem.h"
#include "ref_unit.h"
#include "testutil.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HALF SCL_PRECISION_HALF_STORAGE

/* x rounded to the nearest half, as a float (the value a half tensor holds). */
static float rh(float x) {
    return scl__half_to_float(scl__half_from_float(x));
}

static void round_all(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = rh(x[i]);
}

/* ---- the conversion ------------------------------------------------------------------------ */

/* Every half converts to a float and back to itself; NaN stays NaN. */
START_TEST(test_half_roundtrip_all) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = scl__half_to_float((uint16_t)h);
        int is_nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
        if (is_nan) {
            ck_assert_msg(isnan(f), "half 0x%04x is a NaN, converted to %g", h, (double)f);
            uint16_t back = scl__half_from_float(f);
            ck_assert_msg((back & 0x7c00u) == 0x7c00u && (back & 0x3ffu), "NaN 0x%04x -> 0x%04x", h,
                          back);
        } else {
            ck_assert_msg(scl__half_from_float(f) == h, "half 0x%04x -> %.9g -> 0x%04x", h,
                          (double)f, scl__half_from_float(f));
        }
    }
}
END_TEST

/* Between two neighbouring finite halves the float midpoint rounds to the even one, and the
 * floats just either side of it to the nearer one: round to nearest even, subnormals included;
 * past the largest half, infinity. */
START_TEST(test_half_rounding) {
    for (uint32_t h = 0; h < 0x7bffu; h++) {
        for (int neg = 0; neg < 2; neg++) {
            uint16_t a = (uint16_t)(h | (neg ? 0x8000u : 0)), b = (uint16_t)(a + 1);
            float fa = scl__half_to_float(a), fb = scl__half_to_float(b);
            float mid = (float)(((double)fa + fb) / 2); /* exact: 12 significant bits */
            uint16_t even = (h & 1) ? b : a;
            ck_assert_msg(scl__half_from_float(mid) == even, "midpoint of 0x%04x, 0x%04x", a, b);
            ck_assert_uint_eq(scl__half_from_float(nextafterf(mid, fa)), a);
            ck_assert_uint_eq(scl__half_from_float(nextafterf(mid, fb)), b);
        }
    }
    ck_assert_uint_eq(scl__half_from_float(65504.0f), 0x7bffu);
    ck_assert_uint_eq(scl__half_from_float(65519.99f), 0x7bffu);
    ck_assert_uint_eq(scl__half_from_float(65520.0f), 0x7c00u); /* the tie goes to even: inf */
    ck_assert_uint_eq(scl__half_from_float(-1e30f), 0xfc00u);
    ck_assert_uint_eq(scl__half_from_float(INFINITY), 0x7c00u);
    ck_assert_uint_eq(scl__half_from_float(0x1p-25f), 0x0000u); /* tie with 2^-24: to even 0 */
    ck_assert_uint_eq(scl__half_from_float(nextafterf(0x1p-25f, 1)), 0x0001u);
    ck_assert_uint_eq(scl__half_from_float(-0.0f), 0x8000u);
}
END_TEST

/* The device rounds as the host does: a 1x1 conv of one channel computes the exact product of
 * two halves (22 significant bits fit a float) and stores it with vstore_half_rte; the host
 * rounds the same product. Inputs span normal and subnormal results. */
START_TEST(test_half_device_rounding) {
    scl_context *ctx = tu_context();
    enum { H = 37, W = 53 };
    uint64_t seed = 4242;
    float *x = tu_random(H * W, &seed);
    for (int i = 0; i < H * W; i++)
        x[i] = rh(x[i] * powf(2.0f, (float)(i % 40) - 26.0f));
    float w = rh(1.0f / 3.0f), b = 0.0f;
    scl__op_shape s = {0, 1, 1, 1, 1, 0, 1};
    scl_op *op = NULL;
    TU_OK(ctx, scl__desc_create(ctx, &scl__pointwise_desc, &s, &w, &b, &op));
    scl_precision was = tu_set_storage(HALF);
    float *y = tu_run_op(ctx, op, x, 1, 1, H, W, TU_MAP_NONE, 1, H, W, TU_MAP_NONE, "x * w");
    tu_set_storage(was);
    for (int i = 0; i < H * W; i++) {
        float want = rh(fmaf(x[i], w, b)); /* the bias too: -0 * w + 0 is +0 */
        ck_assert_msg(memcmp(&y[i], &want, sizeof want) == 0,
                      "element %d: %a * %a stored as %a, the host rounds to %a", i, (double)x[i],
                      (double)w, (double)y[i], (double)want);
    }
    free(x), free(y);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- half tensors ---------------------------------------------------------------------------- */

START_TEST(test_half_tensor) {
    scl_context *ctx = tu_context();
    uint64_t seed = 99;
    enum { N = 2, C = 3, H = 5, W = 7, COUNT = N * C * H * W };
    float *x = tu_random(COUNT, &seed), y[COUNT];
    x[0] = 1e6f, x[1] = NAN, x[2] = 1e-7f;
    scl_tensor *t = NULL;
    TU_OK(ctx, scl_tensor_create_ex(ctx, N, C, H, W, HALF, &t));
    ck_assert_int_eq(scl_tensor_storage(t), HALF);
    TU_OK(ctx, scl_tensor_upload(t, x, COUNT));
    TU_OK(ctx, scl_tensor_download(t, y, COUNT));
    ck_assert(isinf(y[0]) && isnan(y[1]));
    for (int i = 2; i < COUNT; i++)
        ck_assert_msg(y[i] == rh(x[i]), "element %d: %g uploaded, %g read back", i, (double)x[i],
                      (double)y[i]);
    TU_OK(ctx, scl_tensor_fill(t, 0.1f));
    TU_OK(ctx, scl_tensor_download(t, y, COUNT));
    for (int i = 0; i < COUNT; i++)
        ck_assert(y[i] == rh(0.1f));
    /* a float tensor keeps being a float one */
    scl_tensor *f = NULL;
    TU_OK(ctx, scl_tensor_create_ex(ctx, 1, 1, 1, 1, SCL_PRECISION_DEFAULT, &f));
    ck_assert_int_eq(scl_tensor_storage(f), SCL_PRECISION_FLOAT32);
    scl_tensor *bad = NULL;
    TU_EXPECT_FAIL(ctx, scl_tensor_create_ex(ctx, 1, 1, 1, 1, SCL_PRECISION_FLOAT16, &bad),
                   SCL_ERROR_INVALID_ARGUMENT, "storage");
    ck_assert_ptr_null(bad);
    /* an op stored in halves refuses float tensors, and a float op half ones */
    float w[4] = {1, 2, 3, 4}, bias[2] = {0, 0};
    scl__op_shape s = {0, 2, 2, 1, 1, 0, 1};
    scl_op *op = NULL, *fop = NULL;
    TU_OK(ctx, scl__desc_create(ctx, &scl__pointwise_desc, &s, w, bias, &op));
    TU_OK(ctx, scl_op_pointwise_create(ctx, 2, 2, 1, 0, w, bias, &fop));
    scl_tensor *hin = NULL, *fin = NULL;
    TU_OK(ctx, scl_tensor_create_ex(ctx, 1, 2, 4, 4, HALF, &hin));
    TU_OK(ctx, scl_tensor_create(ctx, 1, 2, 4, 4, &fin));
    scl_op_args a = {.size = sizeof(scl_op_args), .in = fin, .out = hin};
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT,
                   "input tensor stores floats");
    a.in = hin, a.out = fin;
    TU_EXPECT_FAIL(ctx, scl_op_enqueue(fop, &a), SCL_ERROR_INVALID_ARGUMENT,
                   "input tensor stores halves");
    scl_op_destroy(op), scl_op_destroy(fop);
    scl_tensor_destroy(t), scl_tensor_destroy(f), scl_tensor_destroy(hin), scl_tensor_destroy(fin);
    free(x);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- every op family stored in halves ---------------------------------------------------------
 */

typedef enum fam { PW, DW, STEM, POOL, HEAD, SHUF, UNIT } fam;

typedef struct half_case {
    fam f;
    int n, cin, cout, groups, stride, flags, kind, h, w;
    tu_map_kind in_map, out_map;
} half_case;

#define R SCL_OP_RELU
#define S SCL_OP_RESIDUAL
/* clang-format off */
static const half_case cases[] = {
    /* f   n  cin cout g  s  flags kind h   w   in map          out map */
    {PW,   2, 24, 48,  4, 1, R | S, 0, 13, 11, TU_MAP_SHUFFLE, TU_MAP_ODD},
    {PW,   1, 58, 58,  1, 1, R,     0, 28, 28, TU_MAP_ODD,     TU_MAP_OFFSET},
    {PW,   1, 60, 240, 3, 1, R | S, 0, 7,  7,  TU_MAP_UNSHUFFLE, TU_MAP_NONE},
    {DW,   2, 16, 16, 16, 1, 0,     0, 17, 13, TU_MAP_EVEN,    TU_MAP_NONE},
    {DW,   1, 24, 24, 24, 2, R,     0, 28, 28, TU_MAP_NONE,    TU_MAP_SHUFFLE},
    {DW,   1, 8,  8,   8, 2, 0,     0, 9,  15, TU_MAP_RANDOM,  TU_MAP_NONE},
    {STEM, 2, 3,  24,  1, 2, R,     0, 33, 47, TU_MAP_NONE,    TU_MAP_ODD},
    {POOL, 2, 24, 24, 24, 2, 0,     0, 27, 19, TU_MAP_OFFSET,  TU_MAP_NONE},
    {POOL, 1, 24, 24, 24, 2, 0,     1, 56, 56, TU_MAP_NONE,    TU_MAP_EVEN},
    {HEAD, 2, 64, 37,  1, 1, 0,     0, 7,  7,  TU_MAP_SHUFFLE, TU_MAP_NONE},
    {HEAD, 3, 40, 10,  1, 1, 0,     0, 5,  9,  TU_MAP_NONE,    TU_MAP_NONE},
    {SHUF, 2, 24, 24,  3, 1, 0,     0, 9,  9,  TU_MAP_NONE,    TU_MAP_ODD},
    {SHUF, 1, 24, 24,  4, 1, 0,     1, 11, 6,  TU_MAP_EVEN,    TU_MAP_NONE},
    {UNIT, 1, 24, 24,  1, 1, 0,     0, 14, 14, TU_MAP_ODD,     TU_MAP_SHUFFLE},
    {UNIT, 2, 24, 48,  1, 2, 0,     0, 13, 13, TU_MAP_NONE,    TU_MAP_NONE},
    {UNIT, 1, 16, 48,  1, 2, 0,     1, 10, 12, TU_MAP_NONE,    TU_MAP_OFFSET},
    /* V1 units: grouped, residual (stride 1), average-pool shortcut (stride 2), first unit */
    {UNIT, 2, 48, 48,  3, 1, 0,     2, 11, 13, TU_MAP_SHUFFLE, TU_MAP_NONE},
    {UNIT, 1, 32, 96,  4, 2, 0,     2, 14, 14, TU_MAP_NONE,    TU_MAP_ODD},
    {UNIT, 1, 24, 240, 3, 2, 0,     3, 9,  9,  TU_MAP_NONE,    TU_MAP_NONE},
};
/* clang-format on */
#undef R
#undef S
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static const scl__op_desc *desc_of(fam f) {
    static const scl__op_desc *const d[] = {
        &scl__pointwise_desc, &scl__depthwise_desc, &scl__stem_desc, &scl__pool_desc,
        &scl__head_desc,      &scl__shuffle_desc,   &scl__unit_desc};
    return d[f];
}

/* The float64 reference of case hc on dense x (with residual r, weights w, biases b). */
static void reference(const half_case *hc, const double *x, const double *r, const double *w,
                      const double *b, double *out) {
    int n = hc->n, h = hc->h, wd = hc->w, relu = (hc->flags & SCL_OP_RELU) != 0;
    switch (hc->f) {
    case PW:
        ref_pointwise(x, n, hc->cin, hc->cout, hc->groups, h * wd, w, b, r, relu, out);
        break;
    case DW:
        ref_depthwise3x3(x, n, hc->cin, h, wd, hc->stride, w, b, relu, out);
        break;
    case STEM:
        ref_stem3x3s2(x, n, h, wd, hc->cout, w, b, out);
        break;
    case POOL:
        (hc->kind ? ref_avgpool3x3s2 : ref_maxpool3x3s2)(x, n, hc->cin, h, wd, out);
        break;
    case HEAD:
        ref_gap_fc(x, n, hc->cin, h, wd, hc->cout, w, b, out);
        break;
    case SHUF:
        ref_shuffle(x, n, hc->cin, h * wd, hc->groups, hc->kind, out);
        break;
    case UNIT:
        if (hc->kind >= SCL__UNIT_V1)
            ref_unit_v1(x, n, hc->cin, h, wd, hc->stride, hc->cout, hc->groups,
                        hc->kind == SCL__UNIT_V1 ? hc->groups : 1, w, b, out);
        else
            ref_unit(x, n, hc->cin, h, wd, hc->stride, hc->cout, hc->kind, w, b, out);
        break;
    }
}

/* Runs op on x (and residual r) through the case's maps: the input stored in halves except
 * the stem's, the output except the head's. */
static float *run_half(scl_context *ctx, scl_op *op, const half_case *hc, const float *x,
                       const float *r, int oh, int ow, const char *what) {
    int in_planes, out_planes;
    scl_chanmap *in_map = tu_make_map(ctx, hc->in_map, hc->cin, 5, &in_planes);
    scl_chanmap *out_map = tu_make_map(ctx, hc->out_map, hc->cout, 6, &out_planes);
    tu_set_storage(hc->f == STEM ? SCL_PRECISION_FLOAT32 : HALF);
    scl_tensor *in = tu_place(ctx, x, hc->n, hc->cin, hc->h, hc->w, in_map, in_planes);
    tu_set_storage(HALF);
    scl_tensor *res = r ? tu_tensor(ctx, hc->n, hc->cout, oh, ow, r) : NULL;
    tu_set_storage(hc->f == HEAD ? SCL_PRECISION_FLOAT32 : HALF);
    scl_tensor *out = tu_tensor(ctx, hc->n, out_planes, oh, ow, NULL);
    tu_set_storage(SCL_PRECISION_FLOAT32);
    TU_OK(ctx, scl_tensor_fill(out, NAN));
    scl_op_args a = {.size = sizeof(scl_op_args),
                     .in = in,
                     .in_map = in_map,
                     .out = out,
                     .out_map = out_map,
                     .residual = res};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *y = tu_collect(out, hc->cout, out_map, what);
    scl_tensor_destroy(in), scl_tensor_destroy(out), scl_tensor_destroy(res);
    scl_chanmap_destroy(in_map), scl_chanmap_destroy(out_map);
    return y;
}

/* Each output within one rounding to half of the float64 reference (2^-11 relative, checked at
 * 2^-10) plus `slack` times the reference's RMS: the float sums add next to nothing, but the
 * head's two-phase means are themselves rounded to halves before the FC. */
static void check_half(const char *what, const float *y, const double *ref, size_t n,
                       double slack) {
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += ref[i] * ref[i];
    double rms = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++) {
        double lim = 0x1p-10 * fabs(ref[i]) + slack * rms + 1e-30;
        ck_assert_msg(isfinite(y[i]) && fabs(y[i] - ref[i]) <= lim,
                      "%s: element %zu is %.9g, want %.9g (limit +-%.3g)", what, i, (double)y[i],
                      ref[i], lim);
    }
}

START_TEST(test_half_ops) {
    const half_case *hc = &cases[_i];
    if (tu_quick() && (size_t)hc->n * hc->cin * hc->h * hc->w > 12000) return;
    scl_context *ctx = tu_context();
    const scl__op_desc *d = desc_of(hc->f);
    scl__op_shape s = {hc->kind, hc->cin, hc->cout, hc->groups, hc->stride, hc->flags, 1};
    uint64_t seed = 8100 + (uint64_t)_i * 31;
    size_t nw = 0, nb = 0;
    if (d->weight_counts) d->weight_counts(&s, &nw, &nb);
    size_t nin = (size_t)hc->n * hc->cin * hc->h * hc->w;
    float *x = tu_random(nin, &seed), *w = nw ? tu_random(nw, &seed) : NULL;
    float *b = nb ? tu_random(nb, &seed) : NULL;
    int fan = hc->f == PW ? hc->cin / hc->groups : hc->f == HEAD ? hc->cin : hc->f == STEM ? 27 : 9;
    for (size_t i = 0; i < nw; i++)
        w[i] /= sqrtf((float)(hc->f == UNIT ? hc->cin : fan));
    /* what the halves hold: the reference starts from the same values (the stem's input and
     * every bias stay float) */
    if (hc->f != STEM) round_all(x, nin);
    if (w) round_all(w, nw);

    int samples[TU_SAMPLES][8];
    int ns = tu_desc_samples(ctx, d, &s, samples);
    for (int conf = 0; conf < 3; conf++) {
        int vals[8];
        if (conf == 0)
            d->defaults(&ctx->info, &s, vals);
        else
            memcpy(vals, samples[(2 * _i + conf) % ns], sizeof vals);
        char cfg[128], what[256];
        scl__desc_format(d, vals, cfg, sizeof cfg);
        snprintf(what, sizeof what, "half case %d (%s %dx%dx%dx%d -> %d, %s; maps %s/%s)", _i,
                 d->family, hc->n, hc->cin, hc->h, hc->w, hc->cout, cfg, tu_map_name(hc->in_map),
                 tu_map_name(hc->out_map));
        scl_op *op = NULL;
        TU_OK(ctx, d->create(ctx, &s, w, b, vals, &op));
        if (hc->f == UNIT && !scl__op_unit_fits(op, hc->n, hc->h, hc->w)) {
            /* Oclgrind's 32 KiB: the network would run this unit layer by layer */
            ck_assert_uint_lt(ctx->info.local_mem_bytes, 1024 * 1024);
            printf("%s: SKIPPED, the band does not fit %zu bytes of local memory\n", what,
                   (size_t)ctx->info.local_mem_bytes);
            scl_op_destroy(op);
            continue;
        }
        int oh, ow;
        scl_op_output_hw(op, hc->h, hc->w, &oh, &ow);
        size_t nout = (size_t)hc->n * hc->cout * oh * ow;
        float *r = NULL;
        if (hc->flags & SCL_OP_RESIDUAL) {
            r = tu_random(nout, &seed);
            round_all(r, nout);
        }
        float *y = run_half(ctx, op, hc, x, r, oh, ow, what);
        double *xd = tu_to_double(x, nin), *wd = w ? tu_to_double(w, nw) : NULL;
        double *bd = b ? tu_to_double(b, nb) : NULL, *rd = r ? tu_to_double(r, nout) : NULL;
        double *ref = malloc(nout * sizeof *ref);
        ck_assert_ptr_nonnull(ref);
        reference(hc, xd, rd, wd, bd, ref);
        check_half(what, y, ref, nout, hc->f == HEAD ? 2e-3 : 1e-6);
        free(y), free(r), free(xd), free(wd), free(bd), free(rd), free(ref);
        scl_op_destroy(op);
    }
    free(x), free(w), free(b);
    scl_context_destroy(ctx);
}
END_TEST

/* ---- networks ----------------------------------------------------------------------------------
 */

/* The documented tolerance of a half-storage network against float64 (docs/precision.md). */
#define NET_TOL 5e-3

static void check_network(const char *model, int n, int h, int w, int fused, uint64_t seed) {
    scl_context *ctx = tu_context();
    ref_weights *ws = tu_random_state(ref_network_weights(model), seed);
    const char *path = tu_tmp_path("half_", model);
    tu_write_state(path, ws, "");
    size_t count = (size_t)n * 3 * h * w;
    float *x = tu_random(count, &seed);
    double *xd = tu_to_double(x, count), *want = malloc((size_t)n * REF_CLASSES * sizeof *want);
    ck_assert_ptr_nonnull(want);
    char msg[512];
    ck_assert_msg(ref_network_forward(model, ws, xd, n, h, w, want, msg, sizeof msg) == 0, "%s",
                  msg);
    scl_network_options o = {.size = sizeof o,
                             .precision = HALF,
                             .fused_kernels = fused ? SCL_SWITCH_ON : SCL_SWITCH_OFF};
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create_ex(ctx, model, &o, &net));
    TU_OK(ctx, scl_network_load_weights(net, path));
    float *got = malloc((size_t)n * REF_CLASSES * sizeof *got);
    ck_assert_ptr_nonnull(got);
    for (int i = 0; i < n * REF_CLASSES; i++)
        got[i] = NAN;
    TU_OK(ctx, scl_network_run(net, x, n, h, w, got));
    double max_abs, rel = tu_rel_err(got, want, (size_t)n * REF_CLASSES, &max_abs);
    printf("%s %dx3x%dx%d half-storage%s: relative error %.2e\n", model, n, h, w,
           fused ? "" : " (unfused)", rel);
    ck_assert_msg(rel < NET_TOL, "%s half-storage: relative error %.3g (limit %.1g)", model, rel,
                  NET_TOL);
    /* random-weight logits are nearly tied: the top-1 must agree only where float64's leads by
     * well over the tolerance; elsewhere float64's top-1 must be in the top 5 */
    for (int b = 0; b < n; b++) {
        const double *wv = want + (size_t)b * REF_CLASSES;
        const float *gv = got + (size_t)b * REF_CLASSES;
        int t1 = 0, t2 = -1;
        double ss = 0;
        for (int k = 0; k < REF_CLASSES; k++) {
            ss += wv[k] * wv[k];
            if (wv[k] > wv[t1]) t1 = k;
        }
        for (int k = 0; k < REF_CLASSES; k++)
            if (k != t1 && (t2 < 0 || wv[k] > wv[t2])) t2 = k;
        int above = 0; /* classes shufflecl ranks above float64's top-1 */
        for (int k = 0; k < REF_CLASSES; k++)
            above += gv[k] > gv[t1];
        double margin = wv[t1] - wv[t2], rms = sqrt(ss / REF_CLASSES);
        if (margin > 10 * NET_TOL * rms)
            ck_assert_msg(above == 0, "%s image %d: top-1 differs (margin %.3g)", model, b, margin);
        else
            ck_assert_msg(above < 5, "%s image %d: float64's top-1 ranks %d", model, b, above + 1);
    }
    free(x), free(xd), free(want), free(got);
    ref_weights_free(ws);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}

START_TEST(test_half_networks) {
    if (tu_quick()) return;
    check_network("v2_x0_5", 2, 48, 64, 1, 301);
    check_network("v2_x1_0", 1, 65, 47, 0, 302);
    check_network("v1_g8_x0_5", 1, 57, 71, 1, 303);
}
END_TEST

/* ---- refusals ----------------------------------------------------------------------------------
 */

START_TEST(test_half_refusals) {
    scl_context *ctx = tu_context();
    scl_device_info info = {.size = sizeof info};
    TU_OK(ctx, scl_context_device_info(ctx, &info));
    scl_network *net = NULL;
    scl_network_options o = {.size = sizeof o, .precision = SCL_PRECISION_FLOAT16};
    /* 16-bit arithmetic: refused, saying why (here: no cl_khr_fp16 on either device) */
    TU_EXPECT_FAIL(ctx, scl_network_create_ex(ctx, "v2_x0_5", &o, &net), SCL_ERROR_UNSUPPORTED,
                   info.fp16 ? "no half-arithmetic kernels" : "no cl_khr_fp16");
    ck_assert_ptr_null(net);
    o.precision = (scl_precision)7;
    TU_EXPECT_FAIL(ctx, scl_network_create_ex(ctx, "v2_x0_5", &o, &net), SCL_ERROR_INVALID_ARGUMENT,
                   "precision = 7");
    /* the same through an op's shape */
    scl_op_shape shape = {.size = sizeof shape, .cin = 4, .cout = 4, .groups = 1, .stride = 1};
    shape.precision = SCL_PRECISION_FLOAT16;
    int vals[8] = {0};
    scl_op *op = NULL;
    int fam = scl_op_family_find("pointwise");
    ck_assert_int_eq(scl_op_family_samples(ctx, fam, &shape, vals, 1), SCL_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "scl_op_shape.precision = half"));
    /* an older scl_op_shape without the field is float32 */
    shape.size = offsetof(scl_op_shape, precision);
    ck_assert_int_eq(scl_op_family_samples(ctx, fam, &shape, vals, 1), 1);
    float w[16] = {0}, b[4] = {0};
    TU_OK(ctx, scl_op_create_config(ctx, fam, &shape, vals, w, b, &op));
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("half");
    TCase *tc = tcase_create("half");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_half_roundtrip_all);
    tcase_add_test(tc, test_half_rounding);
    tcase_add_test(tc, test_half_device_rounding);
    tcase_add_test(tc, test_half_tensor);
    tcase_add_loop_test(tc, test_half_ops, 0, NCASES);
    tcase_add_test(tc, test_half_networks);
    tcase_add_test(tc, test_half_refusals);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
