/* onnx_import.c: a network from an ONNX file. The graph is evaluated into layers
 * (onnx_graph.c); the architecture is read off them (stem, stage widths and repeats, groups,
 * last width, classes); and the network that description builds is proved to compute the
 * same thing: every one of its layers is matched to a graph layer of the same kind and shape
 * that reads the very same channels of the matched layers before it, with the same ReLU and
 * residual, and nothing is left over. Only then are the graph's weights (BatchNormalization
 * folded, at its own epsilon) loaded into it. */
#include "net/network.h"
#include "net/onnx_graph.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct imp {
    scl_context *ctx;
    const scl__onnx *m;
    scl__ograph g;
    char msg[1024];
} imp;

static scl_status fail(imp *im, scl_status st, const char *fmt, const char *a, const char *b) {
    snprintf(im->msg, sizeof im->msg, fmt, im->m->path, a ? a : "", b ? b : "");
    return st;
}

/* ---- the architecture ---------------------------------------------------------------------- */

static scl_preprocess preprocess_of(imp *im, scl_status *st) {
    const char *meta = scl__onnx_metadata(im->m, "shufflecl.preprocess");
    *st = SCL_OK;
    if (meta) {
        if (!strcmp(meta, "torchvision")) return SCL_PREPROCESS_TORCHVISION;
        if (!strcmp(meta, "megvii")) return SCL_PREPROCESS_MEGVII;
        *st = fail(im, SCL_ERROR_FILE_FORMAT,
                   "%s: metadata shufflecl.preprocess is '%s' (expected torchvision or megvii)%s",
                   meta, NULL);
        return SCL_PREPROCESS_UNKNOWN;
    }
    const SclOnnx__GraphProto *g = im->m->model->graph;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const char *n = g->initializer[i]->name ? g->initializer[i]->name : "";
        if (!strncmp(n, "module.", 7)) n += 7;
        if (!strncmp(n, "conv1.", 6)) return SCL_PREPROCESS_TORCHVISION;
        if (!strncmp(n, "first_conv.", 11)) return SCL_PREPROCESS_MEGVII;
    }
    return SCL_PREPROCESS_UNKNOWN;
}

static scl_status infer(imp *im, scl_model_desc *d) {
    const scl__ograph *g = &im->g;
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    int v1 = 0, stems = 0;
    const scl__oprod *fc = NULL;
    for (int p = 0; p < g->nprod; p++) {
        const scl__oprod *pr = &g->prod[p];
        v1 |= pr->kind == SCL__OP_AVGPOOL;
        if (pr->kind == SCL__OP_STEM) stems++, d->stem_width = pr->cout;
        if (pr->kind == SCL__OP_GAPFC) fc = pr;
        if (pr->level_in > 5 ||
            (pr->level_in < 2 && pr->kind != SCL__OP_STEM && pr->kind != SCL__OP_MAXPOOL)) {
            char node[256];
            return fail(im, SCL_ERROR_UNSUPPORTED_MODEL,
                        "%s: node %s works at a resolution no ShuffleNet layer has (not three "
                        "stages after a stem and a max pool)%s",
                        scl__onnx_node_text(im->m, pr->node, node, sizeof node), NULL);
        }
        int s = pr->level_in - 3;
        if (s >= 0 && s < SCL_MODEL_STAGES) {
            if (pr->kind == SCL__OP_DW && pr->stride == 1) d->stage_repeats[s]++;
            if (pr->kind != SCL__OP_STEM && pr->kind != SCL__OP_GAPFC &&
                pr->cin > d->stage_widths[s])
                d->stage_widths[s] = pr->cin;
        }
        if (pr->kind == SCL__OP_PW && pr->groups > d->groups) d->groups = pr->groups;
    }
    if (stems != 1 || !fc)
        return fail(im, SCL_ERROR_UNSUPPORTED_MODEL, "%s: not a ShuffleNet: it has %s%s",
                    stems != 1 ? "no single 3x3 stride-2 stem "
                                 "convolution of the 3 input channels"
                               : "no classifier",
                    NULL);
    for (int s = 0; s < SCL_MODEL_STAGES; s++)
        d->stage_repeats[s]++;
    d->family = v1 ? SCL_FAMILY_V1 : SCL_FAMILY_V2;
    d->layout = v1 ? SCL_LAYOUT_MEGVII_V1 : SCL_LAYOUT_TORCHVISION_V2;
    if (!v1) d->groups = 0, d->last_width = fc->cin;
    if (v1 && fc->cin > d->stage_widths[SCL_MODEL_STAGES - 1])
        d->stage_widths[SCL_MODEL_STAGES - 1] = fc->cin;
    d->classes = fc->cout;
    scl_status st;
    d->preprocess = preprocess_of(im, &st);
    return st;
}

/* ---- proving the network computes what the graph does ---------------------------------------- */

typedef struct chan {
    int src, ch;
} chan;

static int kind_of(scl_layer_kind k) {
    switch (k) {
    case SCL_LAYER_STEM:
        return SCL__OP_STEM;
    case SCL_LAYER_POINTWISE:
        return SCL__OP_PW;
    case SCL_LAYER_DEPTHWISE:
        return SCL__OP_DW;
    case SCL_LAYER_MAXPOOL:
        return SCL__OP_MAXPOOL;
    case SCL_LAYER_AVGPOOL:
        return SCL__OP_AVGPOOL;
    case SCL_LAYER_GAP_FC:
        return SCL__OP_GAPFC;
    default:
        return -1;
    }
}

static int refs_match(const chan *want, const scl__oref *got, int n, const int *match) {
    for (int c = 0; c < n; c++) {
        int src = want[c].src < 0 ? -1 : match[want[c].src];
        if (got[c].src != src || got[c].ch != want[c].ch) return 0;
    }
    return 1;
}

static int attrs_match(const scl_layer *l, const scl__oprod *pr) {
    if (kind_of(l->kind) != (int)pr->kind || l->cin != pr->cin || l->cout != pr->cout) return 0;
    if (pr->kind == SCL__OP_PW && l->groups != pr->groups) return 0;
    if (pr->kind == SCL__OP_DW && l->stride != pr->stride) return 0;
    if (pr->kind <= SCL__OP_DW && (!!(l->flags & SCL_OP_RELU) != !!pr->relu)) return 0;
    return !!(l->flags & SCL_OP_RESIDUAL) == (pr->res != NULL);
}

/* Matches model m's layers to the graph's; match[i] = the producer of layer i. Returns the
 * number of layers matched (m->nlayers when all are). */
static int match_model(const scl_model *m, const scl__ograph *g, int *match, scl_status *st) {
    chan **planes = calloc((size_t)m->nbufs, sizeof *planes);
    char *used = calloc((size_t)g->nprod + 1, 1);
    chan *in = NULL, *res = NULL;
    int done = 0, cap = 1;
    *st = SCL_OK;
    for (int i = 0; i < m->nlayers; i++) {
        cap = m->layers[i].cin > cap ? m->layers[i].cin : cap;
        cap = m->layers[i].cout > cap ? m->layers[i].cout : cap;
    }
    in = malloc((size_t)cap * sizeof *in), res = malloc((size_t)cap * sizeof *res);
    for (int b = 0; planes && b < m->nbufs; b++) {
        planes[b] =
            malloc((size_t)(m->bufs[b].channels ? m->bufs[b].channels : 1) * sizeof **planes);
        if (!planes[b]) goto oom;
        for (int c = 0; c < m->bufs[b].channels; c++)
            planes[b][c] = (chan){b == 0 ? -1 : -2, b == 0 ? c : -1};
    }
    if (!planes || !used || !in || !res) goto oom;
    for (; done < m->nlayers; done++) {
        const scl_layer *l = &m->layers[done];
        for (int c = 0; c < l->cin; c++)
            in[c] = planes[l->in_buf][l->in_map[c]];
        for (int c = 0; l->res_buf >= 0 && c < l->cout; c++)
            res[c] = planes[l->res_buf][l->res_map[c]];
        int found = -1;
        for (int p = 0; p < g->nprod && found < 0; p++) {
            const scl__oprod *pr = &g->prod[p];
            if (!used[p] && attrs_match(l, pr) && refs_match(in, pr->in, l->cin, match) &&
                (!pr->res || refs_match(res, pr->res, l->cout, match)))
                found = p;
        }
        if (found < 0) break;
        used[found] = 1, match[done] = found;
        if (l->kind != SCL_LAYER_GAP_FC)
            for (int c = 0; c < l->cout; c++)
                planes[l->out_buf][l->out_map[c]] = (chan){done, c};
    }
    goto out;
oom:
    *st = SCL_ERROR_OUT_OF_MEMORY;
out:
    for (int b = 0; planes && b < m->nbufs; b++)
        free(planes[b]);
    free(planes), free(used), free(in), free(res);
    return done;
}

/* Builds the description's model in each layout the family has and keeps the one whose every
 * layer the graph computes. */
static scl_status prove(imp *im, scl_model_desc *d, int **match_out) {
    static const scl_layout v2[] = {SCL_LAYOUT_TORCHVISION_V2, SCL_LAYOUT_MEGVII_V2};
    int nl = d->family == SCL_FAMILY_V1 ? 1 : 2, best = -1;
    char best_layer[64] = "", text[256];
    scl_model_desc best_d = *d;
    for (int k = 0; k < nl; k++) {
        if (d->family == SCL_FAMILY_V2) d->layout = v2[k];
        char why[512];
        if (scl__desc_check(d, why, sizeof why) != SCL_OK) {
            if (best < 0) snprintf(best_layer, sizeof best_layer, "%.60s", why), best_d = *d;
            continue;
        }
        scl_model *m;
        scl_status st = scl__model_build_desc(d, 0, &m);
        if (st != SCL_OK) return fail(im, st, "%s: out of host memory%s%s", NULL, NULL);
        int *match = malloc((size_t)m->nlayers * sizeof *match);
        int got = match ? match_model(m, &im->g, match, &st) : 0;
        if (!match) st = SCL_ERROR_OUT_OF_MEMORY;
        if (st == SCL_OK && got == m->nlayers && m->nlayers == im->g.nprod) {
            scl__model_free(m);
            *match_out = match;
            return SCL_OK;
        }
        if (got > best) {
            best = got, best_d = *d;
            snprintf(best_layer, sizeof best_layer, "%s",
                     got < m->nlayers ? m->layers[got].name : "(nothing: the graph has more)");
        }
        free(match);
        scl__model_free(m);
        if (st != SCL_OK) return fail(im, st, "%s: out of host memory%s%s", NULL, NULL);
    }
    snprintf(im->msg, sizeof im->msg,
             "%s: the graph is not a ShuffleNet shufflecl can run: its layers describe %s, but "
             "its channels do not flow as in that network (first layer not found in the graph: "
             "%s; a channel shuffle with another group count, a split or concat in another "
             "order, or a layer that does not belong)",
             im->m->path, scl_model_desc_text(&best_d, text, sizeof text), best_layer);
    return SCL_ERROR_UNSUPPORTED_MODEL;
}

/* ---- weights ------------------------------------------------------------------------------- */

static int store(double v, float *out) {
    if (!(fabs(v) <= FLT_MAX)) return 0;
    *out = (float)v;
    return 1;
}

/* Layer l's weights from producer pr: read, transposed for a (C, K) classifier, and with a
 * BatchNormalization folded in. */
static scl_status layer_weights(imp *im, const scl_layer *l, const scl__oprod *pr,
                                scl__layer_weights *lw) {
    if (pr->kind == SCL__OP_MAXPOOL || pr->kind == SCL__OP_AVGPOOL) return SCL_OK;
    size_t per = pr->kind == SCL__OP_GAPFC ? (size_t)l->cin
                 : pr->kind == SCL__OP_DW
                     ? 9
                     : (size_t)(l->cin / l->groups) * (pr->kind == SCL__OP_STEM ? 9 : 1);
    size_t nw = per * (size_t)l->cout, C = (size_t)l->cout;
    float *w = malloc(nw * sizeof *w), *b = calloc(C, sizeof *b), *bn = malloc(4 * C * sizeof *bn);
    scl_status st = w && b && bn ? SCL_OK : SCL_ERROR_OUT_OF_MEMORY;
    if (st == SCL_OK) st = scl__onnx_tensor_f32(im->m, pr->w, w, nw, im->msg, sizeof im->msg);
    if (st == SCL_OK && pr->b)
        st = scl__onnx_tensor_f32(im->m, pr->b, b, C, im->msg, sizeof im->msg);
    if (st == SCL_OK && pr->w_ck) { /* (C, K) -> (K, C) */
        float *t = malloc(nw * sizeof *t);
        if (!t) st = SCL_ERROR_OUT_OF_MEMORY;
        for (size_t k = 0; t && k < C; k++)
            for (size_t c = 0; c < per; c++)
                t[k * per + c] = w[c * C + k];
        if (t) free(w), w = t;
    }
    for (int k = 0; st == SCL_OK && pr->bn[0] && k < 4; k++)
        st = scl__onnx_tensor_f32(im->m, pr->bn[k], bn + k * C, C, im->msg, sizeof im->msg);
    for (size_t c = 0; st == SCL_OK && pr->bn[0] && c < C; c++) {
        double var = bn[3 * C + c], scale = bn[c] / sqrt(var + pr->eps);
        int ok = var >= 0 && isfinite(scale);
        for (size_t k = 0; ok && k < per; k++)
            ok = store(w[c * per + k] * scale, &w[c * per + k]);
        ok = ok && store((b[c] - bn[2 * C + c]) * scale + bn[C + c], &b[c]);
        if (!ok) {
            char node[256];
            snprintf(im->msg, sizeof im->msg,
                     "%s: folding the BatchNormalization after node %s overflows float or has a "
                     "negative variance at channel %zu",
                     im->m->path, scl__onnx_node_text(im->m, pr->node, node, sizeof node), c);
            st = SCL_ERROR_WEIGHTS;
        }
    }
    if (st == SCL_ERROR_OUT_OF_MEMORY) snprintf(im->msg, sizeof im->msg, "out of host memory");
    free(bn);
    if (st != SCL_OK) {
        free(w), free(b);
        return st;
    }
    lw->w = w;
    lw->b = pr->b || pr->bn[0] || pr->kind != SCL__OP_GAPFC ? b : (free(b), NULL);
    return SCL_OK;
}

static scl_status load(imp *im, scl_network *net, const int *match) {
    const scl_model *m = net->model;
    scl__layer_weights *lw = calloc((size_t)m->nlayers, sizeof *lw);
    scl_status st = lw ? SCL_OK : SCL_ERROR_OUT_OF_MEMORY;
    for (int i = 0; st == SCL_OK && i < m->nlayers; i++)
        st = layer_weights(im, &m->layers[i], &im->g.prod[match[i]], &lw[i]);
    if (st != SCL_OK) scl__fail(im->ctx, st, "%s", lw ? im->msg : "out of host memory");
    /* a refusal of the weights themselves (half storage's range) names the layer: add the file */
    if (st == SCL_OK && (st = scl__network_load_given(net, lw)) == SCL_ERROR_WEIGHTS)
        scl__prefix_error(im->ctx, "%s: ", im->m->path);
    for (int i = 0; lw && i < m->nlayers; i++)
        free(lw[i].w), free(lw[i].b);
    free(lw);
    return st;
}

/* ---- entry points -------------------------------------------------------------------------- */

/* The shape a graph is evaluated at when it is loaded: what it declares, else batch 2 (so a
 * reshape that mixes images shows) and 224 x 224. */
static void probe_shape(const int decl[3], int *n, int *h, int *w) {
    *n = decl[0] ? decl[0] : 2, *h = decl[1] ? decl[1] : 224, *w = decl[2] ? decl[2] : 224;
}

static scl_status open_and_prove(imp *im, const char *path, scl_model_desc *d, int **match) {
    scl__onnx *m;
    scl_status st = scl__onnx_open(path, &m, im->msg, sizeof im->msg);
    if (st != SCL_OK) return st;
    im->m = m;
    int decl[3], n, h, w;
    st = scl__onnx_graph_input(m, decl, im->msg, sizeof im->msg);
    probe_shape(decl, &n, &h, &w);
    if (st == SCL_OK) st = scl__onnx_graph_eval(m, n, h, w, &im->g, im->msg, sizeof im->msg);
    if (st == SCL_OK) st = infer(im, d);
    if (st == SCL_OK) st = prove(im, d, match);
    return st;
}

static void imp_close(imp *im) {
    scl__onnx_graph_free(&im->g);
    scl__onnx_close((scl__onnx *)im->m);
}

scl_status scl__onnx_desc(scl_context *ctx, const char *path, scl_model_desc *d) {
    imp im = {.ctx = ctx};
    int *match = NULL;
    scl_status st = open_and_prove(&im, path, d, &match);
    free(match);
    imp_close(&im);
    return st == SCL_OK ? SCL_OK : scl__fail(ctx, st, "%s", im.msg);
}

/* Loads the proved graph's weights into net and hands the file and the graph over to it: each
 * new input shape is evaluated again (scl__onnx_check_shape). On failure net keeps what it had. */
static scl_status load_and_keep(imp *im, scl_network *net, const int *match) {
    scl_status st = load(im, net, match);
    scl__ograph *g = st == SCL_OK ? malloc(sizeof *g) : NULL;
    if (st == SCL_OK && !g) st = scl__fail(net->ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st != SCL_OK) return st;
    scl__onnx_release(net);
    net->onnx = (scl__onnx *)im->m, im->m = NULL;
    *g = im->g, im->g.prod = NULL, im->g.nprod = 0;
    net->onnx_graph = g;
    return SCL_OK;
}

scl_status scl__onnx_network(scl_context *ctx, const char *path, const scl_network_options *opts,
                             scl_network **out) {
    imp im = {.ctx = ctx};
    int *match = NULL;
    scl_model_desc d;
    scl_network *net = NULL;
    scl_status st = open_and_prove(&im, path, &d, &match);
    if (st != SCL_OK) scl__fail(ctx, st, "%s", im.msg);
    if (st == SCL_OK) st = scl__network_create(ctx, &d, opts, &net, "scl_network_create_from_file");
    if (st == SCL_OK) st = load_and_keep(&im, net, match);
    free(match);
    imp_close(&im);
    if (st != SCL_OK) {
        scl_network_destroy(net);
        return st;
    }
    *out = net;
    return SCL_OK;
}

scl_status scl__onnx_load_into(scl_network *net, const char *path) {
    imp im = {.ctx = net->ctx};
    int *match = NULL;
    scl_model_desc d;
    scl_status st = open_and_prove(&im, path, &d, &match);
    if (st != SCL_OK) {
        scl__fail(net->ctx, st, "%s", im.msg);
    } else {
        scl_model_desc want = net->model->desc;
        d.preprocess = want.preprocess; /* the network's own, whatever the file says */
        char a[256], b[256];
        if (!scl__desc_equal(&d, &want))
            st = scl__fail(net->ctx, SCL_ERROR_WEIGHTS, "%s: holds %s, not %s", path,
                           scl_model_desc_text(&d, a, sizeof a),
                           scl_model_desc_text(&want, b, sizeof b));
    }
    /* the same description builds the same layers in the same order: match holds for net */
    if (st == SCL_OK) st = load_and_keep(&im, net, match);
    free(match);
    imp_close(&im);
    return st;
}

static int same_refs(const scl__oref *a, const scl__oref *b, int n) {
    if (!a || !b) return a == b;
    for (int i = 0; i < n; i++)
        if (a[i].src != b[i].src || a[i].ch != b[i].ch || a[i].ver != b[i].ver) return 0;
    return 1;
}

scl_status scl__onnx_check_shape(scl_network *net, int n, int h, int w) {
    const scl__ograph *ref = net->onnx_graph;
    const int *decl = ref->decl;
    const char *path = net->onnx->path;
    if ((decl[0] && n != decl[0]) || (decl[1] && h != decl[1]) || (decl[2] && w != decl[2]))
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "%s: the model's input is declared %d x 3 x %d x %d (0: any); it cannot "
                         "run %d x 3 x %d x %d (export it with dynamic axes for other shapes)",
                         path, decl[0], decl[1], decl[2], n, h, w);
    if (n > 2) n = 2; /* images never interact but through the reshapes, which 2 exercise */
    if (n == ref->n && h == ref->h && w == ref->w) return SCL_OK;
    scl__ograph g;
    char msg[1024];
    scl_status st = scl__onnx_graph_eval(net->onnx, n, h, w, &g, msg, sizeof msg);
    if (st != SCL_OK)
        return scl__fail(net->ctx, st, "%s (at an input of %d x 3 x %d x %d)", msg, n, h, w);
    int same = g.nprod == ref->nprod;
    for (int p = 0; same && p < g.nprod; p++) {
        const scl__oprod *a = &g.prod[p], *b = &ref->prod[p];
        same = a->kind == b->kind && a->cin == b->cin && a->cout == b->cout &&
               a->groups == b->groups && a->stride == b->stride && a->relu == b->relu &&
               a->level_in == b->level_in && same_refs(a->in, b->in, a->cin) &&
               same_refs(a->res, b->res, a->cout);
    }
    scl__onnx_graph_free(&g);
    return same ? SCL_OK
                : scl__fail(net->ctx, SCL_ERROR_UNSUPPORTED_MODEL,
                            "%s: at an input of %d x 3 x %d x %d the graph computes other layers "
                            "than at the shape it was loaded with",
                            path, n, h, w);
}

void scl__onnx_release(scl_network *net) {
    if (net->onnx_graph) scl__onnx_graph_free(net->onnx_graph);
    free(net->onnx_graph);
    scl__onnx_close(net->onnx);
    net->onnx_graph = NULL, net->onnx = NULL;
}
