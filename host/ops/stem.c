/* stem.c: launcher for the stem convolution (cl/stem.cl), 3 -> cout channels, 3x3 stride 2,
 * with bias and ReLU, and its descriptor (tunables, defaults). */
#include "ops/stem.h"
#include "ops/desc.h"
#include "ops/head.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct stem_extra {
    scl_stem_cfg cfg;
    scl_op_variants widths; /* launches pick the vector width per input row */
} stem_extra;

static void stem_options(char *buf, size_t cap, int vw, int co) {
    snprintf(buf, cap, "-DVW=%d -DCO=%d", vw, co);
}

/* Every network launches the stem, the max pool and the head once each: their programs are one,
 * built with the stem's configuration and the pool's and head's defaults (on PoCL two program
 * front ends less at the cold start, 0.3 s of CPU: docs/design.md). A pool or head in another
 * configuration (tuned, or narrower rows) finds no match there and is built alone. */
static void build_with_companions(scl_context *ctx, const scl_stem_cfg *cfg) {
    char so[96], po[96], ho[160];
    stem_options(so, sizeof so, cfg->vw, cfg->co);
    scl__pool_default_options(ctx, po, sizeof po);
    scl__head_default_options(ctx, ho, sizeof ho);
    if (cfg->half) { /* as scl__op_storage_option appends it to each op's own */
        static const char h[] = " -DSCL_HALF=1";
        strncat(so, h, sizeof so - strlen(so) - 1);
        strncat(po, h, sizeof po - strlen(po) - 1);
        strncat(ho, h, sizeof ho - strlen(ho) - 1);
    }
    const char *const files[] = {"stem.cl", "pool.cl", "head.cl"}, *const opts[] = {so, po, ho};
    scl__context_build_group(ctx, 3, files, opts);
}

/* Makes op->kernel the kernel of vector width vw, building it if need be; *wg_max (if not NULL)
 * gets the largest work-group it can run. */
static scl_status use_width(scl_op *op, int vw, size_t *wg_max) {
    stem_extra *x = op->extra;
    stem_options(op->options, sizeof op->options, vw, x->cfg.co);
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

static const scl_op_class stem_class = {"stem", scl__op_hw_stride2, stem_launch, stem_destroy};

/* ---- the descriptor: vw co seg row_wg local0 local1 ----------------------------------------- */

static const int stem_vws[] = {1, 2, 4, 8, 16}, stem_flag[] = {0, 1};
static const int stem_co_probes[] = {1, 3, 4, 5, 8, 12, 16};
static const int stem_seg_probes[] = {0, 1, 4, 8, 16, 32};
static const int stem_local_probes[] = {0, 2, 4, 8, 16};
static const scl__tunable stem_tunables[] = {
    {"vw", "-DVW", stem_vws, 5, 0, 0, 0, NULL, 0},
    {"co", "-DCO", NULL, 0, 1, 16, 1, stem_co_probes, (int)SCL_ARRAY_LEN(stem_co_probes)},
    {"seg", NULL, NULL, 0, 0, 4096, 1, stem_seg_probes, (int)SCL_ARRAY_LEN(stem_seg_probes)},
    {"row_wg", NULL, stem_flag, 2, 0, 0, 0, NULL, 0},
    {"local0", NULL, NULL, 0, 0, 4096, 1, stem_local_probes, (int)SCL_ARRAY_LEN(stem_local_probes)},
    {"local1", NULL, NULL, 0, 0, 4096, 1, stem_local_probes, (int)SCL_ARRAY_LEN(stem_local_probes)},
};
static const char *const stem_kernels[] = {"stem3x3s2"};

static void to_cfg(const int *v, scl_stem_cfg *cfg) {
    *cfg = (scl_stem_cfg){
        .vw = v[0], .co = v[1], .seg = v[2], .row_wg = v[3], .local = {(size_t)v[4], (size_t)v[5]}};
}

static int clamp_int(size_t x) {
    return x > 2147483647u ? 2147483647 : (int)x;
}

static void from_cfg(const scl_stem_cfg *cfg, int *v) {
    v[0] = cfg->vw, v[1] = cfg->co, v[2] = cfg->seg, v[3] = cfg->row_wg;
    v[4] = clamp_int(cfg->local[0]), v[5] = clamp_int(cfg->local[1]);
}

static void type_default(const scl_device_info *dev, scl_stem_cfg *cfg) {
    if (dev->type == SCL_DEVICE_GPU) {
        /* small work-items, many of them: a vector of 4 outputs for at most 4 channels each */
        *cfg = (scl_stem_cfg){.vw = 4, .co = 4, .seg = 4};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels.md): whole rows, each tap vector feeding
         * up to twelve channels (twelve accumulators and three taps fit the registers), in
         * the native vectors (16 floats there; 8 with AVX2, whose 16 registers 16-float
         * accumulators would overflow) */
        *cfg = (scl_stem_cfg){.vw = scl__cpu_vec(dev), .co = 12, .seg = 0, .row_wg = 1};
    }
}

void scl__stem_default_cfg(const scl_context *ctx, scl_stem_cfg *cfg) {
    type_default(scl__dev_or_cpu(ctx), cfg);
}

static void stem_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    scl_stem_cfg cfg;
    type_default(dev, &cfg);
    /* Even groups of at most cfg.co channels: 24 as 2 x 12, 16 as 2 x 8, rather than leaving a
     * last group mostly padding. */
    if (s->cout > 0) {
        int groups = (s->cout + cfg.co - 1) / cfg.co;
        cfg.co = (s->cout + groups - 1) / groups;
    }
    from_cfg(&cfg, vals);
}

static scl_status stem_check(scl_context *ctx, const scl__op_shape *s, const int *v,
                             const char *fn) {
    (void)s;
    const size_t local[2] = {(size_t)v[4], (size_t)v[5]};
    scl_status st = scl__check_seg(ctx, fn, v[2], v[0]);
    if (st == SCL_OK) st = scl__check_local2(ctx, fn, local);
    return st;
}

static scl_status stem_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                   const float *b, const int *vals, scl_op **out) {
    scl_stem_cfg cfg;
    to_cfg(vals, &cfg);
    cfg.half = s->half;
    return scl__op_stem_create_cfg(ctx, s->cout, w, b, &cfg, out);
}

static void stem_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    *nw = (size_t)s->cout * 27, *nb = (size_t)s->cout;
}

const scl__op_desc scl__stem_desc = {"stem",           "stem.cl",
                                     stem_kernels,     1,
                                     stem_tunables,    (int)SCL_ARRAY_LEN(stem_tunables),
                                     stem_defaults,    stem_check,
                                     stem_desc_create, stem_counts};

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
    scl__op_shape shape = {0, 3, cout, 1, 2, SCL_OP_RELU, cfg->half};
    int vals[SCL__MAX_TUNABLES];
    from_cfg(cfg, vals);
    scl_status st = scl__desc_validate(ctx, &scl__stem_desc, &shape, vals, fn);
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
    /* the stem's 648-odd weights stay float under half storage: its input is the caller's float
     * image, and converting a weight per multiply-add cost 3-4x on PoCL */
    st = scl__op_new(ctx, &stem_class, fn, 0, w, padded * 27, b, padded, &op);
    if (st == SCL_OK) op->half = cfg->half;
    free(w);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = 3;
    op->cout = cout;
    op->in_float = 1; /* the caller's image */
    op->stride = 2;
    op->flags = SCL_OP_RELU;
    snprintf(op->kernel_name, sizeof op->kernel_name, "stem3x3s2");
    /* the widest kernel now, so that a build failure shows at creation; others on demand */
    build_with_companions(ctx, cfg);
    size_t wg_max = 0;
    st = use_width(op, cfg->vw, &wg_max);
    if (st == SCL_OK) st = scl__check_kernel_local(op, wg_max, cfg->local, fn);
    return scl__op_created(op, st, fn, out);
}

scl_status scl_op_stem_create(scl_context *ctx, int cout, const float *weights, const float *bias,
                              scl_op **out) {
    if (!ctx) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_op_stem_create: ctx is NULL");
    scl__op_shape s = {0, 3, cout, 1, 2, SCL_OP_RELU, 0};
    return scl__desc_create(ctx, &scl__stem_desc, &s, weights, bias, out);
}
