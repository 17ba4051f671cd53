/* bench_time.c: timing one batch size: random input on the device, warm-up, calibration,
 * timed runs on the host clock and on the device's profiling clock, and the per-layer profile. */
#include "bench.h"
#include "quirks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* This process's CPU time, every thread's: the cold start's compiles run on the calling thread,
 * its first inference on the driver's, and unlike the wall clock it does not count the time a
 * busy machine keeps the process waiting. */
double bench_cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear interpolation between order statistics, so min <= median <= p90 always holds. */
static double quantile(const double *sorted, int n, double q) {
    double pos = q * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

bench_stats bench_stats_of(double *v, int n) {
    bench_stats s = {0, 0, 0};
    if (n < 1) return s;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    s.min = v[0];
    s.median = quantile(v, n, 0.5);
    s.p90 = quantile(v, n, 0.9);
    return s;
}

double bench_event_ms(cl_event a, int a_start, cl_event b) {
    cl_ulong ta = 0, tb = 0;
    cl_profiling_info which = a_start ? CL_PROFILING_COMMAND_START : CL_PROFILING_COMMAND_END;
    if (clGetEventProfilingInfo(a, which, sizeof ta, &ta, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(b, CL_PROFILING_COMMAND_END, sizeof tb, &tb, NULL) != CL_SUCCESS)
        return -1;
    return tb >= ta ? (double)(tb - ta) * 1e-6 : -1;
}

/* Uniform in [-2, 2): the spread of normalised pictures, and never all zeros (some kernels
 * could skip work on zeros). Deterministic: xorshift64*. */
static void random_input(float *x, size_t n, uint64_t seed) {
    uint64_t s = seed * 2654435761u + 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        uint64_t r = s * 2685821657736338717ull;
        x[i] = (float)((double)(r >> 40) / (double)(1 << 24) * 4.0 - 2.0);
    }
}

typedef struct run_bufs {
    cl_mem in, out;
    int n, h, w;
} run_bufs;

/* One inference as a caller runs it: scl_network_enqueue then clFinish; the host clock around
 * both. The device starts on the first launch while the host still enqueues the rest. */
static int run_host(scl_context *ctx, scl_network *net, const run_bufs *b, double *ms) {
    cl_event last = NULL;
    double t0 = bench_now_ms();
    int rc = 0;
    if (scl_network_enqueue(net, b->in, b->out, b->n, b->h, b->w, 0, NULL, &last) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    cl_int e = clFinish(scl_context_cl_queue(ctx));
    if (e != CL_SUCCESS && !rc) rc = cli_error("clFinish: %s", scl_status_string(e));
    *ms = bench_now_ms() - t0;
    if (last) clReleaseEvent(last);
    return rc;
}

/* One inference on the device clock: END(last launch) - END(marker), where the marker is queued
 * just before the network and held by a user event until every launch is queued. Without the
 * hold the device would wait on the host's enqueueing between launches (that cost is in the
 * host time), and the device time would swing with the host's load. */
static int run_device(scl_context *ctx, scl_network *net, const run_bufs *b, double *ms) {
    cl_command_queue q = scl_context_cl_queue(ctx);
    cl_event gate = NULL, marker = NULL, last = NULL;
    cl_int e = CL_SUCCESS;
    /* Where completing a user event deadlocks (PoCL basic), no hold: there the device time also
     * holds whatever the device waited on the host's enqueueing (docs/bench.md). */
    if (!cli_user_event_deadlocks(scl_context_cl_device(ctx))) {
        gate = clCreateUserEvent(scl_context_cl_context(ctx), &e);
        if (e != CL_SUCCESS) return cli_error("clCreateUserEvent: %s", scl_status_string(e));
    }
    int rc = 0;
    e = clEnqueueMarkerWithWaitList(q, gate ? 1 : 0, gate ? &gate : NULL, &marker);
    if (e != CL_SUCCESS) rc = cli_error("clEnqueueMarkerWithWaitList: %s", scl_status_string(e));
    if (!rc && scl_network_enqueue(net, b->in, b->out, b->n, b->h, b->w, 0, NULL, &last) != SCL_OK)
        rc = cli_error("%s", scl_last_error(ctx));
    /* released whatever happened above, or the queue would never drain */
    e = gate ? clSetUserEventStatus(gate, CL_COMPLETE) : CL_SUCCESS;
    if (e != CL_SUCCESS && !rc) rc = cli_error("clSetUserEventStatus: %s", scl_status_string(e));
    e = clFinish(q);
    if (e != CL_SUCCESS && !rc) rc = cli_error("clFinish: %s", scl_status_string(e));
    if (!rc && (*ms = bench_event_ms(marker, 0, last)) < 0)
        rc = cli_error("clGetEventProfilingInfo failed on the inference's events");
    if (gate) clReleaseEvent(gate);
    if (marker) clReleaseEvent(marker);
    if (last) clReleaseEvent(last);
    return rc;
}

static int make_buffers(scl_context *ctx, scl_network *net, const float *x, run_bufs *b) {
    cl_context c = scl_context_cl_context(ctx);
    size_t in_bytes = (size_t)b->n * 3 * b->h * b->w * sizeof(float);
    size_t out_bytes = (size_t)b->n * scl_network_classes(net) * sizeof(float);
    cl_int e;
    b->in = clCreateBuffer(c, CL_MEM_READ_ONLY, in_bytes, NULL, &e);
    if (e != CL_SUCCESS) return b->in = NULL, cli_error("input buffer: %s", scl_status_string(e));
    b->out = clCreateBuffer(c, CL_MEM_WRITE_ONLY, out_bytes, NULL, &e);
    if (e != CL_SUCCESS) return b->out = NULL, cli_error("logits buffer: %s", scl_status_string(e));
    e = clEnqueueWriteBuffer(scl_context_cl_queue(ctx), b->in, CL_TRUE, 0, in_bytes, x, 0, NULL,
                             NULL);
    if (e != CL_SUCCESS) return cli_error("uploading the input: %s", scl_status_string(e));
    return 0;
}

/* Per-launch device times: the median of `runs` profiled inferences, launch by launch. */
static int profile(scl_context *ctx, scl_network *net, const float *x, int runs, bench_batch *out,
                   int h, int w) {
    int nl = out->nrows;
    double *ms = malloc((size_t)runs * nl * sizeof *ms), *col = malloc((size_t)runs * sizeof *col);
    int rc = 0;
    if (!ms || !col) rc = cli_error("out of memory");
    for (int r = 0; r < runs && !rc; r++)
        if (scl_network_profile(net, x, out->batch, h, w, ms + (size_t)r * nl, nl) != SCL_OK)
            rc = cli_error("%s", scl_last_error(ctx));
    for (int i = 0; i < nl && !rc; i++) {
        for (int r = 0; r < runs; r++)
            col[r] = ms[(size_t)r * nl + i];
        out->rows[i].ms = bench_stats_of(col, runs).median;
        out->profile_sum_ms += out->rows[i].ms;
    }
    bench_rows_launches(net, out);
    if (!rc) out->profile_runs = runs;
    free(ms), free(col);
    return rc;
}

int bench_run_batch(scl_context *ctx, scl_network *net, const bench_settings *set, int batch,
                    bench_batch *out) {
    out->batch = batch;
    run_bufs b = {NULL, NULL, batch, set->height, set->width};
    size_t count = (size_t)batch * 3 * set->height * set->width;
    float *x = malloc(count * sizeof *x);
    double *host = NULL, *dev = NULL;
    if (!x) return cli_error("out of memory for a %dx3x%dx%d input", batch, b.h, b.w);
    random_input(x, count, set->seed + (uint64_t)batch);
    int rc = make_buffers(ctx, net, x, &b);
    double th = 0, td = 0;
    /* untimed: the first run at a shape also allocates its activations */
    for (int i = 0; i < set->warmup && !rc; i++)
        rc = run_host(ctx, net, &b, &th) || run_device(ctx, net, &b, &td);
    int iters = set->iters;
    if (!rc && iters == 0) {
        /* calibrate on one more untimed pair; at least 5 of each for a p90 that means something */
        rc = run_host(ctx, net, &b, &th) || run_device(ctx, net, &b, &td);
        double want = set->seconds * 1e3 / (th + td > 1e-3 ? th + td : 1e-3);
        iters = want < 5 ? 5 : want > 100000 ? 100000 : (int)ceil(want);
    }
    if (!rc) {
        out->iters = iters;
        host = malloc((size_t)iters * sizeof *host);
        dev = malloc((size_t)iters * sizeof *dev);
        if (!host || !dev) rc = cli_error("out of memory");
    }
    /* interleaved, so that both kinds of run see the same conditions */
    for (int i = 0; i < iters && !rc; i++)
        rc = run_host(ctx, net, &b, &host[i]) || run_device(ctx, net, &b, &dev[i]);
    if (!rc) {
        out->host_ms = bench_stats_of(host, iters);
        out->device_ms = bench_stats_of(dev, iters);
        out->images_per_s = batch / (out->host_ms.median * 1e-3);
        scl_network_stats s = {.size = sizeof(scl_network_stats)};
        if (scl_network_get_stats(net, batch, b.h, b.w, &s) != SCL_OK)
            rc = cli_error("%s", scl_last_error(ctx));
        else
            out->activation_bytes = s.activation_bytes;
    }
    if (!rc) rc = bench_rows_init(net, batch, b.h, b.w, out);
    if (!rc && set->profile) rc = profile(ctx, net, x, iters < 5 ? iters : 5, out, b.h, b.w);
    if (b.in) clReleaseMemObject(b.in);
    if (b.out) clReleaseMemObject(b.out);
    free(x), free(host), free(dev);
    return rc;
}
