package memmap.api.provider;

import memmap.api.IoResult;
import memmap.api.MemmapFile;
import memmap.api.safemem.BlockSeq;

/**
 * How memory-mapped I/O is done for a {@link MemmapFile} whose {@code mapInternal} signalled
 * {@link memmap.api.BufferedIOFallback}: a pluggable service (direct positional I/O, a pooled
 * bounce buffer with read-ahead, ...). Callers take the highest-ranked one from the service
 * registry for each copy, so a deployment can switch strategies while I/O is in flight.
 *
 * <p>Both methods follow {@code io.ReaderAt} semantics: they never come back short without
 * an error; end of file and errors are reported beside the bytes done.
 *
 * <p>Preconditions: references are held on the file pages touched.
 *
 * <p>Thread safety: every method may be called concurrently.
 */
@org.osgi.annotation.versioning.ProviderType
public interface BufferedIOFallbackStrategy {
    /** Service property naming the strategy. */
    String NAME = "memmap.fallback.strategy";

    /** The strategy's name, e.g. {@code direct} or {@code bounce}. */
    String name();

    /** Reads {@code dsts.numBytes()} bytes of {@code file} from {@code offset} into {@code dsts}. */
    IoResult read(MemmapFile file, long offset, BlockSeq dsts);

    /** Writes {@code srcs} into {@code file} from {@code offset}. */
    IoResult write(MemmapFile file, long offset, BlockSeq srcs);
}
