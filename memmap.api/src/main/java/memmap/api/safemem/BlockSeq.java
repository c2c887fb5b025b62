package memmap.api.safemem;

import java.util.ArrayList;
import java.util.Arrays;
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
 * their Block array and its index of where each Block ends; nothing mutates either after
 * construction.
 *
 * <p>Cost: {@link #head}, {@link #tail} and {@link #takeFirst} are O(1); {@link #numBlocks},
 * {@link #dropFirst} and {@link #blockStartOf} are O(log b) in the number of Blocks (a binary
 * search of the index), so walking a long sequence never costs more than its Blocks.
 */
public final class BlockSeq {
    /** The empty sequence. */
    public static final BlockSeq EMPTY = new BlockSeq(new Block[0], new long[0], 0, 0, 0);

    private final Block[] blocks;
    /** {@code ends[i]}: the offset in {@code blocks} just past Block {@code i} (strictly increasing). */
    private final long[] ends;
    private final int index;
    private final long headOffset;
    private final long limit;

    private BlockSeq(Block[] blocks, long[] ends, int index, long headOffset, long limit) {
        this.blocks = blocks;
        this.ends = ends;
        this.index = index;
        this.headOffset = headOffset;
        this.limit = limit;
    }

    /** The sequence of one Block; empty if the Block is. */
    public static BlockSeq of(Block block) {
        return block.isEmpty() ? EMPTY : new BlockSeq(new Block[] {block}, new long[] {block.length()}, 0, 0, block.length());
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
        long[] ends = new long[blocks.size()];
        long total = 0;
        for (Block b : blocks) {
            if (!b.isEmpty()) {
                try {
                    total = Math.addExact(total, b.length());
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("blocks: the total length overflows a long at block " + kept.size(), e);
                }
                ends[kept.size()] = total;
                kept.add(b);
            }
        }
        return total == 0 ? EMPTY : new BlockSeq(kept.toArray(Block[]::new), Arrays.copyOf(ends, kept.size()), 0, 0, total);
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
        if (limit == 0) {
            return 0;
        }
        return blockAt(base() + limit - 1) - index + 1;
    }

    /**
     * The offset in this sequence where the Block holding byte {@code n} starts: 0 for the
     * head, else the bytes before that Block. {@code dropFirst(blockStartOf(n)).head()} is
     * that Block, whole as far as this sequence reaches.
     *
     * @throws IllegalArgumentException if {@code n} is not below {@code numBytes()} (unsigned)
     */
    public long blockStartOf(long n) {
        if (Long.compareUnsigned(n, limit) >= 0) {
            throw new IllegalArgumentException("n = " + Long.toUnsignedString(n) + " is not below numBytes() = " + limit);
        }
        long base = base();
        int i = blockAt(base + n);
        return i == index ? 0 : ends[i - 1] - base;
    }

    /** The offset in {@code blocks} of this sequence's first byte. */
    private long base() {
        return (index == 0 ? 0 : ends[index - 1]) + headOffset;
    }

    /** The index of the Block holding offset {@code abs} of {@code blocks} (abs below the last end, at or after base()). */
    private int blockAt(long abs) {
        int lo = index;
        int hi = blocks.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] > abs) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
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
        if (isEmpty()) {
            throw new IllegalStateException("tail of an empty BlockSeq");
        }
        long headLength = blocks[index].length() - headOffset;
        if (headLength >= limit) {
            return EMPTY;
        }
        return new BlockSeq(blocks, ends, index + 1, 0, limit - headLength);
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
        long abs = base() + n;
        int i = blockAt(abs);
        return new BlockSeq(blocks, ends, i, abs - (i == 0 ? 0 : ends[i - 1]), limit - n);
    }

    /**
     * The first {@code n} bytes; empty if {@code n == 0}, unchanged if {@code n >= numBytes()}.
     * {@code n} is unsigned (gVisor's uint64): 2^63 and more drop or take everything.
     */
    public BlockSeq takeFirst(long n) {
        if (n == 0) {
            return EMPTY;
        }
        return Long.compareUnsigned(n, limit) >= 0 ? this : new BlockSeq(blocks, ends, index, headOffset, n);
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
