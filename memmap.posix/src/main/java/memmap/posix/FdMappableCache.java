package memmap.posix;

import java.util.HashMap;
import java.util.Map;

import memmap.api.MemmapException;

/**
 * One {@link FdMappable} per file (device, inode), so that every mapping of a file a provider
 * opens is coherent: a provider opens a descriptor, then asks this cache for the file's
 * Mappable. Thread-safe.
 */
public final class FdMappableCache {
    private record Key(long device, long inode) {}

    private final Map<Key, FdMappable> open = new HashMap<>();

    /**
     * The Mappable of the file open at {@code fd}: the live cached one, with a new reference,
     * if it can serve {@code writable} (and then {@code fd} is closed); else a new one that
     * owns {@code fd}.
     *
     * @param fd an open descriptor, owned by this call from now on
     * @param st its fstat
     * @param name the name shown in maps
     * @param writable whether {@code fd} is open for writing
     * @param mappable whether mmap may be used for it
     * @param seekable whether positional I/O works on it
     */
    public FdMappable get(int fd, Posix.Stat st, String name, boolean writable, boolean mappable, boolean seekable)
            throws MemmapException {
        Key key = new Key(st.device(), st.inode());
        synchronized (open) {
            FdMappable existing = open.get(key);
            if (existing != null && (existing.file().isWritable() || !writable) && existing.tryIncRef()) {
                Posix.close(fd);
                return existing;
            }
            FdMappable[] self = new FdMappable[1];
            FdMappable m = new FdMappable(new MappedFd(fd, writable, mappable, seekable, name), name, st.linuxDevice(), st.inode(),
                    st.size(), () -> {
                        synchronized (open) {
                            open.remove(key, self[0]);
                        }
                    });
            self[0] = m;
            open.put(key, m);
            return m;
        }
    }

    /** The number of files open. */
    public int size() {
        synchronized (open) {
            return open.size();
        }
    }
}
