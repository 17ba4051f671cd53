/* network.c: a ShuffleNet on a context: ops made from the model's layers, weights loaded and
 * BN-folded, activation buffers planned per input shape with reuse, and the inference itself. */
#include "net/model.h"
#include "net/network_internal.h"
#include "ops/op.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct scl_network {
    scl_context *ctx;
    scl_model *model;
    scl_op **ops;                 /* one per layer, made when weights arrive */
    scl_chanmap **in_maps, **out_maps, **res_maps;
    size_t weight_bytes;
    int tuned_layers;
    /* the plan for one (n, h, w) */
    int plan_n, plan_h, plan_w;
    int nslots;
    cl_mem *slots;
    size_t activation_bytes;
    scl_tensor **views;           /* per buffer; 0 and the last are made per call */
    cl_mem own_in, own_out;       /* dense input and logits for scl_network_run */
    size_t own_in_bytes, own_out_bytes;
};

const char *scl_model_name(int i) {
    int n = 0;
    while (scl__model_names[n]) n++;
    return i >= 0 && i < n ? scl__model_names[i] : NULL;
}

static scl_status make_maps(scl_network *net) {
    scl_model *m = net->model;
    net->ops = calloc((size_t)m->nlayers, sizeof *net->ops);
    net->in_maps = calloc((size_t)m->nlayers, sizeof *net->in_maps);
    net->out_maps = calloc((size_t)m->nlayers, sizeof *net->out_maps);
    net->res_maps = calloc((size_t)m->nlayers, sizeof *net->res_maps);
    net->views = calloc((size_t)m->nbufs, sizeof *net->views);
    if (!net->ops || !net->in_maps || !net->out_maps || !net->res_maps || !net->views)
        return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        scl_status st = scl_chanmap_create_table(net->ctx, l->cin, l->in_map, &net->in_maps[i]);
        if (st == SCL_OK) st = scl_chanmap_create_table(net->ctx, l->cout, l->out_map, &net->out_maps[i]);
        if (st == SCL_OK && l->res_map)
            st = scl_chanmap_create_table(net->ctx, l->cout, l->res_map, &net->res_maps[i]);
        if (st != SCL_OK) return st;
    }
    return SCL_OK;
}

scl_status scl_network_create(scl_context *ctx, const char *model, scl_network **out) {
    if (!ctx || !out) return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_network_create: NULL argument");
    *out = NULL;
    scl_network *net = calloc(1, sizeof *net);
    if (!net) return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    net->ctx = ctx;
    scl_status st = scl__model_build(model, 0, &net->model);
    if (st == SCL_ERROR_UNSUPPORTED_MODEL) {
        char names[512] = "";
        for (int i = 0; scl__model_names[i]; i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, scl__model_names[i], sizeof names - strlen(names) - 1);
        }
        scl__fail(ctx, st, "unknown model '%s'; known models: %s", model ? model : "(null)", names);
    } else if (st != SCL_OK) {
        scl__fail(ctx, st, "out of host memory building model %s", model);
    }
    if (st == SCL_OK) st = make_maps(net);
    if (st != SCL_OK) {
        scl_network_destroy(net);
        return st;
    }
    *out = net;
    return SCL_OK;
}

static void release_plan(scl_network *net) {
    if (net->views)
        for (int b = 0; b < net->model->nbufs; b++) {
            scl_tensor_destroy(net->views[b]);
            net->views[b] = NULL;
        }
    for (int s = 0; s < net->nslots; s++) clReleaseMemObject(net->slots[s]);
    free(net->slots);
    net->slots = NULL;
    net->nslots = 0;
    net->plan_n = 0;
}

static void release_ops(scl_network *net) {
    if (!net->ops) return;
    for (int i = 0; i < net->model->nlayers; i++) {
        scl_op_destroy(net->ops[i]);
        net->ops[i] = NULL;
    }
    net->weight_bytes = 0;
}

void scl_network_destroy(scl_network *net) {
    if (!net) return;
    if (net->ctx->queue) clFinish(net->ctx->queue);
    if (net->model) {
        release_plan(net);
        release_ops(net);
        for (int i = 0; i < net->model->nlayers; i++) {
            if (net->in_maps) scl_chanmap_destroy(net->in_maps[i]);
            if (net->out_maps) scl_chanmap_destroy(net->out_maps[i]);
            if (net->res_maps) scl_chanmap_destroy(net->res_maps[i]);
        }
    }
    if (net->own_in) clReleaseMemObject(net->own_in);
    if (net->own_out) clReleaseMemObject(net->own_out);
    free(net->ops), free(net->in_maps), free(net->out_maps), free(net->res_maps), free(net->views);
    scl__model_free(net->model);
    free(net);
}

/* ---- weights ------------------------------------------------------------------------------ */

/* Where weights come from: a safetensors file or a seeded generator. */
typedef struct wsource {
    scl_safetensors *st;
    const char *prefix; /* "module." for DataParallel checkpoints */
    uint64_t seed;
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
    case SCL_LAYER_STEM: shape[0] = l->cout, shape[1] = 3, shape[2] = 3, shape[3] = 3; return 4;
    case SCL_LAYER_POINTWISE: shape[0] = l->cout, shape[1] = l->cin / l->groups, shape[2] = 1, shape[3] = 1; return 4;
    case SCL_LAYER_DEPTHWISE: shape[0] = l->cout, shape[1] = 1, shape[2] = 3, shape[3] = 3; return 4;
    case SCL_LAYER_GAP_FC: shape[0] = l->cout, shape[1] = l->cin; return 2;
    default: return 0;
    }
}

static size_t shape_count(const int64_t *shape, int rank) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)shape[i];
    return n;
}

static void shape_text(const int64_t *shape, int rank, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

static const scl_st_tensor *find(const wsource *src, const char *key) {
    char full[1024];
    snprintf(full, sizeof full, "%s%s", src->prefix, key);
    return scl_safetensors_find(src->st, full);
}

/* Reads (or generates) one tensor of the expected shape. `kind` picks the random law. */
typedef enum wkind { W_CONV, W_GAMMA, W_BETA, W_MEAN, W_VAR, W_BIAS } wkind;

static scl_status fetch(scl_context *ctx, wsource *src, const char *key, const int64_t *shape, int rank,
                        wkind kind, int fan_in, float *dst) {
    size_t count = shape_count(shape, rank);
    if (!src->st) {
        uint64_t s = src->seed;
        for (const char *p = key; *p; p++) s = (s ^ (unsigned char)*p) * 0x100000001b3ull;
        double a = sqrt(3.0 / fan_in); /* unit-variance outputs for unit-variance inputs */
        for (size_t i = 0; i < count; i++) {
            switch (kind) {
            case W_CONV: dst[i] = (float)uniform(&s, -a, a); break;
            case W_GAMMA: dst[i] = (float)uniform(&s, 0.5, 1.5); break;
            case W_BETA: dst[i] = (float)uniform(&s, -0.2, 0.2); break;
            case W_MEAN: dst[i] = (float)uniform(&s, -0.2, 0.2); break;
            case W_VAR: dst[i] = (float)uniform(&s, 0.5, 2.0); break;
            case W_BIAS: dst[i] = (float)uniform(&s, -0.1, 0.1); break;
            }
        }
        return SCL_OK;
    }
    const scl_st_tensor *t = find(src, key);
    const char *path = scl_safetensors_path(src->st);
    if (!t) return scl__fail(ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s%s' is missing", path, src->prefix, key);
    int same = t->rank == rank;
    for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char want[96], got[96];
        shape_text(shape, rank, want, sizeof want);
        shape_text(t->shape, t->rank, got, sizeof got);
        return scl__fail(ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s' has shape %s, expected %s", path,
                         t->name, got, want);
    }
    scl_status st = scl_safetensors_read_f32(src->st, t, dst, count, src->msg, sizeof src->msg);
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
        for (int i = 0; i < 4; i++) snprintf(keys[n++], 128, "%s.%s", l->bn_key, parts[i]);
    }
    if (l->bias_key[0]) snprintf(keys[n++], 128, "%s", l->bias_key);
    return n;
}

/* BN's step counter ("<bn>.num_batches_tracked") is training state inference never reads: it is
 * accepted, but only for a BN layer the model has. */
static int is_bn_counter(const scl_model *m, const char *prefix, const char *name, size_t len) {
    static const char tail[] = ".num_batches_tracked";
    size_t tl = sizeof tail - 1, pl = strlen(prefix);
    if (len <= tl + pl || strcmp(name + len - tl, tail) != 0 || strncmp(name, prefix, pl) != 0) return 0;
    for (int i = 0; i < m->nlayers; i++) {
        const char *bn = m->layers[i].bn_key;
        if (bn[0] && strlen(bn) == len - tl - pl && strncmp(bn, name + pl, len - tl - pl) == 0) return 1;
    }
    return 0;
}

/* Names every missing and every unexpected tensor at once, so one run tells all. */
static scl_status check_key_sets(scl_network *net, wsource *src) {
    scl_model *m = net->model;
    const char *path = scl_safetensors_path(src->st);
    int nfile = scl_safetensors_count(src->st);
    char *used = calloc((size_t)nfile + 1, 1);
    if (!used) return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    char missing[2048] = "", unexpected[2048] = "";
    int nmissing = 0, nunexpected = 0;
    for (int i = 0; i < m->nlayers; i++) {
        char keys[6][128];
        int nk = layer_keys(&m->layers[i], keys);
        for (int k = 0; k < nk; k++) {
            const scl_st_tensor *t = find(src, keys[k]);
            if (t) {
                for (int j = 0; j < nfile; j++)
                    if (scl_safetensors_at(src->st, j) == t) used[j] = 1;
            } else {
                if (nmissing++ < 12) {
                    strncat(missing, nmissing > 1 ? ", " : "", sizeof missing - strlen(missing) - 1);
                    strncat(missing, keys[k], sizeof missing - strlen(missing) - 1);
                }
            }
        }
    }
    for (int j = 0; j < nfile; j++) {
        const char *name = scl_safetensors_at(src->st, j)->name;
        size_t len = strlen(name);
        if (used[j] || is_bn_counter(m, src->prefix, name, len)) continue;
        if (nunexpected++ < 12) {
            strncat(unexpected, nunexpected > 1 ? ", " : "", sizeof unexpected - strlen(unexpected) - 1);
            strncat(unexpected, name, sizeof unexpected - strlen(unexpected) - 1);
        }
    }
    free(used);
    if (!nmissing && !nunexpected) return SCL_OK;
    const char *family = m->family == SCL_FAMILY_V2 ? "torchvision" : "Megvii";
    return scl__fail(net->ctx, SCL_ERROR_WEIGHTS,
                     "%s: does not match %s (%s key layout): %d missing tensor(s)%s%s%s, %d unexpected "
                     "tensor(s)%s%s%s", path, m->name, family, nmissing, nmissing ? ": " : "", missing,
                     nmissing > 12 ? ", ..." : "", nunexpected, nunexpected ? ": " : "", unexpected,
                     nunexpected > 12 ? ", ..." : "");
}

/* Loads one layer's weights, folds its BN, and makes its op. */
static scl_status load_layer(scl_network *net, wsource *src, int i) {
    scl_context *ctx = net->ctx;
    const scl_layer *l = &net->model->layers[i];
    if (l->kind == SCL_LAYER_MAXPOOL) return scl_op_maxpool_create(ctx, l->cin, &net->ops[i]);
    if (l->kind == SCL_LAYER_AVGPOOL) return scl_op_avgpool_create(ctx, l->cin, &net->ops[i]);
    if (l->kind == SCL_LAYER_SHUFFLE) return scl_op_shuffle_create(ctx, l->cin, l->groups, l->inverse, &net->ops[i]);
    int64_t shape[4];
    int rank = weight_shape(l, shape);
    size_t nw = shape_count(shape, rank), per = nw / (size_t)l->cout;
    float *w = malloc(nw * sizeof *w), *b = calloc((size_t)l->cout, sizeof *b);
    float *bn = malloc(4 * (size_t)l->cout * sizeof *bn);
    scl_status st = (w && b && bn) ? SCL_OK : scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == SCL_OK) st = fetch(ctx, src, l->weight_key, shape, rank, W_CONV, (int)per, w);
    int has_bias = l->bias_key[0] != 0;
    if (st == SCL_OK && has_bias) {
        int64_t bshape[1] = {l->cout};
        st = fetch(ctx, src, l->bias_key, bshape, 1, W_BIAS, 1, b);
    }
    if (st == SCL_OK && l->bn_key[0]) {
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
                    st = scl__fail(ctx, SCL_ERROR_WEIGHTS, "%s: tensor '%s.running_var' has a negative "
                                   "variance (%g) at channel %d", src->st ? scl_safetensors_path(src->st) : "random",
                                   l->bn_key, var, c);
                    break;
                }
                /* fold y = (conv - mean) / sqrt(var + eps) * gamma + beta into the conv */
                double scale = bn[c] / sqrt(var + 1e-5);
                for (size_t k = 0; k < per; k++) w[c * per + k] = (float)(w[c * per + k] * scale);
                b[c] = (float)(bn[l->cout + c] - bn[2 * l->cout + c] * scale);
                has_bias = 1;
            }
    }
    if (st == SCL_OK) {
        switch (l->kind) {
        case SCL_LAYER_STEM: st = scl_op_stem_create(ctx, l->cout, w, b, &net->ops[i]); break;
        case SCL_LAYER_POINTWISE:
            st = scl_op_pointwise_create(ctx, l->cin, l->cout, l->groups, l->flags, w, b, &net->ops[i]);
            break;
        case SCL_LAYER_DEPTHWISE:
            st = scl_op_depthwise_create(ctx, l->cout, l->stride, l->flags, w, b, &net->ops[i]);
            break;
        case SCL_LAYER_GAP_FC:
            st = scl_op_gap_fc_create(ctx, l->cin, l->cout, w, has_bias ? b : NULL, &net->ops[i]);
            break;
        default: break;
        }
        if (st == SCL_OK) net->weight_bytes += (nw + (size_t)l->cout) * sizeof(float);
    }
    free(w), free(b), free(bn);
    return st;
}

/* Loads every layer into a new set of ops; the network keeps its previous weights unless all of
 * the new ones loaded. */
static scl_status load_all(scl_network *net, wsource *src) {
    int nl = net->model->nlayers;
    scl_op **old = net->ops;
    size_t old_bytes = net->weight_bytes;
    net->ops = calloc((size_t)nl, sizeof *net->ops);
    if (!net->ops) {
        net->ops = old;
        return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a network");
    }
    net->weight_bytes = 0;
    unsigned tuned_before = net->ctx->tuned_ops;
    scl_status st = SCL_OK;
    for (int i = 0; i < nl && st == SCL_OK; i++) st = load_layer(net, src, i);
    if (st == SCL_OK) net->tuned_layers = (int)(net->ctx->tuned_ops - tuned_before);
    scl_op **drop = st == SCL_OK ? old : net->ops;
    if (st != SCL_OK) net->ops = old, net->weight_bytes = old_bytes;
    if (st == SCL_OK && net->ctx->queue) clFinish(net->ctx->queue); /* old ops may be in flight */
    for (int i = 0; i < nl; i++) scl_op_destroy(drop[i]);
    free(drop);
    return st;
}

scl_status scl_network_load_weights(scl_network *net, const char *path) {
    if (!net || !path)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_load_weights: NULL argument");
    wsource src = {0};
    scl_status st = scl_safetensors_open(path, &src.st, src.msg, sizeof src.msg);
    if (st != SCL_OK) return scl__fail(net->ctx, st, "%s", src.msg);
    /* DataParallel checkpoints prefix every key with "module." */
    const scl_layer *first = &net->model->layers[0];
    src.prefix = "";
    if (!scl_safetensors_find(src.st, first->weight_key)) {
        char key[160];
        snprintf(key, sizeof key, "module.%s", first->weight_key);
        if (scl_safetensors_find(src.st, key)) src.prefix = "module.";
    }
    st = check_key_sets(net, &src);
    if (st == SCL_OK) st = load_all(net, &src);
    scl_safetensors_close(src.st);
    return st;
}

scl_status scl_network_random_weights(scl_network *net, uint64_t seed) {
    if (!net) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_random_weights: NULL network");
    wsource src = {0};
    src.prefix = "";
    src.seed = seed;
    return load_all(net, &src);
}

/* ---- planning ----------------------------------------------------------------------------- */

/* Gives every intermediate buffer a device slot, reusing slots whose buffers are dead:
 * buffers are taken in order of first use; each takes the free slot that wastes least. */
static scl_status plan(scl_network *net, int n, int h, int w) {
    if (net->plan_n == n && net->plan_h == h && net->plan_w == w) return SCL_OK;
    release_plan(net);
    scl_model *m = net->model;
    scl_context *ctx = net->ctx;
    int nb = m->nbufs;
    int *first = malloc((size_t)nb * sizeof *first), *last = malloc((size_t)nb * sizeof *last);
    int *slot_of = malloc((size_t)nb * sizeof *slot_of);
    size_t *bytes = calloc((size_t)nb, sizeof *bytes), *slot_bytes = calloc((size_t)nb, sizeof *slot_bytes);
    int *slot_free_after = malloc((size_t)nb * sizeof *slot_free_after);
    net->slots = calloc((size_t)nb, sizeof *net->slots);
    scl_status st = SCL_OK;
    if (!first || !last || !slot_of || !bytes || !slot_bytes || !slot_free_after || !net->slots)
        st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory planning activations");
    if (st == SCL_OK) {
        for (int b = 0; b < nb; b++) first[b] = m->nlayers, last[b] = -1;
        for (int i = 0; i < m->nlayers; i++) {
            const scl_layer *l = &m->layers[i];
            int ids[3] = {l->in_buf, l->out_buf, l->res_buf};
            for (int k = 0; k < 3; k++) {
                if (ids[k] < 0) continue;
                if (i < first[ids[k]]) first[ids[k]] = i;
                if (i > last[ids[k]]) last[ids[k]] = i;
            }
        }
        int nslots = 0;
        for (int b = 1; b < nb - 1; b++) {
            int lh = scl__level_size(h, m->bufs[b].level), lw = scl__level_size(w, m->bufs[b].level);
            bytes[b] = (size_t)n * m->bufs[b].channels * scl__pitch(lh, lw) * sizeof(float);
        }
        /* buffers are numbered in order of first definition, which is order of first use */
        for (int b = 1; b < nb - 1; b++) {
            int best = -1;
            for (int s = 0; s < nslots; s++) {
                if (slot_free_after[s] >= first[b]) continue;
                /* prefer a slot already big enough, the smallest such; else the biggest */
                if (best < 0) best = s;
                else if (slot_bytes[s] >= bytes[b]) {
                    if (slot_bytes[best] < bytes[b] || slot_bytes[s] < slot_bytes[best]) best = s;
                } else if (slot_bytes[best] < bytes[b] && slot_bytes[s] > slot_bytes[best]) {
                    best = s;
                }
            }
            if (best < 0) best = nslots++, slot_bytes[best] = 0;
            if (slot_bytes[best] < bytes[b]) slot_bytes[best] = bytes[b];
            slot_free_after[best] = last[b];
            slot_of[b] = best;
        }
        net->activation_bytes = 0;
        for (int s = 0; s < nslots && st == SCL_OK; s++) {
            cl_int e;
            net->slots[s] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, slot_bytes[s], NULL, &e);
            if (e != CL_SUCCESS) {
                net->slots[s] = NULL;
                char what[128];
                snprintf(what, sizeof what, "allocating %zu bytes of activations for %dx3x%dx%d", slot_bytes[s], n, h, w);
                st = scl__cl_fail(ctx, e, what);
            }
            net->nslots = s + 1;
            net->activation_bytes += slot_bytes[s];
        }
        for (int b = 1; b < nb - 1 && st == SCL_OK; b++) {
            int lh = scl__level_size(h, m->bufs[b].level), lw = scl__level_size(w, m->bufs[b].level);
            st = scl__tensor_view(ctx, net->slots[slot_of[b]], n, m->bufs[b].channels, lh, lw,
                                  scl__pitch(lh, lw), &net->views[b]);
        }
    }
    free(first), free(last), free(slot_of), free(bytes), free(slot_bytes), free(slot_free_after);
    if (st != SCL_OK) {
        release_plan(net);
        return st;
    }
    net->plan_n = n, net->plan_h = h, net->plan_w = w;
    return SCL_OK;
}

static scl_status check_shape(scl_network *net, int n, int h, int w, const char *fn) {
    if (!net->ops || !net->ops[0])
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: %s has no weights yet: call scl_network_load_weights or "
                         "scl_network_random_weights first", fn, net->model->name);
    if (n < 1 || h < 1 || w < 1)
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT, "%s: input %dx3x%dx%d has a dimension < 1", fn, n, h, w);
    return SCL_OK;
}

/* Enqueues every layer; the first waits on the wait list; events[i] per layer when given. */
static scl_status enqueue_layers(scl_network *net, cl_mem in, cl_mem out, int n, int h, int w,
                                 cl_uint nwait, const cl_event *wait, cl_event *events, cl_event *last_event) {
    scl_model *m = net->model;
    scl_context *ctx = net->ctx;
    scl_status st = plan(net, n, h, w);
    if (st != SCL_OK) return st;
    int ob = m->nbufs - 1;
    scl_tensor *vin = NULL, *vout = NULL;
    st = scl__tensor_view(ctx, in, n, 3, h, w, (size_t)h * w, &vin);
    if (st == SCL_OK) st = scl__tensor_view(ctx, out, n, m->classes, 1, 1, 1, &vout);
    for (int i = 0; i < m->nlayers && st == SCL_OK; i++) {
        const scl_layer *l = &m->layers[i];
        scl_op_args a = {0};
        a.in = l->in_buf == 0 ? vin : net->views[l->in_buf];
        a.out = l->out_buf == ob ? vout : net->views[l->out_buf];
        a.in_map = net->in_maps[i];
        a.out_map = net->out_maps[i];
        if (l->res_buf >= 0) a.residual = net->views[l->res_buf], a.residual_map = net->res_maps[i];
        if (i == 0) a.num_wait_events = nwait, a.wait_events = wait;
        if (events) a.event = &events[i];
        else if (i == m->nlayers - 1) a.event = last_event;
        st = scl_op_enqueue(net->ops[i], &a);
        if (st != SCL_OK) scl__prefix_error(ctx, "%s layer %s: ", m->name, l->name);
    }
    scl_tensor_destroy(vin);
    scl_tensor_destroy(vout);
    return st;
}

scl_status scl_network_enqueue(scl_network *net, cl_mem input, cl_mem logits, int n, int h, int w,
                               cl_uint num_wait_events, const cl_event *wait_events, cl_event *event) {
    if (!net || !input || !logits)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_enqueue: NULL argument");
    scl_status st = check_shape(net, n, h, w, "scl_network_enqueue");
    if (st != SCL_OK) return st;
    size_t in_size = 0, out_size = 0;
    cl_int e = clGetMemObjectInfo(input, CL_MEM_SIZE, sizeof in_size, &in_size, NULL);
    e |= clGetMemObjectInfo(logits, CL_MEM_SIZE, sizeof out_size, &out_size, NULL);
    if (e != CL_SUCCESS) return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_network_enqueue: input or logits is not a valid buffer");
    size_t need_in = (size_t)n * 3 * h * w * sizeof(float), need_out = (size_t)n * net->model->classes * sizeof(float);
    if (in_size < need_in || out_size < need_out)
        return scl__fail(net->ctx, SCL_ERROR_SHAPE_MISMATCH,
                         "scl_network_enqueue: %dx3x%dx%d needs %zu input bytes and %zu logit bytes; the "
                         "buffers hold %zu and %zu", n, h, w, need_in, need_out, in_size, out_size);
    return enqueue_layers(net, input, logits, n, h, w, num_wait_events, wait_events, NULL, event);
}

/* Dense input and logit buffers of our own for the host-memory entry points. On devices that
 * share memory with the host they are allocated host-side and mapped instead of copied. */
static scl_status own_buffers(scl_network *net, int n, int h, int w) {
    size_t in_bytes = (size_t)n * 3 * h * w * sizeof(float), out_bytes = (size_t)n * net->model->classes * sizeof(float);
    cl_mem_flags flags = CL_MEM_READ_WRITE | (net->ctx->info.host_unified_memory ? CL_MEM_ALLOC_HOST_PTR : 0);
    cl_int e;
    if (net->own_in_bytes != in_bytes) {
        if (net->own_in) clReleaseMemObject(net->own_in);
        net->own_in = clCreateBuffer(net->ctx->cl_ctx, flags, in_bytes, NULL, &e);
        net->own_in_bytes = e == CL_SUCCESS ? in_bytes : 0;
        if (e != CL_SUCCESS) return net->own_in = NULL, scl__cl_fail(net->ctx, e, "allocating the input buffer");
    }
    if (net->own_out_bytes != out_bytes) {
        if (net->own_out) clReleaseMemObject(net->own_out);
        net->own_out = clCreateBuffer(net->ctx->cl_ctx, flags, out_bytes, NULL, &e);
        net->own_out_bytes = e == CL_SUCCESS ? out_bytes : 0;
        if (e != CL_SUCCESS) return net->own_out = NULL, scl__cl_fail(net->ctx, e, "allocating the logits buffer");
    }
    return SCL_OK;
}

static scl_status copy_host(scl_context *ctx, cl_mem mem, void *host, size_t bytes, int to_device) {
    cl_int e;
    if (ctx->info.host_unified_memory) {
        void *p = clEnqueueMapBuffer(ctx->queue, mem, CL_TRUE, to_device ? CL_MAP_WRITE_INVALIDATE_REGION : CL_MAP_READ,
                                     0, bytes, 0, NULL, NULL, &e);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clEnqueueMapBuffer");
        if (to_device) memcpy(p, host, bytes);
        else memcpy(host, p, bytes);
        e = clEnqueueUnmapMemObject(ctx->queue, mem, p, 0, NULL, NULL);
        if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clEnqueueUnmapMemObject");
        return SCL_OK;
    }
    e = to_device ? clEnqueueWriteBuffer(ctx->queue, mem, CL_FALSE, 0, bytes, host, 0, NULL, NULL)
                  : clEnqueueReadBuffer(ctx->queue, mem, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, to_device ? "uploading the input" : "downloading the logits");
    return SCL_OK;
}

static scl_status run(scl_network *net, const float *input, int n, int h, int w, float *logits,
                      cl_event *events, const char *fn) {
    if (!net || !input || (!logits && !events))
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "%s: NULL argument", fn);
    scl_status st = check_shape(net, n, h, w, fn);
    if (st == SCL_OK) st = own_buffers(net, n, h, w);
    if (st == SCL_OK) st = copy_host(net->ctx, net->own_in, (void *)input, net->own_in_bytes, 1);
    if (st == SCL_OK) st = enqueue_layers(net, net->own_in, net->own_out, n, h, w, 0, NULL, events, NULL);
    if (st == SCL_OK && logits) st = copy_host(net->ctx, net->own_out, logits, net->own_out_bytes, 0);
    if (st == SCL_OK) SCL_CL_TRY(net->ctx, clFinish(net->ctx->queue), "clFinish");
    return st;
}

scl_status scl_network_run(scl_network *net, const float *input, int n, int h, int w, float *logits) {
    return run(net, input, n, h, w, logits, NULL, "scl_network_run");
}

scl_status scl_network_profile(scl_network *net, const float *input, int n, int h, int w, double *layer_ms) {
    if (!net || !layer_ms)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_profile: NULL argument");
    if (!net->ctx->profiling)
        return scl__fail(net->ctx, SCL_ERROR_UNSUPPORTED,
                         "scl_network_profile: the queue was made without CL_QUEUE_PROFILING_ENABLE");
    int nl = net->model->nlayers;
    cl_event *ev = calloc((size_t)nl, sizeof *ev);
    if (!ev) return scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    scl_status st = run(net, input, n, h, w, NULL, ev, "scl_network_profile");
    for (int i = 0; i < nl; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (st == SCL_OK && ev[i]) {
            cl_int e = clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
            e |= clGetEventProfilingInfo(ev[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
            if (e != CL_SUCCESS) st = scl__cl_fail(net->ctx, e, "clGetEventProfilingInfo");
        }
        layer_ms[i] = (double)(t1 - t0) * 1e-6;
        if (ev[i]) clReleaseEvent(ev[i]);
    }
    free(ev);
    return st;
}

scl_status scl__network_set_explicit(scl_network *net, int on) {
    if (!net) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl__network_set_explicit: NULL network");
    if (net->ops && net->ops[0])
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl__network_set_explicit: choose the mode before loading weights");
    scl_model *m;
    scl_status st = scl__model_build(net->model->name, on, &m);
    if (st != SCL_OK) return scl__fail(net->ctx, st, "out of host memory rebuilding %s", net->model->name);
    char name[32];
    snprintf(name, sizeof name, "%s", net->model->name);
    release_plan(net);
    for (int i = 0; i < net->model->nlayers; i++) {
        scl_chanmap_destroy(net->in_maps[i]);
        scl_chanmap_destroy(net->out_maps[i]);
        scl_chanmap_destroy(net->res_maps[i]);
    }
    free(net->ops), free(net->in_maps), free(net->out_maps), free(net->res_maps), free(net->views);
    net->ops = NULL, net->in_maps = net->out_maps = net->res_maps = NULL, net->views = NULL;
    scl__model_free(net->model);
    net->model = m;
    return make_maps(net);
}

const scl_op *scl__network_op(const scl_network *net, int i) {
    return net && net->ops && i >= 0 && i < net->model->nlayers ? net->ops[i] : NULL;
}

/* ---- introspection ------------------------------------------------------------------------ */

int scl_network_classes(const scl_network *net) { return net ? net->model->classes : 0; }

const char *scl_network_preprocess(const scl_network *net) {
    return net && net->model->family == SCL_FAMILY_V1 ? "megvii" : "torchvision";
}

int scl_network_layer_count(const scl_network *net) { return net ? net->model->nlayers : 0; }

static const char *kind_name(scl_layer_kind k) {
    static const char *const names[] = {"stem", "maxpool", "pointwise", "depthwise", "avgpool", "gap_fc", "shuffle"};
    return names[k];
}

scl_status scl_network_layer_info(const scl_network *net, int i, int h, int w, scl_layer_info *out) {
    if (!net || !out || i < 0 || i >= net->model->nlayers || h < 1 || w < 1)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_layer_info: bad layer index %d or size %dx%d", i, h, w);
    const scl_model *m = net->model;
    const scl_layer *l = &m->layers[i];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", l->name);
    out->op = kind_name(l->kind);
    out->cin = l->cin, out->cout = l->cout, out->groups = l->groups, out->stride = l->stride;
    int level = m->bufs[l->out_buf].level;
    out->out_h = l->kind == SCL_LAYER_GAP_FC ? 1 : scl__level_size(h, level);
    out->out_w = l->kind == SCL_LAYER_GAP_FC ? 1 : scl__level_size(w, level);
    out->params = scl__layer_params(l);
    out->macs = scl__layer_macs(l, out->out_h, out->out_w);
    return SCL_OK;
}

scl_status scl_network_get_stats(scl_network *net, int n, int h, int w, scl_network_stats *out) {
    if (!net || !out) return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_network_get_stats: NULL argument");
    if (n < 1 || h < 1 || w < 1)
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_network_get_stats: bad shape %dx3x%dx%d", n, h, w);
    memset(out, 0, sizeof *out);
    const scl_model *m = net->model;
    for (int i = 0; i < m->nlayers; i++) {
        scl_layer_info li;
        scl_network_layer_info(net, i, h, w, &li);
        const scl_layer *l = &m->layers[i];
        out->params += li.params;
        out->macs += li.macs;
        int in_level = m->bufs[l->in_buf].level;
        size_t in_px = (size_t)scl__level_size(h, in_level) * scl__level_size(w, in_level);
        size_t out_px = (size_t)li.out_h * li.out_w;
        out->min_bytes_moved += ((size_t)l->cin * in_px + (size_t)l->cout * out_px +
                                 (l->res_buf >= 0 ? (size_t)l->cout * out_px : 0)) * sizeof(float);
    }
    out->launches = m->nlayers;
    out->weight_bytes = net->weight_bytes;
    out->tuned_layers = net->tuned_layers;
    if (net->ops && net->ops[0]) {
        scl_status st = plan(net, n, h, w);
        if (st != SCL_OK) return st;
        out->activation_bytes = net->activation_bytes;
    }
    return SCL_OK;
}
