/* head.c: launcher for the classifier head (cl/head.cl): global average pool then fully
 * connected, in one launch or two, and its descriptor (tunables, defaults). */
#include "ops/head.h"
#include "ops/desc.h"

#include <stdlib.h>

typedef struct head_extra {
    scl_head_cfg cfg;
    int kp;            /* classes padded to whole tiles: the row length of the weights */
    cl_kernel gap;     /* two-phase only */
    cl_mem pooled;     /* two-phase only: N x C means, grown on demand */
    size_t pooled_cap; /* floats */
} head_extra;

static void head_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op, (void)h, (void)w;
    *oh = 1, *ow = 1;
}

/* Pools every plane into x->pooled, waiting on the caller's events. */
static scl_status run_gap(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    scl_context *ctx = op->ctx;
    head_extra *x = op->extra;
    const scl_tensor *in = a->in;
    size_t need = (size_t)in->n * (size_t)op->cin;
    if (x->pooled_cap < need) {
        cl_int e;
        cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE,
                                  need * (op->half ? sizeof(uint16_t) : sizeof(float)), NULL, &e);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "gap_fc op: clCreateBuffer(pooled means)");
        /* launches already enqueued keep the old buffer alive through their own reference */
        if (x->pooled) clReleaseMemObject(x->pooled);
        x->pooled = m, x->pooled_cap = need;
    }
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int hw = in->h * in->w, n = in->n, c = op->cin;
    const void *vals[] = {&in->mem, &io->in_map, &in_bs, &in_pitch, &hw, &x->pooled, &n, &c};
    const size_t sizes[] = {sizeof in->mem, sizeof io->in_map, sizeof in_bs, sizeof in_pitch,
                            sizeof hw,      sizeof x->pooled,  sizeof n,     sizeof c};
    for (cl_uint i = 0; i < SCL_ARRAY_LEN(vals); i++)
        SCL_CL_TRY(ctx, clSetKernelArg(x->gap, i, sizes[i], vals[i]), "clSetKernelArg(gap)");
    size_t global[2] = {(size_t)c, (size_t)n};
    op->pre_dims = 2, op->pre_global[0] = global[0], op->pre_global[1] = global[1],
    op->pre_global[2] = 1;
    SCL_CL_TRY(ctx,
               clEnqueueNDRangeKernel(ctx->queue, x->gap, 2, NULL, global, NULL, a->num_wait_events,
                                      a->num_wait_events ? a->wait_events : NULL,
                                      scl__op_event_slot(op, a, 0)),
               "clEnqueueNDRangeKernel(gap)");
    return SCL_OK;
}

static scl_status head_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    head_extra *x = op->extra;
    const scl_head_cfg *cfg = &x->cfg;
    const scl_tensor *in = a->in, *out = a->out;
    scl_op_args fc_args = *a;
    cl_mem src = in->mem, src_map = io->in_map, out_map = io->out_map;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch, hw = in->h * in->w;
    scl_status st;
    if (!cfg->fused) {
        if ((st = run_gap(op, a, io)) != SCL_OK) return st;
        /* The FC reads the means as a tensor of 1 x 1 planes, one per channel, in order; the
         * in-order queue puts it after the pooling, which already waited on the caller. The
         * identity table may grow here, replacing the one io holds for a NULL output map: ask
         * once for enough for both. */
        cl_mem ident;
        int most = op->cin > op->cout ? op->cin : op->cout;
        if ((st = scl__chanmap_device(op->ctx, NULL, most, &ident)) != SCL_OK) return st;
        src_map = ident;
        if (!a->out_map) out_map = ident;
        src = x->pooled, in_bs = op->cin, in_pitch = 1, hw = 1;
        fc_args.num_wait_events = 0, fc_args.wait_events = NULL;
    }
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int n = in->n, c = op->cin, k = op->cout, kp = x->kp;
    const scl_karg args[] = {SCL_KARG(src),      SCL_KARG(src_map),     SCL_KARG(in_bs),
                             SCL_KARG(in_pitch), SCL_KARG(hw),          SCL_KARG(out->mem),
                             SCL_KARG(out_map),  SCL_KARG(out_bs),      SCL_KARG(out_pitch),
                             SCL_KARG(n),        SCL_KARG(c),           SCL_KARG(k),
                             SCL_KARG(kp),       SCL_KARG(op->weights), SCL_KARG(op->bias)};
    if ((st = scl__op_args(op, args, SCL_ARRAY_LEN(args))) != SCL_OK) return st;
    op->dims = 2;
    op->use_local = cfg->local[0] != 0;
    op->local[0] = cfg->local[0], op->local[1] = cfg->local[1], op->local[2] = 1;
    op->global[0] =
        scl__round_up(((size_t)n + (size_t)cfg->nb - 1) / (size_t)cfg->nb, cfg->local[0]);
    op->global[1] = scl__round_up((size_t)kp / (size_t)(cfg->kv * cfg->kn), cfg->local[1]);
    op->global[2] = 1;
    return scl__op_run(op, &fc_args);
}

static void head_destroy(scl_op *op) {
    head_extra *x = op->extra;
    if (!x) return;
    if (x->gap) clReleaseKernel(x->gap);
    if (x->pooled) clReleaseMemObject(x->pooled);
    free(x);
}

static const scl_op_class head_class = {"gap_fc", head_hw, head_launch, head_destroy};

/* ---- the descriptor: fused kv kn nb blocked local0 local1 ---------------------------------- */

static const int head_kvs[] = {1, 2, 4, 8, 16}, head_flag[] = {0, 1};
static const int head_k_probes[] = {1, 2, 3, 4, 8};
static const int head_local_probes[] = {0, 1, 2, 4, 8};
static const scl__tunable head_tunables[] = {
    {"fused", NULL, head_flag, 2, 0, 0, 0, NULL, 0},
    {"kv", "-DKV", head_kvs, 5, 0, 0, 0, NULL, 0},
    {"kn", "-DKN", NULL, 0, 1, 8, 1, head_k_probes, (int)SCL_ARRAY_LEN(head_k_probes)},
    {"nb", "-DNB", NULL, 0, 1, 8, 1, head_k_probes, (int)SCL_ARRAY_LEN(head_k_probes)},
    {"blocked", "-DBLOCKED", head_flag, 2, 0, 0, 0, NULL, 0},
    {"local0", NULL, NULL, 0, 0, 4096, 1, head_local_probes, (int)SCL_ARRAY_LEN(head_local_probes)},
    {"local1", NULL, NULL, 0, 0, 4096, 1, head_local_probes, (int)SCL_ARRAY_LEN(head_local_probes)},
};
static const char *const head_kernels[] = {"gap_fc", "gap"};

static void to_cfg(const int *v, scl_head_cfg *cfg) {
    *cfg = (scl_head_cfg){.fused = v[0],
                          .kv = v[1],
                          .kn = v[2],
                          .nb = v[3],
                          .blocked = v[4],
                          .local = {(size_t)v[5], (size_t)v[6]}};
}

static int clamp_int(size_t x) {
    return x > 2147483647u ? 2147483647 : (int)x;
}

static void from_cfg(const scl_head_cfg *cfg, int *v) {
    v[0] = cfg->fused, v[1] = cfg->kv, v[2] = cfg->kn, v[3] = cfg->nb, v[4] = cfg->blocked;
    v[5] = clamp_int(cfg->local[0]), v[6] = clamp_int(cfg->local[1]);
}

static void type_default(const scl_device_info *dev, scl_head_cfg *cfg) {
    if (dev->type == SCL_DEVICE_GPU) {
        /* many narrow work-items, so pool once rather than once per narrow tile */
        *cfg = (scl_head_cfg){.fused = 0, .kv = 4, .kn = 1, .nb = 1, .blocked = 0};
    } else {
        /* measured on PoCL/AVX-512 (docs/kernels.md): pooling once beats pooling once per
         * 64-class tile even with the second launch, at batch 1 and 32 alike. Work-groups of
         * one work-item: left to itself PoCL made the 16 work-items of batch 1 one group, on
         * one core (gap_fc 0.55 ms; 0.32-0.36 ms spread over both, PoCL/Zen 3). */
        *cfg =
            (scl_head_cfg){.fused = 0, .kv = 16, .kn = 4, .nb = 4, .blocked = 1, .local = {1, 1}};
    }
}

void scl__head_default_cfg(const scl_context *ctx, scl_head_cfg *cfg) {
    type_default(scl__dev_or_cpu(ctx), cfg);
}

static void head_options(const scl_head_cfg *cfg, char *buf, size_t cap) {
    snprintf(buf, cap, "-DKV=%d -DKN=%d -DNB=%d -DBLOCKED=%d", cfg->kv, cfg->kn, cfg->nb,
             cfg->blocked ? 1 : 0);
}

void scl__head_default_options(const scl_context *ctx, char *buf, size_t cap) {
    scl_head_cfg cfg;
    scl__head_default_cfg(ctx, &cfg);
    head_options(&cfg, buf, cap);
}

static void head_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    (void)s;
    scl_head_cfg cfg;
    type_default(dev, &cfg);
    from_cfg(&cfg, vals);
}

static scl_status head_check(scl_context *ctx, const scl__op_shape *s, const int *v,
                             const char *fn) {
    (void)s;
    const size_t local[2] = {(size_t)v[5], (size_t)v[6]};
    return scl__check_local2(ctx, fn, local);
}

static scl_status head_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                   const float *b, const int *vals, scl_op **out) {
    scl_head_cfg cfg;
    to_cfg(vals, &cfg);
    cfg.half = s->half;
    return scl__op_gap_fc_create_cfg(ctx, s->cin, s->cout, w, b, &cfg, out);
}

static void head_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    *nw = (size_t)s->cout * (size_t)s->cin, *nb = (size_t)s->cout;
}

const scl__op_desc scl__head_desc = {"head",           "head.cl",
                                     head_kernels,     2,
                                     head_tunables,    (int)SCL_ARRAY_LEN(head_tunables),
                                     head_defaults,    head_check,
                                     head_desc_create, head_counts};

scl_status scl__op_gap_fc_create_cfg(scl_context *ctx, int cin, int classes, const float *weights,
                                     const float *bias, const scl_head_cfg *cfg, scl_op **out) {
    const char *fn = "scl_op_gap_fc_create";
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    scl_status st = scl__check_range(ctx, fn, "cin", cin, 1, SCL__MAX_CHANNELS);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "classes", classes, 1, SCL__MAX_CHANNELS);
    if (st != SCL_OK) return st;
    if (!weights) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: cfg is NULL", fn);
    scl__op_shape shape = {0, cin, classes, 1, 1, 0, cfg->half};
    int vals[SCL__MAX_TUNABLES];
    from_cfg(cfg, vals);
    st = scl__desc_validate(ctx, &scl__head_desc, &shape, vals, fn);
    if (st != SCL_OK) return st;
    size_t tile = (size_t)cfg->kv * (size_t)cfg->kn, kp = scl__round_up((size_t)classes, tile);
    if ((double)kp * cin >= 2147483647.0)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: %d x %d weights are too large (over 2^31 floats)", fn, classes, cin);
    /* transposed, the padding classes zero (computed, never stored); head.cl's BLOCKED says
     * how the rows are laid out */
    float *wt = calloc((size_t)cin * kp + kp, sizeof *wt), *b = wt + (size_t)cin * kp;
    head_extra *x = calloc(1, sizeof *x);
    if (!wt || !x) {
        free(wt), free(x);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    }
    for (size_t k = 0; k < (size_t)classes; k++) {
        size_t t = k / tile, kk = k % tile;
        for (size_t c = 0; c < (size_t)cin; c++)
            wt[cfg->blocked ? (t * cin + c) * tile + kk : c * kp + k] =
                weights[k * (size_t)cin + c];
        if (bias) b[k] = bias[k];
    }
    x->cfg = *cfg;
    x->kp = (int)kp;
    scl_op *op;
    st = scl__op_new(ctx, &head_class, fn, cfg->half, wt, (size_t)cin * kp, b, kp, &op);
    free(wt);
    if (st != SCL_OK) {
        free(x);
        return st;
    }
    op->extra = x;
    op->cin = cin;
    op->cout = classes;
    op->out_h_fixed = 1;
    op->out_float = 1; /* the logits */
    char opts[128];
    head_options(cfg, opts, sizeof opts);
    if ((st = scl__op_kernel(op, "head.cl", "gap_fc", opts)) == SCL_OK && !cfg->fused) {
        st = scl__kernel_create(ctx, "head.cl", op->options, "gap", &x->gap);
        op->nlaunch = 2;
        snprintf(op->pre_kernel_name, sizeof op->pre_kernel_name, "gap");
    }
    if (st == SCL_OK && cfg->local[0]) {
        size_t wg_max = 0;
        cl_int e = clGetKernelWorkGroupInfo(op->kernel, ctx->device, CL_KERNEL_WORK_GROUP_SIZE,
                                            sizeof wg_max, &wg_max, NULL);
        st = e != CL_SUCCESS ? scl__cl_fail(ctx, e, "clGetKernelWorkGroupInfo(gap_fc)")
                             : scl__check_kernel_local(op, wg_max, cfg->local, fn);
    }
    return scl__op_created(op, st, fn, out);
}

scl_status scl_op_gap_fc_create(scl_context *ctx, int cin, int classes, const float *weights,
                                const float *bias, scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_op_gap_fc_create: ctx is NULL");
    scl__op_shape s = {0, cin, classes, 1, 1, 0, 0};
    return scl__desc_create(ctx, &scl__head_desc, &s, weights, bias, out);
}
