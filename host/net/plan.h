/* plan.h: the activation planner: a pure function from a model and an input shape to device
 * slots (which buffer lives in which slot, and how big each slot is). No OpenCL here. */
#ifndef SCL_PLAN_H
#define SCL_PLAN_H

#include "net/model.h"

typedef struct scl_plan {
    int n, h, w; /* the input shape planned for */
    int nbufs, nslots;
    int *slot_of;            /* per buffer: its slot; -1 for the input (0), the output (last) and
                              * buffers no layer touches */
    size_t *buf_bytes;       /* per buffer: bytes it needs */
    size_t *slot_bytes;      /* per slot: the largest buffer it holds */
    size_t activation_bytes; /* sum of slot_bytes: the peak activation memory */
} scl_plan;

/* Plans n x 3 x h x w through m: every intermediate buffer gets a slot, reusing slots whose
 * buffers are dead (taken in order of first use, each takes the free slot that wastes least).
 * SCL_ERROR_INVALID_ARGUMENT when a buffer would hold 2^31 floats or more (kernels index with
 * ints); SCL_ERROR_OUT_OF_MEMORY. On failure *out is
 * left empty. */
/* The same for elements of elem bytes (2: half storage); scl__plan_compute plans floats. */
scl_status scl__plan_compute_elem(const scl_model *m, int n, int h, int w, size_t elem,
                                  scl_plan *out);
scl_status scl__plan_compute(const scl_model *m, int n, int h, int w, scl_plan *out);
void scl__plan_free(scl_plan *p);

#endif
