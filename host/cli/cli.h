/* cli.h: what the shufflecl tool's subcommand files share (option parsing, errors). */
#ifndef SCL_CLI_H
#define SCL_CLI_H

#include "shufflecl_ext.h"

#include <stdio.h>

/* Prints "shufflecl: error: ..." to stderr and returns 1 (the tool's exit status). */
int cli_error(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* True when argv[*i] is `name`; then *value gets the next argument (error if missing). */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value, int *err);
int cli_is_help(const char *arg);
/* Makes a context on `device` (NULL: default), logging warnings to stderr. */
int cli_context(const char *device, scl_context **ctx);

/* The precision of every network this process makes: --precision, anywhere after the command
 * (infer, classify, bench, tune); float32 by default. */
extern scl_precision cli_precision;
extern int cli_batch_block; /* --batch-block: 0 automatic */
/* "float32", "half-storage" or "half". */
const char *cli_precision_name(scl_precision p);
/* The options every command's networks are made with (cli_precision, the rest defaults). */
scl_network_options cli_network_options(void);

/* The network a command names: a preset; or, for MODEL "auto" or none (NULL), the architecture
 * of the weights file. A preset with a file of another architecture is refused, saying what the
 * file holds. With `load` the weights are loaded as well. Prints the error and returns 1. */
int cli_network(scl_context *ctx, const char *cmd, const char *model, const char *weights, int load,
                scl_network **net);

int cli_devices(int argc, char **argv);
int cli_models(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_infer(int argc, char **argv);
int cli_classify(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_tune(int argc, char **argv);

#endif
