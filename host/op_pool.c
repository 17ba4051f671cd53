/* op_pool.c: launchers for the 3x3 stride-2 max and average pools (cl/pool.cl). */
#include "op.h"

static void pool_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = (h + 1) / 2; /* (h + 2*1 - 3) / 2 + 1 */
    *ow = (w + 1) / 2;
}

static scl_status pool_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const scl_tensor *in = a->in, *out = a->out;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int h = in->h, w = in->w, oh = out->h, ow = out->w, c = op->cin;
    const scl_karg args[] = {SCL_KARG(in->mem),   SCL_KARG(io->in_map),  SCL_KARG(in_bs),
                             SCL_KARG(in_pitch),  SCL_KARG(h),           SCL_KARG(w),
                             SCL_KARG(out->mem),  SCL_KARG(io->out_map), SCL_KARG(out_bs),
                             SCL_KARG(out_pitch), SCL_KARG(oh),          SCL_KARG(ow),
                             SCL_KARG(c)};
    scl_status st = scl__op_args(op, args, SCL_ARRAY_LEN(args));
    if (st != SCL_OK) return st;
    op->dims = 3;
    op->global[0] = (size_t)ow, op->global[1] = (size_t)oh, op->global[2] = (size_t)in->n * c;
    op->use_local = 0;
    return scl__op_run(op, a);
}

static const scl_op_class pool_class = {"pool", pool_hw, pool_launch, NULL};

static scl_status pool_create(scl_context *ctx, int channels, const char *kernel, const char *fn,
                              scl_op **out) {
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    if (channels < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: channels = %d, must be >= 1", fn, channels);
    scl_op *op;
    scl_status st = scl__op_new(ctx, &pool_class, fn, NULL, 0, NULL, 0, &op);
    if (st != SCL_OK) return st;
    op->cin = op->cout = channels;
    op->stride = 2;
    if ((st = scl__op_kernel(op, "pool.cl", kernel, "")) != SCL_OK) {
        scl_op_destroy(op);
        return st;
    }
    *out = op;
    return SCL_OK;
}

scl_status scl_op_maxpool_create(scl_context *ctx, int channels, scl_op **out) {
    return pool_create(ctx, channels, "maxpool3x3s2", "scl_op_maxpool_create", out);
}

scl_status scl_op_avgpool_create(scl_context *ctx, int channels, scl_op **out) {
    return pool_create(ctx, channels, "avgpool3x3s2", "scl_op_avgpool_create", out);
}
