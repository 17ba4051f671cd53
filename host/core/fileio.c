/* fileio.c: the safe way to read and write the cache and tuning files. A read opens only a
 * regular file, without blocking (a FIFO or device in a file's place must not hang a run), and
 * only up to a size limit; a write goes to a temporary name unique to the writer (mkstemp, in
 * the same directory) that is renamed over the file, so concurrent writers never share a
 * temporary and readers see a whole file or none. */
#include "core/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *scl__open_regular_read(const char *path, int64_t max_bytes, int64_t *size, char *why,
                             size_t cap) {
    if (why && cap) why[0] = '\0';
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (why && cap && errno != ENOENT && errno != ENOTDIR) /* missing: a miss */
            snprintf(why, cap, "cannot open it: %s", strerror(errno));
        return NULL;
    }
    struct stat sb;
    const char *bad = NULL;
    char text[96];
    if (fstat(fd, &sb) != 0) {
        bad = strerror(errno);
    } else if (!S_ISREG(sb.st_mode)) {
        bad = "not a regular file";
    } else if ((int64_t)sb.st_size > max_bytes) {
        snprintf(text, sizeof text, "%lld bytes, over the limit of %lld", (long long)sb.st_size,
                 (long long)max_bytes);
        bad = text;
    }
    /* a regular file never blocks; blocking reads again so stdio sees no EAGAIN */
    int flags = bad ? 0 : fcntl(fd, F_GETFL);
    if (!bad && (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)) bad = strerror(errno);
    FILE *f = bad ? NULL : fdopen(fd, "rb");
    if (!f) {
        if (!bad) bad = strerror(errno);
        if (why && cap) snprintf(why, cap, "%s", bad);
        close(fd);
        return NULL;
    }
    if (size) *size = (int64_t)sb.st_size;
    return f;
}

FILE *scl__atomic_create(const char *path, char *tmp, size_t cap) {
    if ((size_t)snprintf(tmp, cap, "%s.tmp.XXXXXX", path) >= cap) return NULL;
    int fd = mkstemp(tmp);
    if (fd < 0) return NULL;
    /* mkstemp makes 0600; the cache is shared like the directory made for it (0755) */
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        remove(tmp);
    }
    return f;
}

int scl__atomic_commit(FILE *f, const char *tmp, const char *path, int ok) {
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) == 0) return 0;
    remove(tmp);
    return -1;
}
