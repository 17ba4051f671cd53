/* test_plan.c: the activation planner as the pure function it is (no device): buffers alive at
 * the same time never share a slot, each slot holds its largest buffer, reuse really happens, and
 * asking for figures never disturbs a network's own plan. */
#include "net/plan.h"
#include "testutil.h"

#include <stdlib.h>

/* True when buffers a and b are both alive at some layer (one is touched while the other lives). */
static int overlap(const scl_model *m, int a, int b) {
    int fa = m->nlayers, la = -1, fb = m->nlayers, lb = -1;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        int ids[3] = {l->in_buf, l->out_buf, l->res_buf};
        for (int k = 0; k < 3; k++) {
            if (ids[k] == a) fa = fa < i ? fa : i, la = la > i ? la : i;
            if (ids[k] == b) fb = fb < i ? fb : i, lb = lb > i ? lb : i;
        }
    }
    return fa <= lb && fb <= la;
}

START_TEST(test_plan_every_model) {
    const char *name = scl__model_names[_i];
    scl_model *m = NULL;
    ck_assert_int_eq(scl__model_build(name, 0, &m), SCL_OK);
    const int shapes[][3] = {{1, 224, 224}, {3, 65, 47}, {2, 1, 1}};
    for (size_t k = 0; k < SCL_ARRAY_LEN(shapes); k++) {
        scl_plan p;
        ck_assert_int_eq(scl__plan_compute(m, shapes[k][0], shapes[k][1], shapes[k][2], &p),
                         SCL_OK);
        ck_assert_int_eq(p.slot_of[0], -1);
        ck_assert_int_eq(p.slot_of[m->nbufs - 1], -1);
        size_t sum = 0, naive = 0;
        for (int s = 0; s < p.nslots; s++)
            sum += p.slot_bytes[s];
        ck_assert_uint_eq(sum, p.activation_bytes);
        for (int b = 1; b < m->nbufs - 1; b++) {
            int s = p.slot_of[b];
            if (s < 0) continue; /* no layer touches it */
            ck_assert_msg(s >= 0 && s < p.nslots, "%s: buffer %d has slot %d", name, b, s);
            ck_assert_uint_ge(p.slot_bytes[s], p.buf_bytes[b]);
            ck_assert_uint_gt(p.buf_bytes[b], 0);
            naive += p.buf_bytes[b];
            for (int c = 1; c < b; c++)
                if (p.slot_of[c] == s)
                    ck_assert_msg(!overlap(m, b, c), "%s: live buffers %d and %d share slot %d",
                                  name, c, b, s);
        }
        /* reuse is the point: far fewer slots than buffers, and less memory than one each */
        ck_assert_int_lt(p.nslots, (m->nbufs - 2) / 2);
        ck_assert_uint_lt(p.activation_bytes, naive);
        scl__plan_free(&p);
        ck_assert_ptr_null(p.slot_of);
    }
    scl_plan p;
    ck_assert_int_eq(scl__plan_compute(m, 0, 8, 8, &p), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__plan_compute(m, 1 << 30, 1 << 15, 1 << 15, &p),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(p.slot_of);
    scl__model_free(m);
}
END_TEST

/* A buffer no layer touches gets no slot, and does not free the slot of a live one. */
START_TEST(test_plan_unused_buffer) {
    scl_model *m = NULL;
    ck_assert_int_eq(scl__model_build("v2_x0_5", 0, &m), SCL_OK);
    scl_plan before;
    ck_assert_int_eq(scl__plan_compute(m, 1, 32, 32, &before), SCL_OK);
    /* an extra buffer numbered before the output, used by nothing */
    scl_bufdef *grown = realloc(m->bufs, (size_t)(m->nbufs + 1) * sizeof *grown);
    ck_assert_ptr_nonnull(grown);
    m->bufs = grown;
    int out = m->nbufs - 1;
    m->bufs[out + 1] = m->bufs[out];
    m->bufs[out] = (scl_bufdef){.channels = 64, .level = 1};
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i].out_buf == out) m->layers[i].out_buf = out + 1;
    m->nbufs++;
    scl_plan p;
    ck_assert_int_eq(scl__plan_compute(m, 1, 32, 32, &p), SCL_OK);
    ck_assert_int_eq(p.slot_of[out], -1);
    ck_assert_int_eq(p.nslots, before.nslots);
    ck_assert_uint_eq(p.activation_bytes, before.activation_bytes);
    for (int b = 1; b < out; b++)
        ck_assert_int_eq(p.slot_of[b], before.slot_of[b]);
    scl__plan_free(&p);
    scl__plan_free(&before);
    scl__model_free(m);
}
END_TEST

/* scl_network_get_stats is pure: it reports any shape without replacing the reshaped plan. */
START_TEST(test_stats_keep_plan) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    TU_OK(ctx, scl_network_random_weights(net, 3));
    TU_OK(ctx, scl_network_reshape(net, 1, 32, 32));
    scl_launch_info before = {.size = sizeof(scl_launch_info)},
                    after = {.size = sizeof(scl_launch_info)};
    TU_OK(ctx, scl_network_launch_info(net, 0, &before));
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    TU_OK(ctx, scl_network_get_stats(net, 4, 96, 96, &s));
    ck_assert_uint_gt(s.activation_bytes, 0);
    TU_OK(ctx, scl_network_launch_info(net, 0, &after));
    /* launch 0 (the stem) still describes the 1 x 3 x 32 x 32 plan */
    ck_assert_int_eq(after.macs, before.macs);
    ck_assert_int_eq(after.macs, (int64_t)24 * 27 * 16 * 16);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    int nmodels = 0;
    while (scl__model_names[nmodels])
        nmodels++;
    tcase_add_loop_test(tc, test_plan_every_model, 0, nmodels);
    tcase_add_test(tc, test_plan_unused_buffer);
    tcase_add_test(tc, test_stats_keep_plan);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
