/* network.h: the private side of scl_network, shared by the files of host/net: network.c
 * (lifecycle, reshape, runs, introspection) and weights.c (loading, BN folding, ops). */
#ifndef SCL_NETWORK_H
#define SCL_NETWORK_H

#include "net/model.h"
#include "net/plan.h"
#include "ops/op.h"

struct scl_network {
    scl_context *ctx;
    scl_model *model;
    scl_network_options opts; /* as given, checked (fused_kernels kept for later) */
    scl_op **ops;             /* one per layer, made when weights arrive */
    scl_chanmap **in_maps, **out_maps, **res_maps;
    size_t weight_bytes;
    int tuned_layers;
    /* the shape reshaped for: its plan, device slots and per-buffer views */
    scl_plan plan; /* plan.n == 0: none */
    cl_mem *slots;
    scl_tensor **views;     /* per buffer; 0 and the last are made per call */
    cl_mem own_in, own_out; /* dense input and logits for scl_network_run */
    size_t own_in_bytes, own_out_bytes;
};

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

/* network.c: builds the channel-map objects of net->model's layers (after the model changes). */
scl_status scl__network_make_maps(scl_network *net);
/* Checks an input shape: every dimension >= 1 and n x 3 x h x w under 2^31 floats. */
scl_status scl__network_check_dims(scl_context *ctx, int n, int h, int w, const char *fn);
/* Drops the reshape (slots and views). */
void scl__network_release_plan(scl_network *net);

#endif
