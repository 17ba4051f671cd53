/* network_internal.h: network entry points for the project's own tools, not the public API. */
#ifndef SCL_NETWORK_INTERNAL_H
#define SCL_NETWORK_INTERNAL_H

#include "shufflecl.h"

/* Rebuilds the network with every shuffle, split and concat as a copy launch (on) or as channel
 * maps (off, the default). Must be called before weights are loaded. For the bench's ablation. */
scl_status scl__network_set_explicit(scl_network *net, int on);

/* The op of layer i (NULL before weights or for a bad index), for per-launch profiles. */
const scl_op *scl__network_op(const scl_network *net, int i);

#endif
