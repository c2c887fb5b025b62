package memmap.api;

/**
 * A mutable mapping from addresses to (Mappable, offset) pairs: an address space
 * (gVisor's {@code memmap.MappingSpace}, spec §1.6). Mappables call back into it when
 * translations they returned stop being valid.
 *
 * <p>Identity: MappingSets compare MappingSpaces by reference; implementations must not
 * override {@code equals}.
 *
 * <p>Lock order: see the {@code memmap.api} package documentation. {@link #invalidate}
 * must not take any lock that ranks above the address space's {@code activeMu}.
 */
@org.osgi.annotation.versioning.ConsumerType
public interface MappingSpace {
    /**
     * Notifies the space that translations previously returned by {@link Mappable#translate}
     * for the offsets mapped by addresses {@code ar} are no longer valid.
     *
     * <p>Preconditions: {@code ar} is non-empty and page-aligned.
     *
     * <p>Postconditions: no cached translation for {@code ar} is used after this returns;
     * private pages in {@code ar} are discarded too iff {@code opts.invalidatePrivate()}.
     */
    void invalidate(AddrRange ar, InvalidateOpts opts);
}
