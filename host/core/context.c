/* context.c: an OpenCL context + profiling queue on one device, either made here or wrapping a
 * caller's own context and queue. */
#include "core/internal.h"
#include "tune/tune.h"

#include <stdlib.h>
#include <string.h>

static scl_status default_cache_dir(char **out) {
    *out = NULL;
    const char *env = getenv("SHUFFLECL_CACHE_DIR");
    char path[4096];
    if (env && *env) {
        if (strcmp(env, "off") == 0 || strcmp(env, "0") == 0) return SCL_OK;
        snprintf(path, sizeof path, "%s", env);
    } else if ((env = getenv("XDG_CACHE_HOME")) && *env) {
        snprintf(path, sizeof path, "%s/shufflecl", env);
    } else if ((env = getenv("HOME")) && *env) {
        snprintf(path, sizeof path, "%s/.cache/shufflecl", env);
    } else {
        return SCL_OK; /* nowhere sensible to write: no disk cache */
    }
    *out = scl__strdup(path);
    return *out ? SCL_OK : SCL_ERROR_OUT_OF_MEMORY;
}

static scl_status context_alloc(scl_context **out) {
    scl_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return scl__fail(NULL, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a context");
    if (default_cache_dir(&ctx->cache_dir) != SCL_OK) {
        free(ctx);
        return scl__fail(NULL, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a context");
    }
    *out = ctx;
    return SCL_OK;
}

scl_status scl_context_create(const char *spec, scl_context **out) {
    if (!out) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_context_create: out is NULL");
    *out = NULL;
    cl_platform_id platform;
    cl_device_id device;
    scl_device_info info = {.size = sizeof(scl_device_info)};
    scl_status st = scl__device_resolve(spec, &platform, &device, &info);
    if (st != SCL_OK) return st;
    scl_context *ctx = NULL;
    if ((st = context_alloc(&ctx)) != SCL_OK) return st;
    ctx->platform = platform, ctx->device = device, ctx->info = info;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    cl_int e;
    /* serialised with enumeration (device.c): drivers set up per-platform state here too */
    scl__enum_lock();
    ctx->cl_ctx = clCreateContext(props, 1, &device, NULL, NULL, &e);
    scl__enum_unlock();
    if (e != CL_SUCCESS) {
        scl__cl_fail(NULL, e, "clCreateContext");
        scl_context_destroy(ctx);
        return (scl_status)e;
    }
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, device, CL_QUEUE_PROFILING_ENABLE, &e);
    if (e != CL_SUCCESS) {
        scl__cl_fail(NULL, e, "clCreateCommandQueue");
        scl_context_destroy(ctx);
        return (scl_status)e;
    }
    ctx->profiling = 1;
    *out = ctx;
    return SCL_OK;
}

scl_status scl_context_wrap(cl_context context, cl_command_queue queue, scl_context **out) {
    if (!out || !context || !queue)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_wrap: context, queue and out must not be NULL");
    *out = NULL;
    cl_context qctx;
    cl_device_id device;
    cl_command_queue_properties qprops = 0;
    cl_int e = clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL);
    if (e != CL_SUCCESS) return scl__cl_fail(NULL, e, "scl_context_wrap: clGetCommandQueueInfo");
    if (qctx != context)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_wrap: the queue belongs to another cl_context");
    e = clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL);
    e |= clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof qprops, &qprops, NULL);
    if (e != CL_SUCCESS) return scl__cl_fail(NULL, e, "scl_context_wrap: clGetCommandQueueInfo");
    if (qprops & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_wrap: the queue is out-of-order; shufflecl needs an in-order "
                         "queue (its launches depend on each other)");
    cl_platform_id platform;
    e = clGetDeviceInfo(device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    if (e != CL_SUCCESS) return scl__cl_fail(NULL, e, "scl_context_wrap: clGetDeviceInfo");

    /* Find the device's P:D indices so the info matches what scl_device_list prints. */
    int pi = -1, di = -1;
    cl_platform_id plats[16];
    cl_uint np = 0;
    scl__enum_lock();
    if (clGetPlatformIDs(16, plats, &np) == CL_SUCCESS) {
        for (cl_uint i = 0; i < np && i < 16 && pi < 0; i++) {
            cl_device_id devs[64];
            cl_uint nd = 0;
            if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 64, devs, &nd) != CL_SUCCESS) continue;
            for (cl_uint j = 0; j < nd && j < 64; j++)
                if (devs[j] == device) pi = (int)i, di = (int)j;
        }
    }
    scl__enum_unlock();
    scl_context *ctx = NULL;
    scl_status st = context_alloc(&ctx);
    if (st != SCL_OK) return st;
    if ((st = scl__device_query(platform, device, pi, di, &ctx->info)) != SCL_OK) {
        scl_context_destroy(ctx);
        return st;
    }
    e = clRetainContext(context);
    if (e != CL_SUCCESS) {
        scl_context_destroy(ctx);
        return scl__cl_fail(NULL, e, "scl_context_wrap: clRetainContext");
    }
    ctx->cl_ctx = context;
    e = clRetainCommandQueue(queue);
    if (e != CL_SUCCESS) {
        scl_context_destroy(ctx);
        return scl__cl_fail(NULL, e, "scl_context_wrap: clRetainCommandQueue");
    }
    ctx->queue = queue;
    ctx->platform = platform, ctx->device = device;
    ctx->profiling = (qprops & CL_QUEUE_PROFILING_ENABLE) != 0;
    *out = ctx;
    return SCL_OK;
}

void scl_context_destroy(scl_context *ctx) {
    if (!ctx) return;
    if (ctx->queue) clFinish(ctx->queue);
    /* now, after every launch: the binaries hold the machine code those made (program.c) */
    scl__programs_save(ctx);
    scl__programs_release(ctx);
    scl__tune_release(ctx);
    if (ctx->identity_map) clReleaseMemObject(ctx->identity_map);
    if (ctx->queue) clReleaseCommandQueue(ctx->queue);
    if (ctx->cl_ctx) clReleaseContext(ctx->cl_ctx);
    free(ctx->cache_dir);
    free(ctx);
}

void scl_context_set_log(scl_context *ctx, scl_log_fn fn, void *user) {
    if (!ctx) return;
    ctx->log = fn;
    ctx->log_user = user;
}

scl_status scl_context_device_info(const scl_context *ctx, scl_device_info *out) {
    if (!ctx || !out)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_device_info: NULL argument");
    return scl__sized_out((scl_context *)ctx, "scl_context_device_info", "scl_device_info", out,
                          &ctx->info, sizeof ctx->info, sizeof ctx->info);
}

cl_context scl_context_cl_context(const scl_context *ctx) {
    return ctx ? ctx->cl_ctx : NULL;
}
cl_command_queue scl_context_cl_queue(const scl_context *ctx) {
    return ctx ? ctx->queue : NULL;
}
cl_device_id scl_context_cl_device(const scl_context *ctx) {
    return ctx ? ctx->device : NULL;
}

scl_status scl_context_finish(scl_context *ctx) {
    if (!ctx) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_context_finish: ctx is NULL");
    SCL_CL_TRY(ctx, clFinish(ctx->queue), "clFinish");
    return SCL_OK;
}

scl_status scl_context_set_cache_dir(scl_context *ctx, const char *dir) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_set_cache_dir: ctx is NULL");
    char *copy = NULL;
    if (dir && !(copy = scl__strdup(dir)))
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    free(ctx->cache_dir);
    ctx->cache_dir = copy;
    return SCL_OK;
}

scl_status scl_context_cache_stats(const scl_context *ctx, scl_cache_stats *out) {
    if (!out)
        return scl__fail((scl_context *)ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_cache_stats: out is NULL");
    scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
    memset(&s, 0, sizeof s);
    if (ctx) s = ctx->stats;
    return scl__sized_out((scl_context *)ctx, "scl_context_cache_stats", "scl_cache_stats", out, &s,
                          sizeof s, sizeof s);
}

const char *scl_context_cache_dir(const scl_context *ctx) {
    return ctx ? ctx->cache_dir : NULL;
}
