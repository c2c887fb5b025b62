package memmap.api;

/**
 * A memory-mappable object: a mutable mapping from Mappable offsets to (File, file offset)
 * pairs plus its reverse map (gVisor's {@code memmap.Mappable}, spec §1.1; Linux's
 * {@code address_space}). Implemented by the backing providers (anonymous memory, host
 * files, shared memory); called by address spaces.
 *
 * <p>Preconditions of every method: all {@link AddrRange}s and {@link MappableRange}s are
 * non-empty (except {@code srcAR} of {@link #copyMapping}); all addresses and offsets are
 * page-aligned. Violations throw {@link IllegalArgumentException} naming the argument.
 *
 * <p>Lock order (see the package documentation): locks taken by {@link #addMapping},
 * {@link #removeMapping} and {@link #copyMapping} rank <em>above</em> the address space's
 * {@code activeMu}; locks taken by {@link #translate} rank <em>below</em> it. A Mappable may
 * therefore call {@link MappingSpace#invalidate} while holding its "maps" lock, but must never
 * take that lock inside {@code translate}.
 *
 * <p>Identity: all coherent mappings of one object must use the same Mappable instance
 * (shared futex keys compare Mappables).
 */
@org.osgi.annotation.versioning.ProviderType
public interface Mappable {
    /**
     * Notifies the Mappable that addresses {@code ar} in {@code ms} now map offsets
     * {@code [offset, offset + ar.length())}.
     *
     * @param writable whether the backing data can be modified through the mapping (a shared
     *     mapping whose maximum permissions include write); fixed for the mapping's life and
     *     passed identically to the matching remove and copy calls
     * @throws MemmapException if the mapping is refused (e.g. EPERM for a writable mapping of
     *     a write-sealed object); then nothing was recorded
     * @throws IllegalArgumentException if {@code offset + ar.length()} overflows or the
     *     precondition on ranges is violated
     */
    void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException;

    /**
     * Notifies the Mappable that the mapping of {@code ar} in {@code ms} to offsets
     * {@code [offset, offset + ar.length())} is gone. May be called on a sub-range of what was
     * added (the mapping was split) or on a union of ranges added separately (mappings were
     * merged).
     *
     * <p>Preconditions: no overflow; the mapping exists; {@code writable} matches.
     */
    void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable);

    /**
     * Notifies the Mappable of an attempt to copy the mapping at {@code srcAR} in {@code ms}
     * to {@code dstAR} (mremap within one space; Linux's {@code vm_operations_struct::mremap}).
     * For most Mappables equivalent to {@code addMapping(ctx, ms, dstAR, offset, writable)}.
     * The lengths may differ and {@code srcAR} may be empty.
     *
     * @throws MemmapException if the copy is refused
     */
    void copyMapping(Context ctx, MappingSpace ms, AddrRange srcAR, AddrRange dstAR, long offset, boolean writable)
            throws MemmapException;

    /**
     * Returns translations for at least the offsets {@code required} and at most
     * {@code optional}, usable for the accesses {@code at}. If not all of {@code required} can
     * be translated the result carries an error saying why (a partial list may accompany it).
     *
     * <p>Translations stay valid until the Mappable invalidates them through
     * {@link MappingSpace#invalidate} or the caller removes its mapping. The Mappable keeps
     * at least one reference on every File page of a valid translation.
     *
     * <p>Preconditions: {@code required} non-empty; {@code optional ⊇ required}; both
     * page-aligned; the caller has added mappings of all queried offsets; the caller
     * serialises translate with invalidation.
     *
     * <p>Postconditions: those checked by {@link TranslateResult#check}.
     */
    TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at);

    /**
     * Invalidates translations that cannot survive checkpoint/restore. Never runs
     * concurrently with any other method of this Mappable.
     *
     * @throws MemmapException on failure
     */
    void invalidateUnsavable(Context ctx) throws MemmapException;

    /**
     * Checks the arguments of {@link #addMapping}, {@link #removeMapping} and
     * {@link #copyMapping}: {@code ar} non-empty and page-aligned, {@code offset} page-aligned,
     * {@code offset + ar.length()} within 2^64.
     *
     * @return the Mappable offsets mapped
     * @throws IllegalArgumentException naming the argument and its value otherwise
     */
    static MappableRange checkMapping(AddrRange ar, long offset) {
        ar.checkPageAligned("ar");
        if (!Pages.isPageAligned(offset)) {
            throw new IllegalArgumentException("offset = " + Pages.hex(offset) + " is not page-aligned");
        }
        long end = offset + ar.length();
        if (Long.compareUnsigned(end, offset) <= 0) {
            throw new IllegalArgumentException("offset = " + Pages.hex(offset) + " + length " + Pages.hex(ar.length())
                    + " overflows 2^64");
        }
        return new MappableRange(offset, end);
    }

    /**
     * Checks the arguments of {@link #translate}: both ranges non-empty and page-aligned,
     * {@code optional ⊇ required}.
     *
     * @throws IllegalArgumentException naming the argument and its value otherwise
     */
    static void checkTranslate(MappableRange required, MappableRange optional) {
        required.checkPageAligned("required");
        optional.checkPageAligned("optional");
        if (!optional.isSupersetOf(required)) {
            throw new IllegalArgumentException("optional = " + optional + " is not a superset of required = " + required);
        }
    }
}
