/* fuzz_common.h: what the libFuzzer targets share: the input as a file (the readers take paths)
 * and the checks of a reader's promises, which abort so that libFuzzer keeps the input. */
#ifndef SCL_FUZZ_COMMON_H
#define SCL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the input to an in-memory file and returns a path that opens it ("/proc/self/fd/N"),
 * valid until the next call. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* A broken promise: says what and aborts (libFuzzer saves the input as a crash). */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "promise broken: %s: ", #cond);                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A failure message must start with the file's path. */
#define FUZZ_NAMES_FILE(msg, path)                                                                 \
    FUZZ_CHECK(strncmp((msg), (path), strlen(path)) == 0, "message does not start with %s: %s",    \
               (path), (msg))

#endif
