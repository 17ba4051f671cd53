/* npy.h: float32 arrays in NumPy's .npy format, for test inputs, reference outputs and the
 * command-line tools. */
#ifndef SCL_NPY_H
#define SCL_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "shufflecl.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SCL_NPY_MAX_RANK 8

/* Reads a float32 array (format versions 1.0, 2.0 and 3.0). '<f4' is read as is, '>f4' is
 * byte-swapped, '=f4', '|f4' and 'f4' are taken as native; a Fortran-order array is
 * transposed, so *data is always C order. *data is malloc'd (never NULL on success, even for
 * an empty array) and the caller frees it; shape entries past *rank are set to 0.
 * Failures: SCL_ERROR_FILE_IO, SCL_ERROR_FILE_FORMAT (message starts with the path),
 * SCL_ERROR_OUT_OF_MEMORY, SCL_ERROR_INVALID_ARGUMENT. *data is NULL on failure. */
scl_status scl__npy_read_f32(const char *path, int *rank, int64_t shape[8], float **data, char *msg,
                             size_t msgcap);

/* Writes a C-order float32 array byte for byte as numpy.save does on a little-endian machine
 * (version 1.0 header, '<f4', padded to a multiple of 64 bytes). rank is 0..8; data may be
 * NULL only when the array is empty. A partially written file is removed. */
scl_status scl__npy_write_f32(const char *path, int rank, const int64_t *shape, const float *data,
                              char *msg, size_t msgcap);

#ifdef __cplusplus
}
#endif
#endif /* SCL_NPY_H */
