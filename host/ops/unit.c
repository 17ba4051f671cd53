/* unit.c: launcher for the fused ShuffleNet units (cl/unit.cl): V2's (three or five layers) and
 * V1's (grouped 1x1, depthwise, grouped 1x1 and its residual or average-pool shortcut). Packs the
 * layers' weights into one buffer, sizes each launch's row bands and local memory, and holds the
 * family's descriptor. */
#include "ops/unit.h"
#include "ops/desc.h"
#include "ops/op.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_MAX_LAYERS 5
/* Local memory a band may take when the band height is the library's choice: a band's
 * intermediates should stay in a core's own cache (a CPU's local memory is ordinary memory).
 * 2 MiB, a Skylake-SP core's L2: at batch 32, V1 g3's 28x28 units ran 10% faster as whole
 * planes (1.25 MiB) than as two bands under 1 MiB, which recompute their halo rows (V2's
 * stride-2 unit of stage 2: 3%). The tuner's `th` chooses per device. */
#define UNIT_AUTO_LOCAL_BYTES (2048u * 1024u)

typedef struct unit_cfg {
    int stride, vec, th; /* th: output rows per band, 0 = chosen per launch */
    int co_tile;   /* the device's (scl__cpu_co_tile; 8 off CPUs): one build serves every unit */
    int stage;     /* STAGE_X: stride-1 bands stage their input rows (stages_input) */
    int v1, g1, g; /* V1: its first and last 1x1 convs' groups (V2: 0 1 1) */
    int cin, mid, couta, coutb;                       /* V1 at stride 2: couta = cin, the pool's */
    int nl;                                           /* layers: 3 or 5 */
    int woff[UNIT_MAX_LAYERS], boff[UNIT_MAX_LAYERS]; /* each layer's packed weights and biases */
    size_t local0;
    int fuse; /* 0: the tuner found the unit faster layer by layer (the network then runs it so) */
} unit_cfg;

static void stride_hw(int stride, int h, int w, int *oh, int *ow) {
    if (stride == 2) {
        *oh = scl__stride2(h), *ow = scl__stride2(w);
    } else {
        *oh = h, *ow = w;
    }
}

static void unit_hw(const scl_op *op, int h, int w, int *oh, int *ow) {
    stride_hw(op->stride, h, w, oh, ow);
}

/* Whether a stride-1 band stages its input rows in local memory (cl/unit.cl's STAGE_X): where
 * local memory is plentiful (PoCL's CPUs: 512 KiB to 2 MiB of ordinary memory), as measured
 * there; where it is scarce (GPUs: 32-64 KiB, Oclgrind 32 KiB) the first conv and V1's residual
 * read global memory instead, so that a band needs 40-65% less and most units fit at all
 * (docs/kernels.md). Never per unit: one build serves every unit. */
static int stages_input(const scl_device_info *dev) {
    /* SHUFFLECL_UNIT_STAGE=0 or 1 forces either way on any device: CI runs the unstaged path's
     * op tests and parity on PoCL with it (docs/testing.md), and a user can compare the two */
    const char *env = getenv("SHUFFLECL_UNIT_STAGE");
    if (env && (strcmp(env, "0") == 0 || strcmp(env, "1") == 0)) return env[0] == '1';
    return dev->local_mem_bytes >= 256u * 1024u;
}

static size_t round16(size_t x) {
    return (x + 15) / 16 * 16;
}

/* Floats between local regions (rs[0..3]) and the local floats a band of th output rows takes,
 * for input rows of w and output rows of ow (see the layout in cl/unit.cl). */
static size_t band_floats(const unit_cfg *c, int th, int w, int ow, size_t rs[4]) {
    size_t v = (size_t)c->vec, W = (size_t)w, T = (size_t)th;
    if (c->stride == 1) { /* without staging no l0: the first conv and V1's residual read global */
        rs[0] = c->stage ? round16((T + 2) * W + 2 * v) : 0;
        rs[1] = round16(1 + (T + 2) * W + 2 * v + 1);
        rs[2] = round16(T * W + 2 * v);
        rs[3] = 0;
        return (size_t)c->cin * rs[0] + (size_t)c->mid * (rs[1] + rs[2]);
    }
    rs[0] = rs[1] = round16(1 + (2 * T + 1) * W + 2 * v + 1);
    rs[2] = rs[3] = round16(T * (size_t)ow + 2 * v);
    if (c->v1) { /* the pool writes global memory straight from the input rows: no l3 */
        rs[3] = 0;
        return (size_t)c->cin * rs[0] + (size_t)c->mid * (rs[1] + rs[2]);
    }
    return (size_t)c->cin * (rs[0] + rs[3]) + (size_t)c->mid * (rs[1] + rs[2]);
}

/* Output rows per band: the configured count, else as many as make one band per compute unit
 * over the batch (each band recomputes its halo rows: fewer bands, less work), fewer where the band
 * would not fit UNIT_AUTO_LOCAL_BYTES; never over the device's local memory. 0: not even one row
 * fits. */
static int band_rows_of(const scl_device_info *dev, const unit_cfg *c, int n, int w, int oh,
                        int ow) {
    size_t rs[4], lmem = (size_t)dev->local_mem_bytes;
    int th = c->th;
    if (th <= 0) {
        int cu = (int)(dev->compute_units ? dev->compute_units : 1);
        int bands = (cu + n - 1) / n;
        bands = bands < 1 ? 1 : bands > oh ? oh : bands;
        th = (oh + bands - 1) / bands;
        while (th > 1 && band_floats(c, th, w, ow, rs) * sizeof(float) > UNIT_AUTO_LOCAL_BYTES)
            th--;
    }
    if (th > oh) th = oh;
    while (th > 1 && band_floats(c, th, w, ow, rs) * sizeof(float) > lmem)
        th--;
    return band_floats(c, th, w, ow, rs) * sizeof(float) <= lmem ? th : 0;
}

static int band_rows(const scl_op *op, int n, int w, int oh, int ow) {
    return band_rows_of(&op->ctx->info, op->extra, n, w, oh, ow);
}

static void unit_channels(const scl__op_shape *s, unit_cfg *c);
static void unit_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals);

int scl__unit_shape_fits(const scl_device_info *dev, const scl__op_shape *s, int n, int h, int w) {
    unit_cfg c;
    memset(&c, 0, sizeof c);
    unit_channels(s, &c);
    int v[SCL__MAX_TUNABLES] = {0};
    unit_defaults(dev, s, v);
    c.vec = v[0], c.th = v[1], c.stage = stages_input(dev);
    int oh, ow;
    stride_hw(s->stride, h, w, &oh, &ow);
    return band_rows_of(dev, &c, n, w, oh, ow) > 0;
}

int scl__op_unit_wanted(const scl_op *op) {
    return op && ((const unit_cfg *)op->extra)->fuse;
}

int scl__op_unit_fits(const scl_op *op, int n, int h, int w) {
    if (!op) return 0;
    int oh, ow;
    unit_hw(op, h, w, &oh, &ow);
    return band_rows(op, n, w, oh, ow) > 0;
}

static scl_status unit_launch(scl_op *op, const scl_op_args *a, const scl_op_io *io) {
    const unit_cfg *c = op->extra;
    const scl_tensor *in = a->in, *out = a->out;
    int th = band_rows(op, in->n, in->w, out->h, out->w);
    if (th == 0)
        return scl__fail(op->ctx, SCL_ERROR_UNSUPPORTED,
                         "unit op: one output row of %dx%d needs more local memory than the device "
                         "has (%llu bytes)",
                         out->h, out->w, (unsigned long long)op->ctx->info.local_mem_bytes);
    size_t rs[4];
    band_floats(c, th, in->w, out->w, rs);
    cl_int in_bs = (cl_int)(in->c * in->pitch), in_pitch = (cl_int)in->pitch;
    cl_int out_bs = (cl_int)(out->c * out->pitch), out_pitch = (cl_int)out->pitch;
    cl_int H = in->h, W = in->w, OH = out->h, OW = out->w, TH = th;
    cl_int r[4] = {(cl_int)rs[0], (cl_int)rs[1], (cl_int)rs[2], (cl_int)rs[3]};
    /* cl/unit.cl's one kernel takes every kind's arguments; a 3-layer unit's branch-a offsets
     * are 0 and its unused l3 a token 16 bytes (a local argument of 0 bytes is an error) */
    cl_int stride = c->stride, v1 = c->v1;
    cl_int shape[] = {H,      W,      OH,       OW,       TH,    stride, v1,
                      c->cin, c->mid, c->couta, c->coutb, c->g1, c->g};
    cl_int offs[2 * UNIT_MAX_LAYERS] = {0};
    for (int k = 0; k < c->nl; k++) {
        int at = 2 * (k + UNIT_MAX_LAYERS - c->nl);
        offs[at] = c->woff[k], offs[at + 1] = c->boff[k];
    }
    scl_karg head[] = {SCL_KARG(in->mem),  SCL_KARG(io->in_map), SCL_KARG(in_bs),
                       SCL_KARG(in_pitch), SCL_KARG(out->mem),   SCL_KARG(io->out_map),
                       SCL_KARG(out_bs),   SCL_KARG(out_pitch)};
    scl_status st = scl__op_args(op, head, SCL_ARRAY_LEN(head));
    cl_uint i = SCL_ARRAY_LEN(head);
    for (size_t k = 0; k < SCL_ARRAY_LEN(shape) && st == SCL_OK; k++)
        st = scl__op_arg(op, i++, sizeof(cl_int), &shape[k]);
    if (st == SCL_OK) st = scl__op_arg(op, i++, sizeof(cl_mem), &op->weights);
    if (st == SCL_OK) st = scl__op_arg(op, i++, sizeof(cl_mem), &op->bias);
    for (size_t k = 0; k < SCL_ARRAY_LEN(offs) && st == SCL_OK; k++)
        st = scl__op_arg(op, i++, sizeof(cl_int), &offs[k]);
    for (int k = 0; k < 4 && st == SCL_OK; k++) {
        size_t regions = (size_t)((k == 0 || k == 3) ? c->cin : c->mid);
        size_t bytes = regions * rs[k] * sizeof(float);
        st = scl__op_arg(op, i++, bytes ? bytes : 16, NULL);
    }
    for (int k = 0; k < 4 && st == SCL_OK; k++)
        st = scl__op_arg(op, i++, sizeof(cl_int), &r[k]);
    if (st != SCL_OK) return st;
    size_t bands = (size_t)((out->h + th - 1) / th);
    op->dims = 2;
    op->use_local = 1;
    op->local[0] = c->local0, op->local[1] = 1, op->local[2] = 1;
    op->global[0] = bands * c->local0, op->global[1] = (size_t)in->n, op->global[2] = 1;
    return scl__op_run(op, a);
}

static void unit_destroy(scl_op *op) {
    free(op->extra);
}

static const scl_op_class unit_class = {"unit", unit_hw, unit_launch, unit_destroy};
/* one kernel for every kind of unit (cl/unit.cl says why) */
static const char *const unit_kernels[] = {"unit"};

/* The layers with weights of a unit: kind (0 a 1x1 conv, 1 a depthwise), input and output
 * channels, groups (V1's pool has none). */
static int unit_layers(const unit_cfg *c, int kind[], int cin[], int cout[], int groups[]) {
    if (c->stride == 1 || c->v1) {
        int k[] = {0, 1, 0}, i[] = {c->cin, c->mid, c->mid}, o[] = {c->mid, c->mid, c->coutb},
            g[] = {c->g1, 1, c->g};
        memcpy(kind, k, sizeof k), memcpy(cin, i, sizeof i), memcpy(cout, o, sizeof o);
        memcpy(groups, g, sizeof g);
        return 3;
    }
    int k[] = {1, 0, 0, 1, 0}, i[] = {c->cin, c->cin, c->cin, c->mid, c->mid},
        o[] = {c->cin, c->couta, c->mid, c->mid, c->coutb}, g[] = {1, 1, 1, 1, 1};
    memcpy(kind, k, sizeof k), memcpy(cin, i, sizeof i), memcpy(cout, o, sizeof o);
    memcpy(groups, g, sizeof g);
    return 5;
}

/* Packs every layer: a 1x1 conv's weights per group as [tile][k][CO_TILE] and biases
 * [tile][CO_TILE], each group's last tile zero past its channels (as pointwise.c); a
 * depthwise's as they are. Records the offsets. */
static scl_status unit_pack(scl_context *ctx, unit_cfg *c, const float *w, const float *b,
                            float **pw, float **pb, size_t *nw, size_t *nb) {
    int kind[UNIT_MAX_LAYERS], ci[UNIT_MAX_LAYERS], co[UNIT_MAX_LAYERS], gr[UNIT_MAX_LAYERS];
    c->nl = unit_layers(c, kind, ci, co, gr);
    const int CT = c->co_tile;
    size_t tw = 0, tb = 0;
    for (int l = 0; l < c->nl; l++) {
        size_t tiles = (size_t)gr[l] * (((size_t)(co[l] / gr[l]) + CT - 1) / CT);
        tw += kind[l] ? (size_t)co[l] * 9 : tiles * CT * (size_t)(ci[l] / gr[l]);
        tb += kind[l] ? (size_t)co[l] : tiles * CT;
    }
    if (tw > INT_MAX || tb > INT_MAX)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl__op_unit_create: %zu weights are over the limit of %d", tw, INT_MAX);
    *pw = calloc(tw, sizeof(float)), *pb = calloc(tb, sizeof(float));
    if (!*pw || !*pb) {
        free(*pw), free(*pb);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "scl__op_unit_create: out of host memory");
    }
    size_t at_w = 0, at_b = 0;
    for (int l = 0; l < c->nl; l++) {
        c->woff[l] = (int)at_w, c->boff[l] = (int)at_b;
        if (kind[l]) {
            memcpy(*pw + at_w, w, (size_t)co[l] * 9 * sizeof(float));
            memcpy(*pb + at_b, b, (size_t)co[l] * sizeof(float));
            w += (size_t)co[l] * 9, b += co[l];
            at_w += (size_t)co[l] * 9, at_b += (size_t)co[l];
            continue;
        }
        int K = ci[l] / gr[l], cg = co[l] / gr[l], tpg = (cg + CT - 1) / CT;
        for (int o = 0; o < co[l]; o++) {
            size_t t = (size_t)(o / cg) * (size_t)tpg + (size_t)(o % cg / CT);
            size_t j = (size_t)(o % cg % CT);
            for (int k = 0; k < K; k++)
                (*pw)[at_w + (t * (size_t)K + (size_t)k) * CT + j] = w[(size_t)o * K + k];
            (*pb)[at_b + t * CT + j] = b[o];
        }
        w += (size_t)co[l] * K, b += co[l];
        at_w += (size_t)gr[l] * tpg * CT * K, at_b += (size_t)gr[l] * tpg * CT;
    }
    *nw = tw, *nb = tb;
    return SCL_OK;
}

/* The shape's channels. V2: stride 1 keeps cout throughout; stride 2 splits cout between branch
 * a (couta: kind 1 Megvii's cin, else cout / 2) and branch b, whose middle is cout / 2. V1 (kind
 * 2, 3): the middle is cout / 4 (the model's C / 4); at stride 2 the pool keeps cin channels. */
static void unit_channels(const scl__op_shape *s, unit_cfg *c) {
    c->stride = s->stride, c->cin = s->cin;
    c->v1 = s->kind >= SCL__UNIT_V1, c->g1 = c->g = 1;
    if (c->v1) {
        c->g = s->groups, c->g1 = s->kind == SCL__UNIT_V1_FIRST ? 1 : s->groups;
        c->mid = s->cout / 4;
        c->couta = s->stride == 2 ? s->cin : 0;
        c->coutb = s->cout - c->couta;
    } else if (s->stride == 1) {
        c->mid = s->cout, c->couta = 0, c->coutb = s->cout;
    } else {
        c->mid = s->cout / 2;
        c->couta = s->kind ? s->cin : s->cout / 2;
        c->coutb = s->cout - c->couta;
    }
}

/* V1: cin = cout at stride 1 (the residual), every grouped conv's channels split into its groups.
 */
static scl_status unit_check_v1(scl_context *ctx, const scl__op_shape *s, const char *fn) {
    unit_cfg c;
    unit_channels(s, &c);
    if (s->stride == 1 && s->cin != s->cout)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: cin = %d and cout = %d differ: a V1 stride-1 unit adds its input", fn,
                         s->cin, s->cout);
    if (c.mid < 1 || c.coutb < 1 || c.cin % c.g1 || c.mid % c.g1 || c.mid % c.g || c.coutb % c.g)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: cin = %d, cout = %d: the V1 unit's 1x1 convs (%d -> %d in %d groups, "
                         "%d -> %d in %d) do not split into their groups",
                         fn, s->cin, s->cout, c.cin, c.mid, c.g1, c.mid, c.coutb, c.g);
    return SCL_OK;
}

static scl_status unit_check(scl_context *ctx, const scl__op_shape *s, const int *vals,
                             const char *fn) {
    (void)vals;
    scl_status st = scl__check_range(ctx, fn, "cin", s->cin, 1, SCL__MAX_CHANNELS);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "cout", s->cout, 2, SCL__MAX_CHANNELS);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "stride", s->stride, 1, 2);
    if (st == SCL_OK) st = scl__check_range(ctx, fn, "kind", s->kind, 0, SCL__UNIT_V1_FIRST);
    if (st != SCL_OK) return st;
    if (s->kind >= SCL__UNIT_V1) {
        if (s->flags != 0)
            return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: flags = 0x%x, must be 0", fn,
                             (unsigned)s->flags);
        st = scl__check_range(ctx, fn, "groups", s->groups, 1, SCL__MAX_CHANNELS);
        return st == SCL_OK ? unit_check_v1(ctx, s, fn) : st;
    }
    if (s->groups != 1 || s->flags != 0)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: groups = %d and flags = 0x%x, must be 1 and 0 (the unit's convs "
                         "are ungrouped, every 1x1 conv with ReLU)",
                         fn, s->groups, (unsigned)s->flags);
    if (s->stride == 2 && (s->cout % 2 || (s->kind ? s->cin : s->cout / 2) >= s->cout))
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: cout = %d (cin %d) leaves no channels to a stride-2 unit's branch",
                         fn, s->cout, s->cin);
    return SCL_OK;
}

static scl_status unit_desc_create(scl_context *ctx, const scl__op_shape *s, const float *w,
                                   const float *b, const int *vals, scl_op **out) {
    const char *fn = "scl__op_unit_create";
    if (!out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    *out = NULL;
    scl_status st = scl__desc_validate(ctx, &scl__unit_desc, s, vals, fn);
    if (st != SCL_OK) return st;
    if (!w || !b) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: weights is NULL", fn);
    unit_cfg *c = calloc(1, sizeof *c);
    if (!c) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "%s: out of host memory", fn);
    unit_channels(s, c);
    c->vec = vals[0], c->th = vals[1], c->fuse = vals[3];
    c->co_tile = ctx->info.type == SCL_DEVICE_CPU ? scl__cpu_co_tile(&ctx->info) : 8;
    c->stage = stages_input(&ctx->info);
    /* CPU: one work-item per group, walking every task with its explicit vectors (PoCL's
     * work-item loops around the barriers made 16 work-items 2-3x slower); GPU: 64 */
    c->local0 = vals[2] ? (size_t)vals[2] : ctx->info.type == SCL_DEVICE_CPU ? 1 : 64;
    float *pw = NULL, *pb = NULL;
    size_t nw = 0, nb = 0;
    if ((st = unit_pack(ctx, c, w, b, &pw, &pb, &nw, &nb)) != SCL_OK) {
        free(c);
        return st;
    }
    scl_op *op;
    st = scl__op_new(ctx, &unit_class, fn, s->half, pw, nw, pb, nb, &op);
    free(pw), free(pb);
    if (st != SCL_OK) {
        free(c);
        return st;
    }
    op->extra = c;
    op->cin = s->cin, op->cout = s->cout, op->groups = c->g, op->stride = s->stride;
    char opts[64];
    snprintf(opts, sizeof opts, "-DVEC=%d -DCO_TILE=%d -DSTAGE_X=%d", c->vec, c->co_tile, c->stage);
    st = scl__op_kernel(op, "unit.cl", unit_kernels[0], opts);
    if (st != SCL_OK) return scl__op_created(op, st, fn, out);
    if ((st = scl__op_fit_local0(op, &c->local0, fn)) != SCL_OK) return st;
    *out = op;
    return SCL_OK;
}

static void unit_counts(const scl__op_shape *s, size_t *nw, size_t *nb) {
    unit_cfg c;
    memset(&c, 0, sizeof c);
    unit_channels(s, &c);
    *nw = *nb = 0;
    /* no such unit: none (the public scl_op_family_weights takes any shape) */
    if (c.g < 1 || c.g1 < 1 || s->cin < 1 || s->cout < 1) return;
    int kind[UNIT_MAX_LAYERS], ci[UNIT_MAX_LAYERS], co[UNIT_MAX_LAYERS], gr[UNIT_MAX_LAYERS];
    int nl = unit_layers(&c, kind, ci, co, gr);
    for (int l = 0; l < nl; l++) {
        *nw += (size_t)co[l] * (kind[l] ? 9 : (size_t)(ci[l] / gr[l]));
        *nb += (size_t)co[l];
    }
}

static void unit_defaults(const scl_device_info *dev, const scl__op_shape *s, int *vals) {
    (void)s;
    /* CPU: rows of pixels in the native vectors, as the pointwise kernel; others: 4 */
    vals[0] = dev->type == SCL_DEVICE_CPU ? scl__cpu_vec(dev) : 4;
    vals[1] = 0;
    vals[2] = 0;
    vals[3] = 1; /* fused: one launch for the unit */
}

static const int unit_vecs[] = {1, 2, 4, 8, 16};
static const int unit_th_probes[] = {0, 1, 2, 4, 7};
static const int unit_wgs[] = {0, 1, 4, 16, 64};
static const int unit_fuse[] = {1, 0};
static const scl__tunable unit_tunables[] = {
    {"vec", "-DVEC", unit_vecs, 5, 0, 0, 0, NULL, 0},
    {"th", NULL, NULL, 0, 0, 64, 1, unit_th_probes, (int)SCL_ARRAY_LEN(unit_th_probes)},
    /* work-items per group, 0: the device type's (1 on CPUs, 64 elsewhere) */
    {"wg", NULL, unit_wgs, 5, 0, 0, 0, NULL, 0},
    /* 1: the network runs the unit as this one launch; 0: layer by layer (the tuner's choice
     * where that measured faster; the op itself still runs fused when launched) */
    {"fuse", NULL, unit_fuse, 2, 0, 0, 0, NULL, 0},
};

const scl__op_desc scl__unit_desc = {"unit",           "unit.cl",
                                     unit_kernels,     1,
                                     unit_tunables,    (int)SCL_ARRAY_LEN(unit_tunables),
                                     unit_defaults,    unit_check,
                                     unit_desc_create, unit_counts};

scl_status scl__op_unit_create(scl_context *ctx, int stride, int cin, int cout, int megvii,
                               int half, const float *w, const float *b, scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl__op_unit_create: ctx is NULL");
    scl__op_shape s = {megvii ? 1 : 0, cin, cout, 1, stride, 0, half};
    return scl__desc_create(ctx, &scl__unit_desc, &s, w, b, out);
}

scl_status scl__op_unit_v1_create(scl_context *ctx, int stride, int cin, int cout, int groups,
                                  int first_groups, int half, const float *w, const float *b,
                                  scl_op **out) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl__op_unit_v1_create: ctx is NULL");
    if (first_groups != groups && first_groups != 1)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl__op_unit_v1_create: first_groups = %d, must be 1 or groups = %d",
                         first_groups, groups);
    int kind = first_groups == groups ? SCL__UNIT_V1 : SCL__UNIT_V1_FIRST;
    scl__op_shape s = {kind, cin, cout, groups, stride, 0, half};
    return scl__desc_create(ctx, &scl__unit_desc, &s, w, b, out);
}
