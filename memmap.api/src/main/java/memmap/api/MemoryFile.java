package memmap.api;

/**
 * The allocator of memory for anonymous mappings, copy-on-write copies and shared-memory
 * segments (gVisor's {@code pgalloc.MemoryFile}, spec §5): a {@link MemmapFile} that hands
 * out page-aligned ranges of one host file, each page reference counted. Registered as a
 * service by {@code memmap.anon}.
 *
 * <p>Invariants: a page's reference count is positive exactly while it is allocated; every
 * page {@link #allocate} returns reads as zeros; the memory file never frees a page that
 * still has a reference, even after its provider has been released.
 *
 * <p>Thread safety: every method may be called concurrently.
 */
@org.osgi.annotation.versioning.ProviderType
public interface MemoryFile extends NoBufferedIOFallback {
    /**
     * Allocates {@code length} bytes of zeroed memory with one reference owned by the caller.
     *
     * @throws IllegalArgumentException if {@code length} is zero or not page-aligned (or not
     *     huge-page aligned when {@code opts.huge()})
     * @throws MemmapException with ENOMEM if the allocation would pass the memory limit, or
     *     the host refuses to commit it; nothing is left allocated then
     * @throws IllegalStateException if the memory file has been released
     */
    FileRange allocate(long length, AllocOpts opts) throws MemmapException;

    /**
     * True if every page of {@code fr} has exactly one reference (so a copy-on-write owner
     * may take the pages over instead of copying them).
     *
     * <p>Preconditions: {@code fr} page-aligned and non-empty; references held.
     */
    boolean hasUniqueRef(FileRange fr);

    /**
     * Zeroes pages of {@code fr} in place and lets the host reclaim them, keeping the
     * references (MADV_DONTNEED on huge pages). Contents read back as zeros.
     */
    void decommit(FileRange fr) throws MemmapException;

    /**
     * The parts of {@code fr} whose pages the host has committed (they hold data or once held
     * it); the rest reads as zeros without being read. What a copy of a sparse range reads.
     *
     * <p>Postconditions: ascending, disjoint, page-aligned ranges inside {@code fr}. The default
     * reports all of {@code fr} (always correct, never sparse).
     *
     * @throws IllegalArgumentException if {@code fr} is not page-aligned
     */
    default java.util.List<FileRange> committed(FileRange fr) {
        fr.checkPageAligned("fr");
        return java.util.List.of(fr);
    }

    /** The current usage. */
    MemoryUsage usage();

    /**
     * The most bytes {@link #allocate} hands out at once (an allocation passing it fails with
     * ENOMEM), unsigned; {@code -1} (2^64 - 1) when there is no limit, the default. What a
     * health check compares {@link MemoryUsage#allocated()} with.
     *
     * @since 1.5
     */
    default long limit() {
        return -1L;
    }

    /** Gives every freed-but-retained page back to the host. */
    void releaseRetained();

    /**
     * Which memory cgroup each part of {@code fr} is charged to, in ascending order, covering
     * the allocated parts of {@code fr} (free parts are left out). Checkpoints save it so that a
     * restore charges every page to the cgroup it was charged to.
     *
     * <p>Preconditions: {@code fr} page-aligned.
     */
    default java.util.List<Charge> charges(FileRange fr) {
        fr.checkPageAligned("fr");
        return java.util.List.of(new Charge(fr, 0));
    }

    /** Part of the file and the memory cgroup it is charged to. */
    record Charge(FileRange range, int memCgId) {}
}
