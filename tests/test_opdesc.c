/* test_opdesc.c: the op descriptors are consistent with themselves and with the kernels: every
 * probe and default is an allowed value and validates on the device, every kernel and -D option
 * the descriptor names is in its .cl file, bad values are refused with a message naming the
 * tunable and value; and the samples the op tests draw are deterministic. */
#include "ops/desc.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* Shapes each family is checked with: one ShuffleNet-like, one odd. */
static void shapes_of(const scl__op_desc *d, scl__op_shape s[2]) {
    if (d == &scl__pointwise_desc) {
        s[0] = (scl__op_shape){0, 116, 116, 1, 1, SCL_OP_RELU, 0};
        s[1] = (scl__op_shape){0, 60, 240, 3, 1, SCL_OP_RELU | SCL_OP_RESIDUAL, 0};
    } else if (d == &scl__depthwise_desc) {
        s[0] = (scl__op_shape){0, 58, 58, 58, 1, 0, 0};
        s[1] = (scl__op_shape){0, 5, 5, 5, 2, SCL_OP_RELU, 0};
    } else if (d == &scl__stem_desc) {
        s[0] = (scl__op_shape){0, 3, 24, 1, 2, SCL_OP_RELU, 0};
        s[1] = (scl__op_shape){0, 3, 5, 1, 2, SCL_OP_RELU, 0};
    } else if (d == &scl__pool_desc) {
        s[0] = (scl__op_shape){0, 24, 24, 24, 2, 0, 0};
        s[1] = (scl__op_shape){1, 7, 7, 7, 2, 0, 0};
    } else if (d == &scl__head_desc) {
        s[0] = (scl__op_shape){0, 1024, 1000, 1, 1, 0, 0};
        s[1] = (scl__op_shape){0, 7, 3, 1, 1, 0, 0};
    } else if (d == &scl__unit_desc) {
        s[0] = (scl__op_shape){0, 58, 58, 1, 1, 0, 0};
        s[1] = (scl__op_shape){1, 7, 20, 1, 2, 0, 0};
    } else {
        s[0] = (scl__op_shape){0, 116, 116, 2, 1, 0, 0};
        s[1] = (scl__op_shape){1, 12, 12, 3, 1, 0, 0};
    }
}

static int ndescs(void) {
    int n = 0;
    while (scl__op_descs[n])
        n++;
    return n;
}

START_TEST(test_desc_consistent) {
    const scl__op_desc *d = scl__op_descs[_i];
    scl_context *ctx = tu_context();
    ck_assert_int_ge(d->ntunables, 1);
    ck_assert_int_le(d->ntunables, SCL__MAX_TUNABLES);
    for (int j = 0; scl__op_descs[j]; j++)
        ck_assert(j == _i || strcmp(scl__op_descs[j]->family, d->family) != 0);
    /* the kernels and options named are the .cl file's */
    const char *src = NULL;
    size_t len = 0;
    int owned = 0;
    TU_OK(ctx, scl__cl_source(ctx, d->cl_file, &src, &len, &owned));
    char *text = malloc(len + 1);
    memcpy(text, src, len);
    text[len] = '\0';
    if (owned) free((void *)src);
    for (int k = 0; k < d->nkernels; k++)
        ck_assert_msg(strstr(text, d->kernels[k]) != NULL, "%s: kernel %s not in %s", d->family,
                      d->kernels[k], d->cl_file);
    for (int t = 0; t < d->ntunables; t++) {
        const scl__tunable *tn = &d->tunables[t];
        if (tn->option) {
            ck_assert(strncmp(tn->option, "-D", 2) == 0);
            ck_assert_msg(strstr(text, tn->option + 2) != NULL, "%s: %s not read by %s", d->family,
                          tn->option, d->cl_file);
        }
        ck_assert_int_ge(scl__tunable_nprobes(tn), 2);
        for (int p = 0; p < scl__tunable_nprobes(tn); p++)
            ck_assert_msg(scl__tunable_allows(tn, scl__tunable_probe(tn, p)),
                          "%s: probe %d of %s is not allowed", d->family, p, tn->name);
    }
    free(text);
    /* each device type's default is valid here, and a value outside a tunable's range is
     * refused naming it */
    scl__op_shape shapes[2];
    shapes_of(d, shapes);
    for (int si = 0; si < 2; si++) {
        /* every device type, and CPUs of each vector width (AVX-512, AVX2, NEON, none given) */
        static const struct {
            scl_device_type type;
            unsigned width;
        } devs[] = {{SCL_DEVICE_CPU, 16}, {SCL_DEVICE_CPU, 8}, {SCL_DEVICE_CPU, 4},
                    {SCL_DEVICE_CPU, 0},  {SCL_DEVICE_GPU, 1}, {SCL_DEVICE_ACCELERATOR, 1},
                    {SCL_DEVICE_OTHER, 0}};
        for (size_t di = 0; di < SCL_ARRAY_LEN(devs); di++) {
            int v[SCL__MAX_TUNABLES];
            scl_device_info dev = {
                .size = sizeof dev, .type = devs[di].type, .native_float_width = devs[di].width};
            d->defaults(&dev, &shapes[si], v);
            TU_OK(ctx, scl__desc_validate(ctx, d, &shapes[si], v, "default"));
            for (int t = 0; t < d->ntunables; t++) {
                int bad[SCL__MAX_TUNABLES];
                memcpy(bad, v, sizeof bad);
                bad[t] = -1000000;
                char want[64];
                snprintf(want, sizeof want, "%s = -1000000", d->tunables[t].name);
                TU_EXPECT_FAIL(ctx, scl__desc_validate(ctx, d, &shapes[si], bad, "t"),
                               SCL_ERROR_INVALID_ARGUMENT, want);
            }
        }
        /* samples: deterministic, distinct, valid, led by this device type's default */
        int a[32][SCL__MAX_TUNABLES], b[32][SCL__MAX_TUNABLES], def[SCL__MAX_TUNABLES];
        int na = scl__desc_samples(ctx, d, &shapes[si], SCL__SAMPLE_SPREAD, a, 32);
        int nb = scl__desc_samples(ctx, d, &shapes[si], SCL__SAMPLE_SPREAD, b, 32);
        ck_assert_int_eq(na, nb);
        ck_assert_int_ge(na, 2);
        ck_assert(memcmp(a, b, (size_t)na * sizeof a[0]) == 0);
        scl_device_info info = {.size = sizeof(scl_device_info)};
        TU_OK(ctx, scl_context_device_info(ctx, &info));
        d->defaults(&info, &shapes[si], def);
        ck_assert(memcmp(a[0], def, (size_t)d->ntunables * sizeof def[0]) == 0);
        for (int i = 0; i < na; i++) {
            TU_OK(ctx, scl__desc_validate(ctx, d, &shapes[si], a[i], "sample"));
            for (int j = 0; j < i; j++)
                ck_assert(memcmp(a[i], a[j], (size_t)d->ntunables * sizeof a[i][0]) != 0);
        }
        /* the search's axes: the default, then one tunable changed at a time */
        int ax = scl__desc_samples(ctx, d, &shapes[si], SCL__SAMPLE_AXES, a, 32);
        ck_assert_int_ge(ax, 2);
        for (int i = 1; i < ax; i++) {
            int diff = 0;
            for (int t = 0; t < d->ntunables; t++)
                diff += a[i][t] != def[t];
            ck_assert_int_eq(diff, 1);
        }
    }
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("opdesc");
    TCase *tc = tcase_create("desc");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_desc_consistent, 0, ndescs());
    suite_add_tcase(s, tc);
    return tu_run(s);
}
