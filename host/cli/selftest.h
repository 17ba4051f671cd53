/* selftest.h: the self-test of `shufflecl devices --check` (selftest.c): a ShuffleNet V2 0.5x of
 * seeded random weights, written as a safetensors file, and its float64 logits. */
#ifndef SCL_CLI_SELFTEST_H
#define SCL_CLI_SELFTEST_H

#include <stddef.h>

/* The relative error (L2 norm of the difference over the reference's) a device must stay under:
 * float32 against float64, as the tests ask. */
#define CLI_SELFTEST_TOL 1e-4

typedef struct cli_selftest {
    char path[1024]; /* the weights file (removed by cli_selftest_free) */
    const char *model;
    int n, h, w, classes;
    float *input; /* n x 3 x h x w */
    double *want; /* n x classes */
} cli_selftest;

/* Makes the weights file, the input and the reference logits; 1 with a message on failure. */
int cli_selftest_prepare(cli_selftest *t, char *err, size_t cap);
/* The relative error of `got` (n x classes); infinite when any value is not finite. */
double cli_selftest_error(const cli_selftest *t, const float *got);
void cli_selftest_free(cli_selftest *t);
/* Runs the check on `device` (a device specification: "P:D"): 0 when the logits are within
 * CLI_SELFTEST_TOL, else 1 with *rel (infinite when nothing ran) and, on an error, `msg`. */
int cli_selftest_run(const cli_selftest *t, const char *device, double *rel, char *msg, size_t cap);

#endif
