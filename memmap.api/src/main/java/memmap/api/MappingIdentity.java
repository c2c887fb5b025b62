package memmap.api;

/**
 * Controls the lifetime of a {@link Mappable} and supplies what {@code /proc/[pid]/maps}
 * shows for it (gVisor's {@code memmap.MappingIdentity}, spec §1.7). Distinct from the
 * Mappable because several identities (e.g. open file descriptions) may front one coherent
 * Mappable.
 *
 * <p>Invariant: every mapping (vma) holds one reference on its identity; the Mappable stays
 * valid while any reference is held.
 *
 * <p>Lock order: methods may take locks that rank above the address space's
 * {@code mappingMu}; a final {@link #decRef} is therefore never called with
 * {@code mappingMu} held.
 */
@org.osgi.annotation.versioning.ProviderType
public interface MappingIdentity {
    /** Takes a reference. */
    void incRef();

    /** Drops a reference; the last one releases the Mappable. */
    void decRef(Context ctx);

    /** The application-visible name shown in {@code /proc/[pid]/maps}. */
    String mappedName(Context ctx);

    /** The device number shown in maps ({@code major << 20 | minor}, Linux's internal layout). */
    long deviceId();

    /** The inode number shown in maps. */
    long inodeId();

    /**
     * Makes the data of offsets {@code mr} durable, as a data-only fsync of
     * {@code [mr.start, mr.end - 1]}. {@code mr} may be empty (msync's walk past a hole).
     *
     * @throws MemmapException with the errno to return from msync
     */
    void msync(Context ctx, MappableRange mr) throws MemmapException;
}
