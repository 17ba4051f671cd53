/* weights.c: a network's weights: from a safetensors file (key layout checked, every missing
 * and unexpected tensor named) or from a seeded generator with realistic BN statistics; BN folded
 * into the conv before it; one op made per layer. */
#include "io/safetensors.h"
#include "net/network.h"
#include "ops/desc.h"
#include "ops/unit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where weights come from: a safetensors file or a seeded generator. */
typedef struct wsource {
    scl__safetensors *st;
    const char *prefix; /* "module." for DataParallel checkpoints */
    uint64_t seed;
    const scl__layer_weights *given; /* already folded, one per layer (the ONNX importer's) */
    char msg[1024];
} wsource;

static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi) {
    return lo + (hi - lo) * (double)(mix(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* The expected shape of each tensor a layer reads. */
static int weight_shape(const scl_layer *l, int64_t shape[4]) {
    switch (l->kind) {
    case SCL_LAYER_STEM:
        shape[0] = l->cout, shape[1] = 3, shape[2] = 3, shape[3] = 3;
        return 4;
    case SCL_LAYER_POINTWISE:
        shape[0] = l->cout, shape[1] = l->cin / l->groups, shape[2] = 1, shape[3] = 1;
        return 4;
    case SCL_LAYER_DEPTHWISE:
        shape[0] = l->cout, shape[1] = 1, shape[2] = 3, shape[3] = 3;
        return 4;
    case SCL_LAYER_GAP_FC:
        shape[0] = l->cout, shape[1] = l->cin;
        return 2;
    default:
        return 0;
    }
}

static size_t shape_count(const int64_t *shape, int rank) {
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)shape[i];
    return n;
}

static void shape_text(const int64_t *shape, int rank, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && used < cap; i++)
        used +=
            (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static const scl__st_tensor *find(const wsource *src, const char *key) {
    char full[1024];
    snprintf(full, sizeof full, "%s%s", src->prefix, key);
    return scl__safetensors_find(src->st, full);
}

/* Reads (or generates) one tensor of the expected shape. `kind` picks the random law. */
typedef enum wkind { W_CONV, W_GAMMA, W_BETA, W_MEAN, W_VAR, W_BIAS } wkind;

static scl_status fetch(scl_context *ctx, wsource *src, const char *key, const int64_t *shape,
                        int rank, wkind kind, int fan_in, float *dst) {
    size_t count = shape_count(shape, rank);
    if (!src->st) {
        uint64_t s = src->seed;
        for (const char *p = key; *p; p++)
            s = (s ^ (unsigned char)*p) * 0x100000001b3ull;
        double a = sqrt(3.0 / fan_in); /* unit-variance outputs for unit-variance inputs */
        for (size_t i = 0; i < count; i++) {
            switch (kind) {
            case W_CONV:
                dst[i] = (float)uniform(&s, -a, a);
                break;
            case W_GAMMA:
                dst[i] = (float)uniform(&s, 0.5, 1.5);
                break;
            case W_BETA:
                dst[i] = (float)uniform(&s, -0.2, 0.2);
                break;
            case W_MEAN:
                dst[i] = (float)uniform(&s, -0.2, 0.2);
                break;
            case W_VAR:
                dst[i] = (float)uniform(&s, 0.5, 2.0);
                break;
            case W_BIAS:
                dst[i] = (float)uniform(&s, -0.1, 0.1);
                break;
            }
        }
        return SCL_OK;
    }
    const scl__st_tensor *t = find(src, key);
    const char *path = scl__safetensors_path(src->st);
    if (!t)
        return scl__fail(ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s%s' is missing", path, src->prefix,
                         key);
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        shape_text(shape, rank, want, sizeof want);
        shape_text(t->shape, t->rank, got, sizeof got);
        return scl__fail(ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %s", path,
                         t->name, got, want);
    }
    scl_status st = scl__safetensors_read_f32(src->st, t, dst, count, src->msg, sizeof src->msg);
    if (st != SCL_OK) return scl__fail(ctx, st, "%s", src->msg);
    return SCL_OK;
}

/* Every key a model reads, in order, calling visit(key) for each; for the missing/unexpected
 * lists. */
static int layer_keys(const scl_layer *l, char keys[6][128]) {
    int n = 0;
    if (l->weight_key[0]) snprintf(keys[n++], 128, "%s", l->weight_key);
    if (l->bn_key[0]) {
        static const char *const parts[] = {"weight", "bias", "running_mean", "running_var"};
        for (int i = 0; i < 4; i++)
            snprintf(keys[n++], 128, "%s.%s", l->bn_key, parts[i]);
    }
    if (l->bias_key[0]) snprintf(keys[n++], 128, "%s", l->bias_key);
    return n;
}

/* BN's step counter ("<bn>.num_batches_tracked") is training state inference never reads: it is
 * accepted, but only for a BN layer the model has. */
static int is_bn_counter(const scl_model *m, const char *prefix, const char *name, size_t len) {
    static const char tail[] = ".num_batches_tracked";
    size_t tl = sizeof tail - 1, pl = strlen(prefix);
    if (len <= tl + pl || strcmp(name + len - tl, tail) != 0 || strncmp(name, prefix, pl) != 0)
        return 0;
    for (int i = 0; i < m->nlayers; i++) {
        const char *bn = m->layers[i].bn_key;
        if (bn[0] && strlen(bn) == len - tl - pl && strncmp(bn, name + pl, len - tl - pl) == 0)
            return 1;
    }
    return 0;
}

/* Names every missing and every unexpected tensor at once, so one run tells all. */
static scl_status check_key_sets(scl_network *net, wsource *src) {
    scl_model *m = net->model;
    const char *path = scl__safetensors_path(src->st);
    int nfile = scl__safetensors_count(src->st);
    char *used = calloc((size_t)nfile + 1, 1);
    if (!used) return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    char missing[2048] = "", unexpected[2048] = "";
    int nmissing = 0, nunexpected = 0;
    for (int i = 0; i < m->nlayers; i++) {
        char keys[6][128];
        int nk = layer_keys(&m->layers[i], keys);
        for (int k = 0; k < nk; k++) {
            const scl__st_tensor *t = find(src, keys[k]);
            if (t) {
                for (int j = 0; j < nfile; j++)
                    if (scl__safetensors_at(src->st, j) == t) used[j] = 1;
            } else {
                if (nmissing++ < 12) {
                    strncat(missing, nmissing > 1 ? ", " : "",
                            sizeof missing - strlen(missing) - 1);
                    strncat(missing, keys[k], sizeof missing - strlen(missing) - 1);
                }
            }
        }
    }
    for (int j = 0; j < nfile; j++) {
        const char *name = scl__safetensors_at(src->st, j)->name;
        size_t len = strlen(name);
        if (used[j] || is_bn_counter(m, src->prefix, name, len)) continue;
        if (nunexpected++ < 12) {
            strncat(unexpected, nunexpected > 1 ? ", " : "",
                    sizeof unexpected - strlen(unexpected) - 1);
            strncat(unexpected, name, sizeof unexpected - strlen(unexpected) - 1);
        }
    }
    free(used);
    if (!nmissing && !nunexpected) return SCL_OK;
    const char *family = scl__layout_name(m->desc.layout);
    return scl__fail(
        net->ctx, SCL_ERROR_WEIGHTS,
        "%s: does not match %s (%s key layout): %d missing tensor(s)%s%s%s, %d unexpected "
        "tensor(s)%s%s%s",
        path, m->name, family, nmissing, nmissing ? ": " : "", missing,
        nmissing > 12 ? ", ..." : "", nunexpected, nunexpected ? ": " : "", unexpected,
        nunexpected > 12 ? ", ..." : "");
}

/* Stores v as a float if it fits. Folding BatchNorm into finite weights can still overflow
 * float (a tiny running_var under a huge gamma, a huge weight or mean times the scale), and a
 * double outside float's range has no defined conversion: such a file is refused. */
static int fold_store(double v, float *out) {
    if (!(fabs(v) <= FLT_MAX)) return 0;
    *out = (float)v;
    return 1;
}

static scl_status fold_overflow(scl_context *ctx, const wsource *src, const scl_layer *l, int c,
                                const char *what, double v) {
    return scl__fail(
        ctx, SCL_ERROR_WEIGHTS,
        "%s: folding BatchNorm '%s' into '%s' overflows float at channel %d (folded %s "
        "%g); the tensors are finite but their fold is not",
        src->st ? scl__safetensors_path(src->st) : "random", l->bn_key, l->weight_key, c, what, v);
}

/* Loads one conv or fc layer's weights (layer i's given ones when the source has them) and folds
 * its BN: *wo (*nwo floats) and *bo (cout), to
 * free by the caller even on failure; *has_bias: a bias to use (BN folded or the fc's own). */
static scl_status fold_layer(scl_context *ctx, wsource *src, const scl_layer *l, int i, float **wo,
                             float **bo, size_t *nwo, int *has_bias_out) {
    int64_t shape[4];
    int rank = weight_shape(l, shape);
    size_t nw = shape_count(shape, rank), per = nw / (size_t)l->cout;
    float *w = malloc(nw * sizeof *w), *b = calloc((size_t)l->cout, sizeof *b);
    *wo = w, *bo = b, *nwo = nw;
    float *bn = malloc(4 * (size_t)l->cout * sizeof *bn);
    scl_status st =
        (w && b && bn) ? SCL_OK : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    int has_bias = l->bias_key[0] != 0;
    if (st == SCL_OK && src->given) {
        memcpy(w, src->given[i].w, nw * sizeof *w);
        has_bias = src->given[i].b != NULL;
        if (has_bias) memcpy(b, src->given[i].b, (size_t)l->cout * sizeof *b);
    } else if (st == SCL_OK) {
        st = fetch(ctx, src, l->weight_key, shape, rank, W_CONV, (int)per, w);
    }
    if (st == SCL_OK && has_bias && !src->given) {
        int64_t bshape[1] = {l->cout};
        st = fetch(ctx, src, l->bias_key, bshape, 1, W_BIAS, 1, b);
    }
    if (st == SCL_OK && l->bn_key[0] && !src->given) {
        static const char *const parts[] = {"weight", "bias", "running_mean", "running_var"};
        static const wkind kinds[] = {W_GAMMA, W_BETA, W_MEAN, W_VAR};
        int64_t bshape[1] = {l->cout};
        for (int k = 0; k < 4 && st == SCL_OK; k++) {
            char key[160];
            snprintf(key, sizeof key, "%s.%s", l->bn_key, parts[k]);
            st = fetch(ctx, src, key, bshape, 1, kinds[k], 1, bn + (size_t)k * l->cout);
        }
        if (st == SCL_OK)
            for (int c = 0; c < l->cout && st == SCL_OK; c++) {
                double var = bn[3 * l->cout + c];
                if (var < 0) {
                    st = scl__fail(ctx, SCL_ERROR_WEIGHTS,
                                   "%s: tensor '%s.running_var' has a negative "
                                   "variance (%g) at channel %d",
                                   src->st ? scl__safetensors_path(src->st) : "random", l->bn_key,
                                   var, c);
                    break;
                }
                /* fold y = (conv - mean) / sqrt(var + eps) * gamma + beta into the conv */
                double scale = bn[c] / sqrt(var + 1e-5);
                for (size_t k = 0; k < per && st == SCL_OK; k++)
                    if (!fold_store(w[c * per + k] * scale, &w[c * per + k]))
                        st = fold_overflow(ctx, src, l, c, "weight", w[c * per + k] * scale);
                double bias = bn[l->cout + c] - bn[2 * l->cout + c] * scale;
                if (st == SCL_OK && !fold_store(bias, &b[c]))
                    st = fold_overflow(ctx, src, l, c, "bias", bias);
                has_bias = 1;
            }
    }
    free(bn);
    *has_bias_out = has_bias;
    return st;
}

/* Under half storage every weight must be a finite half: a folded weight past 65504 would be
 * stored as infinity and give a silently wrong answer. */
static scl_status check_half_range(scl_context *ctx, const wsource *src, const scl_layer *l,
                                   const float *w, size_t nw) {
    for (size_t k = 0; k < nw; k++) {
        if (fabsf(w[k]) <= 65504.0f) continue;
        char where[512]; /* the file and tensor; weights given already folded (ONNX): the layer,
                            the importer names the file */
        if (src->st)
            snprintf(where, sizeof where, "%s: tensor '%s' (layer %s)",
                     scl__safetensors_path(src->st), l->weight_key, l->name);
        else
            snprintf(where, sizeof where, "layer %s", l->name);
        return scl__fail(ctx, SCL_ERROR_WEIGHTS,
                         "%s: weight %zu is %g once its batch norm is folded, beyond the half "
                         "range (65504): half-storage cannot hold it; use float32",
                         where, k, (double)w[k]);
    }
    return SCL_OK;
}

/* The op of a conv or fc layer from its folded weights, stored as the network says (float32 or
 * half). Made as the public creates make them, tuning table included. */
static scl_status layer_op(scl_network *net, const scl_layer *l, const float *w, const float *b,
                           int has_bias, scl_op **out) {
    scl_context *ctx = net->ctx;
    int half = net->half;
    const scl__op_desc *d;
    scl__op_shape s = {0, l->cin, l->cout, 1, 1, 0, half};
    switch (l->kind) {
    case SCL_LAYER_STEM:
        d = &scl__stem_desc, s.cin = 3, s.stride = 2, s.flags = SCL_OP_RELU;
        break;
    case SCL_LAYER_POINTWISE:
        d = &scl__pointwise_desc, s.groups = l->groups, s.flags = l->flags;
        break;
    case SCL_LAYER_DEPTHWISE:
        d = &scl__depthwise_desc, s.cin = s.groups = l->cout, s.stride = l->stride;
        s.flags = l->flags;
        break;
    case SCL_LAYER_GAP_FC:
        d = &scl__head_desc;
        break;
    default:
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "layer %s has no weights", l->name);
    }
    return scl__desc_create(ctx, d, &s, w, l->kind == SCL_LAYER_GAP_FC && !has_bias ? NULL : b,
                            out);
}

/* A pool or shuffle layer's op (no weights), stored as the network says. */
static scl_status plain_op(scl_network *net, const scl_layer *l, scl_op **out) {
    scl__op_shape s = {0, l->cin, l->cin, l->cin, 2, 0, net->half};
    if (l->kind == SCL_LAYER_SHUFFLE) {
        s.kind = l->inverse ? 1 : 0, s.groups = l->groups, s.stride = 1;
        return scl__desc_create(net->ctx, &scl__shuffle_desc, &s, NULL, NULL, out);
    }
    s.kind = l->kind == SCL_LAYER_AVGPOOL;
    return scl__desc_create(net->ctx, &scl__pool_desc, &s, NULL, NULL, out);
}

/* Loads one layer's weights, folds its BN, and makes its op. */
static scl_status load_layer(scl_network *net, wsource *src, int i) {
    scl_context *ctx = net->ctx;
    const scl_layer *l = &net->model->layers[i];
    if (l->kind == SCL_LAYER_MAXPOOL || l->kind == SCL_LAYER_AVGPOOL ||
        l->kind == SCL_LAYER_SHUFFLE)
        return plain_op(net, l, &net->ops[i]);
    float *w = NULL, *b = NULL;
    size_t nw = 0;
    int has_bias = 0;
    scl_status st = fold_layer(ctx, src, l, i, &w, &b, &nw, &has_bias);
    if (st == SCL_OK && net->half) st = check_half_range(ctx, src, l, w, nw);
    if (st == SCL_OK) st = layer_op(net, l, w, b, has_bias, &net->ops[i]);
    if (st == SCL_OK) net->weight_bytes += nw * scl__network_elem(net) + (size_t)l->cout * 4;
    free(w), free(b);
    return st;
}

/* Loads the layers of the unit starting at layer i into one fused op, keeping their folded
 * weights (concatenated in layer order, as the op takes them; V1's pool has none) for the
 * per-layer fallback. */
static scl_status load_unit(scl_network *net, wsource *src, int i, scl__unit_state *u) {
    const scl_layer *ls = &net->model->layers[i];
    size_t tw = 0, tb = 0;
    scl_status st = SCL_OK;
    for (int j = 0; j < ls->unit_len && st == SCL_OK; j++) {
        if (ls[j].kind == SCL_LAYER_AVGPOOL) continue;
        float *w = NULL, *b = NULL;
        size_t nw = 0;
        int has_bias = 0;
        st = fold_layer(net->ctx, src, &ls[j], i + j, &w, &b, &nw, &has_bias);
        if (st == SCL_OK && net->half) st = check_half_range(net->ctx, src, &ls[j], w, nw);
        float *uw = st == SCL_OK ? realloc(u->w, (tw + nw) * sizeof *uw) : NULL;
        if (uw) u->w = uw;
        float *ub = uw ? realloc(u->b, (tb + (size_t)ls[j].cout) * sizeof *ub) : NULL;
        if (ub) u->b = ub;
        if (st == SCL_OK && (!uw || !ub))
            st = scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        if (st == SCL_OK) {
            memcpy(u->w + tw, w, nw * sizeof *w);
            memcpy(u->b + tb, b, (size_t)ls[j].cout * sizeof *b);
            tw += nw, tb += (size_t)ls[j].cout;
        }
        free(w), free(b);
    }
    int a, last, cout = scl__unit_outputs(ls, &a, &last);
    if (st == SCL_OK && ls->unit_v1)
        st = scl__op_unit_v1_create(net->ctx, ls->unit_stride, ls->cin, cout, ls[last].groups,
                                    ls->groups, net->half, u->w, u->b, &u->op);
    else if (st == SCL_OK)
        st = scl__op_unit_create(net->ctx, ls->unit_stride, ls->cin, cout, ls->unit_megvii,
                                 net->half, u->w, u->b, &u->op);
    if (st == SCL_OK) net->weight_bytes += tw * scl__network_elem(net) + tb * sizeof(float);
    return st;
}

scl_status scl__network_unit_fallback(scl_network *net, int i) {
    const scl_layer *ls = &net->model->layers[i];
    const scl__unit_state *u = &net->units[i];
    size_t at_w = 0, at_b = 0;
    for (int j = 0; j < ls->unit_len; j++) {
        if (ls[j].kind == SCL_LAYER_AVGPOOL) {
            scl_status st = SCL_OK;
            if (!net->ops[i + j]) st = scl_op_avgpool_create(net->ctx, ls[j].cin, &net->ops[i + j]);
            if (st != SCL_OK) return st;
            continue;
        }
        int64_t shape[4];
        size_t nw = shape_count(shape, weight_shape(&ls[j], shape));
        if (!net->ops[i + j] && u->w) {
            scl_status st = layer_op(net, &ls[j], u->w + at_w, u->b + at_b, 1, &net->ops[i + j]);
            if (st != SCL_OK) return st;
        }
        at_w += nw, at_b += (size_t)ls[j].cout;
    }
    return SCL_OK;
}

/* Loads every layer into a new set of ops; the network keeps its previous weights unless all of
 * the new ones loaded. */
static scl_status load_all(scl_network *net, wsource *src) {
    int nl = net->model->nlayers;
    scl_op **old = net->ops;
    scl__unit_state *old_units = net->units;
    size_t old_bytes = net->weight_bytes;
    net->ops = calloc((size_t)nl, sizeof *net->ops);
    net->units = calloc((size_t)nl, sizeof *net->units);
    if (!net->ops || !net->units) {
        free(net->ops), free(net->units);
        net->ops = old, net->units = old_units;
        return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    }
    net->weight_bytes = 0;
    unsigned tuned_before = net->ctx->tuned_ops;
    scl_status st = SCL_OK;
    for (int i = 0; i < nl && st == SCL_OK; i++) {
        int len = net->model->layers[i].unit_len;
        if (len) {
            st = load_unit(net, src, i, &net->units[i]);
            i += len - 1;
        } else {
            st = load_layer(net, src, i);
        }
    }
    if (st == SCL_OK) net->tuned_layers = (int)(net->ctx->tuned_ops - tuned_before);
    scl_op **drop = st == SCL_OK ? old : net->ops;
    scl__unit_state *drop_units = st == SCL_OK ? old_units : net->units;
    if (st != SCL_OK) net->ops = old, net->units = old_units, net->weight_bytes = old_bytes;
    if (st == SCL_OK && net->ctx->queue) clFinish(net->ctx->queue); /* old ops may be in flight */
    for (int i = 0; i < nl; i++)
        scl_op_destroy(drop[i]);
    scl__network_release_units(net, drop_units);
    free(drop), free(drop_units);
    return st;
}

/* Loads from an open file: keys checked as a set first, then every layer. */
static scl_status load_open(scl_network *net, wsource *src) {
    /* DataParallel checkpoints prefix every key with "module." */
    const scl_layer *first = &net->model->layers[0];
    src->prefix = "";
    if (!scl__safetensors_find(src->st, first->weight_key)) {
        char key[160];
        snprintf(key, sizeof key, "module.%s", first->weight_key);
        if (scl__safetensors_find(src->st, key)) src->prefix = "module.";
    }
    scl_status st = check_key_sets(net, src);
    if (st == SCL_OK) st = load_all(net, src);
    return st;
}

scl_status scl__network_load_given(scl_network *net, const scl__layer_weights *given) {
    wsource src = {0};
    src.prefix = "";
    src.given = given;
    return load_all(net, &src);
}

scl_status scl__network_load_file(scl_network *net, struct scl__safetensors *file) {
    wsource src = {0};
    src.st = file;
    return load_open(net, &src);
}

scl_status scl__network_load(scl_network *net, const char *path, uint64_t seed) {
    wsource src = {0};
    src.prefix = "";
    src.seed = seed;
    if (!path) return load_all(net, &src);
    scl_status st = scl__safetensors_open(path, &src.st, src.msg, sizeof src.msg);
    if (st != SCL_OK) return scl__fail(net->ctx, st, "%s", src.msg);
    st = load_open(net, &src);
    scl__safetensors_close(src.st);
    return st;
}
