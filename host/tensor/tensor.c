/* tensor.c: NCHW tensors on the device, of floats or (half storage) 16-bit halves, planes padded
 * to SCL_PLANE_ALIGN elements so kernels can load whole vectors without tail cases. The host
 * side always speaks float: uploads and downloads of a half tensor convert (core/half.c). */
#include "core/internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

size_t scl__pitch(int h, int w) {
    size_t hw = (size_t)h * (size_t)w;
    return (hw + SCL_PLANE_ALIGN - 1) / SCL_PLANE_ALIGN * SCL_PLANE_ALIGN;
}

static scl_status create(scl_context *ctx, int n, int c, int h, int w, int half, scl_tensor **out) {
    if (!ctx || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_tensor_create: NULL argument");
    *out = NULL;
    if (n < 1 || c < 1 || h < 1 || w < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_tensor_create: shape %dx%dx%dx%d has a dimension < 1", n, c, h, w);
    size_t pitch = scl__pitch(h, w);
    /* Kernels index with 32-bit ints: keep every element addressable that way, the slack past
     * the last plane included. */
    if ((double)n * c * pitch + SCL__TENSOR_SLACK >= (double)INT_MAX)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_tensor_create: %dx%dx%dx%d is too large (over 2^31 elements)", n, c,
                         h, w);
    scl_tensor *t = calloc(1, sizeof *t);
    if (!t) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a tensor");
    t->half = half;
    cl_int e;
    const size_t bytes = ((size_t)n * c * pitch + SCL__TENSOR_SLACK) * scl__tensor_elem(t);
    t->mem = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, &e);
    if (e != CL_SUCCESS) {
        free(t);
        return scl__cl_fail(ctx, e, "scl_tensor_create: clCreateBuffer");
    }
    t->ctx = ctx, t->n = n, t->c = c, t->h = h, t->w = w, t->pitch = pitch;
    /* zeros, plane padding included: kernels load whole vectors past a plane's pixels (and
     * discard those lanes), and whatever the allocator left there may be denormals, which x86
     * computes on about 100x slower (it made the tuner time defaults at 45x their cost) */
    cl_uint zero = 0;
    e = clEnqueueFillBuffer(ctx->queue, t->mem, &zero, sizeof zero, 0, bytes, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
        clReleaseMemObject(t->mem);
        free(t);
        return scl__cl_fail(ctx, e, "scl_tensor_create: clEnqueueFillBuffer");
    }
    *out = t;
    return SCL_OK;
}

scl_status scl_tensor_create(scl_context *ctx, int n, int c, int h, int w, scl_tensor **out) {
    return create(ctx, n, c, h, w, 0, out);
}

scl_status scl_tensor_create_ex(scl_context *ctx, int n, int c, int h, int w, scl_precision storage,
                                scl_tensor **out) {
    if (storage != SCL_PRECISION_DEFAULT && storage != SCL_PRECISION_FLOAT32 &&
        storage != SCL_PRECISION_HALF_STORAGE) {
        if (out) *out = NULL;
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_tensor_create_ex: storage = %d, must be SCL_PRECISION_FLOAT32 or "
                         "SCL_PRECISION_HALF_STORAGE",
                         (int)storage);
    }
    return create(ctx, n, c, h, w, storage == SCL_PRECISION_HALF_STORAGE, out);
}

scl_precision scl_tensor_storage(const scl_tensor *t) {
    return t && t->half ? SCL_PRECISION_HALF_STORAGE : SCL_PRECISION_FLOAT32;
}

void scl_tensor_destroy(scl_tensor *t) {
    if (!t) return;
    clReleaseMemObject(t->mem);
    free(t);
}

void scl_tensor_shape(const scl_tensor *t, int *n, int *c, int *h, int *w) {
    if (n) *n = t ? t->n : 0;
    if (c) *c = t ? t->c : 0;
    if (h) *h = t ? t->h : 0;
    if (w) *w = t ? t->w : 0;
}

cl_mem scl_tensor_cl_mem(const scl_tensor *t) {
    return t ? t->mem : NULL;
}
size_t scl_tensor_pitch(const scl_tensor *t) {
    return t ? t->pitch : 0;
}

static scl_status check_io(const scl_tensor *t, const void *data, size_t count, const char *fn) {
    if (!t) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "%s: tensor is NULL", fn);
    if (!data) return scl__fail(t->ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: data is NULL", fn);
    size_t want = (size_t)t->n * t->c * t->h * t->w;
    if (count != want)
        return scl__fail(t->ctx, SCL_ERROR_SHAPE_MISMATCH,
                         "%s: %zu floats given, the %dx%dx%dx%d tensor holds %zu", fn, count, t->n,
                         t->c, t->h, t->w, want);
    return SCL_OK;
}

/* One rectangular copy moves every plane: rows are planes, the buffer's row pitch is the
 * padded pitch, the host's is H*W. host holds elements of the tensor's own size. */
static scl_status copy_rect(const scl_tensor *t, void *host, int write, const char *fn) {
    size_t el = scl__tensor_elem(t), hw = (size_t)t->h * t->w * el;
    size_t origin[3] = {0, 0, 0};
    size_t region[3] = {hw, (size_t)t->n * t->c, 1};
    cl_int e = write
                   ? clEnqueueWriteBufferRect(t->ctx->queue, t->mem, CL_TRUE, origin, origin,
                                              region, t->pitch * el, 0, hw, 0, host, 0, NULL, NULL)
                   : clEnqueueReadBufferRect(t->ctx->queue, t->mem, CL_TRUE, origin, origin, region,
                                             t->pitch * el, 0, hw, 0, host, 0, NULL, NULL);
    if (e != CL_SUCCESS) return scl__cl_fail(t->ctx, e, fn);
    return SCL_OK;
}

/* The halves of a half tensor's count elements, staged on the host. */
static scl_status half_stage(const scl_tensor *t, size_t count, uint16_t **out, const char *fn) {
    *out = malloc(count * sizeof **out);
    if (!*out) return scl__fail(t->ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    return SCL_OK;
}

scl_status scl_tensor_upload(scl_tensor *t, const float *data, size_t count) {
    const char *fn = "scl_tensor_upload";
    scl_status st = check_io(t, data, count, fn);
    if (st != SCL_OK || !t->half) return st != SCL_OK ? st : copy_rect(t, (float *)data, 1, fn);
    uint16_t *h;
    if ((st = half_stage(t, count, &h, fn)) != SCL_OK) return st;
    scl__half_from_floats(h, data, count);
    st = copy_rect(t, h, 1, fn);
    free(h);
    return st;
}

scl_status scl_tensor_download(const scl_tensor *t, float *data, size_t count) {
    const char *fn = "scl_tensor_download";
    scl_status st = check_io(t, data, count, fn);
    if (st != SCL_OK || !t->half) return st != SCL_OK ? st : copy_rect(t, data, 0, fn);
    uint16_t *h;
    if ((st = half_stage(t, count, &h, fn)) != SCL_OK) return st;
    if ((st = copy_rect(t, h, 0, fn)) == SCL_OK) scl__half_to_floats(data, h, count);
    free(h);
    return st;
}

scl_status scl_tensor_fill(scl_tensor *t, float value) {
    if (!t) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_tensor_fill: tensor is NULL");
    uint16_t h = scl__half_from_float(value);
    const void *pattern = t->half ? (const void *)&h : (const void *)&value;
    size_t el = scl__tensor_elem(t);
    cl_int e = clEnqueueFillBuffer(t->ctx->queue, t->mem, pattern, el, 0,
                                   (size_t)t->n * t->c * t->pitch * el, 0, NULL, NULL);
    if (e == CL_SUCCESS) e = clFinish(t->ctx->queue);
    if (e != CL_SUCCESS) return scl__cl_fail(t->ctx, e, "scl_tensor_fill");
    return SCL_OK;
}

scl_status scl__tensor_view(scl_context *ctx, cl_mem mem, int n, int c, int h, int w, size_t pitch,
                            scl_tensor **out) {
    scl_tensor *t = calloc(1, sizeof *t);
    if (!t) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a tensor");
    cl_int e = clRetainMemObject(mem);
    if (e != CL_SUCCESS) {
        free(t);
        return scl__cl_fail(ctx, e, "clRetainMemObject");
    }
    t->ctx = ctx, t->mem = mem, t->n = n, t->c = c, t->h = h, t->w = w, t->pitch = pitch;
    *out = t;
    return SCL_OK;
}
