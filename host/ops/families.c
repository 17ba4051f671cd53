/* families.c: the op descriptors as public (unstable) API, for tools: which op families there
 * are, the configurations a family's descriptor samples for a shape, and ops made with any of
 * them (`shufflecl bench --op FAMILY` iterates these). */
#include "ops/desc.h"

#include <stddef.h>
#include <string.h>

static const scl__op_desc *family_at(int family) {
    for (int i = 0; scl__op_descs[i]; i++)
        if (i == family) return scl__op_descs[i];
    return NULL;
}

int scl_op_family_count(void) {
    int n = 0;
    while (scl__op_descs[n])
        n++;
    return n;
}

const char *scl_op_family_name(int family) {
    const scl__op_desc *d = family_at(family);
    return d ? d->family : NULL;
}

int scl_op_family_find(const char *name) {
    for (int i = 0; name && scl__op_descs[i]; i++)
        if (strcmp(scl__op_descs[i]->family, name) == 0) return i;
    return -1;
}

int scl_op_family_tunables(int family) {
    const scl__op_desc *d = family_at(family);
    return d ? d->ntunables : 0;
}

/* The caller's versioned shape as the descriptors' own. */
static scl_status shape_in(scl_context *ctx, const char *fn, const scl_op_shape *in,
                           scl__op_shape *s) {
    if (!in) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: shape is NULL", fn);
    scl_op_shape own;
    /* the layout before `precision` was added is still accepted (float32) */
    size_t min = offsetof(scl_op_shape, flags) + sizeof own.flags;
    scl_status st = scl__sized_in(ctx, fn, "scl_op_shape", &own, in, sizeof own, min);
    if (st != SCL_OK) return st;
    int half = 0;
    if ((st = scl__storage_of(ctx, own.precision, fn, "scl_op_shape.precision", &half)) != SCL_OK)
        return st;
    *s = (scl__op_shape){own.kind, own.cin, own.cout, own.groups, own.stride, own.flags, half};
    return SCL_OK;
}

int scl_op_family_samples(scl_context *ctx, int family, const scl_op_shape *shape, int *values,
                          int cap) {
    const scl__op_desc *d = family_at(family);
    if (!ctx || !d || !values || cap < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_op_family_samples: bad family %d or arguments", family);
    scl__op_shape s;
    scl_status st = shape_in(ctx, "scl_op_family_samples", shape, &s);
    if (st != SCL_OK) return st;
    int rows[64][SCL__MAX_TUNABLES];
    int n = scl__desc_samples(ctx, d, &s, SCL__SAMPLE_AXES, rows, cap < 64 ? cap : 64);
    for (int i = 0; i < n; i++)
        memcpy(values + (size_t)i * d->ntunables, rows[i], sizeof(int) * (size_t)d->ntunables);
    return n;
}

scl_status scl_op_family_describe(int family, const int *values, char *text, size_t cap) {
    const scl__op_desc *d = family_at(family);
    if (!d || !values || !text || cap == 0)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_op_family_describe: bad family %d or arguments", family);
    scl__desc_format(d, values, text, cap);
    return SCL_OK;
}

scl_status scl_op_family_weights(int family, const scl_op_shape *shape, size_t *weights,
                                 size_t *biases) {
    const scl__op_desc *d = family_at(family);
    scl__op_shape s;
    if (!d || !weights || !biases)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_op_family_weights: bad family %d or arguments", family);
    scl_status st = shape_in(NULL, "scl_op_family_weights", shape, &s);
    if (st != SCL_OK) return st;
    *weights = *biases = 0;
    if (d->weight_counts) d->weight_counts(&s, weights, biases);
    return SCL_OK;
}

scl_status scl_op_create_config(scl_context *ctx, int family, const scl_op_shape *shape,
                                const int *values, const float *weights, const float *bias,
                                scl_op **out) {
    const scl__op_desc *d = family_at(family);
    if (!ctx || !d || !values || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_op_create_config: bad family %d or arguments", family);
    *out = NULL;
    scl__op_shape s;
    scl_status st = shape_in(ctx, "scl_op_create_config", shape, &s);
    if (st != SCL_OK) return st;
    return d->create(ctx, &s, weights, bias, values, out);
}
