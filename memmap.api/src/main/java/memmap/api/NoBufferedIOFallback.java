package memmap.api;

import java.lang.foreign.MemorySegment;

/**
 * For Files whose {@link MemmapFile#mapInternal} never signals {@link BufferedIOFallback}
 * (gVisor's {@code memmap.NoBufferedIOFallback}): the buffered-I/O methods are never
 * legitimately called and throw {@link UnsupportedOperationException}.
 */
@org.osgi.annotation.versioning.ConsumerType
public interface NoBufferedIOFallback extends MemmapFile {
    @Override
    default IoResult bufferReadAt(long off, MemorySegment dst) {
        throw new UnsupportedOperationException(getClass().getName() + " never falls back to buffered I/O");
    }

    @Override
    default IoResult bufferWriteAt(long off, MemorySegment src) {
        throw new UnsupportedOperationException(getClass().getName() + " never falls back to buffered I/O");
    }
}
