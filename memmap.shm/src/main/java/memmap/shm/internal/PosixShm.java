package memmap.shm.internal;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.PosixSharedMemory;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;

/**
 * POSIX named shared memory: {@code shm_open}/{@code shm_unlink} on files under a shm
 * directory ({@code /dev/shm}), mapped through {@link FdMappable} so any process that opens
 * the same name shares the pages. One Mappable per (device, inode), so every mapping of a
 * segment is coherent. Errors are the host's own errno.
 */
final class PosixShm implements PosixSharedMemory {
    private final String dir;
    private final String providerId;
    private final FdMappableCache files = new FdMappableCache();

    PosixShm(String dir, String providerId) {
        this.dir = dir;
        this.providerId = providerId;
    }

    /** The directory segments live in. */
    String directory() {
        return dir;
    }

    /** The file of segment {@code name} (a leading {@code /} allowed), or EINVAL naming it. */
    String path(String name) throws MemmapException {
        String n = name != null && name.startsWith("/") ? name.substring(1) : name;
        if (n == null || n.isEmpty() || n.contains("/") || n.equals(".") || n.equals("..") || n.contains("\0")
                || n.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            throw Errno.EINVAL.exception("name = \"" + name + "\" is not a shared-memory name (one path component, no '/', at most 255 bytes)");
        }
        return dir + "/" + n;
    }

    @Override
    public Backing open(Context ctx, String name, int flags, int mode) throws MemmapException {
        return open(ctx, name, flags, mode, new BackingRequest.SharedMemory(name, 0, (flags & O_CREAT) != 0));
    }

    Backing open(Context ctx, String name, int flags, int mode, BackingRequest request) throws MemmapException {
        String path = path(name);
        int access = flags & 3;
        if (access != O_RDONLY && access != O_RDWR) {
            throw Errno.EINVAL.exception("flags = " + Integer.toOctalString(flags) + ": open for O_RDONLY or O_RDWR");
        }
        int fd;
        try {
            fd = Posix.open(path, flags | Posix.O_CLOEXEC | Posix.O_NOFOLLOW | Posix.O_NONBLOCK, mode & 0777);
        } catch (MemmapException e) {
            if (e.errno().equals(Errno.ENOENT)) {
                throw Errno.ENOENT.exception("name = " + name + ": no such segment (create it with O_CREAT)");
            }
            if (e.errno().equals(Errno.EEXIST)) {
                throw Errno.EEXIST.exception("name = " + name + ": the segment exists (O_EXCL)");
            }
            throw e;
        }
        try {
            Posix.Stat st = Posix.fstat(fd);
            if ((st.mode() & Posix.S_IFMT) != Posix.S_IFREG) {
                throw Errno.EINVAL.exception(path + " is not a regular file");
            }
            FdMappable m = files.get(fd, st, path, access == O_RDWR, true, true);
            return new Backing(request, m, m, providerId, access == O_RDWR ? Backing.MapAs.READ_WRITE : Backing.MapAs.READ_ONLY);
        } catch (MemmapException | RuntimeException e) {
            try {
                Posix.close(fd);
            } catch (MemmapException ignored) {
                // The descriptor is gone either way.
            }
            throw e;
        }
    }

    @Override
    public void unlink(Context ctx, String name) throws MemmapException {
        Posix.unlink(path(name));
    }

    int count() {
        return files.size();
    }

}
