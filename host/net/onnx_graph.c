/* onnx_graph.c: the symbolic evaluator's driver (onnx_eval.h): values by name, attributes,
 * shape arithmetic on small integer tensors, and the ops that only move channels (Reshape,
 * Transpose, Gather, Slice, Split, Concat, Squeeze, Unsqueeze, Flatten, Pad, Identity), which
 * become permutations of the channel entries. */
#include "net/onnx_eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *scl__onnx_node_text(const scl__onnx *m, int i, char *buf, size_t cap) {
    const SclOnnx__NodeProto *nd = m->model->graph->node[i];
    if (nd->name && nd->name[0])
        snprintf(buf, cap, "'%s' (%s)", nd->name, nd->op_type ? nd->op_type : "?");
    else
        snprintf(buf, cap, "#%d (%s)", i, nd->op_type ? nd->op_type : "?");
    return buf;
}

scl_status scl__ev_fail(ev *e, scl_status st, const char *fmt, ...) {
    char why[768], node[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (e->node >= 0)
        snprintf(e->msg, e->cap, "%s: node %s: %s", e->m->path,
                 scl__onnx_node_text(e->m, e->node, node, sizeof node), why);
    else
        snprintf(e->msg, e->cap, "%s: %s", e->m->path, why);
    return st;
}

static size_t hash(const char *s) {
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot_of(ev *e, const char *name) {
    size_t i = hash(name) & (e->slots - 1);
    while (e->names[i] && strcmp(e->names[i], name))
        i = (i + 1) & (e->slots - 1);
    return i;
}

val *scl__ev_get(ev *e, const char *name) {
    if (!name || !name[0]) return NULL;
    size_t i = slot_of(e, name);
    return e->names[i] ? &e->vals[i] : NULL;
}

static val *define(ev *e, const char *name) {
    if (!name || !name[0]) return NULL;
    size_t i = slot_of(e, name);
    if (e->names[i]) return NULL; /* SSA: a name is defined once */
    e->names[i] = name;
    return &e->vals[i];
}

val *scl__ev_input(ev *e, size_t i) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    return i < nd->n_input ? scl__ev_get(e, nd->input[i]) : NULL;
}

val *scl__ev_output(ev *e, size_t i) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    return i < nd->n_output ? define(e, nd->output[i]) : NULL;
}

const SclOnnx__AttributeProto *scl__ev_attr(ev *e, const char *name) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    for (size_t i = 0; i < nd->n_attribute; i++)
        if (nd->attribute[i]->name && !strcmp(nd->attribute[i]->name, name))
            return nd->attribute[i];
    return NULL;
}

int64_t scl__ev_attr_i(ev *e, const char *name, int64_t def) {
    const SclOnnx__AttributeProto *a = scl__ev_attr(e, name);
    return a && a->has_i ? a->i : def;
}

int scl__ev_attr_ints(ev *e, const char *name, int64_t *out, int cap) {
    const SclOnnx__AttributeProto *a = scl__ev_attr(e, name);
    if (!a) return -1;
    if (a->n_ints > (size_t)cap) return -2;
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    return (int)a->n_ints;
}

int64_t scl__ev_outer(const val *v) {
    int64_t n = 1;
    for (int i = 0; i < v->rank - v->nsp; i++)
        n *= v->dims[i];
    return n;
}

static int64_t count_dims(const int64_t *d, int rank) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (d[i] < 0 || d[i] > EV_MAX_ENTRIES) return -1;
        n *= d[i];
        if (n > (int64_t)EV_MAX_ENTRIES * 65536) return -1;
    }
    return n;
}

ent *scl__ev_alloc(ev *e, int64_t n) {
    ent *x = (n >= 0 && n <= EV_MAX_ENTRIES) ? malloc((size_t)(n ? n : 1) * sizeof *x) : NULL;
    if (!x) scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    return x;
}

static int64_t *alloc_ints(ev *e, int64_t n) {
    int64_t *x = n >= 0 && n <= EV_MAX_INTS ? malloc((size_t)(n ? n : 1) * sizeof *x) : NULL;
    if (!x)
        scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "a shape tensor of %lld elements",
                     (long long)n);
    return x;
}

int scl__ev_ints(ev *e, val *v, int64_t *out, int cap, const char *what) {
    if (v && v->kind == V_INT) {
        int64_t n = count_dims(v->dims, v->rank);
        if (n > cap) goto refuse;
        memcpy(out, v->ints, (size_t)n * sizeof *out);
        return (int)n;
    }
    if (v && v->kind == V_TENSOR) {
        size_t n = 0;
        char msg[512];
        if (scl__onnx_tensor_i64(e->m, v->t, out, (size_t)cap, &n, msg, sizeof msg) != SCL_OK) {
            scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "%s: %s", what, msg);
            return -1;
        }
        return (int)n;
    }
refuse:
    scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                 "its %s is not a constant integer tensor known at load", what);
    return -1;
}

scl_status scl__ev_read(ev *e, const ent *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (x[i].src < 0) continue;
        scl__oprod *p = &e->out->prod[x[i].src];
        if (x[i].ver != p->nver)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                                "reads a layer's output from before its BatchNormalization, "
                                "residual Add or Relu while it is also used after it");
        p->read = 1;
    }
    return SCL_OK;
}

/* ---- shape arithmetic ---------------------------------------------------------------------- */

static val *new_ints(ev *e, int rank, const int64_t *dims, int64_t **data) {
    val *o = scl__ev_output(e, 0);
    int64_t n = count_dims(dims, rank);
    if (!o) {
        scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name or is defined twice");
        return NULL;
    }
    if (!(*data = alloc_ints(e, n))) return NULL;
    o->kind = V_INT, o->rank = rank, o->ints = *data;
    memcpy(o->dims, dims, (size_t)rank * sizeof *dims);
    return o;
}

static int is_intlike(const val *v) {
    return v && (v->kind == V_INT ||
                 (v->kind == V_TENSOR && (v->t->data_type == 7 || v->t->data_type == 6)));
}

/* A V_INT or integer tensor as (rank, dims, values). */
static int int_operand(ev *e, val *v, int *rank, int64_t *dims, int64_t *data) {
    if (!v || (v->kind != V_INT && v->kind != V_TENSOR))
        return scl__ev_ints(e, NULL, data, 0, "operand");
    if (v->kind == V_INT) {
        *rank = v->rank;
        memcpy(dims, v->dims, (size_t)v->rank * sizeof *dims);
    } else {
        if (v->t->n_dims > 1) {
            scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "does integer arithmetic on a matrix");
            return -1;
        }
        *rank = (int)v->t->n_dims;
        if (*rank) dims[0] = v->t->dims[0];
    }
    return scl__ev_ints(e, v, data, EV_MAX_INTS, "operand");
}

static scl_status ev_arith(ev *e, char op) {
    val *a = scl__ev_input(e, 0), *b = scl__ev_input(e, 1);
    int ra, rb;
    int64_t da[EV_MAX_RANK], db[EV_MAX_RANK], xa[EV_MAX_INTS], xb[EV_MAX_INTS], *o;
    int na = int_operand(e, a, &ra, da, xa), nb = na < 0 ? -1 : int_operand(e, b, &rb, db, xb);
    if (na < 0 || nb < 0 || ra > 1 || rb > 1 || (na != nb && na != 1 && nb != 1))
        return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                            "integer arithmetic only on scalars and vectors of one length");
    int n = na > nb ? na : nb, rank = ra > rb ? ra : rb;
    int64_t dims[1] = {n};
    if (!new_ints(e, rank, dims, &o)) return SCL_ERROR_UNSUPPORTED_MODEL;
    for (int i = 0; i < n; i++) {
        int64_t x = xa[na == 1 ? 0 : i], y = xb[nb == 1 ? 0 : i];
        if ((x > (1 << 30) || x < -(1 << 30) || y > (1 << 30) || y < -(1 << 30)) ||
            (op == '/' && y == 0))
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "shape arithmetic out of range");
        o[i] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    }
    return SCL_OK;
}

static scl_status ev_shape(ev *e, val *x) {
    int64_t dims[1] = {x->rank}, *o;
    int64_t start = scl__ev_attr_i(e, "start", 0), end = scl__ev_attr_i(e, "end", x->rank);
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < start ? start : end > x->rank ? x->rank : end;
    dims[0] = end - start;
    if (!new_ints(e, 1, dims, &o)) return SCL_ERROR_UNSUPPORTED_MODEL;
    for (int64_t i = start; i < end; i++)
        o[i - start] = x->dims[i];
    return SCL_OK;
}

/* Gather / Unsqueeze / Squeeze / Concat / Slice / Cast on shape tensors (rank 0 or 1). */
static scl_status ev_int_op(ev *e, const char *op) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    int64_t d[EV_MAX_RANK], x[EV_MAX_INTS], *o, out[EV_MAX_INTS];
    int rank, n = int_operand(e, scl__ev_input(e, 0), &rank, d, x), m = 0, orank = 1;
    if (n < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
    if (!strcmp(op, "Cast") || !strcmp(op, "Identity")) {
        int64_t to = scl__ev_attr_i(e, "to", 7);
        if (strcmp(op, "Cast") == 0 && to != 7 && to != 6)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "casts shape values to type %lld",
                                (long long)to);
        memcpy(out, x, (size_t)n * sizeof *x), m = n, orank = rank;
    } else if (!strcmp(op, "Gather")) {
        int64_t idx[EV_MAX_INTS];
        val *iv = scl__ev_input(e, 1);
        int ri, di[EV_MAX_RANK];
        (void)di;
        int64_t dd[EV_MAX_RANK];
        int ni = iv ? int_operand(e, iv, &ri, dd, idx) : -1;
        if (ni < 0 || rank != 1)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                                "gathers from a shape in an unsupported way");
        for (int i = 0; i < ni; i++) {
            int64_t k = idx[i] < 0 ? idx[i] + n : idx[i];
            if (k < 0 || k >= n)
                return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "index %lld out of range",
                                    (long long)idx[i]);
            out[m++] = x[k];
        }
        orank = ri;
    } else if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        /* on a scalar or vector: only the rank changes */
        int unsq = op[0] == 'U';
        if (rank > 1 || (unsq && rank == 1 && n != 1))
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                                "reshapes a shape tensor of rank %d", rank);
        memcpy(out, x, (size_t)n * sizeof *x), m = n;
        orank = unsq ? rank + 1 : (n == 1 ? 0 : 1);
        if (unsq && rank == 1) orank = 2;
        if (orank > 1)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "makes a shape tensor of rank 2");
    } else if (!strcmp(op, "Concat")) {
        for (size_t i = 0; i < nd->n_input; i++) {
            int r, k = int_operand(e, scl__ev_input(e, i), &r, d, x);
            if (k < 0) return SCL_ERROR_UNSUPPORTED_MODEL;
            if (m + k > EV_MAX_INTS)
                return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "makes a shape too long");
            memcpy(out + m, x, (size_t)k * sizeof *x), m += k;
        }
    } else { /* Slice */
        int64_t s[1], en[1], st[1] = {1}, tmp[EV_MAX_RANK];
        int r;
        if (nd->n_input < 3 || int_operand(e, scl__ev_input(e, 1), &r, tmp, s) != 1 ||
            int_operand(e, scl__ev_input(e, 2), &r, tmp, en) != 1 ||
            (nd->n_input > 4 && int_operand(e, scl__ev_input(e, 4), &r, tmp, st) != 1) ||
            st[0] != 1 || rank != 1)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                                "slices a shape in an unsupported way");
        int64_t a = s[0] < 0 ? s[0] + n : s[0], b = en[0] < 0 ? en[0] + n : en[0];
        a = a < 0 ? 0 : a > n ? n : a, b = b < a ? a : b > n ? n : b;
        for (int64_t i = a; i < b; i++)
            out[m++] = x[i];
    }
    int64_t dims[1] = {m};
    if (orank == 0 && m != 1) return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "bad scalar");
    if (!new_ints(e, orank, dims, &o)) return SCL_ERROR_UNSUPPORTED_MODEL;
    memcpy(o, out, (size_t)m * sizeof *o);
    return SCL_OK;
}

/* ---- the graph ------------------------------------------------------------------------------ */

static int is_initializer(const SclOnnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name)) return 1;
    return 0;
}

scl_status scl__onnx_graph_input(const scl__onnx *m, int decl[3], char *msg, size_t cap) {
    const SclOnnx__GraphProto *g = m->model->graph;
    const SclOnnx__ValueInfoProto *in = NULL;
    int n = 0;
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i]->name && !is_initializer(g, g->input[i]->name)) in = g->input[i], n++;
    const SclOnnx__TypeProto__Tensor *t =
        in && in->type && in->type->value_case == SCL_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            ? in->type->tensor_type
            : NULL;
    int ok =
        n == 1 && t && t->elem_type == 1 && t->shape && t->shape->n_dim == 4 && g->n_output == 1;
    for (int i = 0; ok && i < 4; i++) {
        const SclOnnx__TensorShapeProto__Dimension *d = t->shape->dim[i];
        int64_t v = d->value_case == SCL_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                        ? d->dim_value
                        : 0;
        ok = v >= 0 && v <= 65536 && (i != 1 || v == 3 || v == 0);
        if (i != 1) decl[i ? i - 1 : 0] = (int)v;
    }
    if (!ok) {
        snprintf(msg, cap,
                 "%s: the graph must have one input, a float tensor of N x 3 x H x W, and one "
                 "output (it has %d input(s) besides initializers and %zu output(s))",
                 m->path, n, g->n_output);
        return SCL_ERROR_UNSUPPORTED_MODEL;
    }
    return SCL_OK;
}

static scl_status ev_constant(ev *e) {
    val *o = scl__ev_output(e, 0);
    const SclOnnx__AttributeProto *a = scl__ev_attr(e, "value");
    if (!o)
        return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name or is defined twice");
    if (a && a->t) {
        o->kind = V_TENSOR, o->t = a->t;
        return SCL_OK;
    }
    int64_t v[EV_MAX_INTS];
    int n = scl__ev_attr_ints(e, "value_ints", v, EV_MAX_INTS);
    int scalar = n < 0 && scl__ev_attr(e, "value_int");
    if (scalar) v[0] = scl__ev_attr_i(e, "value_int", 0), n = 1;
    if (n < 0) return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "holds no supported value");
    if (!(o->ints = malloc((size_t)(n ? n : 1) * sizeof *o->ints)))
        return scl__ev_fail(e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    o->kind = V_INT, o->rank = scalar ? 0 : 1, o->dims[0] = n;
    memcpy(o->ints, v, (size_t)n * sizeof *v);
    return SCL_OK;
}

static scl_status ev_node(ev *e) {
    const SclOnnx__NodeProto *nd = e->g->node[e->node];
    const char *op = nd->op_type ? nd->op_type : "";
    if (nd->domain && nd->domain[0] && strcmp(nd->domain, "ai.onnx"))
        return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "is in domain '%s', not ONNX's",
                            nd->domain);
    for (size_t i = 0; i < nd->n_input; i++)
        if (nd->input[i][0] && !scl__ev_get(e, nd->input[i]))
            return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its input '%s' is not defined before it",
                                nd->input[i]);
    if (!strcmp(op, "Constant")) return ev_constant(e);
    val *x = scl__ev_input(e, 0), *y = scl__ev_input(e, 1);
    if (!x) return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "has no input");
    if (!strcmp(op, "Shape")) {
        if (x->kind == V_TENSOR) {
            val tmp = {.rank = (int)x->t->n_dims};
            if (tmp.rank > EV_MAX_RANK) return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "rank");
            memcpy(tmp.dims, x->t->dims, (size_t)tmp.rank * sizeof *tmp.dims);
            return ev_shape(e, &tmp);
        }
        return ev_shape(e, x);
    }
    if (!strcmp(op, "Identity") && x->kind != V_ACT) { /* shared weights come through these */
        val *o = scl__ev_output(e, 0);
        if (!o) return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name");
        *o = *x;
        if (x->kind == V_INT) {
            int64_t n = count_dims(x->dims, x->rank);
            if (!(o->ints = alloc_ints(e, n))) return SCL_ERROR_UNSUPPORTED_MODEL;
            memcpy(o->ints, x->ints, (size_t)n * sizeof *o->ints);
        }
        return SCL_OK;
    }
    if (!strcmp(op, "Transpose") && x->kind == V_TENSOR && x->t->n_dims == 2) {
        int64_t perm[2] = {1, 0};
        int np = scl__ev_attr_ints(e, "perm", perm, 2);
        val *o = scl__ev_output(e, 0);
        if ((np >= 0 && (np != 2 || perm[0] != 1 || perm[1] != 0)) || !o)
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "transposes a matrix oddly");
        *o = *x, o->tr ^= 1;
        return SCL_OK;
    }
    if (x->kind == V_ACT) {
        scl_status st;
        if (!strcmp(op, "Conv")) return scl__ev_conv(e);
        if (!strcmp(op, "BatchNormalization")) return scl__ev_batchnorm(e);
        if (!strcmp(op, "Relu")) return scl__ev_relu(e);
        if (!strcmp(op, "MaxPool")) return scl__ev_pool(e, 1);
        if (!strcmp(op, "AveragePool")) return scl__ev_pool(e, 0);
        if (!strcmp(op, "GlobalAveragePool")) return scl__ev_global_pool(e, 0);
        if (!strcmp(op, "ReduceMean")) return scl__ev_global_pool(e, 1);
        if (!strcmp(op, "Gemm")) return scl__ev_classifier(e, 1);
        if (!strcmp(op, "MatMul")) return scl__ev_classifier(e, 0);
        if (!strcmp(op, "Add") && y && y->kind == V_ACT) return scl__ev_add_act(e, x, y);
        if (scl__ev_move(e, op, x, &st)) return st;
    } else if (x->kind == V_LOGITS || (y && y->kind == V_LOGITS)) {
        if (!strcmp(op, "Add") && y)
            return scl__ev_logits_bias(e, x->kind == V_LOGITS ? x : y, x->kind == V_LOGITS ? y : x);
        if (!strcmp(op, "Identity") && x->kind == V_LOGITS) {
            val *o = scl__ev_output(e, 0);
            if (!o) return scl__ev_fail(e, SCL_ERROR_FILE_FORMAT, "its output has no name");
            *o = *x;
            return SCL_OK;
        }
    } else if (is_intlike(x)) {
        if (!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div"))
            return ev_arith(e, op[0] == 'A' ? '+' : op[0] == 'S' ? '-' : op[0] == 'M' ? '*' : '/');
        if (!strcmp(op, "Gather") || !strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze") ||
            !strcmp(op, "Concat") || !strcmp(op, "Slice") || !strcmp(op, "Cast") ||
            !strcmp(op, "Identity"))
            return ev_int_op(e, op);
    }
    return scl__ev_fail(
        e, SCL_ERROR_UNSUPPORTED_MODEL,
        "op %s%s is not part of a ShuffleNet as shufflecl reads one (docs/models.md "
        "lists the ONNX subset)",
        op, x->kind == V_TENSOR ? " on constants" : "");
}

static scl_status ev_finish(ev *e) {
    const SclOnnx__GraphProto *g = e->g;
    e->node = -1;
    val *y = scl__ev_get(e, g->output[0]->name);
    if (!y || y->kind != V_LOGITS)
        return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL,
                            "the graph's output '%s' is not a classifier's logits",
                            g->output[0]->name ? g->output[0]->name : "");
    for (int p = 0; p < e->out->nprod; p++) {
        scl__oprod *pr = &e->out->prod[p];
        if ((pr->kind == SCL__OP_GAPFC) != (p == y->prod) || (p != y->prod && !pr->read)) {
            e->node = pr->node;
            return scl__ev_fail(e, SCL_ERROR_UNSUPPORTED_MODEL, "%s",
                                pr->kind == SCL__OP_GAPFC ? "is a second classifier"
                                                          : "its output is never used");
        }
    }
    return SCL_OK;
}

static void ev_release(ev *e) {
    for (size_t i = 0; e->vals && i < e->slots; i++)
        free(e->vals[i].ints), free(e->vals[i].e);
    free(e->vals), free(e->names);
}

scl_status scl__onnx_graph_eval(const scl__onnx *m, int n, int h, int w, scl__ograph *out,
                                char *msg, size_t cap) {
    memset(out, 0, sizeof *out);
    ev e = {.m = m,
            .g = m->model->graph,
            .n = n,
            .h = h,
            .w = w,
            .node = -1,
            .out = out,
            .msg = msg,
            .cap = cap};
    scl_status st = scl__onnx_graph_input(m, out->decl, msg, cap);
    if (st != SCL_OK) return st;
    size_t names = e.g->n_initializer + e.g->n_input + 16;
    for (size_t i = 0; i < e.g->n_node; i++)
        names += e.g->node[i]->n_output;
    for (e.slots = 64; e.slots < 2 * names; e.slots *= 2)
        ;
    e.names = calloc(e.slots, sizeof *e.names);
    e.vals = calloc(e.slots, sizeof *e.vals);
    if (!e.names || !e.vals) {
        ev_release(&e);
        return scl__ev_fail(&e, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    for (size_t i = 0; i < e.g->n_initializer; i++) {
        val *v = define(&e, e.g->initializer[i]->name);
        if (v) v->kind = V_TENSOR, v->t = e.g->initializer[i];
    }
    const char *input = NULL;
    for (size_t i = 0; i < e.g->n_input; i++)
        if (!is_initializer(e.g, e.g->input[i]->name)) input = e.g->input[i]->name;
    val *x = define(&e, input);
    st = x ? SCL_OK : scl__ev_fail(&e, SCL_ERROR_FILE_FORMAT, "the graph input has no name");
    if (st == SCL_OK && !(x->e = scl__ev_alloc(&e, (int64_t)n * 3))) st = SCL_ERROR_OUT_OF_MEMORY;
    if (st == SCL_OK) {
        x->kind = V_ACT, x->rank = 4, x->nsp = 2, x->h = h, x->w = w;
        x->dims[0] = n, x->dims[1] = 3, x->dims[2] = h, x->dims[3] = w;
        for (int b = 0; b < n; b++)
            for (int c = 0; c < 3; c++)
                x->e[b * 3 + c] = (ent){b, -1, c, 0};
    }
    for (size_t i = 0; st == SCL_OK && i < e.g->n_node; i++) {
        e.node = (int)i;
        st = ev_node(&e);
    }
    if (st == SCL_OK) st = ev_finish(&e);
    ev_release(&e);
    out->n = n, out->h = h, out->w = w;
    if (st != SCL_OK) scl__onnx_graph_free(out);
    return st;
}

void scl__onnx_graph_free(scl__ograph *g) {
    for (int i = 0; g->prod && i < g->nprod; i++)
        free(g->prod[i].in), free(g->prod[i].res);
    free(g->prod);
    g->prod = NULL, g->nprod = 0;
}
