/* outfile — see include/outfile.h. */
#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_open(struct outfile *of, const char *path)
{
    struct stat st;
    memset(of, 0, sizeof *of);
    if (snprintf(of->path, sizeof of->path, "%s", path) >= (int)sizeof of->path)
        return -ENAMETOOLONG;
    int exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        of->f = fopen(path, "w");
        return of->f ? 0 : -errno;
    }
    /* Rename over the file a symbolic link points to, not over the link. */
    if (exists && !realpath(path, of->path))
        return -errno;
    const char *slash = strrchr(of->path, '/');
    int dirlen = slash ? (int)(slash - of->path + 1) : 0;
    if (snprintf(of->tmp, sizeof of->tmp, "%.*s.%s.gilscope-XXXXXX", dirlen, of->path,
                 of->path + dirlen) >= (int)sizeof of->tmp)
        return -ENAMETOOLONG;
    int fd = mkstemp(of->tmp);
    if (fd < 0) {
        int e = errno;
        of->tmp[0] = '\0';
        return -e;
    }
    /* The mode a plain fopen would have given, or the old file's. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask) != 0 || !(of->f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        unlink(of->tmp);
        of->tmp[0] = '\0';
        return -e;
    }
    return 0;
}

int outfile_commit(struct outfile *of)
{
    int rc = 0;
    if (!of->f)
        return -EBADF;
    if (fflush(of->f) != 0 || ferror(of->f))
        rc = -(errno ? errno : EIO);
    if (fclose(of->f) != 0 && rc == 0)
        rc = -(errno ? errno : EIO);
    of->f = NULL;
    if (of->tmp[0]) {
        if (rc == 0 && rename(of->tmp, of->path) != 0)
            rc = -errno;
        if (rc != 0)
            unlink(of->tmp);
        of->tmp[0] = '\0';
    }
    return rc;
}

void outfile_abort(struct outfile *of)
{
    if (of->f)
        fclose(of->f);
    of->f = NULL;
    if (of->tmp[0])
        unlink(of->tmp);
    of->tmp[0] = '\0';
}
