/* model.h: ShuffleNet V1/V2 as a list of layers whose every shuffle, split and concat is
 * already resolved into channel maps (plane tables) over a few buffers. Built from a model
 * description (desc.c checks them and holds the presets); the network (network.c) turns it
 * into ops and tensors. */
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
    char name[64]; /* e.g. "stage3.0.branch2.3" (the weight key without ".weight") */
    scl_layer_kind kind;
    int cin, cout, groups, stride, flags; /* flags: SCL_OP_RELU, SCL_OP_RESIDUAL */
    int inverse;                     /* SCL_LAYER_SHUFFLE: the inverse permutation (Megvii's V1) */
    char weight_key[96];             /* "" for pools */
    char bn_key[96];                 /* BN prefix folded into this layer ("" when none) */
    char bias_key[96];               /* fc bias ("" when none) */
    int in_buf, out_buf, res_buf;    /* buffer ids; res_buf -1 when no residual */
    int *in_map, *out_map, *res_map; /* planes: cin, cout and cout entries */
    /* On the first layer of a unit built for fusion: the unit's layers (these and the next ones:
     * V2 3 at stride 1, 5 at stride 2; V1 3 and 4, its pool third), its stride, V2's channel
     * split (Megvii's stride-2 unit keeps cin channels in its first branch) and whether it is
     * V1's; unit_len 0 elsewhere. */
    int unit_len, unit_stride, unit_megvii, unit_v1;
} scl_layer;

/* A buffer: planes at a resolution `level` stride-2 steps below the input (the input is level 0:
 * level k has ceil(H / 2^k) rows). Buffer 0 is the network input, the last one its output. */
typedef struct scl_bufdef {
    int channels;
    int level;
} scl_bufdef;

typedef struct scl_model {
    char name[32]; /* the preset's name, else e.g. "custom Megvii V2" */
    scl_model_desc desc;
    scl_family family;
    int groups; /* V1 */
    int classes;
    int nlayers, layer_cap;
    scl_layer *layers;
    int nbufs, buf_cap;
    scl_bufdef *bufs;
    int fusable; /* built for fused units (scl__model_build_fusable) */
} scl_model;

/* The unit starting at ls (ls->unit_len > 0): where in it the layers writing its output are, *a
 * branch a's last or V1's pool (-1 at stride 1) and *b the last layer; returns the unit's output
 * channels (both slots at stride 2, a's first). */
int scl__unit_outputs(const scl_layer *ls, int *a, int *b);
/* The unit starting at ls as the unit descriptor's shape (ops/unit.h): its kind (0 torchvision,
 * 1 Megvii, 2 V1, 3 V1 with an ungrouped first conv), input and output channels, and V1's
 * groups (last and first 1x1 conv; 1 1 for V2); the stride is ls->unit_stride. */
void scl__unit_shape(const scl_layer *ls, int *kind, int *cin, int *cout, int *groups,
                     int *first_groups);

/* The names of every preset, NULL-terminated. */
extern const char *const scl__model_names[];

/* desc.c. The smallest scl_model_desc.size accepted: the first released layout's. */
#define SCL__DESC_MIN_SIZE (offsetof(scl_model_desc, preprocess) + sizeof(scl_preprocess))
int scl__desc_preset(const char *name, scl_model_desc *out); /* 0: unknown name */
const char *scl__model_names_text(char *buf, size_t cap);    /* "v2_x0_5, v2_x1_0, ..." */
const char *scl__desc_preset_name(const scl_model_desc *d);  /* NULL: not a preset */
int scl__desc_equal(const scl_model_desc *a, const scl_model_desc *b);
/* Copies a caller's description in (own->size = ours) or out (keeping the caller's size);
 * 0 when the caller's size is below SCL__DESC_MIN_SIZE. */
int scl__desc_in(const scl_model_desc *user, scl_model_desc *own);
int scl__desc_out(const scl_model_desc *own, scl_model_desc *user);
/* Every field in range and every unit's channels splittable; the message names the field. */
scl_status scl__desc_check(const scl_model_desc *d, char *msg, size_t cap);
const char *scl__layout_name(scl_layout l); /* "torchvision V2", "Megvii V1", "Megvii V2" */

/* Builds the layer list of a checked description. With `explicit_copies` every shuffle, split
 * and concat becomes a copy launch instead of a map: the baseline that the bench's ablation
 * compares against. Only SCL_ERROR_OUT_OF_MEMORY can fail. */
scl_status scl__model_build_desc(const scl_model_desc *d, int explicit_copies, scl_model **out);
/* As scl__model_build_desc (no explicit copies), with V2 units laid out for fusion when
 * `fusable`: each unit's first layer names its group (scl_layer.unit_len), and a stride-1 unit's
 * branch writes spare planes of the trunk instead of the planes it reads (a fused unit's bands
 * read rows that neighbouring bands write), the trunk holding half a stage's width more planes
 * (V2) or a whole one (V1, whose branch writes every channel); the planes just read become the
 * next unit's spare. Layer by layer it computes the same. */
scl_status scl__model_build_fusable(const scl_model_desc *d, int fusable, scl_model **out);
/* The same for a preset's name; SCL_ERROR_UNSUPPORTED_MODEL for an unknown one. */
scl_status scl__model_build(const char *name, int explicit_copies, scl_model **out);
void scl__model_free(scl_model *m);

/* Per-layer counts at h x w input (PyTorch's counting: params = weights + biases + BN gamma and
 * beta; MACs = conv and fc multiply-accumulates). */
int64_t scl__layer_params(const scl_layer *l);
int64_t scl__layer_macs(const scl_layer *l, int out_h, int out_w);
/* Rows/columns after `level` stride-2 steps. */
int scl__level_size(int size, int level);

#endif
