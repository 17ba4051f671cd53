/* fuzz_tune.c: libFuzzer target for the tuning-table reader (host/tune/tune.c, scl__tune_load)
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

/* Looks every entry the reader kept up again, by its own key and size and by "any size", and
 * checks the reader's promises: families and precisions are short words, counts in bounds. */
static void lookups(const scl__tune_table *t) {
    for (int i = 0; i < t->n; i++) {
        const scl__tune_entry *e = &t->e[i];
        FUZZ_CHECK(e->nkey >= 0 && e->nkey <= SCL__TUNE_MAX_INTS && e->nval >= 0 &&
                       e->nval <= SCL__TUNE_MAX_INTS && e->h >= 0 && e->w >= 0,
                   "entry %d out of bounds", i);
        FUZZ_CHECK(memchr(e->family, 0, sizeof e->family) &&
                       memchr(e->precision, 0, sizeof e->precision),
                   "entry %d: unterminated words", i);
        const scl__tune_entry *f =
            scl__tune_find(t, e->family, e->precision, e->key, e->nkey, e->h, e->w);
        FUZZ_CHECK(f != NULL, "entry %d is not found by its own key", i);
        (void)scl__tune_find(t, e->family, e->precision, e->key, e->nkey, 0, 0);
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
    int hn = (data[0] & 1) ? snprintf(head, sizeof head, "shufflecl-tune %d\nsource %s\n",
                                      SCL__TUNE_FORMAT, hash)
                           : 0;
    char *text = malloc((size_t)hn + size); /* header + body + NUL */
    FUZZ_CHECK(text, "out of memory");
    memcpy(text, head, (size_t)hn);
    memcpy(text + hn, data + 1, size - 1);
    text[(size_t)hn + size - 1] = '\0';
    const char *path = fuzz_file((const uint8_t *)text, (size_t)hn + size - 1);
    last_log[0] = '\0';
    scl__tune_table *t = scl__tune_load(ctx, path);
    if (!t) {
        FUZZ_CHECK(strstr(last_log, path) != NULL, "rejected without naming %s: '%s'", path,
                   last_log);
    } else {
        lookups(t);
        scl__tune_free(t);
    }
    free(text);
    return 0;
}
