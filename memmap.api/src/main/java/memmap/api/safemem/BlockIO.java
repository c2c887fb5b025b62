package memmap.api.safemem;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.IoResult;

/**
 * Loops and adapters between Block sequences and readers, writers and channels (gVisor's
 * {@code safemem/io.go}, spec §3.4).
 */
public final class BlockIO {
    /** The error of a write past the end of a {@link BlockSeqWriter}'s sequence. */
    public static final Errno END_OF_BLOCK_SEQ = Errno.ENOSPC.withDetail("write beyond end of BlockSeq");

    private BlockIO() {}

    /**
     * Calls {@code r} until {@code dsts} is full or it returns an error
     * ({@code ReadFullToBlocks}). A reader that keeps returning zero bytes without an error
     * makes this loop forever, as in gVisor.
     */
    public static IoResult readFull(BlockReader r, BlockSeq dsts) {
        long done = 0;
        while (!dsts.isEmpty()) {
            IoResult res = r.readToBlocks(dsts);
            done += res.n();
            if (res.error() != null) {
                return new IoResult(done, res.error());
            }
            dsts = dsts.dropFirst(res.n());
        }
        return IoResult.ok(done);
    }

    /** Calls {@code w} until {@code srcs} is written or it returns an error ({@code WriteFullFromBlocks}). */
    public static IoResult writeFull(BlockWriter w, BlockSeq srcs) {
        long done = 0;
        while (!srcs.isEmpty()) {
            IoResult res = w.writeFromBlocks(srcs);
            done += res.n();
            if (res.error() != null) {
                return new IoResult(done, res.error());
            }
            srcs = srcs.dropFirst(res.n());
        }
        return IoResult.ok(done);
    }

    /**
     * A reader over a channel ({@code FromIOReader}): one {@code read} per destination Block;
     * a Block left short ends the call with that read's outcome (end of stream is
     * {@link EndOfFile}); Blocks that need safecopy are read through a bounce buffer.
     */
    public static BlockReader fromChannel(ReadableByteChannel ch) {
        return dsts -> {
            long done = 0;
            for (BlockSeq s = dsts; !s.isEmpty(); s = s.tail()) {
                Block b = s.head();
                int want = (int) Math.min(b.length(), Integer.MAX_VALUE);
                int n;
                try {
                    if (b.needSafecopy()) {
                        byte[] tmp = new byte[want];
                        n = ch.read(ByteBuffer.wrap(tmp));
                        if (n > 0) {
                            IoResult c = Block.copy(b, Block.ofArray(tmp).takeFirst(n));
                            if (c.error() != null) {
                                return new IoResult(done + c.n(), c.error());
                            }
                        }
                    } else {
                        n = ch.read(b.segment().asSlice(0, want).asByteBuffer());
                    }
                } catch (IOException e) {
                    return new IoResult(done, Errno.EIO.withDetail(String.valueOf(e.getMessage())));
                }
                if (n < 0) {
                    return new IoResult(done, EndOfFile.INSTANCE);
                }
                done += n;
                if (n < want) {
                    return IoResult.ok(done);
                }
            }
            return IoResult.ok(done);
        };
    }

    /**
     * A writer over a channel ({@code FromIOWriter}): one {@code write} per source Block;
     * stops at the first short write (no error) or failure. Blocks that need safecopy are
     * copied into a bounce buffer first.
     */
    public static BlockWriter toChannel(WritableByteChannel ch) {
        return srcs -> {
            long done = 0;
            for (BlockSeq s = srcs; !s.isEmpty(); s = s.tail()) {
                Block b = s.head();
                int want = (int) Math.min(b.length(), Integer.MAX_VALUE);
                ByteBuffer buf;
                if (b.needSafecopy()) {
                    byte[] tmp = new byte[want];
                    IoResult c = Block.copy(Block.ofArray(tmp), b);
                    buf = ByteBuffer.wrap(tmp, 0, (int) c.n());
                    if (c.error() != null) {
                        IoResult w = writeBuffer(ch, buf, done);
                        return w.error() != null ? w : new IoResult(w.n(), c.error());
                    }
                } else {
                    buf = b.segment().asSlice(0, want).asByteBuffer();
                }
                IoResult w = writeBuffer(ch, buf, done);
                if (w.error() != null || w.n() - done < want) {
                    return w;
                }
                done = w.n();
            }
            return IoResult.ok(done);
        };
    }

    private static IoResult writeBuffer(WritableByteChannel ch, ByteBuffer buf, long done) {
        try {
            return IoResult.ok(done + ch.write(buf));
        } catch (IOException e) {
            return new IoResult(done, Errno.EIO.withDetail(String.valueOf(e.getMessage())));
        }
    }

}
