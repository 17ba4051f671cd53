/* onnx_eval.h: the evaluator's private state, shared by onnx_graph.c (values, names, shape
 * arithmetic, the data-movement ops) and onnx_layers.c (the ops that compute: Conv, pools,
 * BatchNormalization, Relu, Add, Gemm, MatMul). */
#ifndef SCL_ONNX_EVAL_H
#define SCL_ONNX_EVAL_H

#include "net/onnx_graph.h"

#define EV_MAX_RANK 8
#define EV_MAX_INTS 64           /* elements of a shape-arithmetic tensor */
#define EV_MAX_ENTRIES (1 << 22) /* channel entries of one activation (all images) */

typedef enum vkind { V_UNSET, V_TENSOR, V_INT, V_ACT, V_LOGITS } vkind;

/* One element of an activation's outer (non-spatial) index space. */
typedef struct ent {
    int32_t b, src, ch, ver;
} ent;

typedef struct val {
    vkind kind;
    int rank;
    int64_t dims[EV_MAX_RANK];
    const SclOnnx__TensorProto *t; /* V_TENSOR: an initializer or a Constant's value */
    int tr;                        /* V_TENSOR: read as its 2-D transpose (a Transpose node's) */
    int64_t *ints;                 /* V_INT */
    ent *e;                        /* V_ACT: one entry per outer element, row-major */
    int nsp;                       /* V_ACT: trailing spatial dims (0, 1 = H*W or 2 = H, W) */
    int h, w, level, pad, pooled;  /* pad: a Pad node's output; pooled: after a global pool */
    int gap_node, gap_fixed;       /* pooled: the pooling node, and whether it was 7x7-like */
    int prod;                      /* V_LOGITS: the SCL__OP_GAPFC producer */
} val;

typedef struct ev {
    const scl__onnx *m;
    const SclOnnx__GraphProto *g;
    int n, h, w;
    int node; /* the node being evaluated */
    /* values by name: open addressing over `slots` */
    size_t slots;
    const char **names;
    val *vals;
    scl__ograph *out;
    int prod_cap;
    char *msg;
    size_t cap;
} ev;

/* onnx_graph.c */
scl_status scl__ev_fail(ev *e, scl_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
val *scl__ev_get(ev *e, const char *name); /* NULL: undefined */
val *scl__ev_input(ev *e, size_t i);       /* the node's input i, NULL when absent */
val *scl__ev_output(ev *e, size_t i);      /* defines the node's output i */
const SclOnnx__AttributeProto *scl__ev_attr(ev *e, const char *name);
int64_t scl__ev_attr_i(ev *e, const char *name, int64_t def);
int scl__ev_attr_ints(ev *e, const char *name, int64_t *out, int cap); /* -1: absent */
/* The integers a V_INT or integer V_TENSOR holds (at most cap); -1 (and the message) if not. */
int scl__ev_ints(ev *e, val *v, int64_t *out, int cap, const char *what);
int64_t scl__ev_outer(const val *v); /* product of the outer dims */
/* Marks a read of every producer the entries name (each at its final version). */
scl_status scl__ev_read(ev *e, const ent *x, int64_t n);
ent *scl__ev_alloc(ev *e, int64_t n);

/* onnx_move.c: the channel-moving ops on activation x; 0 when op is not one of them. */
int scl__ev_move(ev *e, const char *op, val *x, scl_status *st);

/* onnx_layers.c: each evaluates the current node */
scl_status scl__ev_conv(ev *e);
scl_status scl__ev_pool(ev *e, int is_max);
scl_status scl__ev_global_pool(ev *e, int reduce);
scl_status scl__ev_batchnorm(ev *e);
scl_status scl__ev_relu(ev *e);
scl_status scl__ev_add_act(ev *e, val *a, val *b);
scl_status scl__ev_classifier(ev *e, int gemm);
scl_status scl__ev_logits_bias(ev *e, val *logits, val *bias);

#endif
