/* depthwise.c: launcher for the depthwise 3x3 convolution (cl/depthwise.cl), with the
 * descriptor (tunables, defaults). */
#include "ops/depthwise.h"
#include "ops/desc.h"

#include <stdlib.h>

typedef struct dw_extra {
    scl_dw_cfg cfg;
    scl_op_variants widths; /* launches pick the vector width per input (row_width) */
} dw_extra;

static void dw_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    *oh = op->stride == 1 ? h : scl__stride2(h);
    *ow = op->stride == 1 ? w : scl__stride2(w);
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

/* ---- the descriptor: vw th seg plane_wg local0 local1 ------------------------------------- */

static const int dw_vws[] = {1, 2, 4, 8, 16}, dw_flag[] = {0, 1};
static const int dw_th_probes[] = {1, 2, 3, 4}, dw_seg_probes[] = {0, 1, 2, 4, 8, 16, 32};
static const int dw_local_probes[] = {0, 2, 4, 8, 16};
static const scl__tunable dw_tunables[] = {
    {"vw", "-DVW", dw_vws, 5, 0, 0, 0, NULL, 0},
    {"th", "-DTH", NULL, 0, 1, 4, 1, dw_th_probes, 4},
    {"seg", NULL, NULL, 0, 0, 4096, 1, dw_seg_probes, (int)SCL_ARRAY_LEN(dw_seg_probes)},
    {"plane_wg", NULL, dw_flag, 2, 0, 0, 0, NULL, 0},
    {"local0", NULL, NULL, 0, 0, 4096, 1, dw_local_probes, (int)SCL_ARRAY_LEN(dw_local_probes)},
    {"local1", NULL, NULL, 0, 0, 4096, 1, dw_local_probes, (int)SCL_ARRAY_LEN(dw_local_probes)},
};
static const char *const dw_kernels[] = {"dw3x3s1", "dw3x3s2"};

static void to_cfg(const int *v, scl_dw_cfg *cfg) {
    *cfg = (scl_dw_cfg){.vw = v[0],
                        .th = v[1],
                        .seg = v[2],
                        .plane_wg = v[3],
                        .local = {(size_t)v[4], (size_t)v[5]}};
}

/* Work-group sizes beyond int are out of range anyway: saturated, so the check refuses them. */
static int clamp_int(size_t x) {
    return x > 2147483647u ? 2147483647 : (int)x;
}

static void from_cfg(const scl_dw_cfg *cfg, int *v) {
    v[0] = cfg->vw, v[1] = cfg->th, v[2] = cfg->seg, v[3] = cfg->plane_wg;
    v[4] = clamp_int(cfg->local[0]), v[5] = clamp_int(cfg->local[1]);
}

static void dw_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    (void)s;
    scl_dw_cfg cfg;
    if (dev->type == SCL_DEVICE_GPU) {
        /* neighbouring work-items take neighbouring 16-byte pieces of a row: coalesced, and
         * enough work-items even for 7x7 planes */
        cfg = (scl_dw_cfg){.vw = 4, .th = 2, .seg = 4};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels.md): whole rows in the widest vectors that
         * fit them, four output rows per work-item sharing their input rows */
        cfg = (scl_dw_cfg){.vw = 16, .th = 4, .seg = 0, .plane_wg = 1};
    }
    from_cfg(&cfg, vals);
}

static scl_status dw_check(scl_context *ctx, const scl__op_shape *s, const int *v, const char *fn) {
    (void)s;
    const size_t local[2] = {(size_t)v[4], (size_t)v[5]};
    scl_status st = scl__check_seg(ctx, fn, v[2], v[0]);
    if (st == SCL_OK) st = scl__check_local2(ctx, fn, local);
    return st;
}

static scl_status dw_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                 const float *b, const int *vals, scl_op **out) {
    scl_dw_cfg cfg;
    to_cfg(vals, &cfg);
    cfg.half = s->half;
    return scl__op_depthwise_create_cfg(ctx, s->cout, s->stride, s->flags, w, b, &cfg, out);
}

static void dw_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    *nw = (size_t)s->cout * 9, *nb = (size_t)s->cout;
}

const scl__op_desc scl__depthwise_desc = {"depthwise",    "depthwise.cl",
                                          dw_kernels,     2,
                                          dw_tunables,    (int)SCL_ARRAY_LEN(dw_tunables),
                                          dw_defaults,    dw_check,
                                          dw_desc_create, dw_counts};

void scl__dw_default_cfg(const scl_context *ctx, int stride, scl_dw_cfg *cfg) {
    scl__op_shape s = {0, 0, 0, 1, stride, 0, 0};
    int v[SCL__MAX_TUNABLES];
    dw_defaults(scl__dev_or_cpu(ctx), &s, v);
    to_cfg(v, cfg);
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
    scl__op_shape shape = {0, channels, channels, channels, stride, flags, cfg->half};
    int vals[SCL__MAX_TUNABLES];
    from_cfg(cfg, vals);
    scl_status st = scl__desc_validate(ctx, &scl__depthwise_desc, &shape, vals, fn);
    if (st != SCL_OK) return st;
    dw_extra *x = calloc(1, sizeof *x);
    if (!x) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    x->cfg = *cfg;
    scl_op *op;
    st = scl__op_new(ctx, &dw_class, fn, cfg->half, weights, (size_t)channels * 9, bias,
                     (size_t)channels, &op);
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
    size_t wg_max = 0;
    st = use_width(op, cfg->vw, &wg_max);
    if (st == SCL_OK) st = scl__check_kernel_local(op, wg_max, cfg->local, fn);
    return scl__op_created(op, st, fn, out);
}

scl_status scl_op_depthwise_create(scl_context *ctx, int channels, int stride, int flags,
                                   const float *weights, const float *bias, scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_op_depthwise_create: ctx is NULL");
    scl__op_shape s = {0, channels, channels, channels, stride, flags, 0};
    return scl__desc_create(ctx, &scl__depthwise_desc, &s, weights, bias, out);
}
