package memmap.api;

/**
 * A fault taken while copying to or from memory that may fault (safemem's
 * {@code safecopy.SegvError} / {@code safecopy.BusError}): typically a mapped page of a host
 * file past its current end. The copy returns the bytes done before the fault beside this
 * error; it never crashes the JVM.
 *
 * @param bus true for a bus error (SIGBUS), false for a segmentation fault (SIGSEGV)
 * @param detail what the host reported
 */
public record HostFault(boolean bus, String detail) implements MemmapError {
    @Override
    public String message() {
        return (bus ? "host SIGBUS during copy: " : "host SIGSEGV during copy: ") + detail;
    }
}
