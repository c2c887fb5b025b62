package memmap.api.checkpoint;

/**
 * What the next incremental checkpoint is taken against: the last image written, with the
 * dirty tracking started when it was taken. Holding a chain costs a reference on each private
 * page that image saved (so no page it names can be reused with other contents: the cost is
 * the memory of pages freed since, until the next checkpoint or {@link #close}) and the write
 * tracking of the address spaces saved.
 *
 * <p>Thread-safe. A chain is used by at most one checkpoint at a time; using it moves it on
 * (the new image's result holds the chain for the one after). A checkpoint against it that fails
 * (the stream broke) closes it: the writes it had tracked went into the failed image, so the next
 * image must be a full one.
 */
@org.osgi.annotation.versioning.ProviderType
public interface Chain extends AutoCloseable {
    /** The id of the last image of the chain (the parent of the next incremental image). */
    java.util.UUID imageId();

    /** How many images the chain holds: 1 after a full checkpoint. */
    int depth();

    /** Stops the tracking and drops the page references. Idempotent. */
    @Override
    void close();
}
