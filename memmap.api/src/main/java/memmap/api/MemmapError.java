package memmap.api;

/**
 * An error value, as Go's {@code error} is in gVisor. Operations that can fail partway
 * (translate, copies, buffered I/O) return an error value beside a partial result;
 * operations that either succeed or fail throw a {@link MemmapException} carrying one.
 *
 * <p>The hierarchy is sealed so the conversions gVisor makes by type switch can be written
 * as exhaustive pattern matches: {@link BusError} becomes SIGBUS on the fault path and
 * EFAULT on the syscall path; {@link BufferedIOFallback} becomes ENODEV if it leaks to a
 * system call; {@link HostFault} is a fault taken while copying memory that may fault.
 */
public sealed interface MemmapError permits Errno, BusError, BufferedIOFallback, HostFault, EndOfFile {
    /** The message, as Go's {@code Error()}. */
    String message();

    /** This error as a throwable. */
    default MemmapException toException() {
        return new MemmapException(this);
    }

    /**
     * The errno a system call returns for this error: {@link BusError} and {@link HostFault}
     * → EFAULT, {@link BufferedIOFallback} → ENODEV, {@link EndOfFile} → EFAULT, an
     * {@link Errno} itself.
     */
    default Errno toErrno() {
        return switch (this) {
            case Errno e -> e;
            case BusError b -> Errno.EFAULT;
            case HostFault h -> Errno.EFAULT;
            case BufferedIOFallback f -> Errno.ENODEV;
            case EndOfFile eof -> Errno.EFAULT;
        };
    }
}
