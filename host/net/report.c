/* report.c: what a network tells about itself: its layers, its launches (kernel, layers covered,
 * MACs and bytes moved, NDRange) and its statistics, all from the model's shapes and the ops. */
#include "net/network.h"
#include "ops/head.h"
#include "ops/unit.h"

#include <stddef.h>
#include <string.h>

int scl_network_classes(const scl_network *net) {
    return net ? net->model->classes : 0;
}

scl_preprocess scl_network_preprocess(const scl_network *net) {
    return net ? net->model->desc.preprocess : SCL_PREPROCESS_TORCHVISION;
}

const char *scl_preprocess_name(scl_preprocess p) {
    switch (p) {
    case SCL_PREPROCESS_TORCHVISION:
        return "torchvision";
    case SCL_PREPROCESS_MEGVII:
        return "megvii";
    case SCL_PREPROCESS_UNKNOWN:
        break;
    }
    return "unknown";
}

int scl_network_layer_count(const scl_network *net) {
    return net ? net->model->nlayers : 0;
}

static scl_op_kind kind_of(scl_layer_kind k) {
    switch (k) {
    case SCL_LAYER_STEM:
        return SCL_OP_KIND_STEM;
    case SCL_LAYER_MAXPOOL:
        return SCL_OP_KIND_MAXPOOL;
    case SCL_LAYER_POINTWISE:
        return SCL_OP_KIND_POINTWISE;
    case SCL_LAYER_DEPTHWISE:
        return SCL_OP_KIND_DEPTHWISE;
    case SCL_LAYER_AVGPOOL:
        return SCL_OP_KIND_AVGPOOL;
    case SCL_LAYER_GAP_FC:
        return SCL_OP_KIND_GAP_FC;
    case SCL_LAYER_SHUFFLE:
        return SCL_OP_KIND_SHUFFLE;
    }
    return SCL_OP_KIND_SHUFFLE;
}

const char *scl_op_kind_name(scl_op_kind k) {
    static const char *const names[] = {"stem",    "maxpool", "pointwise", "depthwise",
                                        "avgpool", "gap_fc",  "shuffle"};
    return k >= SCL_OP_KIND_STEM && k <= SCL_OP_KIND_SHUFFLE ? names[k - SCL_OP_KIND_STEM]
                                                             : "unknown";
}

/* Rows and columns of layer l's input and output at an h x w network input. */
static void layer_hw(const scl_model *m, const scl_layer *l, int h, int w, int io[4]) {
    int li = m->bufs[l->in_buf].level, lo = m->bufs[l->out_buf].level;
    io[0] = scl__level_size(h, li), io[1] = scl__level_size(w, li);
    io[2] = l->kind == SCL_LAYER_GAP_FC ? 1 : scl__level_size(h, lo);
    io[3] = l->kind == SCL_LAYER_GAP_FC ? 1 : scl__level_size(w, lo);
}

scl_status scl_network_layer_info(const scl_network *net, int i, int h, int w,
                                  scl_layer_info *out) {
    if (!net || !out || i < 0 || i >= net->model->nlayers)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_layer_info: NULL argument or bad layer index %d", i);
    scl_status st = scl__network_check_dims(net->ctx, 1, h, w, "scl_network_layer_info");
    if (st != SCL_OK) return st;
    const scl_model *m = net->model;
    const scl_layer *l = &m->layers[i];
    scl_layer_info li = {.size = sizeof(scl_layer_info)};
    memset(&li, 0, sizeof li);
    snprintf(li.name, sizeof li.name, "%s", l->name);
    li.kind = kind_of(l->kind);
    li.cin = l->cin, li.cout = l->cout, li.groups = l->groups, li.stride = l->stride;
    li.residual = l->res_buf >= 0;
    int io[4];
    layer_hw(m, l, h, w, io);
    li.in_h = io[0], li.in_w = io[1], li.out_h = io[2], li.out_w = io[3];
    li.params = scl__layer_params(l);
    li.macs = scl__layer_macs(l, li.out_h, li.out_w);
    return scl__sized_out(net->ctx, "scl_network_layer_info", "scl_layer_info", out, &li, sizeof li,
                          sizeof li);
}

/* Floats of weights and bias a layer holds (BN folded into them). */
static int64_t layer_weights(const scl_layer *l) {
    int64_t co = l->cout;
    switch (l->kind) {
    case SCL_LAYER_POINTWISE:
        return co * (l->cin / l->groups) + co;
    case SCL_LAYER_DEPTHWISE:
        return co * 9 + co;
    case SCL_LAYER_STEM:
        return co * 27 + co;
    case SCL_LAYER_GAP_FC:
        return co * l->cin + co;
    default:
        return 0;
    }
}

int scl__model_unit_fits(const scl_device_info *dev, const scl_model *m, int i, int half, int n,
                         int h, int w) {
    const scl_layer *l = &m->layers[i];
    if (!l->unit_len) return 0;
    int level = m->bufs[l->in_buf].level;
    int kind, cin, cout, groups, first_groups;
    scl__unit_shape(l, &kind, &cin, &cout, &groups, &first_groups);
    scl__op_shape s = {kind, cin, cout, groups, l->unit_stride, 0, half};
    return scl__unit_shape_fits(dev, &s, n, scl__level_size(h, level), scl__level_size(w, level));
}

int scl__network_unit_fused(const scl_network *net, int i, int n, int h, int w) {
    const scl_model *m = net->model;
    const scl_layer *l = &m->layers[i];
    if (!l->unit_len) return 0;
    const scl_op *op = net->units ? net->units[i].op : NULL;
    if (!op) { /* before weights: every unit whose default band fits the device fuses */
        if (net->ops && net->ops[0]) return 0;
        return scl__model_unit_fits(&net->ctx->info, m, i, net->half, n, h, w);
    }
    int level = m->bufs[l->in_buf].level;
    return scl__op_unit_wanted(op) &&
           scl__op_unit_fits(op, n, scl__level_size(h, level), scl__level_size(w, level));
}

/* The first layer of the fused unit that layer i belongs to at n x h x w, or -1. */
static int fused_unit_of(const scl_network *net, int i, int n, int h, int w) {
    const scl_layer *ls = net->model->layers;
    for (int g = i; g >= 0 && g > i - 5; g--)
        if (ls[g].unit_len && g + ls[g].unit_len > i)
            return scl__network_unit_fused(net, g, n, h, w) ? g : -1;
    return -1;
}

/* The shape launches are counted at: the planned one, else batch 1 at 224 x 224. */
static void count_shape(const scl_network *net, int *n, int *h, int *w) {
    const scl_plan *p = &net->plan;
    *n = p->n ? p->n : 1, *h = p->n ? p->h : 224, *w = p->n ? p->w : 224;
}

/* Kernels a layer launches per inference at n x h x w: one for the first layer of a fused unit
 * and none for its others; else its op's count, or before weights the count its op would have
 * with the default configuration on this device. */
static int layer_launches(const scl_network *net, int i, int n, int h, int w) {
    int g = fused_unit_of(net, i, n, h, w);
    if (g >= 0) return g == i ? 1 : 0;
    if (net->ops && net->ops[i]) return net->ops[i]->nlaunch;
    if (net->model->layers[i].kind != SCL_LAYER_GAP_FC) return 1;
    scl_head_cfg cfg;
    scl__head_default_cfg(net->ctx, &cfg);
    return cfg.fused ? 1 : 2;
}

static int launches_at(const scl_network *net, int n, int h, int w) {
    int total = 0;
    for (int i = 0; net && i < net->model->nlayers; i++)
        total += layer_launches(net, i, n, h, w);
    return total;
}

/* Blocks of b images in a batch of n. */
static int blocks_of(int n, int b) {
    return (n + b - 1) / b;
}

int scl_network_launch_count(const scl_network *net) {
    if (!net) return 0;
    int n, h, w;
    count_shape(net, &n, &h, &w);
    /* per block, times the blocks of the batch reshaped for */
    return launches_at(net, n, h, w) * (net->plan.n ? blocks_of(net->batch, n) : 1);
}

/* The single launch of the fused unit starting at layer i: the layers it covers, their MACs and
 * weights, and the bytes it moves: the unit's input once and its outputs (nothing in between). */
static void fill_unit_launch(const scl_network *net, int i, int n, int h, int w,
                             scl_launch_info *o) {
    const scl_layer *ls = &net->model->layers[i];
    const scl_op *op = net->units ? net->units[i].op : NULL;
    int len = ls->unit_len, io[4], cout = 0;
    o->first_layer = i, o->layers = len;
    double e = (double)scl__network_elem(net);
    for (int j = 0; j < len; j++) {
        layer_hw(net->model, &ls[j], h, w, io);
        o->macs += scl__layer_macs(&ls[j], io[2], io[3]) * n;
        o->weight_bytes += (int64_t)((double)layer_weights(&ls[j]) * e);
    }
    int a, b;
    cout = scl__unit_outputs(ls, &a, &b);
    layer_hw(net->model, ls, h, w, io); /* the unit's input */
    double in_px = (double)io[0] * io[1];
    layer_hw(net->model, &ls[len - 1], h, w, io);
    double act = ls->cin * in_px + (double)cout * io[2] * io[3];
    o->bytes = (int64_t)(act * n * e) + o->weight_bytes;
    snprintf(o->kernel, sizeof o->kernel, "%s", op ? op->kernel_name : "");
    if (op) {
        o->dims = op->dims;
        for (int d = 0; d < 3; d++) {
            o->global[d] = d < (int)op->dims ? op->global[d] : 1;
            o->local[d] = op->use_local && d < (int)op->dims ? op->local[d] : 0;
        }
    }
}

/* Launch j of layer i (j < layer_launches) at batch n and an h x w input. */
static void fill_launch(const scl_network *net, int i, int j, int n, int h, int w,
                        scl_launch_info *o) {
    if (fused_unit_of(net, i, n, h, w) == i) {
        fill_unit_launch(net, i, n, h, w, o);
        return;
    }
    const scl_layer *l = &net->model->layers[i];
    const scl_op *op = net->ops ? net->ops[i] : NULL;
    int k = layer_launches(net, i, n, h, w), last = j == k - 1, io[4];
    layer_hw(net->model, l, h, w, io);
    double in_px = (double)io[0] * io[1], out_px = (double)io[2] * io[3];
    /* stored elements are halves at half storage, but the stem reads the caller's float image
     * and the head writes float logits */
    double e = (double)scl__network_elem(net), fi = l->kind == SCL_LAYER_STEM ? 4 : e;
    double fo = l->kind == SCL_LAYER_GAP_FC ? 4 : e;
    o->first_layer = i, o->layers = 1;
    o->macs = last ? scl__layer_macs(l, io[2], io[3]) * n : 0;
    o->weight_bytes = last ? (int64_t)((double)layer_weights(l) * e) : 0;
    if (k == 2) {
        /* the two-phase head: the pool writes N x C means that the FC then reads */
        double b = last ? (double)l->cin * e + l->cout * fo : l->cin * in_px * e + l->cin * e;
        o->bytes = (int64_t)(b * n) + o->weight_bytes;
    } else {
        double b = l->cin * in_px * fi + l->cout * out_px * fo +
                   (l->res_buf >= 0 ? l->cout * out_px * e : 0);
        o->bytes = (int64_t)(b * n) + o->weight_bytes;
    }
    const char *name = !op ? "" : last ? op->kernel_name : op->pre_kernel_name;
    snprintf(o->kernel, sizeof o->kernel, "%s", name);
    if (op && last) {
        o->dims = op->dims;
        for (int d = 0; d < 3; d++) {
            o->global[d] = d < (int)op->dims ? op->global[d] : 1;
            o->local[d] = op->use_local && d < (int)op->dims ? op->local[d] : 0;
        }
    } else if (op) {
        o->dims = op->pre_dims;
        for (int d = 0; d < 3; d++)
            o->global[d] = d < (int)op->pre_dims ? op->pre_global[d] : 1;
    }
}

scl_status scl_network_launch_info(const scl_network *net, int index, scl_launch_info *out) {
    if (!net || !out)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_launch_info: NULL argument");
    const scl_plan *p = &net->plan;
    if (p->n == 0)
        return scl__fail(
            net->ctx, SCL_ERROR_INVALID_ARGUMENT,
            "scl_network_launch_info: no shape yet: call scl_network_reshape (or run) first");
    /* every block launches the same kernels at the same shape (a shorter last block aside) */
    int per = launches_at(net, p->n, p->h, p->w);
    if (index >= 0 && index < per * blocks_of(net->batch, p->n)) index %= per;
    for (int i = 0, at = 0; i < net->model->nlayers; i++) {
        int k = layer_launches(net, i, p->n, p->h, p->w);
        if (index >= at && index < at + k) {
            scl_launch_info li = {.size = sizeof(scl_launch_info)};
            memset(&li, 0, sizeof li);
            fill_launch(net, i, index - at, p->n, p->h, p->w, &li);
            return scl__sized_out(net->ctx, "scl_network_launch_info", "scl_launch_info", out, &li,
                                  sizeof li, sizeof li);
        }
        at += k;
    }
    return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                     "scl_network_launch_info: launch %d of %d", index,
                     scl_network_launch_count(net));
}

scl_status scl_network_get_stats(const scl_network *net, int n, int h, int w,
                                 scl_network_stats *out) {
    if (!net || !out)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_get_stats: NULL argument");
    scl_status st = scl__network_check_dims(net->ctx, n, h, w, "scl_network_get_stats");
    if (st != SCL_OK) return st;
    scl_network_stats s = {.size = sizeof(scl_network_stats)};
    memset(&s, 0, sizeof s);
    const scl_model *m = net->model;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        int io[4];
        layer_hw(m, l, h, w, io);
        s.params += scl__layer_params(l);
        s.macs += scl__layer_macs(l, io[2], io[3]);
        double in_px = (double)io[0] * io[1], out_px = (double)io[2] * io[3];
        double e = (double)scl__network_elem(net), fi = l->kind == SCL_LAYER_STEM ? 4 : e;
        double fo = l->kind == SCL_LAYER_GAP_FC ? 4 : e;
        s.min_bytes_moved += (size_t)((double)l->cin * in_px * fi + (double)l->cout * out_px * fo +
                                      (l->res_buf >= 0 ? (double)l->cout * out_px * e : 0));
    }
    int nb = scl__network_block(net, n, h, w);
    s.launches = launches_at(net, nb, h, w) * blocks_of(n, nb);
    s.weight_bytes = net->weight_bytes;
    s.tuned_layers = net->tuned_layers;
    /* the planner is pure: asking about a shape never replaces the network's own plan; the
     * activations are a block's */
    scl_plan p;
    st = scl__plan_compute_elem(m, nb, h, w, scl__network_elem(net), &p);
    if (st != SCL_OK)
        return scl__fail(net->ctx, st, "scl_network_get_stats: cannot plan %dx3x%dx%d (%s)", n, h,
                         w,
                         st == SCL_ERROR_OUT_OF_MEMORY
                             ? "out of host memory"
                             : "its activations are over the limit of 2^31 - 1 floats");
    s.activation_bytes = p.activation_bytes;
    scl__plan_free(&p);
    return scl__sized_out(net->ctx, "scl_network_get_stats", "scl_network_stats", out, &s, sizeof s,
                          sizeof s);
}

scl_status scl_network_unit_shape(const scl_network *net, int layer, scl_op_shape *out) {
    if (!net || !out)
        return scl__fail(net ? net->ctx : NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_unit_shape: NULL argument");
    const scl_model *m = net->model;
    if (layer < 0 || layer >= m->nlayers || !m->layers[layer].unit_len)
        return scl__fail(net->ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_network_unit_shape: layer %d does not start a fused unit", layer);
    const scl_layer *ls = &m->layers[layer];
    scl_op_shape s = {.size = sizeof s};
    int first_groups;
    scl__unit_shape(ls, &s.kind, &s.cin, &s.cout, &s.groups, &first_groups);
    s.stride = ls->unit_stride;
    s.precision = net->half ? SCL_PRECISION_HALF_STORAGE : SCL_PRECISION_FLOAT32;
    return scl__sized_out(net->ctx, "scl_network_unit_shape", "scl_op_shape", out, &s, sizeof s,
                          offsetof(scl_op_shape, precision));
}
