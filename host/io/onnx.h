/* onnx.h: the reader of ONNX model files: the protobuf parsed by protobuf-c (onnx.proto, our
 * subset of the IR), the file bounded and read whole, and tensors decoded with every size
 * checked. What the graph means is host/net/onnx_graph.c's business. */
#ifndef SCL_ONNX_H
#define SCL_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "shufflecl.h"

/* Files larger than this are refused (the largest ShuffleNet, V1 g8 2.0x, is 26 MiB). */
#define SCL__ONNX_MAX_BYTES ((int64_t)1 << 30)
/* Tensors with more elements than this are refused (weights never come near it). */
#define SCL__ONNX_MAX_ELEMENTS ((int64_t)1 << 28)

typedef struct scl__onnx {
    char *path;
    SclOnnx__ModelProto *model; /* with a graph (checked at open) */
} scl__onnx;

/* Reads and parses the file; refuses (SCL_ERROR_FILE_FORMAT, the message naming the file) a
 * truncated or malformed protobuf, one without a graph, an IR version before 3 and an opset
 * of the default domain outside 7 .. 21. */
scl_status scl__onnx_open(const char *path, scl__onnx **out, char *msg, size_t cap);
void scl__onnx_close(scl__onnx *m); /* NULL is a no-op */

/* A tensor's element count (dims checked: each >= 0, the product <= SCL__ONNX_MAX_ELEMENTS);
 * -1 when refused. */
int64_t scl__onnx_tensor_count(const SclOnnx__TensorProto *t);
/* Decodes a FLOAT or DOUBLE tensor into n floats (n must be its element count), from raw_data
 * or the typed field; refuses external data, other types, a size mismatch and any NaN or
 * infinity. The message names the file and the tensor. */
scl_status scl__onnx_tensor_f32(const scl__onnx *m, const SclOnnx__TensorProto *t, float *dst,
                                size_t n, char *msg, size_t cap);
/* Decodes an INT64 or INT32 tensor of at most `cap_n` elements; *n receives its count. */
scl_status scl__onnx_tensor_i64(const scl__onnx *m, const SclOnnx__TensorProto *t, int64_t *dst,
                                size_t cap_n, size_t *n, char *msg, size_t cap);
/* The value of a metadata_props entry, or NULL. */
const char *scl__onnx_metadata(const scl__onnx *m, const char *key);
/* The default domain's opset version (0 when none is imported). */
int64_t scl__onnx_opset(const scl__onnx *m);

#endif
