package memmap.api.safemem;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.function.Consumer;

import memmap.api.IoResult;

/**
 * An immutable sequence of non-empty {@link Block}s with a byte limit (gVisor's
 * {@code safemem.BlockSeq}, spec §3.2): what {@code MemmapFile.mapInternal} returns and what
 * copies run between.
 *
 * <p>Invariants: empty ⇔ {@code numBytes() == 0} ⇔ {@code numBlocks() == 0}. Empty Blocks
 * given to {@link #of(List)} are dropped, so iteration never yields one. Sequences share
 * their Block array; nothing mutates it after construction.
 */
public final class BlockSeq {
    /** The empty sequence. */
    public static final BlockSeq EMPTY = new BlockSeq(new Block[0], 0, 0, 0);

    private final Block[] blocks;
    private final int index;
    private final long headOffset;
    private final long limit;

    private BlockSeq(Block[] blocks, int index, long headOffset, long limit) {
        this.blocks = blocks;
        this.index = index;
        this.headOffset = headOffset;
        this.limit = limit;
    }

    /** The sequence of one Block; empty if the Block is. */
    public static BlockSeq of(Block block) {
        return block.isEmpty() ? EMPTY : new BlockSeq(new Block[] {block}, 0, 0, block.length());
    }

    /** A sequence of the given Blocks, in order, without the empty ones. */
    public static BlockSeq of(Block... blocks) {
        return of(List.of(blocks));
    }

    /**
     * A sequence of the given Blocks, in order, without the empty ones.
     *
     * @throws IllegalArgumentException if the total length overflows a long
     */
    public static BlockSeq of(List<Block> blocks) {
        List<Block> kept = new ArrayList<>(blocks.size());
        long total = 0;
        for (Block b : blocks) {
            if (!b.isEmpty()) {
                kept.add(b);
                total = Math.addExact(total, b.length());
            }
        }
        return total == 0 ? EMPTY : new BlockSeq(kept.toArray(Block[]::new), 0, 0, total);
    }

    /** True if the sequence has no bytes. */
    public boolean isEmpty() {
        return limit == 0;
    }

    /** The number of bytes. */
    public long numBytes() {
        return limit;
    }

    /** The number of (non-empty) Blocks. */
    public int numBlocks() {
        int count = 0;
        for (BlockSeq s = this; !s.isEmpty(); s = s.tail()) {
            count++;
        }
        return count;
    }

    /**
     * The first Block, truncated to the limit.
     *
     * @throws IllegalStateException if the sequence is empty
     */
    public Block head() {
        if (isEmpty()) {
            throw new IllegalStateException("head of an empty BlockSeq");
        }
        return blocks[index].dropFirst(headOffset).takeFirst(limit);
    }

    /**
     * Everything after the head; empty once the head reaches the limit.
     *
     * @throws IllegalStateException if the sequence is empty
     */
    public BlockSeq tail() {
        long headLength = head().length();
        if (headLength >= limit) {
            return EMPTY;
        }
        return new BlockSeq(blocks, index + 1, 0, limit - headLength);
    }

    /**
     * The sequence without its first {@code n} bytes (possibly across Blocks); empty if
     * {@code n >= numBytes()}.
     * {@code n} is unsigned (gVisor's uint64): 2^63 and more drop or take everything.
     */
    public BlockSeq dropFirst(long n) {
        if (n == 0) {
            return this;
        }
        if (Long.compareUnsigned(n, limit) >= 0) {
            return EMPTY;
        }
        int i = index;
        long off = headOffset;
        long left = n;
        while (true) {
            long avail = blocks[i].length() - off;
            if (left < avail) {
                return new BlockSeq(blocks, i, off + left, limit - n);
            }
            left -= avail;
            i++;
            off = 0;
        }
    }

    /**
     * The first {@code n} bytes; empty if {@code n == 0}, unchanged if {@code n >= numBytes()}.
     * {@code n} is unsigned (gVisor's uint64): 2^63 and more drop or take everything.
     */
    public BlockSeq takeFirst(long n) {
        if (n == 0) {
            return EMPTY;
        }
        return Long.compareUnsigned(n, limit) >= 0 ? this : new BlockSeq(blocks, index, headOffset, n);
    }

    /** Calls {@code f} on each Block in order. */
    public void forEach(Consumer<Block> f) {
        for (BlockSeq s = this; !s.isEmpty(); s = s.tail()) {
            f.accept(s.head());
        }
    }

    /** The Blocks in order. */
    public List<Block> toList() {
        List<Block> out = new ArrayList<>();
        forEach(out::add);
        return out;
    }

    /**
     * Copies from {@code srcs} to {@code dsts} until either is exhausted (gVisor's
     * {@code CopySeq}); stops at the first fault with the bytes copied so far.
     */
    public static IoResult copy(BlockSeq dsts, BlockSeq srcs) {
        if (dsts.isEmpty() || srcs.isEmpty()) {
            return IoResult.ok(0);
        }
        Block dh = dsts.head();
        Block sh = srcs.head();
        if (dh.length() == dsts.limit && sh.length() == srcs.limit) {
            return Block.copy(dh, sh); // both single Blocks: the common case of chunk mappings
        }
        long done = 0;
        while (!dsts.isEmpty() && !srcs.isEmpty()) {
            IoResult r = Block.copy(dsts.head(), srcs.head());
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error());
            }
            dsts = dsts.dropFirst(r.n());
            srcs = srcs.dropFirst(r.n());
        }
        return IoResult.ok(done);
    }

    /** Zero-fills every Block (gVisor's {@code ZeroSeq}); stops at the first fault. */
    public static IoResult zero(BlockSeq dsts) {
        long done = 0;
        for (BlockSeq s = dsts; !s.isEmpty(); s = s.tail()) {
            IoResult r = Block.zero(s.head());
            done += r.n();
            if (r.error() != null) {
                return new IoResult(done, r.error());
            }
        }
        return IoResult.ok(done);
    }

    /** {@code "[" + Blocks joined by " " + "]"}. */
    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(" ", "[", "]");
        forEach(b -> j.add(b.toString()));
        return j.toString();
    }
}
