package memmap.api.safemem;

import memmap.api.IoResult;

/**
 * Something that reads into Blocks (gVisor's {@code safemem.Reader}, spec §3.4). A lambda is
 * a {@code ReaderFunc}.
 */
@FunctionalInterface
@org.osgi.annotation.versioning.ConsumerType
public interface BlockReader {
    /**
     * Reads up to {@code dsts.numBytes()} bytes into {@code dsts}.
     *
     * <p>Postconditions: may return a short count with no error; must not return the full
     * count together with an error (unlike {@code java.io}, end of file must not accompany a
     * full read).
     */
    IoResult readToBlocks(BlockSeq dsts);
}
