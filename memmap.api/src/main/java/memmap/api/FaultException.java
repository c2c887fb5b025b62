package memmap.api;

/**
 * A page fault that could not be handled (gVisor's fault path, spec §1.4, §4.5): the signal
 * the application would get and the address that faulted. A {@link BusError} from the
 * Mappable or a copy becomes SIGBUS; a missing mapping or permission SIGSEGV.
 */
public class FaultException extends MemmapException {
    private static final long serialVersionUID = 1L;

    /** The signal a faulting application gets. */
    public enum Signal {
        /** No mapping, or not the permission (SEGV_MAPERR / SEGV_ACCERR). */
        SIGSEGV,
        /** The mapping exists but its memory cannot be had (past the end of a file, a host fault). */
        SIGBUS
    }

    private final transient long address;
    private final Signal signal;

    /** A fault at {@code address}: SIGBUS if {@code error} is a {@link BusError}, else SIGSEGV. */
    public FaultException(long address, MemmapError error) {
        super(error);
        this.address = address;
        this.signal = error instanceof BusError ? Signal.SIGBUS : Signal.SIGSEGV;
    }

    /** The faulting address. */
    public long address() {
        return address;
    }

    /** The signal. */
    public Signal signal() {
        return signal;
    }

    @Override
    public String getMessage() {
        return signal + " at " + Pages.hex(address) + ": " + super.getMessage();
    }
}
