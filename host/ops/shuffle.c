/* shuffle.c: launcher for the explicit, data-moving channel shuffle (cl/shuffle.cl), the
 * baseline against which the zero-copy channel maps are tested and measured. */
#include "ops/desc.h"
#include "ops/op.h"

#include <stdlib.h>

typedef struct shuffle_cfg {
    int vec;
    int a, b; /* src(c) = (c % a) * b + c / a */
    size_t local0;
} shuffle_cfg;

static void shuffle_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = h;
    *ow = w;
}

static scl_status shuffle_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const shuffle_cfg *cfg = op->extra;
    const scl_tensor *in = a->in, *out = a->out;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int chunks = (in->h * in->w + cfg->vec - 1) / cfg->vec, A = cfg->a, B = cfg->b;
    const scl_karg args[] = {SCL_KARG(in->mem),  SCL_KARG(io->in_map), SCL_KARG(in_bs),
                             SCL_KARG(in_pitch), SCL_KARG(out->mem),   SCL_KARG(io->out_map),
                             SCL_KARG(out_bs),   SCL_KARG(out_pitch),  SCL_KARG(chunks),
                             SCL_KARG(A),        SCL_KARG(B)};
    scl_status st = scl__op_args(op, args, SCL_ARRAY_LEN(args));
    if (st != SCL_OK) return st;
    op->dims = 3;
    op->global[0] = (size_t)chunks, op->global[1] = (size_t)op->cin, op->global[2] = (size_t)in->n;
    scl__op_local0(op, cfg->local0);
    return scl__op_run(op, a);
}

static void shuffle_destroy(scl_op *op) {
    free(op->extra);
}

static const scl_op_class shuffle_class = {"shuffle", shuffle_hw, shuffle_launch, shuffle_destroy};

/* ---- the descriptor: vec local0 (shape kind 1: the inverse shuffle) ------------------------ */

static const int shuffle_vecs[] = {1, 2, 4, 8, 16};
static const int shuffle_local_probes[] = {0, 1, 8, 64};
static const scl__tunable shuffle_tunables[] = {
    {"vec", "-DVEC", shuffle_vecs, 5, 0, 0, 0, NULL, 0},
    {"local0", NULL, NULL, 0, 0, 4096, 1, shuffle_local_probes,
     (int)SCL_ARRAY_LEN(shuffle_local_probes)},
};
static const char *const shuffle_kernels[] = {"channel_shuffle"};

static void shuffle_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    (void)s;
    /* CPU: whole float16 rows per work-item, work-groups of 8 rows (left to itself PoCL may
     * make one work-group of a small launch, and use one core); GPU: float4, 64 along the
     * plane */
    int cpu = dev->type == SCL_DEVICE_CPU;
    vals[0] = cpu ? 16 : 4, vals[1] = cpu ? 8 : 64;
}

static scl_status shuffle_check(scl_context *ctx, const scl__op_shape *s, const int *v,
                                const char *fn) {
    (void)s;
    if ((size_t)v[1] > ctx->info.max_work_group_size)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: local0 = %d, more than the device's work-group limit %zu", fn, v[1],
                         ctx->info.max_work_group_size);
    return SCL_OK;
}

static scl_status shuffle_create(scl_context *ctx, const scl__op_shape *s, const int *vals,
                                 scl_op **out) {
    static const char fn[] = "scl_op_shuffle_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    int channels = s->cin, groups = s->groups, inverse = s->kind;
    if (channels < 1 || channels > SCL__MAX_CHANNELS || groups < 1 || channels % groups)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: groups = %d must be >= 1 and divide channels = %d (1..%d)", fn,
                         groups, channels, SCL__MAX_CHANNELS);
    scl_status st = scl__desc_validate(ctx, &scl__shuffle_desc, s, vals, fn);
    if (st != SCL_OK) return st;
    shuffle_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    int n = channels / groups;
    cfg->a = inverse ? n : groups;
    cfg->b = inverse ? groups : n;
    cfg->vec = vals[0];
    cfg->local0 = (size_t)vals[1];
    scl_op *op;
    st = scl__op_new(ctx, &shuffle_class, fn, s->half, NULL, 0, NULL, 0, &op);
    if (st != SCL_OK) {
        free(cfg);
        return st;
    }
    op->extra = cfg;
    op->cin = op->cout = channels, op->groups = groups, op->stride = 1;
    char opts[32];
    snprintf(opts, sizeof opts, "-DVEC=%d", cfg->vec);
    if ((st = scl__op_kernel(op, "shuffle.cl", "channel_shuffle", opts)) != SCL_OK)
        return scl__op_created(op, st, fn, out);
    /* the kernel's own limit may be below the device's (register-heavy tiles on GPUs) */
    if ((st = scl__op_fit_local0(op, &cfg->local0, fn)) != SCL_OK) return st;
    *out = op;
    return SCL_OK;
}

static scl_status shuffle_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                      const float *b, const int *vals, scl_op **out) {
    (void)w, (void)b;
    return shuffle_create(ctx, s, vals, out);
}

static void shuffle_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    (void)s;
    *nw = *nb = 0;
}

const scl__op_desc scl__shuffle_desc = {"shuffle",           "shuffle.cl",
                                        shuffle_kernels,     1,
                                        shuffle_tunables,    (int)SCL_ARRAY_LEN(shuffle_tunables),
                                        shuffle_defaults,    shuffle_check,
                                        shuffle_desc_create, shuffle_counts};

scl_status scl_op_shuffle_create(scl_context *ctx, int channels, int groups, int inverse,
                                 scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_op_shuffle_create: ctx is NULL");
    scl__op_shape s = {inverse ? 1 : 0, channels, channels, groups, 1, 0, 0};
    return scl__desc_create(ctx, &scl__shuffle_desc, &s, NULL, NULL, out);
}
