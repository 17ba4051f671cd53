/* consumer/main.c: a tiny program outside the project that links an installed shufflecl. */
#include <shufflecl.h>
#include <stdio.h>

int main(void) {
    scl_context *ctx = NULL;
    if (scl_context_create(NULL, &ctx) != SCL_OK) {
        fprintf(stderr, "consumer: %s\n", scl_last_error(NULL));
        return 1;
    }
    scl_device_info info = {.size = sizeof(scl_device_info)};
    scl_context_device_info(ctx, &info);
    float x[16], y[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    scl_tensor *in = NULL, *out = NULL;
    scl_op *op = NULL;
    int ok = scl_tensor_create(ctx, 1, 1, 4, 4, &in) == SCL_OK &&
             scl_tensor_create(ctx, 1, 1, 2, 2, &out) == SCL_OK &&
             scl_tensor_upload(in, x, 16) == SCL_OK && scl_op_maxpool_create(ctx, 1, &op) == SCL_OK;
    scl_op_args a = {.size = sizeof(scl_op_args)};
    a.in = in, a.out = out;
    ok = ok && scl_op_enqueue(op, &a) == SCL_OK && scl_tensor_download(out, y, 4) == SCL_OK;
    if (!ok) fprintf(stderr, "consumer: %s\n", scl_last_error(ctx));
    /* max over the 3x3 windows at stride 2 of 0..15 in a 4x4 grid */
    ok = ok && y[0] == 5 && y[1] == 7 && y[2] == 13 && y[3] == 15;
    printf("consumer: shufflecl %s on %s: %s\n", scl_version(), info.name, ok ? "ok" : "WRONG");
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_context_destroy(ctx);
    return ok ? 0 : 1;
}
