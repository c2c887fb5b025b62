package memmap.api.safemem;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * The indexed BlockSeq (binary search over where each Block ends) against a model that walks:
 * random Block lists (empty Blocks among them), random chains of dropFirst/takeFirst/tail, and
 * after every step numBytes, numBlocks, every Block's bytes, and blockStartOf at random offsets
 * compared with the model's. Reproducible by seed.
 */
class BlockSeqIndexTest {
    /** The model: the bytes of each (non-empty) Block of the sequence, in order. */
    static List<byte[]> model(List<byte[]> blocks, long drop, long take) {
        List<byte[]> out = new ArrayList<>();
        long pos = 0;
        for (byte[] b : blocks) {
            long s = Math.max(pos, drop);
            long e = Math.min(pos + b.length, drop + take);
            if (s < e) {
                byte[] part = new byte[(int) (e - s)];
                System.arraycopy(b, (int) (s - pos), part, 0, part.length);
                out.add(part);
            }
            pos += b.length;
        }
        return out;
    }

    @Test
    void generatedChainsAgreeWithTheWalkingModel() {
        for (long seed = 1; seed <= 400; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            List<byte[]> raw = new ArrayList<>();
            List<Block> blocks = new ArrayList<>();
            int n = rnd.nextInt(1, 40);
            int v = 0;
            for (int i = 0; i < n; i++) {
                byte[] b = new byte[rnd.nextInt(4) == 0 ? 0 : rnd.nextInt(1, 20)];
                for (int j = 0; j < b.length; j++) {
                    b[j] = (byte) v++;
                }
                raw.add(b);
                blocks.add(Block.ofArray(b));
            }
            BlockSeq bs = BlockSeq.of(blocks);
            long drop = 0;
            long take = bs.numBytes();
            StringBuilder program = new StringBuilder("seed " + seed + ":");
            for (int step = 0; step < 30 && !bs.isEmpty(); step++) {
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        long k = rnd.nextLong(bs.numBytes() + 2);
                        program.append(" dropFirst(").append(k).append(')');
                        bs = bs.dropFirst(k);
                        drop += Math.min(k, take);
                        take -= Math.min(k, take);
                    }
                    case 1 -> {
                        long k = rnd.nextLong(bs.numBytes() + 2);
                        program.append(" takeFirst(").append(k).append(')');
                        bs = bs.takeFirst(k);
                        take = Math.min(k, take);
                    }
                    default -> {
                        long head = bs.head().length();
                        program.append(" tail()");
                        bs = bs.tail();
                        drop += head;
                        take -= head;
                    }
                }
                List<byte[]> want = model(raw, drop, take);
                String at = program.toString();
                assertEquals(take, bs.numBytes(), at);
                assertEquals(want.size(), bs.numBlocks(), at);
                List<Block> got = bs.toList();
                assertEquals(want.size(), got.size(), at);
                long off = 0;
                List<Long> starts = new ArrayList<>();
                for (int i = 0; i < want.size(); i++) {
                    assertArrayEquals(want.get(i), got.get(i).toArray(), at + " block " + i);
                    starts.add(off);
                    off += want.get(i).length;
                }
                for (int probe = 0; probe < 5 && take > 0; probe++) {
                    long k = rnd.nextLong(take);
                    long expect = 0;
                    for (long s : starts) {
                        if (s <= k) {
                            expect = s;
                        }
                    }
                    assertEquals(expect, bs.blockStartOf(k), at + " blockStartOf(" + k + ")");
                    assertArrayEquals(want.get(starts.indexOf(expect)), bs.dropFirst(expect).head().toArray(), at);
                }
            }
        }
    }

    @Test
    void blockStartOfRefusesOffsetsPastTheEnd() {
        BlockSeq bs = BlockSeq.of(Block.ofArray(new byte[3]), Block.ofArray(new byte[2]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bs.blockStartOf(5));
        assertTrue(e.getMessage().contains("n = 5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bs.blockStartOf(-1));
        assertEquals(3, bs.blockStartOf(4));
        assertEquals(0, bs.dropFirst(1).blockStartOf(1));
        assertEquals(2, bs.dropFirst(1).blockStartOf(2));
    }
}
