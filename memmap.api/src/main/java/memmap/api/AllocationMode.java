package memmap.api;

/** When allocated memory is committed (gVisor's {@code pgalloc.AllocationMode}, spec §5.2). */
public enum AllocationMode {
    /** Pages are committed when first touched. */
    UNCOMMITTED,
    /** The caller will touch the pages at once, committing them itself. */
    CALLER_INDIRECT_COMMIT,
    /** Commit the memory now ({@code fallocate}). */
    COMMIT,
    /** Commit and map the memory now, as by writing every page ({@code MADV_POPULATE_WRITE}). */
    WRITE_POPULATE
}
