package memmap.api.safemem;

import memmap.api.IoResult;

/**
 * A {@link BlockWriter} that writes into a Block sequence and advances through it
 * (gVisor's {@code BlockSeqWriter}). A write that copies fewer bytes than offered reports
 * {@link BlockIO#END_OF_BLOCK_SEQ}. Not thread-safe.
 */
public final class BlockSeqWriter implements BlockWriter {
    private BlockSeq blocks;

    /** A writer into {@code blocks}. */
    public BlockSeqWriter(BlockSeq blocks) {
        this.blocks = blocks;
    }

    /** What is left to write into. */
    public BlockSeq remaining() {
        return blocks;
    }

    @Override
    public IoResult writeFromBlocks(BlockSeq srcs) {
        IoResult r = BlockSeq.copy(blocks, srcs);
        blocks = blocks.dropFirst(r.n());
        if (r.error() != null) {
            return r;
        }
        return r.n() < srcs.numBytes() ? new IoResult(r.n(), BlockIO.END_OF_BLOCK_SEQ) : r;
    }
}
