/* shuffle.c: launcher for the explicit, data-moving channel shuffle (cl/shuffle.cl), the
 * baseline against which the zero-copy channel maps are tested and measured. */
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

scl_status scl_op_shuffle_create(scl_context *ctx, int channels, int groups, int inverse,
                                 scl_op **out) {
    static const char fn[] = "scl_op_shuffle_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    if (channels < 1 || channels > SCL__MAX_CHANNELS || groups < 1 || channels % groups)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: groups = %d must be >= 1 and divide channels = %d (1..%d)", fn,
                         groups, channels, SCL__MAX_CHANNELS);
    shuffle_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    int n = channels / groups, cpu = ctx->info.type == SCL_DEVICE_CPU;
    cfg->a = inverse ? n : groups;
    cfg->b = inverse ? groups : n;
    /* CPU: whole float16 rows per work-item, work-groups of 8 rows (left to itself PoCL may
     * make one work-group of a small launch, and use one core); GPU: float4, 64 along the plane */
    cfg->vec = cpu ? 16 : 4;
    cfg->local0 = cpu ? 8 : 64;
    scl_op *op;
    scl_status st = scl__op_new(ctx, &shuffle_class, fn, NULL, 0, NULL, 0, &op);
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
