/* plan.c: the activation planner (see plan.h): liveness of each buffer over the layer list,
 * then a best-fit assignment of buffers to reusable slots. */
#include "net/plan.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void scl__plan_free(scl_plan *p) {
    if (!p) return;
    free(p->slot_of), free(p->buf_bytes), free(p->slot_bytes);
    memset(p, 0, sizeof *p);
}

/* The first and last layer that touches each buffer. */
static void liveness(const scl_model *m, int *first, int *last) {
    for (int b = 0; b < m->nbufs; b++)
        first[b] = m->nlayers, last[b] = -1;
    for (int i = 0; i < m->nlayers; i++) {
        const scl_layer *l = &m->layers[i];
        int ids[3] = {l->in_buf, l->out_buf, l->res_buf};
        for (int k = 0; k < 3; k++) {
            if (ids[k] < 0) continue;
            if (i < first[ids[k]]) first[ids[k]] = i;
            if (i > last[ids[k]]) last[ids[k]] = i;
        }
    }
}

/* The free slot (dead before layer `from`) that wastes least for `need` bytes: the smallest one
 * already big enough, else the biggest; -1 when none is free. */
static int best_slot(const scl_plan *p, const int *free_after, int from, size_t need) {
    int best = -1;
    for (int s = 0; s < p->nslots; s++) {
        if (free_after[s] >= from) continue;
        size_t have = p->slot_bytes[s];
        if (best < 0)
            best = s;
        else if (have >= need) {
            if (p->slot_bytes[best] < need || have < p->slot_bytes[best]) best = s;
        } else if (p->slot_bytes[best] < need && have > p->slot_bytes[best]) {
            best = s;
        }
    }
    return best;
}

scl_status scl__plan_compute_elem(const scl_model *m, int n, int h, int w, size_t elem,
                                  scl_plan *out) {
    memset(out, 0, sizeof *out);
    if (!m || n < 1 || h < 1 || w < 1) return SCL_ERROR_INVALID_ARGUMENT;
    int nb = m->nbufs;
    out->n = n, out->h = h, out->w = w, out->nbufs = nb;
    out->slot_of = malloc((size_t)nb * sizeof *out->slot_of);
    out->buf_bytes = calloc((size_t)nb, sizeof *out->buf_bytes);
    out->slot_bytes = calloc((size_t)nb, sizeof *out->slot_bytes);
    int *first = malloc((size_t)nb * sizeof *first), *last = malloc((size_t)nb * sizeof *last);
    int *free_after = malloc((size_t)nb * sizeof *free_after);
    scl_status st = SCL_OK;
    if (!out->slot_of || !out->buf_bytes || !out->slot_bytes || !first || !last || !free_after)
        st = SCL_ERROR_OUT_OF_MEMORY;
    for (int b = 0; b < nb && st == SCL_OK; b++) {
        out->slot_of[b] = -1;
        int lh = scl__level_size(h, m->bufs[b].level), lw = scl__level_size(w, m->bufs[b].level);
        /* kernels index with ints: every buffer holds under 2^31 floats (checked in double, so
         * that the check itself cannot wrap) */
        double floats =
            (double)n * m->bufs[b].channels * (double)scl__pitch(lh, lw) + SCL__TENSOR_SLACK;
        if (floats > INT_MAX)
            st = SCL_ERROR_INVALID_ARGUMENT;
        else
            out->buf_bytes[b] =
                ((size_t)n * (size_t)m->bufs[b].channels * scl__pitch(lh, lw) + SCL__TENSOR_SLACK) *
                elem;
    }
    if (st == SCL_OK) {
        liveness(m, first, last);
        /* buffers are numbered in order of first definition, which is order of first use;
         * the input (0) and the output (last) belong to the caller */
        for (int b = 1; b < nb - 1; b++) {
            /* a buffer no layer touches needs no memory (and must not mark a slot free) */
            if (last[b] < 0) continue;
            int s = best_slot(out, free_after, first[b], out->buf_bytes[b]);
            if (s < 0) s = out->nslots++, out->slot_bytes[s] = 0;
            if (out->slot_bytes[s] < out->buf_bytes[b]) out->slot_bytes[s] = out->buf_bytes[b];
            free_after[s] = last[b];
            out->slot_of[b] = s;
        }
        for (int s = 0; s < out->nslots; s++)
            out->activation_bytes += out->slot_bytes[s];
    }
    free(first), free(last), free(free_after);
    if (st != SCL_OK) scl__plan_free(out);
    return st;
}

scl_status scl__plan_compute(const scl_model *m, int n, int h, int w, scl_plan *out) {
    return scl__plan_compute_elem(m, n, h, w, sizeof(float), out);
}
