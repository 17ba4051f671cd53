/* safetensors.h: reader (and a small F32 writer) for the safetensors weight format: an 8-byte
 * little-endian header length, a JSON header describing every tensor, then the raw data. */
#ifndef SCL_SAFETENSORS_H
#define SCL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "shufflecl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCL_ST_MAX_RANK 8

typedef struct scl_st_tensor {
    char *name;
    char dtype[8]; /* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8" or "BOOL" */
    int rank;
    int64_t shape[SCL_ST_MAX_RANK];
    size_t begin, end; /* byte offsets in the data region (which follows the header) */
} scl_st_tensor;

/* An open file: its path, its bytes and its tensor table. */
typedef struct scl_safetensors scl_safetensors;

/* Reads the whole file and validates its header and every tensor entry. Failures:
 * SCL_ERROR_FILE_IO (cannot open or read), SCL_ERROR_FILE_FORMAT (anything malformed),
 * SCL_ERROR_OUT_OF_MEMORY, SCL_ERROR_INVALID_ARGUMENT. The message, when `msg` is not NULL,
 * starts with the path and says exactly what is wrong. *out is NULL on failure. */
scl_status scl_safetensors_open(const char *path, scl_safetensors **out, char *msg, size_t msgcap);
void scl_safetensors_close(scl_safetensors *st); /* NULL is a no-op */

/* Tensors in the order the header lists them. */
int scl_safetensors_count(const scl_safetensors *st);
const scl_st_tensor *scl_safetensors_at(const scl_safetensors *st,
                                        int i); /* NULL if out of range */
const scl_st_tensor *scl_safetensors_find(const scl_safetensors *st, const char *name);
const char *scl_safetensors_path(const scl_safetensors *st);

/* The value of a "__metadata__" entry, or NULL when absent. */
const char *scl_safetensors_metadata(const scl_safetensors *st, const char *key);

/* Number of elements of a tensor (1 for rank 0). */
size_t scl_st_tensor_elements(const scl_st_tensor *t);

/* Copies a tensor as float32, converting F16 and BF16 exactly (subnormals included). The
 * tensor's element count must equal `count`. Fails with SCL_ERROR_WEIGHTS on another dtype, a
 * count mismatch, or a NaN or infinity (naming the tensor and the first bad index); on failure
 * `dst` is left untouched. `t` must come from `st`. */
scl_status scl_safetensors_read_f32(const scl_safetensors *st, const scl_st_tensor *t, float *dst,
                                    size_t count, char *msg, size_t msgcap);

/* Writes `count` F32 tensors, laid out in the given order, header padded to 8 bytes as the
 * reference implementation does. data[i] may be NULL only for a tensor with no elements. A
 * partially written file is removed. For tests and tools. */
scl_status scl_safetensors_write_f32(const char *path, int count, const char *const *names,
                                     const int *ranks, const int64_t (*shapes)[8],
                                     const float *const *data, char *msg, size_t msgcap);

#ifdef __cplusplus
}
#endif
#endif /* SCL_SAFETENSORS_H */
