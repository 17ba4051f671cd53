/* bench_peak.c: the device's ceilings (FMA rate and memory bandwidth) measured with cl/peak.cl,
 * and their per-device cache file in the program cache directory. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PEAK_FORMAT "shufflecl-bench-peak 1"
#define FMA_TARGET_MS 100.0              /* long enough that launch overhead is noise */
#define BW_MAX_BYTES ((size_t)256 << 20) /* well past any last-level cache */

const int bench_peak_widths[5] = {1, 2, 4, 8, 16};

/* ---- the cache file ---- */

/* FNV-1a over the identity of the device and its driver: the file name, so that two devices
 * (or a driver update) never share a figure. The identity is also stored and compared. */
static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

static void cache_path(const char *dir, const scl_device_info *d, char *out, size_t cap) {
    uint64_t h =
        fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ull, d->name), d->driver_version), d->platform_version);
    snprintf(out, cap, "%s/bench-peak-%016llx.txt", dir, (unsigned long long)h);
}

/* Fills *out only when the file is whole and names this very device and driver. */
static int read_cache(const char *path, const scl_device_info *d, bench_peak *out) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    bench_peak tmp = *out, *p = &tmp;
    char line[512], name[256] = "", driver[256] = "", platform[256] = "";
    int format_ok =
        fgets(line, sizeof line, f) && strncmp(line, PEAK_FORMAT, strlen(PEAK_FORMAT)) == 0;
    while (format_ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *val = strchr(line, ' ');
        if (!val) continue;
        *val++ = '\0';
        if (strcmp(line, "device") == 0)
            snprintf(name, sizeof name, "%s", val);
        else if (strcmp(line, "driver") == 0)
            snprintf(driver, sizeof driver, "%s", val);
        else if (strcmp(line, "platform") == 0)
            snprintf(platform, sizeof platform, "%s", val);
        else if (strcmp(line, "gflops") == 0)
            p->gflops = strtod(val, NULL);
        else if (strcmp(line, "gbps") == 0)
            p->gbps = strtod(val, NULL);
        else if (strcmp(line, "read_gbps") == 0)
            p->read_gbps = strtod(val, NULL);
        else if (strcmp(line, "copy_gbps") == 0)
            p->copy_gbps = strtod(val, NULL);
        else if (strncmp(line, "fma_gflops_w", 12) == 0) {
            int wv = atoi(line + 12);
            for (int k = 0; k < 5; k++)
                if (bench_peak_widths[k] == wv) p->fma_gflops[k] = strtod(val, NULL);
        }
    }
    fclose(f);
    int ok = format_ok && strcmp(name, d->name) == 0 && strcmp(driver, d->driver_version) == 0 &&
             strcmp(platform, d->platform_version) == 0 && p->gflops > 0 && p->gbps > 0;
    if (ok) *out = tmp;
    return ok;
}

static int mkdirs(const char *dir) {
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Best effort: a cache that cannot be written only costs a re-measurement next time. */
static void write_cache(const char *dir, const char *path, const scl_device_info *d,
                        const bench_peak *p) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = mkdirs(dir) == 0 ? fopen(tmp, "w") : NULL;
    if (!f) return;
    fprintf(f,
            "%s\ndevice %s\ndriver %s\nplatform %s\ngflops %.3f\ngbps %.3f\nread_gbps %.3f\n"
            "copy_gbps %.3f\n",
            PEAK_FORMAT, d->name, d->driver_version, d->platform_version, p->gflops, p->gbps,
            p->read_gbps, p->copy_gbps);
    for (int k = 0; k < 5; k++)
        if (p->fma_gflops[k] > 0)
            fprintf(f, "fma_gflops_w%d %.3f\n", bench_peak_widths[k], p->fma_gflops[k]);
    if (fclose(f) != 0 || rename(tmp, path) != 0) remove(tmp);
}

/* ---- measuring ---- */

/* Runs kernel k over `global` items `reps` times and returns the shortest device time in ms. */
static int time_kernel(scl_context *ctx, cl_kernel k, size_t global, size_t local, int reps,
                       double *best) {
    cl_command_queue q = scl_context_cl_queue(ctx);
    *best = -1;
    for (int r = 0; r < reps; r++) {
        cl_event ev;
        cl_int e =
            clEnqueueNDRangeKernel(q, k, 1, NULL, &global, local ? &local : NULL, 0, NULL, &ev);
        if (e != CL_SUCCESS)
            return cli_error("peak: clEnqueueNDRangeKernel: %s", scl_status_string(e));
        e = clWaitForEvents(1, &ev);
        double ms = e == CL_SUCCESS ? bench_event_ms(ev, 1, ev) : -1;
        clReleaseEvent(ev);
        if (ms < 0) return cli_error("peak: timing a kernel failed (%s)", scl_status_string(e));
        if (*best < 0 || ms < *best) *best = ms;
    }
    return 0;
}

static int make_kernel(scl_context *ctx, const char *opts, const char *name, cl_kernel *k) {
    cl_program prog;
    if (scl_context_build(ctx, "peak.cl", opts, &prog) != SCL_OK)
        return cli_error("peak: %s", scl_last_error(ctx));
    cl_int e;
    *k = clCreateKernel(prog, name, &e);
    if (e != CL_SUCCESS)
        return cli_error("peak: clCreateKernel(%s): %s", name, scl_status_string(e));
    return 0;
}

static int set_args(cl_kernel k, int n, const size_t *sizes, const void *const *vals) {
    for (int i = 0; i < n; i++) {
        cl_int e = clSetKernelArg(k, (cl_uint)i, sizes[i], vals[i]);
        if (e != CL_SUCCESS)
            return cli_error("peak: clSetKernelArg(%d): %s", i, scl_status_string(e));
    }
    return 0;
}

/* GFLOP/s of fma_peak at vector width vw: the trip count doubles until a launch takes a tenth
 * of the target, is scaled to the target, and the best of three launches counts. */
static int measure_fma(scl_context *ctx, const scl_device_info *d, int vw, double *gflops) {
    char opts[32];
    snprintf(opts, sizeof opts, "-DVW=%d", vw);
    cl_kernel k = NULL;
    if (make_kernel(ctx, opts, "fma_peak", &k)) return 1;
    size_t items = (size_t)(d->compute_units ? d->compute_units : 1) * 256;
    cl_int e;
    cl_mem out = clCreateBuffer(scl_context_cl_context(ctx), CL_MEM_WRITE_ONLY,
                                items * (size_t)vw * sizeof(float), NULL, &e);
    int rc = e == CL_SUCCESS ? 0 : cli_error("peak: clCreateBuffer: %s", scl_status_string(e));
    cl_int iters = 16;
    float m = 0.9999f, c = 1e-4f;
    double ms = 0;
    const size_t sz[] = {sizeof out, sizeof iters, sizeof m, sizeof c};
    const void *const va[] = {&out, &iters, &m, &c};
    while (!rc) {
        if ((rc = set_args(k, 4, sz, va)) || (rc = time_kernel(ctx, k, items, 0, 1, &ms))) break;
        if (ms >= FMA_TARGET_MS / 10 || iters >= (1 << 24)) break;
        iters *= 2;
    }
    if (!rc) {
        double want = iters * FMA_TARGET_MS / (ms > 1e-3 ? ms : 1e-3);
        iters = (cl_int)(want < iters ? iters : want > (1 << 28) ? (1 << 28) : want);
        rc = set_args(k, 4, sz, va) || time_kernel(ctx, k, items, 0, 3, &ms);
    }
    if (!rc) *gflops = (double)items * iters * 8 * 16 * vw * 2 / (ms * 1e6);
    if (out) clReleaseMemObject(out);
    clReleaseKernel(k);
    return rc;
}

static int measure_bandwidth(scl_context *ctx, const scl_device_info *d, bench_peak *p) {
    size_t bytes = BW_MAX_BYTES;
    if (d->max_alloc_bytes && bytes > d->max_alloc_bytes / 2)
        bytes = (size_t)(d->max_alloc_bytes / 2);
    if (d->global_mem_bytes && bytes > d->global_mem_bytes / 8)
        bytes = (size_t)(d->global_mem_bytes / 8);
    size_t cu = d->compute_units ? d->compute_units : 1;
    /* chunks in work-groups of 16: several groups per compute unit, so that every core of a CPU
     * streams (left to itself, a driver may put all the chunks in one group on one core) */
    size_t chunk_items = cu * 64, stride_items = cu * 2048;
    size_t chunk_local = d->max_work_group_size >= 16 ? 16 : 0;
    cl_int per = (cl_int)(bytes / 64 / chunk_items / 4 * 4);
    cl_int n16 = (cl_int)(bytes / 64);
    cl_context c = scl_context_cl_context(ctx);
    cl_kernel kc = NULL, ks = NULL, kcopy = NULL;
    cl_mem src = NULL, dst = NULL, out = NULL;
    cl_int e = CL_SUCCESS;
    int rc = make_kernel(ctx, "-DVW=8", "read_chunked", &kc) ||
             make_kernel(ctx, "-DVW=8", "read_strided", &ks) ||
             make_kernel(ctx, "-DVW=8", "copy16", &kcopy);
    if (!rc) src = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!rc && e == CL_SUCCESS) dst = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (!rc && e == CL_SUCCESS)
        out = clCreateBuffer(c, CL_MEM_WRITE_ONLY, stride_items * sizeof(float), NULL, &e);
    if (!rc && e != CL_SUCCESS)
        rc = cli_error("peak: allocating %zu bytes: %s", bytes, scl_status_string(e));
    if (!rc) {
        /* touch every page first: a first-touch page fault is not bandwidth */
        float one = 1.0f;
        e = clEnqueueFillBuffer(scl_context_cl_queue(ctx), src, &one, sizeof one, 0, bytes, 0, NULL,
                                NULL);
        if (e == CL_SUCCESS)
            e = clEnqueueFillBuffer(scl_context_cl_queue(ctx), dst, &one, sizeof one, 0, bytes, 0,
                                    NULL, NULL);
        if (e == CL_SUCCESS) e = clFinish(scl_context_cl_queue(ctx));
        if (e != CL_SUCCESS) rc = cli_error("peak: clEnqueueFillBuffer: %s", scl_status_string(e));
    }
    double ms_c = 0, ms_s = 0, ms_copy = 0;
    if (!rc) {
        const size_t sz[] = {sizeof src, sizeof out, sizeof per};
        const void *const va_c[] = {&src, &out, &per}, *const va_s[] = {&src, &out, &n16};
        const size_t szc[] = {sizeof src, sizeof dst};
        const void *const vcopy[] = {&src, &dst};
        rc = set_args(kc, 3, sz, va_c) || set_args(ks, 3, sz, va_s) ||
             set_args(kcopy, 2, szc, vcopy) ||
             time_kernel(ctx, kc, chunk_items, chunk_local, 5, &ms_c) ||
             time_kernel(ctx, ks, stride_items, 0, 5, &ms_s) ||
             time_kernel(ctx, kcopy, (size_t)n16, 0, 5, &ms_copy);
    }
    if (!rc) {
        double rc_gbps = bench_gbps((double)chunk_items * per * 64, ms_c);
        double rs_gbps = bench_gbps((double)n16 * 64, ms_s);
        p->read_gbps = rc_gbps > rs_gbps ? rc_gbps : rs_gbps;
        p->copy_gbps = bench_gbps(2.0 * n16 * 64, ms_copy);
        p->gbps = p->read_gbps > p->copy_gbps ? p->read_gbps : p->copy_gbps;
    }
    if (src) clReleaseMemObject(src);
    if (dst) clReleaseMemObject(dst);
    if (out) clReleaseMemObject(out);
    if (kc) clReleaseKernel(kc);
    if (ks) clReleaseKernel(ks);
    if (kcopy) clReleaseKernel(kcopy);
    return rc;
}

int bench_peak_get(scl_context *ctx, const char *cache_dir, int remeasure, bench_peak *out) {
    memset(out, 0, sizeof *out);
    scl_device_info d = {.size = sizeof(scl_device_info)};
    if (scl_context_device_info(ctx, &d) != SCL_OK) return cli_error("%s", scl_last_error(ctx));
    if (cache_dir) cache_path(cache_dir, &d, out->cache_file, sizeof out->cache_file);
    if (cache_dir && !remeasure && read_cache(out->cache_file, &d, out)) {
        out->from_cache = 1;
        return 0;
    }
    /* width 2 is never the best where 4 exists: skip it to save time */
    for (int k = 0; k < 5; k++) {
        if (bench_peak_widths[k] == 2) continue;
        if (measure_fma(ctx, &d, bench_peak_widths[k], &out->fma_gflops[k])) return 1;
        if (out->fma_gflops[k] > out->gflops) out->gflops = out->fma_gflops[k];
    }
    if (measure_bandwidth(ctx, &d, out)) return 1;
    if (cache_dir) write_cache(cache_dir, out->cache_file, &d, out);
    return 0;
}
