package memmap.api;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A reference count that starts at one and is dead at zero: what a MappingIdentity keeps.
 * Taking a reference on a dead object, or dropping one that is not held, is a bug and throws
 * {@link IllegalStateException} naming the object.
 *
 * <p>Thread safety: lock-free; every method may be called concurrently.
 */
public final class RefCount {
    private final AtomicLong refs = new AtomicLong(1);
    private final Object owner;

    /** A count of one, for {@code owner} (named in error messages). */
    public RefCount(Object owner) {
        this.owner = owner;
    }

    /** One more reference, if the object is still alive (gVisor's TryIncRef). */
    public boolean tryIncRef() {
        long r;
        do {
            r = refs.get();
            if (r <= 0) {
                return false;
            }
        } while (!refs.compareAndSet(r, r + 1));
        return true;
    }

    /**
     * One more reference.
     *
     * @throws IllegalStateException if the last reference is already gone
     */
    public void incRef() {
        if (!tryIncRef()) {
            throw new IllegalStateException("incRef on released " + owner);
        }
    }

    /**
     * Drops a reference.
     *
     * @return true if it was the last one: the caller releases the object
     * @throws IllegalStateException if no reference was held
     */
    public boolean decRef() {
        long r = refs.decrementAndGet();
        if (r < 0) {
            refs.incrementAndGet();
            throw new IllegalStateException("decRef without a reference on " + owner);
        }
        return r == 0;
    }

    /** The count now. */
    public long get() {
        return refs.get();
    }
}
