package memmap.api;

import java.util.Objects;

/**
 * An error that must surface to the application as SIGBUS rather than SIGSEGV if it
 * happens while handling a page fault (gVisor's {@code memmap.BusError}, spec §1.4).
 * Returned by {@link Mappable#translate} (e.g. an access past the end of a truncated file)
 * or by {@link MemmapFile#mapInternal}. On the system-call path it becomes EFAULT.
 *
 * @param cause the original error
 */
public record BusError(MemmapError cause) implements MemmapError {
    public BusError {
        Objects.requireNonNull(cause, "cause");
    }

    /** {@code "BusError: " + cause.message()}. */
    @Override
    public String message() {
        return "BusError: " + cause.message();
    }

    @Override
    public String toString() {
        return message();
    }
}
