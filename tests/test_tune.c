/* test_tune.c: the auto-tuner writes a per-device table, later networks use it and give the same
 * logits, and a table measured with other kernel sources is ignored as stale. */
#include "testutil.h"
#include "tune/tune.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void run_net(scl_context *ctx, const float *x, float *y, int *tuned) {
    scl_network *net;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    TU_OK(ctx, scl_network_random_weights(net, 3));
    TU_OK(ctx, scl_network_run(net, x, 2, 64, 64, y));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    TU_OK(ctx, scl_network_get_stats(net, 2, 64, 64, &s));
    *tuned = s.tuned_layers;
    scl_network_destroy(net);
}

START_TEST(test_tune_roundtrip) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tune-%ld", tu_tmpdir(), (long)getpid());
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    uint64_t seed = 9;
    float *x = tu_random(2 * 3 * 64 * 64, &seed), *y0 = malloc(2000 * sizeof(float)), *y1 = malloc(2000 * sizeof(float));
    int tuned = -1;
    run_net(ctx, x, y0, &tuned);
    ck_assert_int_eq(tuned, 0); /* no table yet */

    scl_tune_report r = {.size = sizeof(scl_tune_report)};
    TU_OK(ctx, scl_tune_model(ctx, "v2_x0_5", 1, 64, 64, NULL, NULL, &r));
    ck_assert_int_ge(r.shapes, 8); /* distinct pointwise and depthwise shapes of v2_x0_5 */
    ck_assert_int_gt(r.candidates, r.shapes);
    ck_assert_int_eq(r.rejected, 0);
    ck_assert(r.tuned_ms <= r.default_ms);
    FILE *f = fopen(r.path, "r");
    ck_assert_msg(f != NULL, "no tuning file at %s", r.path);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "shufflecl-tune 1\n");
    int entries = 0;
    while (fgets(line, sizeof line, f)) entries += strncmp(line, "pointwise ", 10) == 0 || strncmp(line, "depthwise ", 10) == 0;
    fclose(f);
    ck_assert_int_eq(entries, r.improved);

    /* a network made now uses the table, and computes the same logits */
    run_net(ctx, x, y1, &tuned);
    ck_assert_int_ge(tuned, r.improved > 0 ? 1 : 0);
    double *ref = tu_to_double(y0, 2000);
    tu_check_close("tuned network vs default", y1, ref, 2000, 1e-6, 1e-5);
    free(ref);

    if (entries > 0) {
        /* the same table measured with other kernel sources is stale: ignored */
        f = fopen(r.path, "r+");
        ck_assert_ptr_nonnull(f);
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        fseek(f, (long)strlen(line) + 7, SEEK_SET); /* inside the hex of "source <hash>" */
        fputc('z', f);
        fclose(f);
        scl__tune_release(ctx);
        run_net(ctx, x, y1, &tuned);
        ck_assert_int_eq(tuned, 0);
    }
    free(x), free(y0), free(y1);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_tune_errors) {
    scl_context *ctx = tu_context();
    scl_tune_report r = {.size = sizeof(scl_tune_report)};
    ck_assert_int_eq(scl_tune_model(ctx, "nope", 1, 64, 64, NULL, NULL, &r), SCL_ERROR_UNSUPPORTED_MODEL);
    TU_OK(ctx, scl_context_set_cache_dir(ctx, NULL));
    ck_assert_int_eq(scl_tune_model(ctx, "v2_x0_5", 1, 64, 64, NULL, NULL, &r), SCL_ERROR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "cache directory"));
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tune");
    TCase *tc = tcase_create("tune");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_tune_roundtrip);
    tcase_add_test(tc, test_tune_errors);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
