/* chanmap.c: channel maps, the tables that turn shuffle, split and concat into index
 * arithmetic inside the kernels instead of copies. */
#include "core/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static scl_status map_alloc(scl_context *ctx, int channels, const char *fn, scl_chanmap **out) {
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    if (channels < 1 || channels > SCL__MAX_CHANNELS)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: channels = %d, must be 1..%d", fn,
                         channels, SCL__MAX_CHANNELS);
    scl_chanmap *m = calloc(1, sizeof *m);
    if (m) m->planes = malloc((size_t)channels * sizeof(int));
    if (!m || !m->planes) {
        free(m);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    }
    m->ctx = ctx;
    m->channels = channels;
    *out = m;
    return SCL_OK;
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Derives what every launch checks (highest plane, whether two channels share a plane) once,
 * when the map is made, instead of on each enqueue. Frees the map on failure. The duplicate
 * test sorts a copy: its memory follows the channel count, never the (caller's) plane values. */
static scl_status finish(scl_context *ctx, scl_chanmap **out) {
    scl_chanmap *m = *out;
    m->max_plane = 0;
    for (int c = 0; c < m->channels; c++)
        if (m->planes[c] > m->max_plane) m->max_plane = m->planes[c];
    int *sorted = malloc((size_t)m->channels * sizeof *sorted);
    if (!sorted) {
        scl_chanmap_destroy(m);
        *out = NULL;
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "channel map: out of host memory");
    }
    memcpy(sorted, m->planes, (size_t)m->channels * sizeof *sorted);
    qsort(sorted, (size_t)m->channels, sizeof *sorted, cmp_int);
    m->has_duplicates = 0;
    for (int c = 1; c < m->channels && !m->has_duplicates; c++)
        m->has_duplicates = sorted[c] == sorted[c - 1];
    free(sorted);
    return SCL_OK;
}

scl_status scl_chanmap_create_strided(scl_context *ctx, int channels, int offset, int stride,
                                      scl_chanmap **out) {
    if (out) *out = NULL; /* nothing returned on failure */
    if (offset < 0 || stride < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_chanmap_create_strided: offset %d must be >= 0 and stride %d >= 1",
                         offset, stride);
    /* the last plane in 64 bits: offset + (channels - 1) * stride overflows int otherwise */
    int64_t last = (int64_t)offset + (int64_t)(channels > 0 ? channels - 1 : 0) * stride;
    if (last > SCL__MAX_CHANNELS - 1)
        return scl__fail(
            ctx, SCL_ERROR_INVALID_ARGUMENT,
            "scl_chanmap_create_strided: offset %d + (%d - 1) x stride %d = %lld is past "
            "the highest plane a tensor can have (%d)",
            offset, channels, stride, (long long)last, SCL__MAX_CHANNELS - 1);
    scl_status st = map_alloc(ctx, channels, "scl_chanmap_create_strided", out);
    if (st != SCL_OK) return st;
    for (int c = 0; c < channels; c++)
        (*out)->planes[c] = offset + c * stride;
    return finish(ctx, out);
}

scl_status scl_chanmap_create_shuffle(scl_context *ctx, int channels, int groups, int inverse,
                                      scl_chanmap **out) {
    if (out) *out = NULL; /* nothing returned on failure */
    if (groups < 1 || channels < 1 || channels % groups)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_chanmap_create_shuffle: %d groups do not divide %d channels", groups,
                         channels);
    scl_status st = map_alloc(ctx, channels, "scl_chanmap_create_shuffle", out);
    if (st != SCL_OK) return st;
    int n = channels / groups;
    for (int i = 0; i < groups; i++)
        for (int j = 0; j < n; j++) {
            if (!inverse)
                (*out)->planes[j * groups + i] = i * n + j;
            else
                (*out)->planes[i * n + j] = j * groups + i;
        }
    return finish(ctx, out);
}

scl_status scl_chanmap_create_table(scl_context *ctx, int channels, const int *planes,
                                    scl_chanmap **out) {
    if (out) *out = NULL; /* nothing returned on failure */
    if (!planes)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_chanmap_create_table: planes is NULL");
    if (channels < 1 || channels > SCL__MAX_CHANNELS) /* before reading planes[] */
        return map_alloc(ctx, channels, "scl_chanmap_create_table", out);
    for (int c = 0; c < channels; c++)
        if (planes[c] < 0 || planes[c] > SCL__MAX_CHANNELS - 1)
            return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                             "scl_chanmap_create_table: planes[%d] = %d, must be 0..%d", c,
                             planes[c], SCL__MAX_CHANNELS - 1);
    scl_status st = map_alloc(ctx, channels, "scl_chanmap_create_table", out);
    if (st != SCL_OK) return st;
    memcpy((*out)->planes, planes, (size_t)channels * sizeof(int));
    return finish(ctx, out);
}

scl_status scl_chanmap_compose(scl_context *ctx, const scl_chanmap *outer, const scl_chanmap *inner,
                               scl_chanmap **out) {
    if (out) *out = NULL; /* nothing returned on failure */
    if (!outer || !inner)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_chanmap_compose: NULL map");
    if (inner->max_plane >= outer->channels)
        return scl__fail(
            ctx, SCL_ERROR_SHAPE_MISMATCH,
            "scl_chanmap_compose: the inner map reaches channel %d, the outer map has %d",
            inner->max_plane, outer->channels);
    scl_status st = map_alloc(ctx, inner->channels, "scl_chanmap_compose", out);
    if (st != SCL_OK) return st;
    for (int c = 0; c < inner->channels; c++)
        (*out)->planes[c] = outer->planes[inner->planes[c]];
    return finish(ctx, out);
}

void scl_chanmap_destroy(scl_chanmap *m) {
    if (!m) return;
    if (m->dev) clReleaseMemObject(m->dev);
    free(m->planes);
    free(m);
}

int scl_chanmap_channels(const scl_chanmap *m) {
    return m ? m->channels : 0;
}

int scl_chanmap_plane(const scl_chanmap *m, int c) {
    return m && c >= 0 && c < m->channels ? m->planes[c] : -1;
}

static scl_status upload_table(scl_context *ctx, const int *planes, int n, cl_mem *out) {
    cl_int e;
    cl_mem mem = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                (size_t)n * sizeof(int), (void *)planes, &e);
    if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "channel map: clCreateBuffer");
    *out = mem;
    return SCL_OK;
}

scl_status scl__chanmap_device(scl_context *ctx, const scl_chanmap *m, int channels, cl_mem *out) {
    if (m) {
        if (!m->dev) {
            scl_chanmap *mm = (scl_chanmap *)m; /* the device copy is a cache, not a change */
            scl_status st = upload_table(ctx, m->planes, m->channels, &mm->dev);
            if (st != SCL_OK) return st;
        }
        *out = m->dev;
        return SCL_OK;
    }
    if (ctx->identity_len < channels) {
        int len = channels < 4096 ? 4096 : channels;
        int *planes = malloc((size_t)len * sizeof(int));
        if (!planes) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        for (int c = 0; c < len; c++)
            planes[c] = c;
        cl_mem mem = NULL;
        scl_status st = upload_table(ctx, planes, len, &mem);
        free(planes);
        if (st != SCL_OK) return st;
        /* launches already enqueued keep the old table alive through their own reference */
        if (ctx->identity_map) clReleaseMemObject(ctx->identity_map);
        ctx->identity_map = mem;
        ctx->identity_len = len;
    }
    *out = ctx->identity_map;
    return SCL_OK;
}
