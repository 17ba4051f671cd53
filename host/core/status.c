/* status.c: status names, and the per-context (or per-thread) last-error message. */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

/* OpenCL 1.2's error codes, so a user reads CL_OUT_OF_RESOURCES instead of -5. */
#define SCL_CL_ERRORS(X)                                                                           \
    X(CL_DEVICE_NOT_FOUND)                                                                         \
    X(CL_DEVICE_NOT_AVAILABLE)                                                                     \
    X(CL_COMPILER_NOT_AVAILABLE)                                                                   \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE)                                                            \
    X(CL_OUT_OF_RESOURCES)                                                                         \
    X(CL_OUT_OF_HOST_MEMORY)                                                                       \
    X(CL_PROFILING_INFO_NOT_AVAILABLE)                                                             \
    X(CL_MEM_COPY_OVERLAP)                                                                         \
    X(CL_IMAGE_FORMAT_MISMATCH)                                                                    \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED)                                                               \
    X(CL_BUILD_PROGRAM_FAILURE)                                                                    \
    X(CL_MAP_FAILURE)                                                                              \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET)                                                             \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)                                                \
    X(CL_COMPILE_PROGRAM_FAILURE)                                                                  \
    X(CL_LINKER_NOT_AVAILABLE)                                                                     \
    X(CL_LINK_PROGRAM_FAILURE)                                                                     \
    X(CL_DEVICE_PARTITION_FAILED)                                                                  \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)                                                            \
    X(CL_INVALID_VALUE)                                                                            \
    X(CL_INVALID_DEVICE_TYPE)                                                                      \
    X(CL_INVALID_PLATFORM)                                                                         \
    X(CL_INVALID_DEVICE)                                                                           \
    X(CL_INVALID_CONTEXT)                                                                          \
    X(CL_INVALID_QUEUE_PROPERTIES)                                                                 \
    X(CL_INVALID_COMMAND_QUEUE)                                                                    \
    X(CL_INVALID_HOST_PTR)                                                                         \
    X(CL_INVALID_MEM_OBJECT)                                                                       \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)                                                          \
    X(CL_INVALID_IMAGE_SIZE)                                                                       \
    X(CL_INVALID_SAMPLER)                                                                          \
    X(CL_INVALID_BINARY)                                                                           \
    X(CL_INVALID_BUILD_OPTIONS)                                                                    \
    X(CL_INVALID_PROGRAM)                                                                          \
    X(CL_INVALID_PROGRAM_EXECUTABLE)                                                               \
    X(CL_INVALID_KERNEL_NAME)                                                                      \
    X(CL_INVALID_KERNEL_DEFINITION)                                                                \
    X(CL_INVALID_KERNEL)                                                                           \
    X(CL_INVALID_ARG_INDEX)                                                                        \
    X(CL_INVALID_ARG_VALUE)                                                                        \
    X(CL_INVALID_ARG_SIZE)                                                                         \
    X(CL_INVALID_KERNEL_ARGS)                                                                      \
    X(CL_INVALID_WORK_DIMENSION)                                                                   \
    X(CL_INVALID_WORK_GROUP_SIZE)                                                                  \
    X(CL_INVALID_WORK_ITEM_SIZE)                                                                   \
    X(CL_INVALID_GLOBAL_OFFSET)                                                                    \
    X(CL_INVALID_EVENT_WAIT_LIST)                                                                  \
    X(CL_INVALID_EVENT)                                                                            \
    X(CL_INVALID_OPERATION)                                                                        \
    X(CL_INVALID_GL_OBJECT)                                                                        \
    X(CL_INVALID_BUFFER_SIZE)                                                                      \
    X(CL_INVALID_MIP_LEVEL)                                                                        \
    X(CL_INVALID_GLOBAL_WORK_SIZE)                                                                 \
    X(CL_INVALID_PROPERTY)                                                                         \
    X(CL_INVALID_IMAGE_DESCRIPTOR)                                                                 \
    X(CL_INVALID_COMPILER_OPTIONS)                                                                 \
    X(CL_INVALID_LINKER_OPTIONS)                                                                   \
    X(CL_INVALID_DEVICE_PARTITION_COUNT)

#define SCL_LIB_ERRORS(X)                                                                          \
    X(SCL_OK, "success")                                                                           \
    X(SCL_ERROR_INVALID_ARGUMENT, "invalid argument")                                              \
    X(SCL_ERROR_SHAPE_MISMATCH, "shape mismatch")                                                  \
    X(SCL_ERROR_FILE_IO, "file could not be read or written")                                      \
    X(SCL_ERROR_FILE_FORMAT, "malformed file")                                                     \
    X(SCL_ERROR_UNSUPPORTED_MODEL, "unsupported model")                                            \
    X(SCL_ERROR_OUT_OF_MEMORY, "out of host memory")                                               \
    X(SCL_ERROR_NO_DEVICE, "no matching OpenCL device")                                            \
    X(SCL_ERROR_BUILD_FAILED, "kernel build failed")                                               \
    X(SCL_ERROR_UNSUPPORTED, "not supported by the device")                                        \
    X(SCL_ERROR_WEIGHTS, "invalid weights")

const char *scl_status_string(int status) {
    switch (status) {
#define SCL_CL_CASE(name)                                                                          \
    case name:                                                                                     \
        return #name;
        SCL_CL_ERRORS(SCL_CL_CASE)
#undef SCL_CL_CASE
#define SCL_LIB_CASE(name, text)                                                                   \
    case name:                                                                                     \
        return text;
        SCL_LIB_ERRORS(SCL_LIB_CASE)
#undef SCL_LIB_CASE
    default:
        return status < 0 && status > -10000 ? "unknown OpenCL error" : "unknown status";
    }
}

const char *scl_version(void) {
    return SHUFFLECL_VERSION_STRING;
}

int scl_version_number(void) {
    return SCL_VERSION_NUMBER;
}

/* Failures before a context exists land here, one buffer per thread. */
static _Thread_local char thread_err[SCL_ERRMSG_CAP];

static char *err_buffer(scl_context *ctx) {
    return ctx ? ctx->err : thread_err;
}

const char *scl_last_error(const scl_context *ctx) {
    return ctx ? ctx->err : thread_err;
}

scl_status scl__fail(scl_context *ctx, scl_status st, const char *fmt, ...) {
    char *buf = err_buffer(ctx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, SCL_ERRMSG_CAP, fmt, ap);
    va_end(ap);
    if (ctx) scl__log(ctx, SCL_LOG_ERROR, "%s", buf);
    return st;
}

scl_status scl__cl_fail(scl_context *ctx, cl_int err, const char *what) {
    return scl__fail(ctx, (scl_status)err, "%s: %s (%d)", what, scl_status_string(err), (int)err);
}

void scl__prefix_error(scl_context *ctx, const char *fmt, ...) {
    char *buf = err_buffer(ctx);
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix), bl = strlen(buf);
    if (pl + bl + 1 > SCL_ERRMSG_CAP) bl = SCL_ERRMSG_CAP - pl - 1;
    memmove(buf + pl, buf, bl);
    memcpy(buf, prefix, pl);
    buf[pl + bl] = '\0';
}

void scl__log(scl_context *ctx, scl_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log) return;
    char msg[SCL_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->log(level, msg, ctx->log_user);
}

char *scl__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static scl_status bad_size(scl_context *ctx, const char *fn, const char *type, size_t size,
                           size_t min) {
    return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                     "%s: %s.size is %zu: set it to sizeof(%s) (at least %zu) before the call", fn,
                     type, size, type, min);
}

scl_status scl__sized_out(scl_context *ctx, const char *fn, const char *type, void *dst,
                          const void *src, size_t full, size_t min) {
    size_t size = SCL_SIZE_OF(dst);
    if (size < min) return bad_size(ctx, fn, type, size, min);
    size_t n = size < full ? size : full;
    memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t), n - sizeof(size_t));
    return SCL_OK;
}

scl_status scl__sized_in(scl_context *ctx, const char *fn, const char *type, void *dst,
                         const void *src, size_t full, size_t min) {
    size_t size = SCL_SIZE_OF(src);
    if (size < min) return bad_size(ctx, fn, type, size, min);
    memset(dst, 0, full);
    memcpy(dst, src, size < full ? size : full);
    *(size_t *)dst = full;
    return SCL_OK;
}
