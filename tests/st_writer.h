/* st_writer.h: a small safetensors writer (F32 only) for the tests, which make the files the
 * library's reader (host/io/safetensors.c) is checked against. */
#ifndef SCL_TEST_ST_WRITER_H
#define SCL_TEST_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "shufflecl.h"

/* Writes `count` F32 tensors, laid out in the given order, header padded to 8 bytes as the
 * reference implementation does. data[i] may be NULL only for a tensor with no elements. A
 * partially written file is removed. Failures: SCL_ERROR_INVALID_ARGUMENT (a bad name, rank,
 * shape or pointer), SCL_ERROR_OUT_OF_MEMORY, SCL_ERROR_FILE_IO; `msg` says which. */
scl_status scl__st_write_f32(const char *path, int count, const char *const *names,
                             const int *ranks, const int64_t (*shapes)[8], const float *const *data,
                             char *msg, size_t msgcap);

#endif /* SCL_TEST_ST_WRITER_H */
