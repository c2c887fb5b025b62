package memmap.mm.internal;

/**
 * Something that logs writes to an address space's pages — dirty tracking, as an MMU's dirty
 * bits do it. While a log {@link #covers} a pma, the pma layer hands the pma out without write
 * permission; the first write to a page then takes the slow path, which calls {@link #written}
 * for the pages written and makes them writable. Re-arming ({@link DirtyBits#rearmLocked}) takes
 * write away again. Two logs: {@link SpaceTracker} (the API's {@link memmap.api.DirtyTracker},
 * by address) and {@link PreCopy} (a hot swap's, by Mappable offset, across address spaces).
 *
 * <p>Locking: both methods are called with the address space's {@code activeMu} held (and
 * {@code mappingMu} in either mode); {@link #written} takes only the log's own leaf lock.
 */
interface WriteLog {
    /** Whether writes to {@code [start, end)} of {@code vma} (which starts at {@code vmaStart}) are logged. */
    boolean covers(long vmaStart, Vma vma, long start, long end);

    /**
     * Pages {@code [start, end)} of {@code vma} (page-aligned, inside it, covered) are being
     * written in {@code mm}: they count as written from now until the log's next collection.
     */
    void written(MemoryManager mm, long vmaStart, Vma vma, long start, long end);

    /**
     * The bytes (a power of two, at least a page, aligned from the vma's start) one write fault
     * makes writable and logs. A page is exact; a coarser granule trades bytes copied again for
     * fewer faults. Where logs of several granules cover a page, each is told of the coarsest
     * one's range: a log may hear of more than was written, never of less.
     */
    default long granule() {
        return memmap.api.Pages.PAGE_SIZE;
    }

    /**
     * {@code [start, end)} of {@code vma} (which starts at {@code vmaStart}; it maps a Mappable
     * shared) is about to be unmapped from {@code mm}: a log by address turns what it logged
     * there into what it was, for the address no longer says. Called with mappingMu held for
     * writing and activeMu.
     */
    default void unmapping(MemoryManager mm, long vmaStart, Vma vma, long start, long end) {
    }

    /** {@code mremap} moved pages to {@code [start, end)} of {@code mm} (their addresses changed). */
    default void moved(MemoryManager mm, long start, long end) {
    }
}
