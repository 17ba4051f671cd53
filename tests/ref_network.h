/* ref_network.h: a float64 forward pass of every ShuffleNet V1/V2 model (and of any description),
 * written from shared/shufflenet.md alone (explicit BN, split, concat and shuffle), reading its
 * weights by state_dict key; and the list of keys and shapes each model's state_dict holds. */
#ifndef SCL_REF_NETWORK_H
#define SCL_REF_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "shufflecl.h" /* scl_model_desc only: the reference reads the description itself */

#define REF_CLASSES 1000

/* What a tensor is, so that a test can draw realistic random values for it. */
typedef enum ref_wkind {
    REF_W_CONV,   /* conv weight; fan_in = inputs per output (in/groups * kh * kw) */
    REF_W_GAMMA,  /* BN weight */
    REF_W_BETA,   /* BN bias */
    REF_W_MEAN,   /* BN running_mean */
    REF_W_VAR,    /* BN running_var */
    REF_W_FC,     /* fully connected weight; fan_in = its input features */
    REF_W_FC_BIAS /* fully connected bias */
} ref_wkind;

typedef struct ref_weight {
    char name[128]; /* state_dict key, e.g. "stage2.0.branch1.0.weight" */
    int rank;
    int64_t shape[8]; /* the layout scl__st_write_f32 takes */
    ref_wkind kind;
    int fan_in;
    float *data; /* product(shape) floats; NULL until the caller fills it */
} ref_weight;

/* A state dict: name -> float array + shape. */
typedef struct ref_weights {
    int count;
    ref_weight *w;
} ref_weights;

/* Every tensor of the model's state_dict in state_dict order, BN's num_batches_tracked left out
 * (inference never reads it); data is NULL. NULL for an unknown model name. */
ref_weights *ref_network_weights(const char *model);
/* Frees the table and every data array. NULL is a no-op. */
void ref_weights_free(ref_weights *ws);
ref_weight *ref_weights_find(const ref_weights *ws, const char *name);
size_t ref_weight_count(const ref_weight *w); /* elements */

/* logits (n x REF_CLASSES) of `in` (n x 3 x h x w, dense NCHW) through `model` with the weights
 * `ws`. Returns 0; or -1 with a message when `ws` is not exactly the model's state dict (a key
 * missing, unexpected or misshaped, or data NULL). */
int ref_network_forward(const char *model, const ref_weights *ws, const double *in, int n, int h,
                        int w, double *logits, char *msg, size_t msgcap);

/* The same for any description (torchvision V2, Megvii V1 or Megvii V2, any widths, repeats,
 * groups and classes): logits are n x desc->classes. */
ref_weights *ref_network_weights_desc(const scl_model_desc *desc);
int ref_network_forward_desc(const scl_model_desc *desc, const ref_weights *ws, const double *in,
                             int n, int h, int w, double *logits, char *msg, size_t msgcap);

#endif
