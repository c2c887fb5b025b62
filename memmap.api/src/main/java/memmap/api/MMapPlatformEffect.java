package memmap.api;

/**
 * The synchronous effect of an mmap on the platform address space
 * (gVisor's {@code memmap.MMapPlatformEffect}, spec §1.10). Ordered: callers test
 * {@code effect.compareTo(POPULATE) >= 0}.
 */
public enum MMapPlatformEffect {
    /** No specific behaviour requested. The zero value. */
    DEFAULT,
    /** Establish platform mappings for every page of the mapping now. */
    POPULATE,
    /** Like {@link #POPULATE}, and also commit memory for the mapping eagerly. */
    COMMIT
}
