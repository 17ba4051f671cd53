/* safetensors.h: the reader of the safetensors weight format (an 8-byte little-endian header
 * length, a JSON header describing every tensor, then the raw data). Internal to the library;
 * the tests' writer is tests/st_writer.h. */
#ifndef SCL_SAFETENSORS_H
#define SCL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "shufflecl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCL_ST_MAX_RANK 8

typedef struct scl__st_tensor {
    char *name;
    char dtype[8]; /* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8" or "BOOL" */
    int rank;
    int64_t shape[SCL_ST_MAX_RANK];
    size_t begin, end; /* byte offsets in the data region (which follows the header) */
} scl__st_tensor;

/* An open file: its path, its bytes and its tensor table. */
typedef struct scl__safetensors scl__safetensors;

/* Reads the whole file and validates its header and every tensor entry. Failures:
 * SCL_ERROR_FILE_IO (cannot open or read), SCL_ERROR_FILE_FORMAT (anything malformed),
 * SCL_ERROR_OUT_OF_MEMORY, SCL_ERROR_INVALID_ARGUMENT. The message, when `msg` is not NULL,
 * starts with the path and says exactly what is wrong. *out is NULL on failure. */
scl_status scl__safetensors_open(const char *path, scl__safetensors **out, char *msg,
                                 size_t msgcap);
void scl__safetensors_close(scl__safetensors *st); /* NULL is a no-op */

/* Tensors in the order the header lists them. */
int scl__safetensors_count(const scl__safetensors *st);
const scl__st_tensor *scl__safetensors_at(const scl__safetensors *st,
                                          int i); /* NULL if out of range */
const scl__st_tensor *scl__safetensors_find(const scl__safetensors *st, const char *name);
const char *scl__safetensors_path(const scl__safetensors *st);

/* The value of a "__metadata__" entry, or NULL when absent. */
const char *scl__safetensors_metadata(const scl__safetensors *st, const char *key);

/* Number of elements of a tensor (1 for rank 0). */
size_t scl__st_tensor_elements(const scl__st_tensor *t);

/* Copies a tensor as float32, converting F16 and BF16 exactly (subnormals included). The
 * tensor's element count must equal `count`. Fails with SCL_ERROR_WEIGHTS on another dtype, a
 * count mismatch, or a NaN or infinity (naming the tensor and the first bad index); on failure
 * `dst` is left untouched. `t` must come from `st`. */
scl_status scl__safetensors_read_f32(const scl__safetensors *st, const scl__st_tensor *t,
                                     float *dst, size_t count, char *msg, size_t msgcap);

#ifdef __cplusplus
}
#endif
#endif /* SCL_SAFETENSORS_H */
