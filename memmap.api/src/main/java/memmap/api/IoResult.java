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
    /** The results of the sizes of single loads and stores, made once: {@code SMALL[n]} is {@code ok(n)}. */
    private static final IoResult[] SMALL = new IoResult[65];

    static {
        for (int i = 0; i < SMALL.length; i++) {
            SMALL[i] = new IoResult(i, null);
        }
    }

    /** {@code n} bytes and no error (one shared instance for each {@code n} up to 64). */
    public static IoResult ok(long n) {
        return Long.compareUnsigned(n, SMALL.length) < 0 ? SMALL[(int) n] : new IoResult(n, null);
    }

    /** True if there is no error. */
    public boolean isOk() {
        return error == null;
    }
}
