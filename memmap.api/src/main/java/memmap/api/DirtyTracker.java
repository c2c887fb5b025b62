package memmap.api;

import java.util.List;

/**
 * Dirty tracking of one address range of one {@link AddressSpace}
 * ({@link AddressSpace#trackWrites}): which pages were written since tracking started or since
 * the last {@link #collect}. What anything that copies live memory needs — a hot swap's
 * pre-copy, an incremental checkpoint — to copy again only what changed.
 *
 * <p>Done the way an MMU does it (and KVM's dirty log): while a range is tracked, its pages are
 * handed out without write permission, so the first write to a page takes the slow path, which
 * marks the page and makes it writable; {@link #collect} takes the marks and write-protects the
 * pages again. An address space nobody tracks pays nothing for it.
 *
 * <h2>What counts as written</h2>
 * A page of {@link #range} counts as written when, through this address space, {@code write},
 * {@code zero} or a write {@code fault} reaches it (a copy-on-write break too: the page then
 * has new memory), and when {@code mremap} moves a mapping into the range (every moved page
 * counts, since its address changed). Reads, {@code mprotect}, {@code madvise} and {@code msync}
 * do not count; neither do writes through other address spaces that map the same shared memory
 * (each tracks itself) nor changes a host file gets from outside.
 *
 * <h2>Across fork, mremap and munmap</h2>
 * <ul>
 * <li>fork: the child is not tracked; the parent's tracking goes on (a write that breaks the
 *     copy-on-write sharing fork made counts);</li>
 * <li>mremap: pages moved out of the range are no longer tracked; pages moved into it are
 *     reported written;</li>
 * <li>munmap: pages unmapped are no longer tracked; a page written before it was unmapped is
 *     still reported (the caller finds it unmapped); a new mapping in the range is tracked from
 *     its first write.</li>
 * </ul>
 *
 * <p>Thread safety: every method may be called concurrently with the address space's calls.
 * Lock order: {@link #collect} takes the address space's {@code activeMu} (never
 * {@code mappingMu}).
 */
@org.osgi.annotation.versioning.ProviderType
public interface DirtyTracker extends AutoCloseable {
    /** The range tracked. */
    AddrRange range();

    /**
     * The pages written since tracking started or since the last call, and clears them.
     *
     * <p>Postconditions: ascending, disjoint, non-adjacent, page-aligned ranges inside
     * {@link #range}; every page written before this call and after the previous one is in one of
     * them. A page written while this call runs is reported by this call or by the next one, never
     * by neither. Afterwards every page of the range is write-protected again.
     *
     * @throws IllegalStateException once closed
     */
    List<AddrRange> collect();

    /** Stops tracking: the pages become writable again on their next write. Idempotent. */
    @Override
    void close();
}
