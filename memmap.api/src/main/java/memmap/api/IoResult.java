package memmap.api;

/**
 * The outcome of a copy that can stop partway: {@code n} bytes were transferred, and
 * {@code error} (null on success) says why it stopped short. As with Go's
 * {@code io.ReaderAt}, a result shorter than requested always carries an error, except
 * where a method's contract says otherwise.
 *
 * @param n bytes transferred, unsigned
 * @param error why the transfer stopped early, or null
 */
public record IoResult(long n, MemmapError error) {
    private static final IoResult NONE = new IoResult(0, null);

    /** {@code n} bytes and no error. */
    public static IoResult ok(long n) {
        return n == 0 ? NONE : new IoResult(n, null);
    }

    /** True if there is no error. */
    public boolean isOk() {
        return error == null;
    }
}
