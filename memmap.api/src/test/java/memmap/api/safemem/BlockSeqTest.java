package memmap.api.safemem;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** gVisor's seq_test.go (spec §3.3): Block sequences over strings. */
class BlockSeqTest {
    static Block block(String s) {
        return Block.ofArray(s.getBytes(StandardCharsets.US_ASCII));
    }

    static String text(Block b) {
        return new String(b.toArray(), StandardCharsets.US_ASCII);
    }

    @Test
    void ofEmptyBlockIsEmpty() {
        BlockSeq bs = BlockSeq.of(Block.EMPTY);
        assertTrue(bs.isEmpty());
        assertEquals(0, bs.numBlocks());
        assertThrows(IllegalStateException.class, bs::head);
        assertThrows(IllegalStateException.class, bs::tail);
    }

    @Test
    void ofNonEmptyBlock() {
        Block b = Block.ofArray(new byte[1]);
        BlockSeq bs = BlockSeq.of(b);
        assertFalse(bs.isEmpty());
        assertEquals(b, bs.head());
        assertTrue(bs.tail().isEmpty());
    }

    /** desc, pieces, offset (-1: none), limit (-1: none), the expected non-empty pieces. */
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("empty sequence", List.of(), -1, -1, List.of()),
                Arguments.of("one block", List.of("foobar"), -1, -1, List.of("foobar")),
                Arguments.of("two blocks", List.of("foo", "bar"), -1, -1, List.of("foo", "bar")),
                Arguments.of("empty blocks", List.of("", "foo", "", "", "bar", ""), -1, -1, List.of("foo", "bar")),
                Arguments.of("offset", List.of("foo", "bar"), 2, -1, List.of("o", "bar")),
                Arguments.of("limit", List.of("foo", "bar"), -1, 5, List.of("foo", "ba")),
                Arguments.of("offset and limit", List.of("foo", "bar"), 2, 3, List.of("o", "ba")));
    }

    static BlockSeq seq(List<String> pieces, long offset, long limit) {
        List<Block> blocks = new ArrayList<>();
        for (String p : pieces) {
            blocks.add(block(p));
        }
        BlockSeq bs = BlockSeq.of(blocks);
        if (offset >= 0) {
            bs = bs.dropFirst(offset);
        }
        if (limit >= 0) {
            bs = bs.takeFirst(limit);
        }
        return bs;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void sequences(String desc, List<String> pieces, long offset, long limit, List<String> want) {
        BlockSeq bs = seq(pieces, offset, limit);
        String joined = String.join("", want);
        assertEquals(joined.length(), bs.numBytes());
        assertEquals(want.size(), bs.numBlocks());
        assertEquals(want.isEmpty(), bs.isEmpty());
        // Head/Tail iteration yields exactly the expected pieces.
        List<String> got = new ArrayList<>();
        for (BlockSeq s = bs; !s.isEmpty(); s = s.tail()) {
            got.add(text(s.head()));
        }
        assertEquals(want, got);
        // Byte-wise DropFirst(1) iteration yields every byte in order.
        StringBuilder bytes = new StringBuilder();
        for (BlockSeq s = bs; !s.isEmpty(); s = s.dropFirst(1)) {
            bytes.append(text(s.head().takeFirst(1)));
        }
        assertEquals(joined, bytes.toString());
    }

    @Test
    void takeFirstThenDropBeyondTheLimit() {
        BlockSeq bs = seq(List.of("foo", "bar"), -1, -1).takeFirst(1);
        assertEquals(1, bs.numBytes());
        assertTrue(bs.dropFirst(2).isEmpty());
        assertEquals("f", text(bs.head()));
        assertTrue(bs.takeFirst(0).isEmpty());
        assertSame(bs, bs.takeFirst(10));
    }

    @Test
    void countsAreUnsignedLikeGVisorsUint64() {
        BlockSeq bs = seq(List.of("foo", "bar"), -1, -1);
        for (long n : new long[] {-1L, Long.MIN_VALUE, 1L << 63 | 5, -4096L}) {
            assertTrue(bs.dropFirst(n).isEmpty(), "dropFirst(" + Long.toUnsignedString(n) + ") drops everything");
            assertSame(bs, bs.takeFirst(n), "takeFirst(" + Long.toUnsignedString(n) + ") takes everything");
            assertTrue(block("x").dropFirst(n).isEmpty());
            assertEquals("x", text(block("x").takeFirst(n)));
        }
        assertEquals("obar", text(bs.dropFirst(2).head()) + text(bs.dropFirst(2).tail().head()));
        assertEquals(6, bs.takeFirst(Long.MAX_VALUE).numBytes());
    }

    @Test
    void blockClamping() {
        Block b = block("abc");
        assertTrue(b.dropFirst(3).isEmpty());
        assertTrue(b.dropFirst(10).isEmpty());
        assertSame(b, b.takeFirst(3));
        assertTrue(b.takeFirst(0).isEmpty());
        assertEquals("bc", text(b.dropFirst(1)));
    }

    @Test
    void copyAcrossBlockBoundaries() {
        BlockSeq src = seq(List.of("ab", "cde", "f"), -1, -1);
        byte[] d1 = new byte[4];
        byte[] d2 = new byte[4];
        BlockSeq dst = BlockSeq.of(Block.ofArray(d1), Block.ofArray(d2));
        assertEquals(new memmap.api.IoResult(6, null), BlockSeq.copy(dst, src));
        assertEquals("abcd", new String(d1, StandardCharsets.US_ASCII));
        assertEquals("ef", new String(d2, 0, 2, StandardCharsets.US_ASCII));
        assertEquals(8, BlockSeq.zero(dst).n());
        assertArrayEquals(new byte[4], d1);
        assertEquals(0, BlockSeq.copy(BlockSeq.EMPTY, src).n());
    }

    @Test
    void strings() {
        assertEquals("<nil>", Block.EMPTY.toString());
        assertEquals("[]", BlockSeq.EMPTY.toString());
        Block native1 = Block.ofUnsafe(java.lang.foreign.MemorySegment.ofAddress(0x1000).reinterpret(0x10));
        assertEquals("[0x1000-0x1010)*", native1.toString());
        assertEquals("[[0x1000-0x1010)*]", BlockSeq.of(native1).toString());
    }
}
