/* depthwise.c: launcher for the depthwise 3x3 convolution (cl/depthwise.cl), with the
 * per-device-type tunables of op_depthwise.h. */
#include "ops/depthwise.h"

#include <stdlib.h>

typedef struct dw_extra {
    scl_dw_cfg cfg;
    scl_op_variants widths; /* launches pick the vector width per input (row_width) */
} dw_extra;

static void dw_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    /* (h + 2*1 - 3) / stride + 1 */
    *oh = op->stride == 1 ? h : h - h / 2;
    *ow = op->stride == 1 ? w : w - w / 2;
}

/* Makes op->kernel the kernel of vector width vw, building it if need be; *wg_max (if not NULL)
 * gets the largest work-group it can run. */
static scl_status use_width(scl_op *op, int vw, size_t *wg_max) {
    dw_extra *x = op->extra;
    snprintf(op->options, sizeof op->options, "-DSTRIDE=%d -DVW=%d -DTH=%d -DRELU=%d", op->stride,
             vw, x->cfg.th, (op->flags & SCL_OP_RELU) ? 1 : 0);
    return scl__op_use_variant(op, &x->widths, "depthwise.cl", vw, wg_max);
}

/* Whole rows: the widest vector whose edge chunks fit the row (depthwise.cl), so that no output
 * falls to the one-column path; rows too short for any take the narrowest. */
static int row_width(const scl_dw_cfg *cfg, int stride, int w) {
    int lo = cfg->vw < 4 ? cfg->vw : 4, v = cfg->vw;
    while (v > lo && !(stride == 1 ? v < w : 2 * v <= w))
        v /= 2;
    return v;
}

static scl_status dw_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const scl_dw_cfg *cfg = &((const dw_extra *)op->extra)->cfg;
    const scl_tensor *in = a->in, *out = a->out;
    int vw = cfg->seg ? cfg->vw : row_width(cfg, op->stride, in->w);
    size_t wg_max;
    scl_status st = use_width(op, vw, &wg_max);
    if (st != SCL_OK) return st;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int h = in->h, w = in->w, oh = out->h, ow = out->w, c = op->cin, nc = in->n * op->cin;
    /* seg 0 (CPUs): a work-item covers whole rows, so the edge chunks sit at its two ends and
     * every other chunk is inside */
    cl_int seg = cfg->seg ? cfg->seg : (cl_int)scl__round_up((size_t)ow, (size_t)vw);
    const scl_karg args[] = {SCL_KARG(in->mem),     SCL_KARG(io->in_map),  SCL_KARG(in_bs),
                             SCL_KARG(in_pitch),    SCL_KARG(h),           SCL_KARG(w),
                             SCL_KARG(out->mem),    SCL_KARG(io->out_map), SCL_KARG(out_bs),
                             SCL_KARG(out_pitch),   SCL_KARG(oh),          SCL_KARG(ow),
                             SCL_KARG(c),           SCL_KARG(nc),          SCL_KARG(seg),
                             SCL_KARG(op->weights), SCL_KARG(op->bias)};
    if ((st = scl__op_args(op, args, SCL_ARRAY_LEN(args))) != SCL_OK) return st;
    size_t segs = ((size_t)ow + (size_t)seg - 1) / (size_t)seg;
    size_t blocks = ((size_t)oh + (size_t)cfg->th - 1) / (size_t)cfg->th;
    op->dims = 3;
    op->local[0] = cfg->local[0], op->local[1] = cfg->local[1], op->local[2] = 1;
    if (!cfg->local[0] && cfg->plane_wg && segs * blocks <= wg_max) {
        /* Runtimes that size groups themselves (PoCL) put a whole small layer in one group,
         * which one core then runs alone. Whole planes per group instead: about 1024 outputs
         * each, but at least four groups per compute unit. */
        size_t planes = scl__op_units_per_group(op, 1024, (size_t)oh * (size_t)ow, (size_t)nc,
                                                segs * blocks, wg_max);
        op->local[0] = segs, op->local[1] = blocks, op->local[2] = planes;
    }
    op->use_local = op->local[0] != 0;
    op->global[0] = scl__round_up(segs, op->local[0]);
    op->global[1] = scl__round_up(blocks, op->local[1]);
    op->global[2] = scl__round_up((size_t)nc, op->local[2]);
    return scl__op_run(op, a);
}

static void dw_destroy(scl_op *op) {
    dw_extra *x = op->extra;
    if (x) scl__op_release_variants(op, &x->widths);
    free(x);
}

static const scl_op_class dw_class = {"depthwise", dw_hw, dw_launch, dw_destroy};

void scl__dw_default_cfg(const scl_context *ctx, int stride, scl_dw_cfg *cfg) {
    (void)stride;
    if (ctx && ctx->info.type == SCL_DEVICE_GPU) {
        /* neighbouring work-items take neighbouring 16-byte pieces of a row: coalesced, and
         * enough work-items even for 7x7 planes */
        *cfg = (scl_dw_cfg){.vw = 4, .th = 2, .seg = 4};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels_dw.md): whole rows in the widest vectors that
         * fit them, four output rows per work-item sharing their input rows */
        *cfg = (scl_dw_cfg){.vw = 16, .th = 4, .seg = 0, .plane_wg = 1};
    }
}

static scl_status check_cfg(scl_context *ctx, const scl_dw_cfg *cfg, const char *fn) {
    scl_status st = scl__check_vec_width(ctx, fn, "vw", cfg->vw);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "th", cfg->th, 1, 4);
    if (st == SCL_OK) st = scl__check_seg(ctx, fn, cfg->seg, cfg->vw);
    if (st == SCL_OK) st = scl__check_local2(ctx, fn, cfg->local);
    return st;
}

scl_status scl__op_depthwise_create_cfg(scl_context *ctx, int channels, int stride, int flags,
                                        const float *weights, const float *bias,
                                        const scl_dw_cfg *cfg, scl_op **out) {
    const char *fn = "scl_op_depthwise_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    if (scl__check_range(ctx, fn, "channels", channels, 1, SCL__MAX_CHANNELS) != SCL_OK)
        return SCL_ERROR_INVALID_ARGUMENT;
    if (stride != 1 && stride != 2)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: stride = %d, must be 1 or 2", fn,
                         stride);
    if (flags & ~SCL_OP_RELU)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: flags = %#x, only SCL_OP_RELU is supported", fn, (unsigned)flags);
    if (!weights) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: cfg is NULL", fn);
    scl_status st = check_cfg(ctx, cfg, fn);
    if (st != SCL_OK) return st;
    dw_extra *x = calloc(1, sizeof *x);
    if (!x) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    x->cfg = *cfg;
    scl_op *op;
    st =
        scl__op_new(ctx, &dw_class, fn, weights, (size_t)channels * 9, bias, (size_t)channels, &op);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = op->cout = channels;
    op->stride = stride;
    op->flags = flags;
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s", stride == 1 ? "dw3x3s1" : "dw3x3s2");
    /* the widest kernel now, so that a build failure shows at creation; others on demand */
    return scl__op_created(op, use_width(op, cfg->vw, NULL), fn, out);
}

scl_status scl_op_depthwise_create(scl_context *ctx, int channels, int stride, int flags,
                                   const float *weights, const float *bias, scl_op **out) {
    scl_dw_cfg cfg;
    scl__dw_default_cfg(ctx, stride, &cfg);
    return scl__op_depthwise_create_cfg(ctx, channels, stride, flags, weights, bias, &cfg, out);
}
