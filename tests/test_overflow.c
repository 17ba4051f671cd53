/* test_overflow.c: public entry points refuse sizes whose integer arithmetic would overflow
 * (channel maps, tensors, op creation, network runs and introspection) with
 * SCL_ERROR_INVALID_ARGUMENT and a message naming the sizes, before reading or writing
 * anything. Each case passes arrays far smaller than the sizes claim: a missing check reads
 * or writes out of bounds instead of failing cleanly. */
#include "core/internal.h"
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The finding: offset + c * stride overflowed int and the map wrote out of bounds. */
START_TEST(test_chanmap_strided_overflow) {
    scl_context *ctx = tu_context();
    scl_chanmap *m = (scl_chanmap *)1;
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_strided(ctx, 4, 0, 1 << 30, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "stride 1073741824");
    ck_assert_ptr_null(m);
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_strided(ctx, 2, INT_MAX, 1, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "2147483647");
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_strided(ctx, 65536, 0, 65536, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "4294901760");
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_strided(ctx, SCL__MAX_CHANNELS + 1, 0, 1, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "134217728");
    /* the highest plane a tensor can have is still accepted */
    TU_OK(ctx, scl_chanmap_create_strided(ctx, 2, SCL__MAX_CHANNELS - 3, 2, &m));
    ck_assert_int_eq(scl_chanmap_plane(m, 1), SCL__MAX_CHANNELS - 1);
    ck_assert_int_eq(m->has_duplicates, 0);
    scl_chanmap_destroy(m);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_chanmap_table_bounds) {
    scl_context *ctx = tu_context();
    scl_chanmap *m = NULL;
    const int huge[2] = {0, INT_MAX};
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_table(ctx, 2, huge, &m), SCL_ERROR_INVALID_ARGUMENT,
                   "planes[1] = 2147483647");
    ck_assert_ptr_null(m);
    /* a channel count over the bound is refused before planes[] is read (it holds 2) */
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_table(ctx, INT_MAX, huge, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "channels = 2147483647");
    /* the duplicate check costs memory by channel count, not by the highest plane */
    const int far[3] = {SCL__MAX_CHANNELS - 1, 7, SCL__MAX_CHANNELS - 1};
    TU_OK(ctx, scl_chanmap_create_table(ctx, 3, far, &m));
    ck_assert_int_eq(m->has_duplicates, 1);
    ck_assert_int_eq(m->max_plane, SCL__MAX_CHANNELS - 1);
    scl_chanmap_destroy(m);
    TU_OK(ctx, scl_chanmap_create_table(ctx, 2, far, &m));
    ck_assert_int_eq(m->has_duplicates, 0);
    scl_chanmap_destroy(m);
    TU_EXPECT_FAIL(ctx, scl_chanmap_create_shuffle(ctx, 1 << 30, 2, 0, &m),
                   SCL_ERROR_INVALID_ARGUMENT, "channels = 1073741824");
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_tensor_bounds) {
    scl_context *ctx = tu_context();
    scl_tensor *t = (scl_tensor *)1;
    TU_EXPECT_FAIL(ctx, scl_tensor_create(ctx, INT_MAX, INT_MAX, INT_MAX, INT_MAX, &t),
                   SCL_ERROR_INVALID_ARGUMENT, "2147483647x2147483647");
    ck_assert_ptr_null(t);
    TU_EXPECT_FAIL(ctx, scl_tensor_create(ctx, 1, 1 << 20, 1 << 10, 1 << 10, &t),
                   SCL_ERROR_INVALID_ARGUMENT, "too large");
    /* 2^31 - 16 floats of planes: addressable, but not with the 32 elements of slack a buffer
     * keeps past its last plane (the fused units' vector loads read into it) */
    TU_EXPECT_FAIL(ctx, scl_tensor_create(ctx, 1, (INT_MAX - 15) / 16, 4, 4, &t),
                   SCL_ERROR_INVALID_ARGUMENT, "too large");
    ck_assert_ptr_null(t);
    scl_context_destroy(ctx);
}
END_TEST

/* Every op refuses channel counts no tensor can have, and weight counts kernels cannot index,
 * before it reads its one-float weight array. */
START_TEST(test_op_bounds) {
    scl_context *ctx = tu_context();
    const float one[1] = {1.0f};
    scl_op *op = (scl_op *)1;
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, 65536, 65536, 1, 0, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "65536 x 65536 weights");
    ck_assert_ptr_null(op);
    TU_EXPECT_FAIL(ctx, scl_op_pointwise_create(ctx, INT_MAX, 8, 1, 0, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cin = 2147483647");
    TU_EXPECT_FAIL(ctx, scl_op_depthwise_create(ctx, 1 << 28, 1, 0, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "channels = 268435456");
    TU_EXPECT_FAIL(ctx, scl_op_stem_create(ctx, 100000000, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cout = 100000000");
    TU_EXPECT_FAIL(ctx, scl_op_maxpool_create(ctx, INT_MAX, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "channels = 2147483647");
    TU_EXPECT_FAIL(ctx, scl_op_gap_fc_create(ctx, INT_MAX, 10, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "cin = 2147483647");
    TU_EXPECT_FAIL(ctx, scl_op_gap_fc_create(ctx, 100000, 100000, one, NULL, &op),
                   SCL_ERROR_INVALID_ARGUMENT, "100000 x 100000");
    TU_EXPECT_FAIL(ctx, scl_op_shuffle_create(ctx, 1 << 30, 2, 0, &op), SCL_ERROR_INVALID_ARGUMENT,
                   "channels = 1073741824");
    /* stride-2 output sizes of the largest int, without (h + 1) overflowing */
    TU_OK(ctx, scl_op_maxpool_create(ctx, 8, &op));
    int oh = 0, ow = 0;
    scl_op_output_hw(op, INT_MAX, INT_MAX - 1, &oh, &ow);
    ck_assert_int_eq(oh, 1073741824);
    ck_assert_int_eq(ow, 1073741823);
    scl_op_destroy(op);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_network_bounds) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    scl_layer_info li = {.size = sizeof(scl_layer_info)};
    TU_EXPECT_FAIL(ctx, scl_network_layer_info(net, 3, INT_MAX, INT_MAX, &li),
                   SCL_ERROR_INVALID_ARGUMENT, "1x3x2147483647x2147483647");
    scl_network_stats stats = {.size = sizeof(scl_network_stats)};
    TU_EXPECT_FAIL(ctx, scl_network_get_stats(net, 1 << 20, 1 << 20, 1 << 20, &stats),
                   SCL_ERROR_INVALID_ARGUMENT, "1048576x3x1048576x1048576");
    /* the largest sizes that pass still give finite, positive counts */
    TU_OK(ctx, scl_network_layer_info(net, 3, 26754, 26754, &li));
    ck_assert(li.macs > 0 && li.out_h > 0 && li.out_h <= 13377);

    TU_OK(ctx, scl_network_random_weights(net, 5));
    float x[3 * 8 * 8] = {0}, y[1000];
    TU_EXPECT_FAIL(ctx, scl_network_run(net, x, 1, 1 << 16, 1 << 16, y), SCL_ERROR_INVALID_ARGUMENT,
                   "1x3x65536x65536");
    TU_EXPECT_FAIL(ctx, scl_network_run(net, x, INT_MAX, 8, 8, y), SCL_ERROR_INVALID_ARGUMENT,
                   "2147483647x3x8x8");
    /* an input under the limit whose activations are over it: refused when planned */
    TU_EXPECT_FAIL(ctx, scl_network_get_stats(net, 1, 20000, 20000, &stats),
                   SCL_ERROR_INVALID_ARGUMENT, "activations");
    cl_int e;
    cl_mem in = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_READ_WRITE, 4096, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem out = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_READ_WRITE, 4096, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    TU_EXPECT_FAIL(ctx, scl_network_enqueue(net, in, out, 1, INT_MAX, INT_MAX, 0, NULL, NULL),
                   SCL_ERROR_INVALID_ARGUMENT, "limit");
    clReleaseMemObject(in);
    clReleaseMemObject(out);
    /* still usable after every refusal */
    for (size_t i = 0; i < SCL_ARRAY_LEN(x); i++)
        x[i] = (float)(i % 7) * 0.1f;
    TU_OK(ctx, scl_network_run(net, x, 1, 8, 8, y));
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("overflow");
    TCase *tc = tcase_create("overflow");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_chanmap_strided_overflow);
    tcase_add_test(tc, test_chanmap_table_bounds);
    tcase_add_test(tc, test_tensor_bounds);
    tcase_add_test(tc, test_op_bounds);
    tcase_add_test(tc, test_network_bounds);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
