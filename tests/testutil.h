/* testutil.h: what every Check test shares: a context on the test device, seeded random data,
 * NaN poison, the normalised error, and moving logical tensors through channel maps. */
#ifndef SCL_TESTUTIL_H
#define SCL_TESTUTIL_H

#include "shufflecl.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>

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
/* Downloads a tensor into a malloc'd dense buffer. */
float *tu_download(const scl_tensor *t);
double *tu_to_double(const float *x, size_t n);

#define TU_OK(ctx, call)                                                                          \
    do {                                                                                          \
        scl_status tu_st_ = (call);                                                               \
        ck_assert_msg(tu_st_ == SCL_OK, "%s failed: %s: %s", #call, scl_status_string(tu_st_),    \
                      scl_last_error(ctx));                                                       \
    } while (0)

/* Runs a suite and returns the process exit status. */
int tu_run(Suite *s);

#endif
