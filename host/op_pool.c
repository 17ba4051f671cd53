/* op_pool.c: launchers for the 3x3 stride-2 max and average pools (cl/pool.cl), with their
 * per-device-type tunables. */
#include "op.h"

#include <stdlib.h>

/* The tunables (docs/kernels.md, "Pooling"):
 *   vw   outputs per vector: 1, 2, 4, 8 or 16;
 *   th   output rows per work-item: 1 to 8;
 *   seg  outputs per work-item along W, a multiple of vw; 0: the whole row, and then each
 *        launch takes the widest of vw, vw/2, ... 1 whose first chunk fits the row
 *        (2 * width <= W), building that kernel on first use;
 *   group_outputs  work-groups of whole planes, about this many outputs each (at least 4
 *        groups per compute unit, at most CL_KERNEL_WORK_GROUP_SIZE work-items); 0: the
 *        runtime sizes the groups. */
typedef struct pool_cfg {
    int vw, th, seg, group_outputs;
} pool_cfg;

/* Internal entry for tests and tuning (no header of its own; tests/test_pool.c declares it):
 * scl_op_maxpool_create (avg 0) or scl_op_avgpool_create (avg 1) with explicit tunables; a bad
 * one is SCL_ERROR_INVALID_ARGUMENT. group_outputs < 0 means the device type's default. */
scl_status scl__op_pool_create_cfg(scl_context *ctx, int channels, int avg, int vw, int th, int seg,
                                   int group_outputs, scl_op **out);

/* One kernel per vector width (index log2 vw), built when a launch first needs it; op->kernel
 * points at the last one launched and owns none of them. */
typedef struct pool_extra {
    pool_cfg cfg;
    cl_kernel kernels[5];
    size_t wg_max[5]; /* CL_KERNEL_WORK_GROUP_SIZE of each */
} pool_extra;

static void pool_default_cfg(const scl_context *ctx, pool_cfg *cfg) {
    if (ctx->info.type == SCL_DEVICE_GPU) {
        /* neighbouring work-items take neighbouring 4-output pieces of a row (8 + 1 input
         * floats each): coalesced, and many work-items even on 14x14 planes. Not measured. */
        *cfg = (pool_cfg){.vw = 4, .th = 2, .seg = 4, .group_outputs = 0};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels.md): whole rows in the widest vectors that
         * fit, four output rows per work-item, whole planes per work-group */
        *cfg = (pool_cfg){.vw = 16, .th = 4, .seg = 0, .group_outputs = 2048};
    }
}

static void pool_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = (h + 1) / 2; /* (h + 2*1 - 3) / 2 + 1 */
    *ow = (w + 1) / 2;
}

static size_t round_up(size_t x, size_t m) {
    return (x + m - 1) / m * m;
}

static int log2i(int v) {
    int l = 0;
    while (v > 1)
        v >>= 1, l++;
    return l;
}

/* Makes op->kernel the kernel of vector width vw, building it if need be. */
static scl_status use_width(scl_op *op, int vw) {
    pool_extra *x = op->extra;
    int i = log2i(vw);
    snprintf(op->options, sizeof op->options, "-DVW=%d -DTH=%d", vw, x->cfg.th);
    if (!x->kernels[i]) {
        scl_status st =
            scl__kernel_create(op->ctx, "pool.cl", op->options, op->kernel_name, &x->kernels[i]);
        if (st != SCL_OK) return st;
        SCL_CL_TRY(op->ctx,
                   clGetKernelWorkGroupInfo(x->kernels[i], op->ctx->device,
                                            CL_KERNEL_WORK_GROUP_SIZE, sizeof(size_t),
                                            &x->wg_max[i], NULL),
                   "clGetKernelWorkGroupInfo(CL_KERNEL_WORK_GROUP_SIZE)");
    }
    op->kernel = x->kernels[i];
    return SCL_OK;
}

static scl_status pool_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const pool_extra *x = op->extra;
    const pool_cfg *cfg = &x->cfg;
    const scl_tensor *in = a->in, *out = a->out;
    int vw = cfg->vw;
    if (!cfg->seg) /* whole rows: the widest vector whose first chunk (2 * vw columns) fits */
        while (vw > 1 && 2 * vw > in->w)
            vw /= 2;
    scl_status st = use_width(op, vw);
    if (st != SCL_OK) return st;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int h = in->h, w = in->w, oh = out->h, ow = out->w, c = op->cin, nc = in->n * op->cin;
    cl_int seg = cfg->seg ? cfg->seg : ow;
    const scl_karg args[] = {SCL_KARG(in->mem),   SCL_KARG(io->in_map),  SCL_KARG(in_bs),
                             SCL_KARG(in_pitch),  SCL_KARG(h),           SCL_KARG(w),
                             SCL_KARG(out->mem),  SCL_KARG(io->out_map), SCL_KARG(out_bs),
                             SCL_KARG(out_pitch), SCL_KARG(oh),          SCL_KARG(ow),
                             SCL_KARG(c),         SCL_KARG(nc),          SCL_KARG(seg)};
    if ((st = scl__op_args(op, args, SCL_ARRAY_LEN(args))) != SCL_OK) return st;
    size_t segs = ((size_t)ow + (size_t)seg - 1) / (size_t)seg;
    size_t blocks = ((size_t)oh + (size_t)cfg->th - 1) / (size_t)cfg->th;
    size_t wg_max = x->wg_max[log2i(vw)];
    op->dims = 3;
    op->local[0] = op->local[1] = op->local[2] = 0;
    if (cfg->group_outputs > 0 && segs * blocks <= wg_max) {
        /* PoCL, left to size the groups of a small launch, makes one group of the whole grid
         * and runs it on one core; too small groups pay its per-group overhead. Whole planes
         * per group instead: about group_outputs outputs each, at least 4 groups per core. */
        size_t per = (size_t)oh * (size_t)ow, cu = op->ctx->info.compute_units;
        size_t planes = ((size_t)cfg->group_outputs + per - 1) / per;
        size_t most = (size_t)nc / (4 * (cu ? cu : 1));
        if (planes > most) planes = most ? most : 1;
        while (planes > 1 && segs * blocks * planes > wg_max)
            planes--;
        op->local[0] = segs, op->local[1] = blocks, op->local[2] = planes;
    }
    op->use_local = op->local[0] != 0;
    op->global[0] = op->use_local ? round_up(segs, op->local[0]) : segs;
    op->global[1] = op->use_local ? round_up(blocks, op->local[1]) : blocks;
    op->global[2] = op->use_local ? round_up((size_t)nc, op->local[2]) : (size_t)nc;
    return scl__op_run(op, a);
}

static void pool_destroy(scl_op *op) {
    pool_extra *x = op->extra;
    if (x)
        for (size_t i = 0; i < SCL_ARRAY_LEN(x->kernels); i++)
            if (x->kernels[i]) clReleaseKernel(x->kernels[i]);
    op->kernel = NULL; /* one of the above */
    free(x);
}

static const scl_op_class pool_class = {"pool", pool_hw, pool_launch, pool_destroy};

static scl_status pool_create(scl_context *ctx, int channels, int avg, const pool_cfg *cfg,
                              scl_op **out) {
    const char *fn = avg ? "scl_op_avgpool_create" : "scl_op_maxpool_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    if (channels < 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: channels = %d, must be >= 1", fn,
                         channels);
    int v = cfg->vw;
    if (v != 1 && v != 2 && v != 4 && v != 8 && v != 16)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: vw = %d, must be 1, 2, 4, 8 or 16",
                         fn, v);
    if (cfg->th < 1 || cfg->th > 8)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: th = %d, must be 1 to 8", fn,
                         cfg->th);
    if (cfg->seg < 0 || cfg->seg % v != 0)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: seg = %d, must be 0 or a positive multiple of vw = %d", fn, cfg->seg,
                         v);
    pool_extra *x = calloc(1, sizeof *x);
    if (!x) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    x->cfg = *cfg;
    scl_op *op;
    scl_status st = scl__op_new(ctx, &pool_class, fn, NULL, 0, NULL, 0, &op);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = op->cout = channels;
    op->stride = 2;
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s", avg ? "avgpool3x3s2" : "maxpool3x3s2");
    /* the widest kernel now, so that a build failure shows at creation; others on demand */
    if ((st = use_width(op, v)) != SCL_OK) {
        scl__prefix_error(ctx, "%s: ", fn);
        scl_op_destroy(op);
        return st;
    }
    *out = op;
    return SCL_OK;
}

scl_status scl__op_pool_create_cfg(scl_context *ctx, int channels, int avg, int vw, int th, int seg,
                                   int group_outputs, scl_op **out) {
    pool_cfg cfg = {.vw = vw, .th = th, .seg = seg, .group_outputs = group_outputs};
    if (ctx && group_outputs < 0) {
        pool_cfg def;
        pool_default_cfg(ctx, &def);
        cfg.group_outputs = def.group_outputs;
    }
    return pool_create(ctx, channels, avg, &cfg, out);
}

scl_status scl_op_maxpool_create(scl_context *ctx, int channels, scl_op **out) {
    pool_cfg cfg = {.vw = 1, .th = 1};
    if (ctx) pool_default_cfg(ctx, &cfg);
    return pool_create(ctx, channels, 0, &cfg, out);
}

scl_status scl_op_avgpool_create(scl_context *ctx, int channels, scl_op **out) {
    pool_cfg cfg = {.vw = 1, .th = 1};
    if (ctx) pool_default_cfg(ctx, &cfg);
    return pool_create(ctx, channels, 1, &cfg, out);
}
