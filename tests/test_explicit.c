/* test_explicit.c: the zero-copy network (shuffle, split and concat as channel maps) computes
 * exactly what the same network with every one of them materialised as a copy launch does, layer
 * by layer (fused units off); with its units fused (another summation order) it agrees to float
 * rounding. */
#include "shufflecl_ext.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "megvii_v2": Megvii's V2 layout (even/odd split, no shuffle) at v2_x0_5's widths */
static const char *const models[] = {"v2_x0_5", "v1_g3_x0_5", "v1_g8_x0_5", "v1_g1_x1_0",
                                     "megvii_v2"};

static float *run(scl_context *ctx, const char *model, int explicit_copies, scl_switch fused,
                  const float *x, int *launches) {
    scl_network *net;
    scl_network_options o = {.size = sizeof o, .fused_kernels = fused};
    if (strcmp(model, "megvii_v2") == 0) {
        scl_model_desc d;
        d.size = sizeof d;
        TU_OK(NULL, scl_model_preset("v2_x0_5", &d));
        d.layout = SCL_LAYOUT_MEGVII_V2, d.preprocess = SCL_PREPROCESS_MEGVII;
        TU_OK(ctx, scl_network_create_desc_ex(ctx, &d, &o, &net));
    } else {
        TU_OK(ctx, scl_network_create_ex(ctx, model, &o, &net));
    }
    if (explicit_copies) TU_OK(ctx, scl_network_set_explicit_copies(net, 1));
    TU_OK(ctx, scl_network_random_weights(net, 21));
    float *y = malloc(2 * 1000 * sizeof *y);
    TU_OK(ctx, scl_network_run(net, x, 2, 48, 64, y));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    TU_OK(ctx, scl_network_get_stats(net, 2, 48, 64, &s));
    *launches = s.launches;
    /* the mode must be chosen before weights exist */
    ck_assert_int_eq(scl_network_set_explicit_copies(net, 0), SCL_ERROR_INVALID_ARGUMENT);
    scl_network_destroy(net);
    return y;
}

START_TEST(test_explicit_equals_maps) {
    scl_context *ctx = tu_context();
    uint64_t seed = 77 + (uint64_t)_i;
    float *x = tu_random(2 * 3 * 48 * 64, &seed);
    int l_maps, l_copies, l_fused;
    float *a = run(ctx, models[_i], 0, SCL_SWITCH_OFF, x, &l_maps);
    float *b = run(ctx, models[_i], 1, SCL_SWITCH_DEFAULT, x, &l_copies);
    float *f = run(ctx, models[_i], 0, SCL_SWITCH_ON, x, &l_fused);
    double md = 0, mf = 0, mag = 0;
    for (int i = 0; i < 2000; i++) {
        md = fabs(a[i] - b[i]) > md ? fabs(a[i] - b[i]) : md;
        mf = fabs(f[i] - b[i]) > mf ? fabs(f[i] - b[i]) : mf;
        mag = fabs(b[i]) > mag ? fabs(b[i]) : mag;
    }
    ck_assert_msg(memcmp(a, b, 2000 * sizeof(float)) == 0,
                  "%s: the zero-copy and explicit networks differ (by up to %g)", models[_i], md);
    ck_assert_msg(mf <= 1e-5 * mag, "%s: the fused network differs by up to %g (logits up to %g)",
                  models[_i], mf, mag);
    ck_assert_int_gt(l_copies, l_maps);
    /* V2 fuses its 16 units (54 layers into 16 launches), V1 its 16 (51 layers) */
    ck_assert_int_eq(l_fused,
                     models[_i][1] == '2' || models[_i][0] == 'm' ? l_maps - 38 : l_maps - 35);
    free(a), free(b), free(f), free(x);
    scl_context_destroy(ctx);
}
END_TEST

/* A shape whose stride-2 units need more local memory than a CPU device has (rows 8192 wide): the
 * fused network runs those units layer by layer and the rest fused, and agrees with the network
 * that runs every layer on its own. V2, then V1 (whose fallback makes its pool's op too) at a
 * width where only some of its units fall back. */
START_TEST(test_fused_fallback) {
    static const char *const nets[] = {"v2_x1_0", "v1_g3_x1_0"};
    /* V1's stride-2 units of stages 3 and 4 are over PoCL's 2 MiB at 4096 (the rest fit) */
    static const int unfused[] = {59, 55}, all_fused[] = {21, 20}, widths[] = {8192, 4096};
    scl_context *ctx = tu_context();
    uint64_t seed = 4242;
    const int h = 8, w = widths[_i];
    float *x = tu_random((size_t)3 * h * w, &seed);
    float *y[2];
    int launches[2];
    for (int k = 0; k < 2; k++) {
        scl_network_options o = {.size = sizeof o,
                                 .fused_kernels = k ? SCL_SWITCH_OFF : SCL_SWITCH_ON};
        scl_network *net;
        TU_OK(ctx, scl_network_create_ex(ctx, nets[_i], &o, &net));
        TU_OK(ctx, scl_network_random_weights(net, 5));
        y[k] = malloc(1000 * sizeof *y[k]);
        TU_OK(ctx, scl_network_run(net, x, 1, h, w, y[k]));
        launches[k] = scl_network_launch_count(net);
        scl_network_destroy(net);
    }
    double mf = 0, mag = 0;
    for (int i = 0; i < 1000; i++) {
        mf = fabs(y[0][i] - y[1][i]) > mf ? fabs(y[0][i] - y[1][i]) : mf;
        mag = fabs(y[1][i]) > mag ? fabs(y[1][i]) : mag;
    }
    ck_assert_msg(mf <= 1e-5 * mag, "%s: fused with fallback differs by up to %g (logits up to %g)",
                  nets[_i], mf, mag);
    ck_assert_int_eq(launches[1], unfused[_i]);
    ck_assert_int_ge(launches[0], all_fused[_i]);
    ck_assert_int_le(launches[0], unfused[_i]);
    printf("%s at 1x3x%dx%d: %d launches fused (with fallback), %d not\n", nets[_i], h, w,
           launches[0], launches[1]);
    free(y[0]), free(y[1]), free(x);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("explicit");
    TCase *tc = tcase_create("explicit");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_explicit_equals_maps, 0, (int)(sizeof models / sizeof models[0]));
    tcase_add_loop_test(tc, test_fused_fallback, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
