/* pool.c: launchers for the 3x3 stride-2 max and average pools (cl/pool.cl), with their
 * descriptor (tunables, defaults). */
#include "ops/desc.h"
#include "ops/op.h"

#include <stdlib.h>

/* The tunables (their allowed values: scl__pool_desc below; docs/kernels.md, "Pooling"):
 *   vw   outputs per vector;
 *   th   output rows per work-item;
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

typedef struct pool_extra {
    pool_cfg cfg;
    scl_op_variants widths; /* launches pick the vector width per input row (seg 0) */
} pool_extra;

static void pool_default_cfg(const scl_device_info *dev, pool_cfg *cfg) {
    if (dev->type == SCL_DEVICE_GPU) {
        /* neighbouring work-items take neighbouring 4-output pieces of a row (8 + 1 input
         * floats each): coalesced, and many work-items even on 14x14 planes. Not measured. */
        *cfg = (pool_cfg){.vw = 4, .th = 2, .seg = 4, .group_outputs = 0};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels.md): whole rows in the widest vectors that
         * fit, whole planes per work-group; two output rows per work-item, not four: about as
         * fast, and a third of the code PoCL generates at the first launch (a second less).
         * The native width, as the stem's: the stem's program then holds the pool too. */
        *cfg = (pool_cfg){.vw = scl__cpu_vec(dev), .th = 2, .seg = 0, .group_outputs = 2048};
    }
}

static void pool_options(char *buf, size_t cap, int vw, int th) {
    snprintf(buf, cap, "-DVW=%d -DTH=%d", vw, th);
}

void scl__pool_default_options(const scl_context *ctx, char *buf, size_t cap) {
    pool_cfg cfg;
    pool_default_cfg(&ctx->info, &cfg);
    pool_options(buf, cap, cfg.vw, cfg.th);
}

/* Makes op->kernel the kernel of vector width vw, building it if need be; *wg_max (if not NULL)
 * gets the largest work-group it can run. */
static scl_status use_width(scl_op *op, int vw, size_t *wg_max) {
    pool_extra *x = op->extra;
    pool_options(op->options, sizeof op->options, vw, x->cfg.th);
    return scl__op_use_variant(op, &x->widths, "pool.cl", vw, wg_max);
}

static scl_status pool_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const pool_cfg *cfg = &((const pool_extra *)op->extra)->cfg;
    const scl_tensor *in = a->in, *out = a->out;
    int vw = cfg->vw;
    if (!cfg->seg) /* whole rows: the widest vector whose first chunk (2 * vw columns) fits */
        while (vw > 1 && 2 * vw > in->w)
            vw /= 2;
    size_t wg_max;
    scl_status st = use_width(op, vw, &wg_max);
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
    op->dims = 3;
    op->local[0] = op->local[1] = op->local[2] = 0;
    if (cfg->group_outputs > 0 && segs * blocks <= wg_max) {
        /* PoCL, left to size the groups of a small launch, makes one group of the whole grid
         * and runs it on one core; too small groups pay its per-group overhead. Whole planes
         * per group instead: about group_outputs outputs each, at least 4 groups per core. */
        size_t planes =
            scl__op_units_per_group(op, (size_t)cfg->group_outputs, (size_t)oh * (size_t)ow,
                                    (size_t)nc, segs * blocks, wg_max);
        op->local[0] = segs, op->local[1] = blocks, op->local[2] = planes;
    }
    op->use_local = op->local[0] != 0;
    op->global[0] = scl__round_up(segs, op->local[0]); /* local 0: left as it is */
    op->global[1] = scl__round_up(blocks, op->local[1]);
    op->global[2] = scl__round_up((size_t)nc, op->local[2]);
    return scl__op_run(op, a);
}

static void pool_destroy(scl_op *op) {
    pool_extra *x = op->extra;
    if (x) scl__op_release_variants(op, &x->widths);
    free(x);
}

static const scl_op_class pool_class = {"pool", scl__op_hw_stride2, pool_launch, pool_destroy};

/* ---- the descriptor: vw th seg group_outputs (shape kind 0 max, 1 avg) ---------------------- */

static const int pool_vws[] = {1, 2, 4, 8, 16};
static const int pool_th_probes[] = {1, 2, 3, 4, 5, 8};
static const int pool_seg_probes[] = {0, 1, 4, 16, 32};
static const int pool_group_probes[] = {0, 1, 64, 512, 2048};
static const scl__tunable pool_tunables[] = {
    {"vw", "-DVW", pool_vws, 5, 0, 0, 0, NULL, 0},
    {"th", "-DTH", NULL, 0, 1, 8, 1, pool_th_probes, (int)SCL_ARRAY_LEN(pool_th_probes)},
    {"seg", NULL, NULL, 0, 0, 4096, 1, pool_seg_probes, (int)SCL_ARRAY_LEN(pool_seg_probes)},
    {"group_outputs", NULL, NULL, 0, 0, 1 << 20, 1, pool_group_probes,
     (int)SCL_ARRAY_LEN(pool_group_probes)},
};
static const char *const pool_kernels[] = {"maxpool3x3s2", "avgpool3x3s2"};

static void pool_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    (void)s;
    pool_cfg cfg;
    pool_default_cfg(dev, &cfg);
    vals[0] = cfg.vw, vals[1] = cfg.th, vals[2] = cfg.seg, vals[3] = cfg.group_outputs;
}

static scl_status pool_check(scl_context *ctx, const scl__op_shape *s, const int *v,
                             const char *fn) {
    (void)s;
    return scl__check_seg(ctx, fn, v[2], v[0]);
}

static scl_status pool_create(scl_context *ctx, int channels, int avg, int half,
                              const pool_cfg *cfg, scl_op **out);

static scl_status pool_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                   const float *b, const int *vals, scl_op **out) {
    (void)w, (void)b;
    pool_cfg cfg = {.vw = vals[0], .th = vals[1], .seg = vals[2], .group_outputs = vals[3]};
    return pool_create(ctx, s->cin, s->kind, s->half, &cfg, out);
}

static void pool_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    (void)s;
    *nw = *nb = 0;
}

const scl__op_desc scl__pool_desc = {"pool",           "pool.cl",
                                     pool_kernels,     2,
                                     pool_tunables,    (int)SCL_ARRAY_LEN(pool_tunables),
                                     pool_defaults,    pool_check,
                                     pool_desc_create, pool_counts};

static scl_status pool_create(scl_context *ctx, int channels, int avg, int half,
                              const pool_cfg *cfg, scl_op **out) {
    const char *fn = avg ? "scl_op_avgpool_create" : "scl_op_maxpool_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    scl_status st = scl__check_range(ctx, fn, "channels", channels, 1, SCL__MAX_CHANNELS);
    if (st != SCL_OK) return st;
    scl__op_shape shape = {avg, channels, channels, channels, 2, 0, half};
    int vals[] = {cfg->vw, cfg->th, cfg->seg, cfg->group_outputs};
    st = scl__desc_validate(ctx, &scl__pool_desc, &shape, vals, fn);
    if (st != SCL_OK) return st;
    pool_extra *x = calloc(1, sizeof *x);
    if (!x) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    x->cfg = *cfg;
    scl_op *op;
    st = scl__op_new(ctx, &pool_class, fn, half, NULL, 0, NULL, 0, &op);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = op->cout = channels;
    op->stride = 2;
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s", avg ? "avgpool3x3s2" : "maxpool3x3s2");
    /* the widest kernel now, so that a build failure shows at creation; others on demand */
    return scl__op_created(op, use_width(op, cfg->vw, NULL), fn, out);
}

scl_status scl__op_pool_create_cfg(scl_context *ctx, int channels, int avg, int vw, int th, int seg,
                                   int group_outputs, scl_op **out) {
    pool_cfg cfg = {.vw = vw, .th = th, .seg = seg, .group_outputs = group_outputs};
    if (ctx && group_outputs < 0) {
        pool_cfg def;
        pool_default_cfg(&ctx->info, &def);
        cfg.group_outputs = def.group_outputs;
    }
    return pool_create(ctx, channels, avg, 0, &cfg, out);
}

static scl_status public_create(scl_context *ctx, int channels, int avg, scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL",
                         avg ? "scl_op_avgpool_create" : "scl_op_maxpool_create");
    scl__op_shape s = {avg, channels, channels, channels, 2, 0, 0};
    return scl__desc_create(ctx, &scl__pool_desc, &s, NULL, NULL, out);
}

scl_status scl_op_maxpool_create(scl_context *ctx, int channels, scl_op **out) {
    return public_create(ctx, channels, 0, out);
}

scl_status scl_op_avgpool_create(scl_context *ctx, int channels, scl_op **out) {
    return public_create(ctx, channels, 1, out);
}
