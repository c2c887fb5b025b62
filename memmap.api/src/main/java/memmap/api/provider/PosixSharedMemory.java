package memmap.api.provider;

import memmap.api.Context;
import memmap.api.MemmapException;

/**
 * POSIX named shared memory ({@code shm_open}/{@code shm_unlink}): segments are files under
 * {@code /dev/shm}, so any process on the host can open them by name. Registered by
 * {@code memmap.shm}. The backing's Mappable is {@link memmap.api.Resizable} (ftruncate).
 *
 * <p>Names: what follows an optional leading {@code /}; non-empty, at most 255 bytes, no
 * further {@code /}, not {@code .} or {@code ..}. Errors carry the errno the host gives
 * (EEXIST, ENOENT, EACCES, ...) or EINVAL for a bad name, before anything is opened.
 */
@org.osgi.annotation.versioning.ProviderType
public interface PosixSharedMemory {
    /** shm_open: open for reading only. */
    int O_RDONLY = 0;
    /** shm_open: open for reading and writing. */
    int O_RDWR = 2;
    /** shm_open: create if missing. */
    int O_CREAT = 0100;
    /** shm_open: with O_CREAT, fail with EEXIST if it exists. */
    int O_EXCL = 0200;
    /** shm_open: truncate to zero. */
    int O_TRUNC = 01000;

    /** {@code shm_open(name, flags, mode)}: a backing whose Mappable is the segment. */
    Backing open(Context ctx, String name, int flags, int mode) throws MemmapException;

    /** {@code shm_unlink(name)}: the name goes; open and mapped segments live on. */
    void unlink(Context ctx, String name) throws MemmapException;
}
