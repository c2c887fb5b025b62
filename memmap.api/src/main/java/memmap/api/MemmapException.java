package memmap.api;

import java.util.Objects;

/**
 * A {@link MemmapError} thrown by an operation that either succeeds or fails as a whole
 * (e.g. {@link Mappable#addMapping}, {@link MemmapFile#mapInternal}).
 */
public class MemmapException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient MemmapError error;

    /** An exception carrying {@code error}. */
    public MemmapException(MemmapError error) {
        super(Objects.requireNonNull(error, "error").message());
        this.error = error;
    }

    /** An exception carrying {@code error}, caused by {@code cause}. */
    public MemmapException(MemmapError error, Throwable cause) {
        super(Objects.requireNonNull(error, "error").message(), cause);
        this.error = error;
    }

    /** The error value. */
    public MemmapError error() {
        return error;
    }

    /** The errno a system call would return for this error (see {@link MemmapError#toErrno()}). */
    public Errno errno() {
        return error.toErrno();
    }
}
