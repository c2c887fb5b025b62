package memmap.api.safemem;

import memmap.api.EndOfFile;
import memmap.api.IoResult;

/**
 * A {@link BlockReader} that reads from a Block sequence and advances through it
 * (gVisor's {@code BlockSeqReader}). A read that copies fewer bytes than requested reports
 * {@link EndOfFile}. Not thread-safe.
 */
public final class BlockSeqReader implements BlockReader {
    private BlockSeq blocks;

    /** A reader over {@code blocks}. */
    public BlockSeqReader(BlockSeq blocks) {
        this.blocks = blocks;
    }

    /** What is left to read. */
    public BlockSeq remaining() {
        return blocks;
    }

    @Override
    public IoResult readToBlocks(BlockSeq dsts) {
        IoResult r = BlockSeq.copy(dsts, blocks);
        blocks = blocks.dropFirst(r.n());
        if (r.error() != null) {
            return r;
        }
        return r.n() < dsts.numBytes() ? new IoResult(r.n(), EndOfFile.INSTANCE) : r;
    }
}
