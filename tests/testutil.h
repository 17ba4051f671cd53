/* testutil.h: what every Check test shares: a context on the test device, seeded random data,
 * NaN poison, the normalised error, and moving logical tensors through channel maps. */
#ifndef SCL_TESTUTIL_H
#define SCL_TESTUTIL_H

#include "shufflecl.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A context on the default device (SHUFFLECL_DEVICE or PoCL in CI); fails the test if none. */
scl_context *tu_context(void);
/* Scratch directory for files the tests write. */
const char *tu_tmpdir(void);
/* Deterministic uniform values in [lo, hi), never exactly zero. */
void tu_fill_uniform(float *x, size_t n, float lo, float hi, uint64_t *seed);
float *tu_random(size_t n, uint64_t *seed); /* malloc'd, values in [-1, 1) */
/* ||out - ref|| / ||ref||; any NaN or Inf in out gives +Inf. *max_abs gets max |out - ref|. */
double tu_rel_err(const float *out, const double *ref, size_t n, double *max_abs);
/* Asserts rel < tol and max_abs < abs_tol, with a message naming the case. */
void tu_check_close(const char *what, const float *out, const double *ref, size_t n, double tol,
                    double abs_tol);

/* Physical layout <-> logical tensor through a channel map (NULL = identity): logical channel c
 * of image i lives in plane map[c] of a tensor with `planes` channels. Planes no channel maps to
 * are set to `fill` by tu_scatter (NaN, so a kernel that reads the wrong plane shows). */
void tu_scatter(const float *logical, int n, int c, int hw, const scl_chanmap *m, int planes,
                float fill, float *physical);
void tu_gather(const float *physical, int n, int c, int hw, const scl_chanmap *m, int planes,
               float *logical);

/* A tensor made, uploaded and checked in one call. */
scl_tensor *tu_tensor(scl_context *ctx, int n, int c, int h, int w, const float *data);
/* The storage of the tensors tu_tensor (and so tu_place, tu_run_op) makes from now on
 * (SCL_PRECISION_FLOAT32 at start); returns the previous one. */
scl_precision tu_set_storage(scl_precision p);
/* Downloads a tensor into a malloc'd dense buffer. */
float *tu_download(const scl_tensor *t);
double *tu_to_double(const float *x, size_t n);

#define TU_OK(ctx, call)                                                                           \
    do {                                                                                           \
        scl_status tu_st_ = (call);                                                                \
        ck_assert_msg(tu_st_ == SCL_OK, "%s failed: %s: %s", #call, scl_status_string(tu_st_),     \
                      scl_last_error(ctx));                                                        \
    } while (0)

/* Asserts that `call` returned `want` and that the recorded message names `needle`. */
#define TU_EXPECT_FAIL(ctx, call, want, needle)                                                    \
    do {                                                                                           \
        scl_status tu_st_ = (call);                                                                \
        ck_assert_msg(tu_st_ == (want), "%s returned %s (%s), want %s", #call,                     \
                      scl_status_string(tu_st_), scl_last_error(ctx), scl_status_string(want));    \
        ck_assert_msg(strstr(scl_last_error(ctx), (needle)) != NULL,                               \
                      "%s: message \"%s\" does not name \"%s\"", #call, scl_last_error(ctx),       \
                      (needle));                                                                   \
    } while (0)

/* SCL_TEST_QUICK set (and not "0"): skip the large cases (Oclgrind simulates every work-item). */
int tu_quick(void);

/* ---- configurations from the op descriptors (host/ops/desc.h) ---------------------------- */
/* How many configurations an op test draws from its family's descriptor: TU_SAMPLES, or
 * TU_SAMPLES_QUICK under SCL_TEST_QUICK=1. */
#define TU_SAMPLES 16
#define TU_SAMPLES_QUICK 8
struct scl__op_desc;
struct scl__op_shape;
/* The descriptor's spread samples for the shape (scl__desc_samples: both device types'
 * defaults first, then a fixed pseudo-random draw from the product of every tunable's probes),
 * valid on ctx's device; vals has room for TU_SAMPLES rows. Returns the count (>= 1). */
int tu_desc_samples(scl_context *ctx, const struct scl__op_desc *d, const struct scl__op_shape *s,
                    int (*vals)[8]);

/* ---- channel maps the op tests read and write through ------------------------------------ */

/* Every kind the op tests use; each op test picks its own subset in its tables. The shuffles
 * use tu_map_groups(k, c) groups. */
typedef enum tu_map_kind {
    TU_MAP_NONE,         /* NULL: the identity over exactly c planes */
    TU_MAP_OFFSET,       /* a concat slot: planes 5 .. c + 4 of c + 7 */
    TU_MAP_EVEN,         /* planes 0, 2, 4, ... of 2c: Megvii V2's identity half */
    TU_MAP_ODD,          /* planes 1, 3, 5, ... of 2c + 1 */
    TU_MAP_SHUFFLE,      /* scl_chanmap_create_shuffle, forward */
    TU_MAP_UNSHUFFLE,    /* scl_chanmap_create_shuffle, inverse */
    TU_MAP_COMPOSED,     /* a forward shuffle read through planes 3 .. c + 2 of c + 3 */
    TU_MAP_COMPOSED_INV, /* the same with an inverse shuffle */
    TU_MAP_TABLE,        /* a table: reversed, with a gap after every third plane */
    TU_MAP_RANDOM,       /* a table: a seeded random injection into c + 4 planes */
    TU_MAP_KINDS
} tu_map_kind;

const char *tu_map_name(tu_map_kind k);
/* The group count of the shuffle inside a shuffle or composed kind over c channels (1 for the
 * others), for tests that build the same permutation explicitly. */
int tu_map_groups(tu_map_kind k, int c);
/* A map of kind k over c logical channels (NULL for TU_MAP_NONE), and in *planes the plane
 * count of the tensor it addresses; seed matters to TU_MAP_RANDOM only. */
scl_chanmap *tu_make_map(scl_context *ctx, tu_map_kind k, int c, uint64_t seed, int *planes);
/* Asserts that every element of every plane no channel maps to is still NaN. */
void tu_check_untouched(const char *what, const float *phys, int n, int c, int hw,
                        const scl_chanmap *m, int planes);
/* A logical tensor uploaded through a map into a new tensor of `planes` channels; the planes no
 * channel maps to hold NaN. */
scl_tensor *tu_place(scl_context *ctx, const float *logical, int n, int c, int h, int w,
                     const scl_chanmap *m, int planes);
/* Downloads the c logical channels of t read through m (malloc'd), after asserting that every
 * plane m leaves out is still NaN. */
float *tu_collect(const scl_tensor *t, int c, const scl_chanmap *m, const char *what);
/* Runs op from a logical input (n x c x h x w) read through a map of kind in_kind to a logical
 * output (n x co x oh x ow) written through one of kind out_kind, poisoning the output first;
 * checks that the planes outside the output map stay poisoned; returns the output (malloc'd). */
float *tu_run_op(scl_context *ctx, scl_op *op, const float *x, int n, int c, int h, int w,
                 tu_map_kind in_kind, int co, int oh, int ow, tu_map_kind out_kind,
                 const char *what);

/* ---- scratch files ------------------------------------------------------------------------ */

/* tu_tmpdir()/<prefix><name>, remembered so that tu_remove_tmp (a teardown fixture: it runs in
 * the test's own process, forked or not) removes every file a test wrote. */
const char *tu_tmp_path(const char *prefix, const char *name);
void tu_remove_tmp(void);
/* Writes n bytes to path, asserting that it all went. */
void tu_write_bytes(const char *path, const void *bytes, size_t n);

/* Runs a suite and returns the process exit status. */
int tu_run(Suite *s);

/* Fills every tensor of a reference state dict with random values of realistic laws (uniform
 * convs with unit-variance fan-in scaling, BN statistics around 1 and 0) and returns ws. */
typedef struct ref_weights ref_weights;
ref_weights *tu_random_state(ref_weights *ws, uint64_t seed);
/* Writes ws as F32 safetensors, every key prefixed with `prefix`. */
void tu_write_state(const char *path, const ref_weights *ws, const char *prefix);

#endif
