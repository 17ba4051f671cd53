/* onnx_layers.c: the ONNX ops that compute, each turned into a ShuffleNet layer (a producer,
 * onnx_graph.h) or attached to one as its epilogue: Conv (stem, pointwise, depthwise),
 * BatchNormalization, Relu, the residual Add, MaxPool and AveragePool, the global pools
 * (GlobalAveragePool, ReduceMean, Megvii's 7x7 AveragePool) and the classifier (Gemm, or
 * MatMul with an optional Add). Anything else about them is refused, naming the node. */
#include "net/onnx_eval.h"

#include <stdlib.h>
#include <string.h>

#define FAIL(...) scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, __VA_ARGS__)

static int add_prod(ev *e) {
    scl__ograph *g = e->out;
    if (g->nprod == e->prod_cap) {
        int cap = e->prod_cap ? 2 * e->prod_cap : 64;
        scl__oprod *p = cap <= 65536 ? realloc(g->prod, (size_t)cap * sizeof *p) : NULL;
        if (!p) return -1;
        g->prod = p, e->prod_cap = cap;
    }
    memset(&g->prod[g->nprod], 0, sizeof *g->prod);
    return g->nprod++;
}

/* A 4-D activation (or 2-D once pooled) whose images all read the same channels; returns
 * image 0's channels as refs (malloc'd), NULL with the message set otherwise. */
static scl__oref *same_per_image(ev *e, const val *x, int64_t C) {
    int64_t B = x->dims[0];
    scl__oref *r = malloc((size_t)(C ? C : 1) * sizeof *r);
    if (!r) {
        scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        return NULL;
    }
    for (int64_t c = 0; c < C; c++)
        r[c] = (scl__oref){x->e[c].src, x->e[c].ch, x->e[c].ver};
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const ent *q = &x->e[b * C + c];
            if (q->b != b || q->src != r[c].src || q->ch != r[c].ch || q->ver != r[c].ver) {
                free(r);
                FAIL("mixes images: channel %lld of image %lld holds image %d's data (a reshape "
                     "that mixes batch and channels other than as a channel shuffle)",
                     (long long)c, (long long)b, q->b);
                return NULL;
            }
        }
    return r;
}

/* A new producer reading x's C channels (the same in every image, each read at its final
 * version), its node and level set; -1 with *st set when refused. */
static int new_prod(ev *e, const val *x, int64_t C, scl_status *st) {
    scl__oref *in = same_per_image(e, x, C);
    *st = in ? scl__ev_read(e, x->e, x->dims[0] * C) : SCL_ERROR_UNSUPPORTED_MODEL;
    int p = *st == SCL_OK ? add_prod(e) : -1;
    if (p < 0) {
        free(in);
        if (*st == SCL_OK) *st = scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
        return -1;
    }
    scl__oprod *pr = &e->out->prod[p];
    pr->node = e->node, pr->in = in, pr->level_in = x->level, pr->cin = (int)C;
    return p;
}

static int is_act4(const val *x) {
    return x && x->kind == V_ACT && x->rank == 4 && x->nsp == 2 && !x->pooled && !x->pad;
}

static val *act_out(ev *e, const val *like, int64_t C, int h, int w, int level) {
    val *o = scl__ev_output(e, 0);
    if (!o) {
        scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name or is defined twice");
        return NULL;
    }
    *o = *like;
    o->dims[1] = C, o->dims[2] = h, o->dims[3] = w, o->h = h, o->w = w, o->level = level;
    o->e = scl__ev_alloc(e, like->dims[0] * C);
    return o->e ? o : NULL;
}

/* The new producer's fresh output: entry (b, c) is its channel c of image b. */
static void fresh(val *o, int p) {
    int64_t B = o->dims[0], C = o->dims[1];
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            o->e[b * C + c] = (ent){(int32_t)b, p, (int32_t)c, 0};
}

static int ints_are(const int64_t *x, int n, int64_t v) {
    for (int i = 0; i < n; i++)
        if (x[i] != v) return 0;
    return 1;
}

static int auto_pad_ok(ev *e) {
    const SclOnnx__AttributeProto *a = scl__ev_attr(e, "auto_pad");
    return !a || !a->has_s || (a->s.len == 7 && !memcmp(a->s.data, "NOTSET", 6));
}

scl_status scl__ev_conv(ev *e) {
    val *x = scl__ev_input(e, 0), *wv = scl__ev_input(e, 1), *bv = scl__ev_input(e, 2);
    if (!is_act4(x)) return FAIL("convolves something other than a 4-D activation");
    if (!wv || wv->kind != V_TENSOR || wv->t->n_dims != 4 || wv->tr)
        return FAIL("has weights that are not a 4-D constant (initializer)");
    const int64_t *wd = wv->t->dims;
    int64_t C = x->dims[1], M = wd[0], kh = wd[2], kw = wd[3], g = scl__ev_attr_i(e, "group", 1);
    if (bv && (bv->kind != V_TENSOR || scl__onnx_tensor_count(bv->t) != M))
        return FAIL("has a bias that is not a constant of %lld values", (long long)M);
    int64_t st[2] = {1, 1}, pd[4] = {0, 0, 0, 0}, dl[2] = {1, 1}, ks[2] = {kh, kw};
    int ns = scl__ev_attr_ints(e, "strides", st, 2), np = scl__ev_attr_ints(e, "pads", pd, 4);
    int nd = scl__ev_attr_ints(e, "dilations", dl, 2),
        nk = scl__ev_attr_ints(e, "kernel_shape", ks, 2);
    if (ns == -2 || np == -2 || nd == -2 || nk == -2 || (ns >= 0 && ns != 2) ||
        (np >= 0 && np != 4) || !auto_pad_ok(e) || !ints_are(dl, 2, 1) || ks[0] != kh ||
        ks[1] != kw || g < 1 || C % g || M % g || wd[1] * g != C || M < 1)
        return FAIL("has attributes or weight dims (%lld x %lld x %lld x %lld, group %lld, %lld "
                    "input channels) that do not fit together or are not supported",
                    (long long)M, (long long)wd[1], (long long)kh, (long long)kw, (long long)g,
                    (long long)C);
    scl__oprod_kind kind;
    if (kh == 3 && kw == 3 && g == 1 && C == 3 && st[0] == 2 && st[1] == 2 && ints_are(pd, 4, 1))
        kind = SCL__OP_STEM;
    else if (kh == 1 && kw == 1 && ints_are(st, 2, 1) && ints_are(pd, 4, 0))
        kind = SCL__OP_PW;
    else if (kh == 3 && kw == 3 && g == C && M == C && st[0] == st[1] && st[0] <= 2 &&
             ints_are(pd, 4, 1))
        kind = SCL__OP_DW;
    else
        return FAIL("is not a ShuffleNet convolution (kernel %lldx%lld, stride %lld, pads "
                    "%lld, group %lld; expected the 3x3 stride-2 stem, a 1x1 pointwise or a 3x3 "
                    "depthwise with padding 1)",
                    (long long)kh, (long long)kw, (long long)st[0], (long long)pd[0], (long long)g);
    scl_status s;
    int p = new_prod(e, x, C, &s);
    if (p < 0) return s;
    scl__oprod *pr = &e->out->prod[p];
    pr->kind = kind, pr->cout = (int)M, pr->groups = (int)g, pr->stride = (int)st[0];
    pr->w = wv->t, pr->b = bv ? bv->t : NULL;
    int s2 = st[0] == 2;
    val *o = act_out(e, x, M, s2 ? (x->h - 1) / 2 + 1 : x->h, s2 ? (x->w - 1) / 2 + 1 : x->w,
                     x->level + s2);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    fresh(o, p);
    return SCL_OK;
}

/* The global pools; reduce: ReduceMean (else GlobalAveragePool or a map-sized AveragePool). */
static scl_status global_pool(ev *e, val *x, int keep, int fixed) {
    if (!is_act4(x)) return FAIL("pools something other than a 4-D activation");
    val *o = scl__ev_output(e, 0);
    if (!o) return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name");
    *o = *x;
    o->rank = keep ? 4 : 2, o->nsp = 0, o->h = o->w = 1, o->pooled = 1;
    o->dims[2] = o->dims[3] = 1;
    o->gap_node = e->node, o->gap_fixed = fixed;
    o->e = scl__ev_alloc(e, x->dims[0] * x->dims[1]);
    if (!o->e) return SCL_ERROR_OUT_OF_MEMORY;
    memcpy(o->e, x->e, (size_t)(x->dims[0] * x->dims[1]) * sizeof *o->e);
    return SCL_OK;
}

scl_status scl__ev_global_pool(ev *e, int reduce) {
    val *x = scl__ev_input(e, 0);
    if (!reduce) return global_pool(e, x, 1, 0);
    int64_t ax[8];
    int n = scl__ev_attr_ints(e, "axes", ax, 8);
    if (n < 0 && scl__ev_input(e, 1)) n = scl__ev_ints(e, scl__ev_input(e, 1), ax, 8, "axes");
    if (n != 2 || !x || x->rank != 4) return FAIL("reduces other axes than the spatial ones");
    for (int i = 0; i < 2; i++)
        ax[i] = ax[i] < 0 ? ax[i] + 4 : ax[i];
    if (!((ax[0] == 2 && ax[1] == 3) || (ax[0] == 3 && ax[1] == 2)))
        return FAIL("reduces other axes than the spatial ones");
    return global_pool(e, x, (int)scl__ev_attr_i(e, "keepdims", 1), 0);
}

scl_status scl__ev_pool(ev *e, int is_max) {
    val *x = scl__ev_input(e, 0);
    if (!x || x->kind != V_ACT || x->rank != 4 || x->nsp != 2 || x->pooled)
        return FAIL("pools something other than a 4-D activation");
    int64_t ks[2] = {0, 0}, st[2] = {1, 1}, pd[4] = {0, 0, 0, 0}, dl[2] = {1, 1};
    int nk = scl__ev_attr_ints(e, "kernel_shape", ks, 2),
        ns = scl__ev_attr_ints(e, "strides", st, 2);
    int np = scl__ev_attr_ints(e, "pads", pd, 4), nd = scl__ev_attr_ints(e, "dilations", dl, 2);
    int ceil = (int)scl__ev_attr_i(e, "ceil_mode", 0),
        incl = (int)scl__ev_attr_i(e, "count_include_pad", 0);
    if (nk != 2 || ns == -2 || np == -2 || nd == -2 || ceil || !auto_pad_ok(e) ||
        !ints_are(dl, 2, 1) || scl__ev_attr_i(e, "storage_order", 0))
        return FAIL("has pooling attributes that are not supported");
    /* Megvii's AvgPool2d(7) is the global pool where the map is 7x7, and only there */
    if (!is_max && !x->pad && ints_are(pd, 4, 0) && (ks[0] != 3 || ks[1] != 3 || st[0] != 2)) {
        if (ks[0] != x->h || ks[1] != x->w)
            return FAIL("averages %lldx%lld windows of a %dx%d map: a global pool only where the "
                        "map is %lldx%lld (an input of another size than the model was made for)",
                        (long long)ks[0], (long long)ks[1], x->h, x->w, (long long)ks[0],
                        (long long)ks[1]);
        return global_pool(e, x, 1, 1);
    }
    int pad_ok = is_max ? !x->pad && ints_are(pd, 4, 1)
                        : (x->pad && ints_are(pd, 4, 0)) || (!x->pad && ints_are(pd, 4, 1) && incl);
    if (ks[0] != 3 || ks[1] != 3 || st[0] != 2 || st[1] != 2 || !pad_ok)
        return FAIL("is not a 3x3 stride-2 pool with a 1-pixel border%s",
                    is_max ? "" : " counted in the average (count_include_pad)");
    int64_t C = x->dims[1];
    scl_status s;
    int p = new_prod(e, x, C, &s);
    if (p < 0) return s;
    scl__oprod *pr = &e->out->prod[p];
    pr->kind = is_max ? SCL__OP_MAXPOOL : SCL__OP_AVGPOOL, pr->cout = (int)C, pr->stride = 2;
    pr->nonneg = 1;
    for (int64_t c = 0; c < C; c++)
        if (pr->in[c].src < 0 || !e->out->prod[pr->in[c].src].nonneg) pr->nonneg = 0;
    val tmp = *x;
    tmp.pad = 0;
    val *o = act_out(e, &tmp, C, (x->h - 1) / 2 + 1, (x->w - 1) / 2 + 1, x->level + 1);
    if (!o) return SCL_ERROR_UNSUPPORTED_MODEL;
    fresh(o, p);
    return SCL_OK;
}

/* The producer every entry of x comes from when x holds all of its channels, each image's in
 * that image, at its current version, before anything read it; -1 otherwise. */
static int sole_fresh_producer(ev *e, const val *x) {
    int64_t n = scl__ev_outer(x), B = x->dims[0];
    if (!n || x->e[0].src < 0) return -1;
    int p = x->e[0].src;
    scl__oprod *pr = &e->out->prod[p];
    if (pr->read || n != B * pr->cout) return -1;
    char *seen = calloc((size_t)n, 1);
    int ok = seen != NULL;
    for (int64_t i = 0; ok && i < n; i++) {
        const ent *q = &x->e[i];
        int64_t k = (int64_t)q->b * pr->cout + q->ch;
        ok = q->src == p && q->ver == pr->nver && q->b == i / (n / B) && !seen[k]++;
    }
    free(seen);
    return ok ? p : -1;
}

static val *same_entries_next(ev *e, const val *x) {
    val *o = scl__ev_output(e, 0);
    if (!o) {
        scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name or is defined twice");
        return NULL;
    }
    *o = *x;
    int64_t n = scl__ev_outer(x);
    if (!(o->e = scl__ev_alloc(e, n))) return NULL;
    for (int64_t i = 0; i < n; i++)
        o->e[i] = x->e[i], o->e[i].ver++;
    return o;
}

scl_status scl__ev_batchnorm(ev *e) {
    val *x = scl__ev_input(e, 0);
    int p = is_act4(x) ? sole_fresh_producer(e, x) : -1;
    scl__oprod *pr = p >= 0 ? &e->out->prod[p] : NULL;
    if (!pr || pr->nver || pr->kind > SCL__OP_DW)
        return FAIL("normalises something other than a convolution's whole output, right after it");
    if (scl__ev_attr_i(e, "training_mode", 0) || e->g->node[e->node]->n_output > 1)
        return FAIL("is in training mode");
    for (int i = 0; i < 4; i++) {
        val *t = scl__ev_input(e, (size_t)i + 1);
        if (!t || t->kind != V_TENSOR || scl__onnx_tensor_count(t->t) != pr->cout)
            return FAIL("has a parameter that is not a constant of %d values", pr->cout);
        pr->bn[i] = t->t;
    }
    const SclOnnx__AttributeProto *eps = scl__ev_attr(e, "epsilon");
    pr->eps = eps && eps->has_f ? eps->f : 1e-5;
    if (!(pr->eps >= 0 && pr->eps < 1)) return FAIL("has epsilon %g", pr->eps);
    pr->nver = 1;
    return same_entries_next(e, x) ? SCL_OK : SCL_ERROR_UNSUPPORTED_MODEL;
}

/* Relu on any mix of whole outputs: each producer in x gets the Relu as its last epilogue
 * step (a pool of non-negative values needs none). */
scl_status scl__ev_relu(ev *e) {
    val *x = scl__ev_input(e, 0);
    if (!x || x->kind != V_ACT || x->pooled || x->pad) return FAIL("is not on an activation");
    int64_t n = scl__ev_outer(x), B = x->dims[0];
    int np = e->out->nprod;
    int32_t *count = calloc((size_t)np + 1, sizeof *count);
    char **seen = calloc((size_t)np + 1, sizeof *seen);
    scl_status st =
        count && seen ? SCL_OK : scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (int64_t i = 0; st == SCL_OK && i < n; i++) {
        const ent *q = &x->e[i];
        scl__oprod *pr = q->src >= 0 ? &e->out->prod[q->src] : NULL;
        if (!pr || pr->read || q->ver != pr->nver || q->b >= B) {
            st = FAIL("applies to %s",
                      pr ? "a layer's output that is also used without it" : "the network input");
            break;
        }
        if (!seen[q->src] && !(seen[q->src] = calloc((size_t)(B * pr->cout), 1))) {
            st = scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
            break;
        }
        if (seen[q->src][(int64_t)q->b * pr->cout + q->ch]++) st = FAIL("sees a channel twice");
        count[q->src]++;
    }
    for (int p = 0; st == SCL_OK && p < np; p++) {
        scl__oprod *pr = &e->out->prod[p];
        if (!count[p]) continue;
        if (count[p] != B * pr->cout)
            st = FAIL("applies to part of a layer's output only");
        else if (pr->kind >= SCL__OP_MAXPOOL && !pr->nonneg)
            st = FAIL("follows a pool of values that may be negative");
        else if (pr->relu)
            st = FAIL("follows another Relu");
    }
    for (int p = 0; st == SCL_OK && p < np; p++)
        if (count[p]) {
            scl__oprod *pr = &e->out->prod[p];
            pr->nver++;
            if (pr->kind < SCL__OP_MAXPOOL) pr->relu = 1, pr->nonneg = 1;
        }
    for (int p = 0; seen && p < np; p++)
        free(seen[p]);
    free(seen), free(count);
    if (st != SCL_OK) return st;
    return same_entries_next(e, x) ? SCL_OK : SCL_ERROR_UNSUPPORTED_MODEL;
}

/* V1's residual: a pointwise conv's fresh output plus the unit's input, before the Relu. */
scl_status scl__ev_add_act(ev *e, val *a, val *b) {
    if (!is_act4(a) || !is_act4(b) || memcmp(a->dims, b->dims, 4 * sizeof *a->dims))
        return FAIL("adds tensors of different shapes");
    val *main = a, *other = b;
    int p = sole_fresh_producer(e, a);
    if (p < 0 || e->out->prod[p].kind != SCL__OP_PW || e->out->prod[p].relu) {
        main = b, other = a;
        p = sole_fresh_producer(e, b);
    }
    scl__oprod *pr = p >= 0 ? &e->out->prod[p] : NULL;
    if (!pr || pr->kind != SCL__OP_PW || pr->relu || pr->res)
        return FAIL("is not a residual sum of a 1x1 convolution's output and a tensor");
    int64_t n = scl__ev_outer(a), C = a->dims[1];
    scl__oref *res = malloc((size_t)C * sizeof *res);
    char *set = calloc((size_t)C, 1);
    scl_status st =
        res && set ? SCL_OK : scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (int64_t i = 0; st == SCL_OK && i < n; i++) {
        const ent *m = &main->e[i], *o = &other->e[i];
        scl__oref r = {o->src, o->ch, o->ver};
        if (o->b != m->b)
            st = FAIL("adds channels of different images");
        else if (!set[m->ch])
            res[m->ch] = r, set[m->ch] = 1;
        else if (res[m->ch].src != r.src || res[m->ch].ch != r.ch || res[m->ch].ver != r.ver)
            st = FAIL("adds different channels in different images");
    }
    if (st == SCL_OK) st = scl__ev_read(e, other->e, n);
    free(set);
    if (st != SCL_OK) {
        free(res);
        return st;
    }
    pr->res = res;
    pr->nver++;
    return same_entries_next(e, main) ? SCL_OK : SCL_ERROR_UNSUPPORTED_MODEL;
}

scl_status scl__ev_classifier(ev *e, int gemm) {
    val *x = scl__ev_input(e, 0), *wv = scl__ev_input(e, 1),
        *bv = gemm ? scl__ev_input(e, 2) : NULL;
    if (!x || x->kind != V_ACT || !x->pooled || x->rank != 2)
        return FAIL("is not a classifier on globally pooled features (N x C)");
    if (!wv || wv->kind != V_TENSOR || wv->t->n_dims != 2)
        return FAIL("has weights that are not a 2-D constant");
    int64_t C = x->dims[1];
    /* the stored matrix is (cin, cout) when neither transB nor a Transpose node flips it */
    int ck = (gemm ? !scl__ev_attr_i(e, "transB", 0) : 1) ^ wv->tr;
    int64_t K = ck ? wv->t->dims[1] : wv->t->dims[0], wc = ck ? wv->t->dims[0] : wv->t->dims[1];
    const SclOnnx__AttributeProto *al = scl__ev_attr(e, "alpha"), *be = scl__ev_attr(e, "beta");
    if (wc != C || K < 1 || (gemm && scl__ev_attr_i(e, "transA", 0)) ||
        (al && al->has_f && al->f != 1.0f) || (be && be->has_f && be->f != 1.0f && bv))
        return FAIL("has weights of %lld x %lld for %lld features, or alpha, beta or transA set",
                    (long long)wv->t->dims[0], (long long)wv->t->dims[1], (long long)C);
    if (bv && (bv->kind != V_TENSOR || scl__onnx_tensor_count(bv->t) != K || bv->t->n_dims > 2))
        return FAIL("has a bias that is not a constant of %lld values", (long long)K);
    scl_status s;
    int p = new_prod(e, x, C, &s);
    if (p < 0) return s;
    scl__oprod *pr = &e->out->prod[p];
    pr->kind = SCL__OP_GAPFC, pr->cout = (int)K, pr->w = wv->t, pr->b = bv ? bv->t : NULL;
    pr->w_ck = ck, pr->gap_node = x->gap_node, pr->gap_fixed = x->gap_fixed;
    val *o = scl__ev_output(e, 0);
    if (!o) return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name");
    memset(o, 0, sizeof *o);
    o->kind = V_LOGITS, o->rank = 2, o->dims[0] = x->dims[0], o->dims[1] = K, o->prod = p;
    return SCL_OK;
}

scl_status scl__ev_logits_bias(ev *e, val *logits, val *bias) {
    scl__oprod *pr = &e->out->prod[logits->prod];
    if (bias->kind != V_TENSOR || scl__onnx_tensor_count(bias->t) != pr->cout ||
        bias->t->n_dims > 2 || pr->b)
        return FAIL("adds to the logits something other than one constant bias of %d values",
                    pr->cout);
    pr->b = bias->t;
    val *o = scl__ev_output(e, 0);
    if (!o) return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name");
    *o = *logits;
    return SCL_OK;
}
