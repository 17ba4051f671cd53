/* network.h: the private side of scl_network, shared by the files of host/net: network.c
 * (lifecycle, reshape, runs, introspection) and weights.c (loading, BN folding, ops). */
#ifndef SCL_NETWORK_H
#define SCL_NETWORK_H

#include "net/model.h"
#include "net/plan.h"
#include "ops/op.h"

/* A fused V2 unit (net/model.c groups its layers; ops/unit.h runs them): its op and the
 * layers' folded weights, kept for the per-layer fallback at shapes the op cannot run. */
typedef struct scl__unit_state {
    scl_op *op;
    float *w, *b;
} scl__unit_state;

struct scl_network {
    scl_context *ctx;
    scl_model *model;
    scl_network_options opts; /* as given, checked */
    int fuse;                 /* fused units wanted (options, else SHUFFLECL_FUSION) */
    int half;                 /* half storage: weights and activations are halves */
    scl_op **ops;             /* one per layer, made when weights arrive (a fused unit's layers:
                                 only where it falls back, made then) */
    scl__unit_state *units;   /* per layer: set on the first layer of a fused unit */
    scl_chanmap **in_maps, **out_maps, **res_maps;
    scl_chanmap **unit_out_maps; /* per layer: a unit's output map (both branches' slots) */
    size_t weight_bytes;
    int tuned_layers;
    /* the shape reshaped for: its plan, device slots and per-buffer views */
    scl_plan plan; /* plan.n == 0: none */
    cl_mem *slots;
    scl_tensor **views;     /* per buffer; 0 and the last are made per call */
    cl_mem own_in, own_out; /* dense input and logits for scl_network_run */
    size_t own_in_bytes, own_out_bytes;
    int batch;          /* the batch reshaped for: plan.n images a block (scl__network_block) */
    uint32_t signature; /* scl__model_signature of model: the tuning table's block key */
    cl_mem block_in, block_out; /* a block's images and logits where no sub-buffer can be made */
    size_t block_in_bytes, block_out_bytes;
    /* made from an ONNX file: the graph, evaluated again at each new input shape */
    struct scl__onnx *onnx;
    struct scl__ograph *onnx_graph;
};

/* network.c: images per block at batch n of h x w (n itself: no blocking): the option, else
 * SHUFFLECL_BATCH_BLOCK, else the tuning table's "block" entry for (n, the model's signature),
 * else n. */
int scl__network_block(const scl_network *net, int n, int h, int w);
/* network.c: a hash of what the model's layers compute (kinds, channels, groups, strides): the
 * tuning table's key for a whole network. */
uint32_t scl__model_signature(const scl_model *m);

/* Bytes per stored weight or activation element of net. */
static inline size_t scl__network_elem(const scl_network *net) {
    return net->half ? 2 : 4;
}

/* weights.c: loads every layer into a new set of ops from a safetensors file (path) or, with
 * path NULL, from the seeded generator; the network keeps its previous weights on failure. */
scl_status scl__network_load(scl_network *net, const char *path, uint64_t seed);

/* network.c: a network of a description (checked here, every refusal naming the field) with
 * options (NULL: defaults); `fn` names the public entry point in messages. */
scl_status scl__network_create(scl_context *ctx, const scl_model_desc *desc,
                               const scl_network_options *opts, scl_network **out, const char *fn);
/* weights.c: loads from an open safetensors file (which the caller still owns). */
struct scl__safetensors;
scl_status scl__network_load_file(scl_network *net, struct scl__safetensors *st);

/* weights.c: loads every layer from weights already folded and laid out as the layer expects
 * (w: the layer's weight shape; b: cout biases, or NULL), one entry per layer (pools: NULL). */
typedef struct scl__layer_weights {
    float *w, *b;
} scl__layer_weights;
scl_status scl__network_load_given(scl_network *net, const scl__layer_weights *given);

/* onnx_import.c: a network from an ONNX file (architecture proved against the graph, weights
 * loaded); the description alone; the check a new input shape gets; the graph's release. */
scl_status scl__onnx_network(scl_context *ctx, const char *path, const scl_network_options *opts,
                             scl_network **out);
scl_status scl__onnx_desc(scl_context *ctx, const char *path, scl_model_desc *d);
scl_status scl__onnx_load_into(scl_network *net, const char *path); /* same architecture */
int scl__onnx_sniff(const char *path); /* 1: the file starts as an ONNX model, not safetensors */
scl_status scl__onnx_check_shape(scl_network *net, int n, int h, int w);
void scl__onnx_release(scl_network *net);

/* weights.c: makes the per-layer ops of the fused unit starting at layer i from its kept
 * weights, for a shape its op cannot run (no-op when they exist). */
scl_status scl__network_unit_fallback(scl_network *net, int i);
/* report.c: 1 if layer i starts a unit that runs as one fused launch at an n x 3 x h x w input
 * (before weights: where the model groups one). */
int scl__network_unit_fused(const scl_network *net, int i, int n, int h, int w);
/* Whether the unit at layer i of m (a unit's first layer; else 0) fits device dev in its default
 * configuration at n x 3 x h x w: the launch count before weights, and the tests. */
int scl__model_unit_fits(const scl_device_info *dev, const scl_model *m, int i, int half, int n,
                         int h, int w);
/* Frees every unit's op and kept weights (the array stays). */
void scl__network_release_units(scl_network *net, scl__unit_state *units);

/* network.c: builds the channel-map objects of net->model's layers (after the model changes). */
scl_status scl__network_make_maps(scl_network *net);
/* Checks an input shape: every dimension >= 1 and n x 3 x h x w under 2^31 floats. */
scl_status scl__network_check_dims(scl_context *ctx, int n, int h, int w, const char *fn);
/* Drops the reshape (slots and views). */
void scl__network_release_plan(scl_network *net);

#endif
