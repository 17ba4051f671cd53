/* model.h: ShuffleNet V1/V2 as a list of layers whose every shuffle, split and concat is
 * already resolved into channel maps (plane tables) over a few buffers. Built from the model
 * name alone; the network (network.c) turns it into ops and tensors. */
#ifndef SCL_MODEL_H
#define SCL_MODEL_H

#include "core/internal.h"

typedef enum scl_layer_kind {
    SCL_LAYER_STEM,
    SCL_LAYER_MAXPOOL,
    SCL_LAYER_POINTWISE,
    SCL_LAYER_DEPTHWISE,
    SCL_LAYER_AVGPOOL,
    SCL_LAYER_GAP_FC,
    SCL_LAYER_SHUFFLE /* explicit mode only: a copy (groups 1) or a channel shuffle */
} scl_layer_kind;

typedef struct scl_layer {
    char name[64];          /* e.g. "stage3.0.branch2.3" (the weight key without ".weight") */
    scl_layer_kind kind;
    int cin, cout, groups, stride, flags; /* flags: SCL_OP_RELU, SCL_OP_RESIDUAL */
    int inverse;            /* SCL_LAYER_SHUFFLE: the inverse permutation (Megvii's V1) */
    char weight_key[96];    /* "" for pools */
    char bn_key[96];        /* BN prefix folded into this layer ("" when none) */
    char bias_key[96];      /* fc bias ("" when none) */
    int in_buf, out_buf, res_buf; /* buffer ids; res_buf -1 when no residual */
    int *in_map, *out_map, *res_map; /* planes: cin, cout and cout entries */
} scl_layer;

/* A buffer: planes at a resolution `level` stride-2 steps below the input (the input is level 0:
 * level k has ceil(H / 2^k) rows). Buffer 0 is the network input, the last one its output. */
typedef struct scl_bufdef {
    int channels;
    int level;
} scl_bufdef;

typedef enum scl_family { SCL_FAMILY_V1 = 1, SCL_FAMILY_V2 = 2 } scl_family;

typedef struct scl_model {
    char name[32];
    scl_family family;
    int groups;  /* V1 */
    int classes;
    int nlayers, layer_cap;
    scl_layer *layers;
    int nbufs, buf_cap;
    scl_bufdef *bufs;
} scl_model;

/* The names of every model, NULL-terminated. */
extern const char *const scl__model_names[];

/* Builds the layer list of a model; SCL_ERROR_UNSUPPORTED_MODEL for an unknown name. With
 * `explicit_copies` every shuffle, split and concat becomes a copy launch instead of a map: the
 * baseline that the bench's ablation compares against. */
scl_status scl__model_build(const char *name, int explicit_copies, scl_model **out);
void scl__model_free(scl_model *m);

/* Per-layer counts at h x w input (PyTorch's counting: params = weights + biases + BN gamma and
 * beta; MACs = conv and fc multiply-accumulates). */
int64_t scl__layer_params(const scl_layer *l);
int64_t scl__layer_macs(const scl_layer *l, int out_h, int out_w);
/* Rows/columns after `level` stride-2 steps. */
int scl__level_size(int size, int level);

#endif
