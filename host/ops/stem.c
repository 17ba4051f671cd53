/* stem.c: launcher for the stem convolution (cl/stem.cl), 3 -> cout channels, 3x3 stride 2,
 * with bias and ReLU, and the per-device-type tunables of op_stem.h. */
#include "ops/stem.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct stem_extra {
    scl_stem_cfg cfg;
    scl_op_variants widths; /* launches pick the vector width per input row */
} stem_extra;

static void stem_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = h - h / 2; /* (h + 2*1 - 3) / 2 + 1, without h + 1 overflowing */
    *ow = w - w / 2;
}

/* Makes op->kernel the kernel of vector width vw, building it if need be; *wg_max (if not NULL)
 * gets the largest work-group it can run. */
static scl_status use_width(scl_op *op, int vw, size_t *wg_max) {
    stem_extra *x = op->extra;
    snprintf(op->options, sizeof op->options, "-DVW=%d -DCO=%d", vw, x->cfg.co);
    return scl__op_use_variant(op, &x->widths, "stem.cl", vw, wg_max);
}

static scl_status stem_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const scl_stem_cfg *cfg = &((const stem_extra *)op->extra)->cfg;
    const scl_tensor *in = a->in, *out = a->out;
    /* whole rows: the widest vector whose edge chunks fit the row (stem.cl) */
    int vw = cfg->vw, lo = cfg->vw < 4 ? cfg->vw : 4;
    if (!cfg->seg)
        while (vw > lo && 2 * vw > in->w)
            vw /= 2;
    size_t wg_max;
    scl_status st = use_width(op, vw, &wg_max);
    if (st != SCL_OK) return st;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int h = in->h, w = in->w, oh = out->h, ow = out->w, cout = op->cout;
    size_t groups = (size_t)in->n * (size_t)((cout + cfg->co - 1) / cfg->co);
    cl_int ng = (cl_int)groups;
    cl_int seg = cfg->seg ? cfg->seg : (cl_int)scl__round_up((size_t)ow, (size_t)vw);
    const scl_karg args[] = {SCL_KARG(in->mem),     SCL_KARG(io->in_map),  SCL_KARG(in_bs),
                             SCL_KARG(in_pitch),    SCL_KARG(h),           SCL_KARG(w),
                             SCL_KARG(out->mem),    SCL_KARG(io->out_map), SCL_KARG(out_bs),
                             SCL_KARG(out_pitch),   SCL_KARG(oh),          SCL_KARG(ow),
                             SCL_KARG(cout),        SCL_KARG(ng),          SCL_KARG(seg),
                             SCL_KARG(op->weights), SCL_KARG(op->bias)};
    if ((st = scl__op_args(op, args, SCL_ARRAY_LEN(args))) != SCL_OK) return st;
    size_t segs = ((size_t)ow + (size_t)seg - 1) / (size_t)seg;
    op->dims = 3;
    op->local[0] = cfg->local[0], op->local[1] = cfg->local[1], op->local[2] = 1;
    if (!cfg->local[0] && cfg->row_wg && segs <= wg_max) {
        /* Runtimes that size groups themselves (PoCL) may run a small launch as one group on
         * one core. Whole rows per group instead: about 1024 outputs each, but at least four
         * groups per compute unit. */
        size_t rows =
            scl__op_units_per_group(op, 1024, (size_t)ow, (size_t)oh * groups, segs, wg_max);
        op->local[0] = segs, op->local[1] = rows;
    }
    op->use_local = op->local[0] != 0;
    op->global[0] = scl__round_up(segs, op->local[0]);
    op->global[1] = scl__round_up((size_t)oh, op->local[1]);
    op->global[2] = groups;
    return scl__op_run(op, a);
}

static void stem_destroy(scl_op *op) {
    stem_extra *x = op->extra;
    if (x) scl__op_release_variants(op, &x->widths);
    free(x);
}

static const scl_op_class stem_class = {"stem", stem_hw, stem_launch, stem_destroy};

void scl__stem_default_cfg(const scl_context *ctx, scl_stem_cfg *cfg) {
    if (ctx && ctx->info.type == SCL_DEVICE_GPU) {
        /* small work-items, many of them: a vector of 4 outputs for at most 4 channels each */
        *cfg = (scl_stem_cfg){.vw = 4, .co = 4, .seg = 4};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels_dw.md): whole rows, each tap vector feeding
         * up to twelve channels (twelve accumulators and three taps fit the registers) */
        *cfg = (scl_stem_cfg){.vw = 16, .co = 12, .seg = 0, .row_wg = 1};
    }
}

static scl_status check_cfg(scl_context *ctx, const scl_stem_cfg *cfg, const char *fn) {
    scl_status st = scl__check_vec_width(ctx, fn, "vw", cfg->vw);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "co", cfg->co, 1, 16);
    if (st == SCL_OK) st = scl__check_seg(ctx, fn, cfg->seg, cfg->vw);
    if (st == SCL_OK) st = scl__check_local2(ctx, fn, cfg->local);
    return st;
}

scl_status scl__op_stem_create_cfg(scl_context *ctx, int cout, const float *weights,
                                   const float *bias, const scl_stem_cfg *cfg, scl_op **out) {
    const char *fn = "scl_op_stem_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    /* cout x 27 weights, padded, are indexed with ints: at most INT_MAX / 28 channels */
    if (scl__check_range(ctx, fn, "cout", cout, 1, INT_MAX / 28 - 64) != SCL_OK)
        return SCL_ERROR_INVALID_ARGUMENT;
    if (!weights) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: cfg is NULL", fn);
    scl_status st = check_cfg(ctx, cfg, fn);
    if (st != SCL_OK) return st;
    /* padded to whole groups of co channels with zeros, so the kernel reads without bounds
     * checks; the padding channels are computed and never stored */
    size_t padded = ((size_t)cout + (size_t)cfg->co - 1) / (size_t)cfg->co * (size_t)cfg->co;
    float *w = calloc(padded * 28, sizeof *w), *b = w + padded * 27;
    stem_extra *x = calloc(1, sizeof *x);
    if (!w || !x) {
        free(w), free(x);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    }
    memcpy(w, weights, (size_t)cout * 27 * sizeof *w);
    if (bias) memcpy(b, bias, (size_t)cout * sizeof *b);
    x->cfg = *cfg;
    scl_op *op;
    st = scl__op_new(ctx, &stem_class, fn, w, padded * 27, b, padded, &op);
    free(w);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = 3;
    op->cout = cout;
    op->stride = 2;
    op->flags = SCL_OP_RELU;
    snprintf(op->kernel_name, sizeof op->kernel_name, "stem3x3s2");
    /* the widest kernel now, so that a build failure shows at creation; others on demand */
    return scl__op_created(op, use_width(op, cfg->vw, NULL), fn, out);
}

scl_status scl_op_stem_create(scl_context *ctx, int cout, const float *weights, const float *bias,
                              scl_op **out) {
    scl_stem_cfg cfg;
    scl__stem_default_cfg(ctx, &cfg);
    /* Even groups of at most cfg.co channels: 24 as 2 x 12, 16 as 2 x 8, rather than leaving a
     * last group mostly padding. */
    if (cout > 0) {
        int groups = (cout + cfg.co - 1) / cfg.co;
        cfg.co = (cout + groups - 1) / groups;
    }
    return scl__op_stem_create_cfg(ctx, cout, weights, bias, &cfg, out);
}
