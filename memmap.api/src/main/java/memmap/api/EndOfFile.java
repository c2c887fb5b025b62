package memmap.api;

/** End of file, as Go's {@code io.EOF}: reported beside the bytes done by a short read. */
public enum EndOfFile implements MemmapError {
    /** The only value. */
    INSTANCE;

    @Override
    public String message() {
        return "EOF";
    }
}
