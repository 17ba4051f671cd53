/* test_blocks.c: a batch run in blocks (scl_network_options.batch_block, SHUFFLECL_BATCH_BLOCK,
 * the tuning table's "block" entries) computes the logits the whole batch does, through both
 * ways a block reaches its images and logits (a sub-buffer where the offset is aligned, a copy
 * where not), with a shorter last block, through scl_network_enqueue's caller buffers and
 * events, and at half storage; the launches multiply by the blocks and are counted so; bad
 * options, environment values and table entries are refused or ignored. */
#include "cli/quirks.h"
#include "net/network.h"
#include "shufflecl_ext.h"
#include "testutil.h"
#include "tune/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 5

/* 40 x 48: a block's images start 128-byte aligned (sub-buffers); 37 x 45: they do not (copies).
 * Logits of 1000 classes: blocks of 4 aligned, of 1, 2 and 3 not. */
static const int sizes[][2] = {{40, 48}, {37, 45}};
static const char *const models[] = {"v2_x0_5", "v1_g3_x0_5"};

static scl_network *make(scl_context *ctx, const char *model, int block, scl_precision prec) {
    scl_network_options o = {.size = sizeof o, .batch_block = block, .precision = prec};
    scl_network *net;
    TU_OK(ctx, scl_network_create_ex(ctx, model, &o, &net));
    TU_OK(ctx, scl_network_random_weights(net, 99));
    return net;
}

/* Logits of n images through a network of the given block (poisoned first). */
static float *logits(scl_context *ctx, const char *model, int block, scl_precision prec,
                     const float *x, int n, int h, int w, int *launches) {
    scl_network *net = make(ctx, model, block, prec);
    float *y = malloc((size_t)n * 1000 * sizeof *y);
    for (int i = 0; i < n * 1000; i++)
        y[i] = NAN;
    TU_OK(ctx, scl_network_run(net, x, n, h, w, y));
    *launches = scl_network_launch_count(net);
    scl_network_stats s = {.size = sizeof s};
    TU_OK(ctx, scl_network_get_stats(net, n, h, w, &s));
    ck_assert_int_eq(s.launches, *launches);
    scl_network_destroy(net);
    return y;
}

static double rel_diff(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += isfinite(a[i]) ? d * d : INFINITY;
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

/* Every block size against the whole batch, per model and size (the loop index). */
START_TEST(test_blocks_equal) {
    const char *model = models[_i / 2];
    const int h = sizes[_i % 2][0], w = sizes[_i % 2][1];
    scl_context *ctx = tu_context();
    uint64_t seed = 500 + (uint64_t)_i;
    float *x = tu_random((size_t)N * 3 * h * w, &seed);
    int whole_launches, one_launches;
    float *ref = logits(ctx, model, 0, SCL_PRECISION_FLOAT32, x, N, h, w, &whole_launches);
    float *one = logits(ctx, model, 0, SCL_PRECISION_FLOAT32, x, 1, h, w, &one_launches);
    ck_assert_int_eq(whole_launches, one_launches); /* no blocks by default */
    for (int b = 1; b <= N; b++) {
        int launches;
        float *y = logits(ctx, model, b, SCL_PRECISION_FLOAT32, x, N, h, w, &launches);
        double e = rel_diff(y, ref, (size_t)N * 1000);
        /* every image computed by the same kernels: rounding at most (bands may split rows) */
        ck_assert_msg(e <= 1e-6, "%s %dx%d in blocks of %d: %g from the whole batch", model, h, w,
                      b, e);
        ck_assert_int_eq(launches, one_launches * ((N + b - 1) / b));
        free(y);
    }
    /* one image in blocks of 4 is the whole batch */
    int launches;
    float *y = logits(ctx, model, 4, SCL_PRECISION_FLOAT32, x, 1, h, w, &launches);
    ck_assert_int_eq(launches, one_launches);
    ck_assert(rel_diff(y, one, 1000) <= 1e-6);
    free(y), free(ref), free(one), free(x);
    scl_context_destroy(ctx);
}
END_TEST

/* scl_network_enqueue with the caller's buffers: an input that is itself a sub-buffer (no
 * sub-buffer of it can be made: copies), logits at an unaligned place, a wait list that holds the
 * first block back and an event for the last one. */
START_TEST(test_blocks_enqueue) {
    const int h = 40, w = 48, n = 5;
    scl_context *ctx = tu_context();
    uint64_t seed = 600;
    float *x = tu_random((size_t)n * 3 * h * w, &seed);
    int whole;
    float *ref = logits(ctx, "v2_x0_5", 0, SCL_PRECISION_FLOAT32, x, n, h, w, &whole);
    scl_network *net = make(ctx, "v2_x0_5", 2, SCL_PRECISION_FLOAT32);
    cl_context cl = scl_context_cl_context(ctx);
    cl_command_queue q = scl_context_cl_queue(ctx);
    cl_int e;
    size_t in_bytes = (size_t)n * 3 * h * w * sizeof(float), out_bytes = (size_t)n * 1000 * 4;
    cl_mem parent = clCreateBuffer(cl, CL_MEM_READ_WRITE, in_bytes + 4096, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_buffer_region r = {4096, in_bytes}; /* 4096 bytes: aligned for any device */
    cl_mem in = clCreateSubBuffer(parent, 0, CL_BUFFER_CREATE_TYPE_REGION, &r, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem out = clCreateBuffer(cl, CL_MEM_READ_WRITE, out_bytes, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    ck_assert_int_eq(clEnqueueWriteBuffer(q, in, CL_TRUE, 0, in_bytes, x, 0, NULL, NULL),
                     CL_SUCCESS);
    float nan = NAN;
    ck_assert_int_eq(clEnqueueFillBuffer(q, out, &nan, sizeof nan, 0, out_bytes, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clFinish(q), CL_SUCCESS);
    cl_event gate = NULL, done = NULL;
    int user = !cli_user_event_deadlocks(scl_context_cl_device(ctx));
    if (!user)
        printf("test_blocks_enqueue: SKIPPED the user-event gate: this device deadlocks "
               "completing a user event (docs/pocl-basic-user-event.md); gating on a marker\n");
    if (user)
        gate = clCreateUserEvent(cl, &e);
    else
        e = clEnqueueMarkerWithWaitList(q, 0, NULL, &gate);
    ck_assert_int_eq(e, CL_SUCCESS);
    TU_OK(ctx, scl_network_enqueue(net, in, out, n, h, w, 1, &gate, &done));
    ck_assert_ptr_nonnull(done);
    if (user) {
        cl_int status;
        ck_assert_int_eq(
            clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL),
            CL_SUCCESS);
        ck_assert_msg(status != CL_COMPLETE, "the blocks finished before their wait list");
        ck_assert_int_eq(clSetUserEventStatus(gate, CL_COMPLETE), CL_SUCCESS);
    }
    ck_assert_int_eq(clWaitForEvents(1, &done), CL_SUCCESS);
    float *y = malloc(out_bytes);
    ck_assert_int_eq(clEnqueueReadBuffer(q, out, CL_TRUE, 0, out_bytes, y, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_msg(rel_diff(y, ref, (size_t)n * 1000) <= 1e-6, "enqueue in blocks: %g",
                  rel_diff(y, ref, (size_t)n * 1000));
    ck_assert_int_eq(scl_network_launch_count(net), whole * 3);
    /* the launches of every block are described, and no more */
    scl_launch_info li = {.size = sizeof li};
    TU_OK(ctx, scl_network_launch_info(net, 3 * whole - 1, &li));
    ck_assert_int_eq(scl_network_launch_info(net, 3 * whole, &li), SCL_ERROR_INVALID_ARGUMENT);
    clReleaseEvent(gate), clReleaseEvent(done);
    clReleaseMemObject(in), clReleaseMemObject(parent), clReleaseMemObject(out);
    scl_network_destroy(net);
    free(x), free(y), free(ref);
    scl_context_destroy(ctx);
}
END_TEST

/* Profiling in blocks: one time per launch of every block; half storage in blocks gives the
 * half-storage whole batch's logits. */
START_TEST(test_blocks_profile_half) {
    const int h = 37, w = 45, n = 3;
    scl_context *ctx = tu_context();
    uint64_t seed = 700;
    float *x = tu_random((size_t)n * 3 * h * w, &seed);
    int whole, blocked;
    float *ref = logits(ctx, "v2_x0_5", 0, SCL_PRECISION_HALF_STORAGE, x, n, h, w, &whole);
    float *y = logits(ctx, "v2_x0_5", 2, SCL_PRECISION_HALF_STORAGE, x, n, h, w, &blocked);
    ck_assert_msg(rel_diff(y, ref, (size_t)n * 1000) <= 1e-6, "half storage in blocks: %g",
                  rel_diff(y, ref, (size_t)n * 1000));
    ck_assert_int_eq(blocked, 2 * whole);
    scl_network *net = make(ctx, "v2_x0_5", 2, SCL_PRECISION_FLOAT32);
    TU_OK(ctx, scl_network_reshape(net, n, h, w));
    int nl = scl_network_launch_count(net);
    ck_assert_int_eq(nl, 2 * whole);
    double *ms = calloc((size_t)nl, sizeof *ms);
    ck_assert_int_eq(scl_network_profile(net, x, n, h, w, ms, nl - 1), SCL_ERROR_INVALID_ARGUMENT);
    TU_OK(ctx, scl_network_profile(net, x, n, h, w, ms, nl));
    for (int i = 0; i < nl; i++)
        ck_assert_msg(ms[i] > 0, "launch %d: %g ms", i, ms[i]);
    scl_network_destroy(net);
    free(ms), free(x), free(y), free(ref);
    scl_context_destroy(ctx);
}
END_TEST

static int launches_at(scl_context *ctx, const scl_network_options *o, int n, int h, int w) {
    scl_network *net;
    TU_OK(ctx, scl_network_create_ex(ctx, "v2_x0_5", o, &net));
    scl_network_stats s = {.size = sizeof s};
    TU_OK(ctx, scl_network_get_stats(net, n, h, w, &s));
    scl_network_destroy(net);
    return s.launches;
}

/* The option is checked; an older options layout (without batch_block) reads as automatic; the
 * environment is read when the option is 0 and ignored when it is not a whole number. */
START_TEST(test_blocks_options) {
    scl_context *ctx = tu_context();
    scl_network_options o = {.size = sizeof o, .batch_block = -1};
    scl_network *net = NULL;
    ck_assert_int_eq(scl_network_create_ex(ctx, "v2_x0_5", &o, &net), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "batch_block"));
    o.batch_block = 0;
    int one = launches_at(ctx, &o, 1, 32, 32);
    ck_assert_int_eq(launches_at(ctx, &o, 8, 32, 32), one);
    scl_network_options old = o;
    old.size = offsetof(scl_network_options, batch_block);
    old.batch_block = 3; /* beyond the caller's size: never read */
    ck_assert_int_eq(launches_at(ctx, &old, 8, 32, 32), one);
    setenv("SHUFFLECL_BATCH_BLOCK", "3", 1);
    ck_assert_int_eq(launches_at(ctx, &o, 8, 32, 32), 3 * one);
    ck_assert_int_eq(launches_at(ctx, &old, 8, 32, 32), 3 * one);
    o.batch_block = 4; /* the option wins */
    ck_assert_int_eq(launches_at(ctx, &o, 8, 32, 32), 2 * one);
    o.batch_block = 0;
    static const char *const bad[] = {"", "2x", "-2", "0", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("SHUFFLECL_BATCH_BLOCK", bad[i], 1);
        ck_assert_msg(launches_at(ctx, &o, 8, 32, 32) == one, "SHUFFLECL_BATCH_BLOCK='%s'", bad[i]);
    }
    unsetenv("SHUFFLECL_BATCH_BLOCK");
    scl_context_destroy(ctx);
}
END_TEST

/* The tuning table's entry for (batch, model signature) at the run's size is used; one for
 * another size, batch or model, or with a value that is no block of the batch, is not. */
START_TEST(test_blocks_tuned) {
    char dir[512], path[4200], hash[65];
    snprintf(dir, sizeof dir, "%s/blocks-%ld", tu_tmpdir(), (long)getpid());
    mkdir(dir, 0700);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    TU_OK(ctx, scl__tune_source_hash(ctx, hash));
    scl_network *net;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    int sig = (int)net->signature;
    scl_network_destroy(net);
    scl_network_options o = {.size = sizeof o};
    int one = launches_at(ctx, &o, 1, 32, 32);
    static const struct {
        const char *fmt; /* the entry: %d the signature */
        int blocks;      /* launches at batch 8, 32 x 32, over one image's */
    } cases[] = {
        {"block f32 32x32 : 8 %d : 2\n", 4},  {"block f32 32x32 : 8 %d : 8\n", 1},
        {"block f32 32x32 : 8 %d : 99\n", 1}, {"block f32 32x32 : 8 %d : 0\n", 1},
        {"block f32 32x32 : 8 %d : -3\n", 1}, {"block f32 48x32 : 8 %d : 2\n", 1},
        {"block f32 32x32 : 4 %d : 2\n", 1},  {"block f16s 32x32 : 8 %d : 2\n", 1},
        {"block f32 32x32 : 8 %d1 : 2\n", 1}, {"block f32 32x32 : 8 %d : 2 2\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        scl__tune_path(ctx, path, sizeof path);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "shufflecl-tune 2\nsource %s\ndevice test_blocks\n", hash);
        fprintf(f, cases[i].fmt, sig);
        fclose(f);
        scl__tune_release(ctx);
        ck_assert_msg(launches_at(ctx, &o, 8, 32, 32) == cases[i].blocks * one, "entry %s",
                      cases[i].fmt);
    }
    scl_context_destroy(ctx);
}
END_TEST

/* The tool's search: blocks of 1 and 2 timed for batch 3, none rejected, the entry written. */
START_TEST(test_blocks_search) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/blocks-search-%ld", tu_tmpdir(), (long)getpid());
    mkdir(dir, 0700);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    scl_tune_report r = {.size = sizeof r};
    TU_OK(ctx, scl_tune_model(ctx, "v2_x0_5", 3, 32, 32, "block", NULL, NULL, &r));
    ck_assert_int_eq(r.candidates, 2);
    ck_assert_int_eq(r.rejected, 0);
    FILE *f = fopen(r.path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f))
        found += strncmp(line, "block f32 32x32 : 3 ", 20) == 0;
    fclose(f);
    ck_assert_int_eq(found, 1);
    scl_context_destroy(ctx);
}
END_TEST

int main(void) {
    Suite *s = suite_create("blocks");
    TCase *tc = tcase_create("blocks");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_blocks_equal, 0, 4);
    tcase_add_test(tc, test_blocks_enqueue);
    tcase_add_test(tc, test_blocks_profile_half);
    tcase_add_test(tc, test_blocks_options);
    tcase_add_test(tc, test_blocks_tuned);
    tcase_add_test(tc, test_blocks_search);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
