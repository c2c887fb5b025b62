package memmap.api.safemem;

import memmap.api.IoResult;

/**
 * Something that writes from Blocks (gVisor's {@code safemem.Writer}, spec §3.4). A lambda is
 * a {@code WriterFunc}.
 */
@FunctionalInterface
@org.osgi.annotation.versioning.ConsumerType
public interface BlockWriter {
    /**
     * Writes up to {@code srcs.numBytes()} bytes from {@code srcs}.
     *
     * <p>Postconditions: may return a short count with no error; must not return the full
     * count together with an error.
     */
    IoResult writeFromBlocks(BlockSeq srcs);
}
