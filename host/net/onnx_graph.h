/* onnx_graph.h: an ONNX graph evaluated symbolically into the ShuffleNet layers it computes.
 * Every activation is tracked channel by channel (which layer's output channel, of which
 * image, each element of each tensor holds), so reshapes, transposes, splits, slices, gathers
 * and concats resolve into channel maps, whatever mix of batch and channel dimensions the
 * exporter used; shape arithmetic (Shape, Gather, Unsqueeze, Concat, Mul, Div, ...) is
 * computed for the batch and size being evaluated. */
#ifndef SCL_ONNX_GRAPH_H
#define SCL_ONNX_GRAPH_H

#include "io/onnx.h"

/* One channel: output channel `ch` of producer `src` (-1: the network input) as it stands after
 * `ver` of its epilogue steps (BatchNormalization, residual Add, Relu). */
typedef struct scl__oref {
    int32_t src, ch, ver;
} scl__oref;

typedef enum scl__oprod_kind {
    SCL__OP_STEM,    /* 3x3 stride-2 conv of the 3 input channels */
    SCL__OP_PW,      /* 1x1 conv, any groups */
    SCL__OP_DW,      /* 3x3 depthwise conv, stride 1 or 2 */
    SCL__OP_MAXPOOL, /* 3x3 stride 2 pad 1 */
    SCL__OP_AVGPOOL, /* 3x3 stride 2 pad 1, padding counted (V1's shortcut) */
    SCL__OP_GAPFC    /* global average pool, then the classifier */
} scl__oprod_kind;

/* A layer the graph computes. */
typedef struct scl__oprod {
    scl__oprod_kind kind;
    int node; /* the ONNX node that made it (the Gemm / MatMul for SCL__OP_GAPFC) */
    int cin, cout, groups, stride, level_in;
    scl__oref *in;  /* cin channels read (image 0's; every image reads the same) */
    scl__oref *res; /* cout channels added before the final Relu, or NULL */
    int relu, nver, read, nonneg;
    const SclOnnx__TensorProto *w, *b, *bn[4]; /* bn: scale, bias, mean, var (or NULL) */
    double eps;
    int w_ck;      /* SCL__OP_GAPFC: the weight is (cin, cout) rather than (cout, cin) */
    int gap_node;  /* SCL__OP_GAPFC: the node that pooled */
    int gap_fixed; /* the pool was an AveragePool whose kernel is the map's size */
} scl__oprod;

typedef struct scl__ograph {
    int nprod;
    scl__oprod *prod;
    int n, h, w; /* the input shape evaluated */
    int decl[3]; /* the input's declared N, H, W (0 where symbolic) */
} scl__ograph;

/* The input shape a graph declares (0 where symbolic); fails on a graph whose input is not
 * one float tensor of N x 3 x H x W. */
scl_status scl__onnx_graph_input(const scl__onnx *m, int decl[3], char *msg, size_t cap);
/* Evaluates the graph for an n x 3 x h x w input. Failures name the file and the first node
 * that does not fit (its name and op type), and say why. */
scl_status scl__onnx_graph_eval(const scl__onnx *m, int n, int h, int w, scl__ograph *out,
                                char *msg, size_t cap);
void scl__onnx_graph_free(scl__ograph *g);
/* The name of node i for messages: "'name' (OpType)". */
const char *scl__onnx_node_text(const scl__onnx *m, int i, char *buf, size_t cap);

#endif
