package memmap.api;

/**
 * A {@link Mappable} whose size can change: a host file truncated or extended through its
 * provider, a POSIX shared-memory segment resized. Shrinking invalidates every mapping of
 * the pages past the new end, private copies included ({@link InvalidateOpts#PRIVATE}, as
 * Linux's {@code unmap_mapping_range(evencows=1)}), before the pages go; a later
 * {@link Mappable#translate} past the end returns a {@link BusError}.
 */
@org.osgi.annotation.versioning.ProviderType
public interface Resizable extends Mappable {
    /** The current size in bytes. */
    long size();

    /**
     * Sets the size.
     *
     * @throws IllegalArgumentException if {@code newSize} is negative
     * @throws MemmapException with the errno of the host (EPERM, EFBIG, EACCES for a
     *     read-only object ...); the size is then unchanged
     */
    void setSize(Context ctx, long newSize) throws MemmapException;
}
