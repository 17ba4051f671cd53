/* pointwise.c: launcher for the grouped 1x1 conv (cl/pointwise.cl): picks the register tile
 * per device type, packs the weights per tile at create time, and sizes the NDRange. */
#include "ops/pointwise.h"
#include "ops/desc.h"
#include "ops/op.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#define PW_MAX_CO_TILE 32

/* The tile chosen at create time; the geometry of each launch follows from it. */
typedef struct pw_cfg {
    int vec, co_tile;
    int kg, coutg; /* input and output channels per group */
    int tiles;     /* channel tiles per group (the last may be partial) */
    size_t local0; /* work-group size along pixels; 0 leaves it to the driver */
} pw_cfg;

static void pw_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    (void)op;
    *oh = h;
    *ow = w;
}

/* The residual may live in the output tensor (V1's relu(main + x) written over x), but then
 * each channel must read its residual from the very plane it writes, or from a plane nobody
 * writes: otherwise one work-item's store races another's load. 1: a race, -1: out of memory. */
static int residual_races(const scl_op *op, const scl_op_args *a) {
    if (a->residual->mem != a->out->mem) return 0;
    const scl_chanmap *om = a->out_map, *rm = a->residual_map;
    char *written = calloc((size_t)a->out->c, 1);
    if (!written) return -1;
    for (int c = 0; c < op->cout; c++)
        written[om ? om->planes[c] : c] = 1;
    int race = 0;
    for (int c = 0; c < op->cout && !race; c++) {
        int rp = rm ? rm->planes[c] : c, wp = om ? om->planes[c] : c;
        race = rp != wp && rp < a->out->c && written[rp];
    }
    free(written);
    return race;
}

static scl_status pw_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const pw_cfg *cfg = op->extra;
    int race = (op->flags & SCL_OP_RESIDUAL) ? residual_races(op, a) : 0;
    if (race < 0)
        return scl__fail(op->ctx, SCL_ERROR_OUT_OF_MEMORY, "pointwise op: out of host memory");
    if (race)
        return scl__fail(op->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "pointwise op: the residual shares planes of the output tensor with "
                         "other channels (in place is allowed only plane for plane)");
    const scl_tensor *in = a->in, *out = a->out, *res = a->residual;
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    /* Without a residual the kernel never touches these: a NULL buffer is a valid argument. */
    cl_mem res_mem = res ? res->mem : NULL, res_map = res ? io->residual_map : NULL;
    cl_int res_bs = res ? (cl_int)(res->c * res->pitch) : 0,
           res_pitch = res ? (cl_int)res->pitch : 0;
    cl_int hw = in->h * in->w;
    cl_int chunks = (hw + cfg->vec - 1) / cfg->vec;
    cl_int kg = cfg->kg, coutg = cfg->coutg, tiles = cfg->tiles;
    const scl_karg args[] = {SCL_KARG(in->mem),     SCL_KARG(io->in_map), SCL_KARG(in_bs),
                             SCL_KARG(in_pitch),    SCL_KARG(out->mem),   SCL_KARG(io->out_map),
                             SCL_KARG(out_bs),      SCL_KARG(out_pitch),  SCL_KARG(res_mem),
                             SCL_KARG(res_map),     SCL_KARG(res_bs),     SCL_KARG(res_pitch),
                             SCL_KARG(op->weights), SCL_KARG(op->bias),   SCL_KARG(chunks),
                             SCL_KARG(kg),          SCL_KARG(coutg),      SCL_KARG(tiles)};
    scl_status st = scl__op_args(op, args, SCL_ARRAY_LEN(args));
    if (st != SCL_OK) return st;
    op->dims = 3;
    op->global[0] = (size_t)chunks;
    op->global[1] = (size_t)op->groups * (size_t)tiles;
    op->global[2] = (size_t)in->n;
    /* one work-group size for every plane, small ones too (dim 0 rounded up to it, the spare
     * work-items leave at once): PoCL generates the machine code of a kernel per work-group
     * size at its first launch, 0.1-0.3 s each */
    op->use_local = cfg->local0 > 0;
    if (op->use_local) {
        op->local[0] = cfg->local0, op->local[1] = 1, op->local[2] = 1;
        op->global[0] = scl__round_up(op->global[0], cfg->local0);
    }
    return scl__op_run(op, a);
}

static void pw_destroy(scl_op *op) {
    free(op->extra);
}

static const scl_op_class pw_class = {"pointwise", pw_hw, pw_launch, pw_destroy};

/* Weights cout x kg row-major become [group][tile][k][co_tile] and the bias [group][tile][co_tile],
 * zero past each group's last channel: one tile's weights for one k are contiguous, and the
 * kernel needs no tail case inside its k loop. */
static scl_status pack(scl_context *ctx, const pw_cfg *c, int groups, const float *w,
                       const float *b, float **pw, float **pb, size_t *nw, size_t *nb) {
    size_t ntiles = (size_t)groups * (size_t)c->tiles;
    *nw = ntiles * (size_t)c->kg * (size_t)c->co_tile;
    *nb = ntiles * (size_t)c->co_tile;
    *pw = calloc(*nw, sizeof(float));
    *pb = calloc(*nb, sizeof(float));
    if (!*pw || !*pb) {
        free(*pw), free(*pb);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY,
                         "scl_op_pointwise_create: out of host memory");
    }
    for (int g = 0; g < groups; g++)
        for (int j = 0; j < c->tiles; j++) {
            size_t t = (size_t)g * c->tiles + j;
            for (int i = 0; i < c->co_tile && j * c->co_tile + i < c->coutg; i++) {
                size_t co = (size_t)g * c->coutg + (size_t)j * c->co_tile + i;
                for (int k = 0; k < c->kg; k++)
                    (*pw)[(t * c->kg + k) * c->co_tile + i] = w[co * c->kg + k];
                if (b) (*pb)[t * c->co_tile + i] = b[co];
            }
        }
    return SCL_OK;
}

static scl_status create(scl_context *ctx, int cin, int cout, int groups, int flags, const float *w,
                         const float *b, int vec, int co_tile, size_t local0, int half,
                         const char *fn, scl_op **out) {
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    scl_status st = scl__check_range(ctx, fn, "cin", cin, 1, SCL__MAX_CHANNELS);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "cout", cout, 1, SCL__MAX_CHANNELS);
    if (st != SCL_OK) return st;
    if (groups < 1 || cin % groups || cout % groups)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: groups = %d must be >= 1 and divide cin = %d and cout = %d", fn,
                         groups, cin, cout);
    if (!w) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: weights is NULL", fn);
    if (flags & ~(SCL_OP_RELU | SCL_OP_RESIDUAL))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", fn,
                         (unsigned)(flags & ~(SCL_OP_RELU | SCL_OP_RESIDUAL)));
    scl__op_shape shape = {0, cin, cout, groups, 1, flags, half};
    int vals[] = {vec, co_tile};
    st = scl__desc_validate(ctx, &scl__pointwise_desc, &shape, vals, fn);
    if (st != SCL_OK) return st;
    pw_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    cfg->vec = vec;
    cfg->kg = cin / groups;
    cfg->coutg = cout / groups;
    /* a tile wider than a group would only multiply zeros */
    cfg->co_tile = co_tile < cfg->coutg ? co_tile : cfg->coutg;
    cfg->tiles = (cfg->coutg + cfg->co_tile - 1) / cfg->co_tile;
    cfg->local0 = local0;
    /* the packed count in 64 bits, checked before any allocation: kernels index it with ints */
    int64_t packed = (int64_t)groups * cfg->tiles * cfg->co_tile * cfg->kg;
    if (packed > INT_MAX) {
        free(cfg);
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: %d x %d weights (cin %d / groups %d) are too many: %lld floats, the "
                         "limit is %d",
                         fn, cout, cin / groups, cin, groups, (long long)packed, INT_MAX);
    }

    float *pw, *pb;
    size_t nw, nb;
    st = pack(ctx, cfg, groups, w, b, &pw, &pb, &nw, &nb);
    if (st != SCL_OK) {
        free(cfg);
        return st;
    }
    scl_op *op;
    st = scl__op_new(ctx, &pw_class, fn, half, pw, nw, pb, nb, &op);
    free(pw), free(pb);
    if (st != SCL_OK) {
        free(cfg);
        return st;
    }
    op->extra = cfg;
    op->cin = cin, op->cout = cout, op->groups = groups, op->flags = flags, op->stride = 1;
    char opts[128];
    snprintf(opts, sizeof opts, "-DVEC=%d -DCO_TILE=%d -DRELU=%d -DRESIDUAL=%d", vec, cfg->co_tile,
             (flags & SCL_OP_RELU) ? 1 : 0, (flags & SCL_OP_RESIDUAL) ? 1 : 0);
    if ((st = scl__op_kernel(op, "pointwise.cl", "pointwise", opts)) != SCL_OK)
        return scl__op_created(op, st, fn, out);
    /* the kernel's own limit may be below the device's (register-heavy tiles on GPUs) */
    if ((st = scl__op_fit_local0(op, &cfg->local0, "scl_op_pointwise_create")) != SCL_OK) return st;
    *out = op;
    return SCL_OK;
}

/* The local size follows the tile: wide rows are CPU-style (work-groups of 8 rows, so every
 * core has work even at batch 1), narrow ones GPU-style (64 along the plane, so a warp reads one
 * contiguous stretch). */
static size_t local0_for(int vec) {
    return vec >= 8 ? 8 : 64;
}

scl_status scl__op_pointwise_create_cfg(scl_context *ctx, int cin, int cout, int groups, int flags,
                                        const float *w, const float *b, int vec, int co_tile,
                                        scl_op **out) {
    return create(ctx, cin, cout, groups, flags, w, b, vec, co_tile, local0_for(vec), 0,
                  "scl__op_pointwise_create_cfg", out);
}

/* ---- the descriptor ----------------------------------------------------------------------- */

static const int pw_vecs[] = {1, 2, 4, 8, 16};
static const int pw_tile_probes[] = {1, 3, 4, 5, 6, 8, 12, 16, 32};
static const scl__tunable pw_tunables[] = {
    {"vec", "-DVEC", pw_vecs, 5, 0, 0, 0, NULL, 0},
    {"co_tile", "-DCO_TILE", NULL, 0, 1, PW_MAX_CO_TILE, 1, pw_tile_probes,
     (int)SCL_ARRAY_LEN(pw_tile_probes)},
};
static const char *const pw_kernels[] = {"pointwise"};

static void pw_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    /* CPU: 16 pixels (8 with 4-float vectors) times 8 channels: AVX-512's 8 zmm accumulators
     * reach about 75% of the FMA peak on PoCL (docs/kernels.md); with AVX2's 16 ymm registers,
     * 16 pixels times 6 channels (12 accumulators; the tuner's choice on PoCL/Zen 3). GPU and
     * others: one pixel per work-item, neighbours on neighbouring addresses, 8 channels per
     * work-item for reuse of each loaded pixel. */
    int vec = 1, co_tile = 8;
    if (dev->type == SCL_DEVICE_CPU) {
        int nv = scl__cpu_vec(dev);
        vec = nv == 4 ? 8 : 16, co_tile = nv == 8 ? 6 : 8;
    }
    /* Spread each group's channels evenly over the tiles it needs: 12 per group becomes 6 + 6,
     * not 8 + 4 with a half-empty tile (V1's g = 8). Never wider than asked. */
    if (s->groups >= 1 && s->cout >= s->groups && s->cout % s->groups == 0) {
        int coutg = s->cout / s->groups, tiles = (coutg + co_tile - 1) / co_tile;
        co_tile = (coutg + tiles - 1) / tiles;
    }
    vals[0] = vec, vals[1] = co_tile;
}

static scl_status pw_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                 const float *b, const int *vals, scl_op **out) {
    return create(ctx, s->cin, s->cout, s->groups, s->flags, w, b, vals[0], vals[1],
                  local0_for(vals[0]), s->half, "scl_op_pointwise_create", out);
}

static void pw_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    *nw = s->groups > 0 ? (size_t)s->cout * (size_t)(s->cin / s->groups) : 0;
    *nb = (size_t)s->cout;
}

const scl__op_desc scl__pointwise_desc = {"pointwise",    "pointwise.cl",
                                          pw_kernels,     1,
                                          pw_tunables,    (int)SCL_ARRAY_LEN(pw_tunables),
                                          pw_defaults,    NULL,
                                          pw_desc_create, pw_counts};

scl_status scl_op_pointwise_create(scl_context *ctx, int cin, int cout, int groups, int flags,
                                   const float *weights, const float *bias, scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_op_pointwise_create: ctx is NULL");
    scl__op_shape s = {0, cin, cout, groups, 1, flags, 0};
    return scl__desc_create(ctx, &scl__pointwise_desc, &s, weights, bias, out);
}
