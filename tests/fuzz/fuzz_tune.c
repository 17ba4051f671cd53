/* fuzz_tune.c: libFuzzer target for the tuning-table reader (host/tune/tune.c, scl__tune_read)
 * and the lookups that use what it read. Input: a mode byte, then the file's text; with mode bit
 * 0 the valid two header lines (format, source hash) are put before it, since the fuzzer could
 * not find the hash itself. The context is a bare struct: the reader needs no device. */
#include "core/internal.h"
#include "fuzz_common.h"
#include "tune/tune.h"

static char last_log[8192];

static void capture(scl_log_level level, const char *message, void *user) {
    (void)level, (void)user;
    snprintf(last_log, sizeof last_log, "%s", message);
}

/* Looks up every entry the text names, so the lookups see what the reader kept. */
static void lookups(scl_context *ctx, const char *text) {
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        int k[4], vec, co_tile;
        scl_dw_cfg cfg;
        if (sscanf(line, "pointwise %d %d %d %d", &k[0], &k[1], &k[2], &k[3]) == 4)
            (void)scl__tune_pointwise(ctx, k[0], k[1], k[2], k[3], &vec, &co_tile);
        else if (sscanf(line, "depthwise %d %d %d", &k[0], &k[1], &k[2]) == 3)
            (void)scl__tune_depthwise(ctx, k[0], k[1], k[2], &cfg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static scl_context *ctx;
    static char hash[65];
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        FUZZ_CHECK(ctx && scl__tune_source_hash(ctx, hash) == SCL_OK, "setup");
        scl_context_set_log(ctx, capture, NULL);
    }
    if (size < 1) return 0;
    char head[128];
    int hn = (data[0] & 1) ? snprintf(head, sizeof head, "shufflecl-tune 1\nsource %s\n", hash) : 0;
    char *text = malloc((size_t)hn + size); /* header + body + NUL */
    FUZZ_CHECK(text, "out of memory");
    memcpy(text, head, (size_t)hn);
    memcpy(text + hn, data + 1, size - 1);
    text[(size_t)hn + size - 1] = '\0';
    const char *path = fuzz_file((const uint8_t *)text, (size_t)hn + size - 1);
    last_log[0] = '\0';
    struct scl_tune_db *db = scl__tune_read(ctx, path);
    if (!db) {
        FUZZ_CHECK(strstr(last_log, path) != NULL, "rejected without naming %s: '%s'", path,
                   last_log);
    } else {
        ctx->tune = db, ctx->tune_loaded = 1;
        lookups(ctx, text);
        scl__tune_release(ctx);
    }
    free(text);
    return 0;
}
