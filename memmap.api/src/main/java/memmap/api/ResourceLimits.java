package memmap.api;

/**
 * The resource limits the memory manager enforces (bytes, unsigned; {@link #INFINITY} for none).
 *
 * @param addressSpace RLIMIT_AS
 * @param memlock RLIMIT_MEMLOCK
 * @param data RLIMIT_DATA
 * @param stack RLIMIT_STACK
 */
public record ResourceLimits(long addressSpace, long memlock, long data, long stack) {
    /** No limit (RLIM_INFINITY). */
    public static final long INFINITY = -1L;
    /** No limits at all. */
    public static final ResourceLimits UNLIMITED = new ResourceLimits(INFINITY, INFINITY, INFINITY, INFINITY);
    /** Linux's defaults for an unprivileged process: no AS/DATA limit, 8 MiB memlock, 8 MiB stack. */
    public static final ResourceLimits LINUX_DEFAULTS = new ResourceLimits(INFINITY, 8L << 20, INFINITY, 8L << 20);
}
