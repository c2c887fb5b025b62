package memmap.api;

/**
 * The buffered-I/O fallback signal (gVisor's {@code memmap.BufferedIOFallbackErr}, spec
 * §1.12): returned by {@link MemmapFile#mapInternal} implementations that cannot map the
 * file into this process but can still serve memory-mapped I/O through
 * {@link MemmapFile#bufferReadAt} and {@link MemmapFile#bufferWriteAt}. Matched by type;
 * if it leaks to a system call it becomes ENODEV.
 */
public enum BufferedIOFallback implements MemmapError {
    /** The only value. */
    INSTANCE;

    @Override
    public String message() {
        return "memmap.File.MapInternal() is unsupported, fall back to buffered R/W for internally-mapped I/O";
    }
}
