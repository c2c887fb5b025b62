package memmap.api.safemem;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.IoResult;

/** gVisor's io_test.go (spec §3.3–3.4): readers, writers and the full loops. */
class BlockIOTest {
    static BlockSeq bytes(byte[]... arrays) {
        Block[] blocks = new Block[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            blocks[i] = Block.ofArray(arrays[i]);
        }
        return BlockSeq.of(blocks);
    }

    /** A channel that returns at most {@code max} bytes per read. */
    static ReadableByteChannel trickle(byte[] data, int max) {
        ReadableByteChannel in = Channels.newChannel(new java.io.ByteArrayInputStream(data));
        return new ReadableByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws java.io.IOException {
                ByteBuffer limited = dst.slice(dst.position(), Math.min(dst.remaining(), max));
                int n = in.read(limited);
                if (n > 0) {
                    dst.position(dst.position() + n);
                }
                return n;
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public void close() {}
        };
    }

    @Test
    void fromChannelFullRead() {
        byte[] a = new byte[3];
        byte[] b = new byte[3];
        IoResult r = BlockIO.fromChannel(trickle("foobar".getBytes(), 100)).readToBlocks(bytes(a, b));
        assertEquals(IoResult.ok(6), r);
        assertEquals("foo", new String(a));
        assertEquals("bar", new String(b));
    }

    @Test
    void fromChannelPartialReadStopsAtTheShortBlock() {
        byte[] a = new byte[3];
        byte[] b = new byte[3];
        IoResult r = BlockIO.fromChannel(trickle("foobar".getBytes(), 2)).readToBlocks(bytes(a, b));
        assertEquals(IoResult.ok(2), r, "a short read with no error ends the call without an error");
        assertEquals("fo", new String(a, 0, 2));
    }

    @Test
    void fromChannelEndOfStream() {
        IoResult r = BlockIO.fromChannel(trickle(new byte[0], 2)).readToBlocks(bytes(new byte[3]));
        assertEquals(new IoResult(0, EndOfFile.INSTANCE), r);
    }

    @Test
    void readFullLoopsOverShortReads() {
        byte[] a = new byte[4];
        byte[] b = new byte[2];
        BlockReader r = BlockIO.fromChannel(trickle("foobar".getBytes(), 1));
        assertEquals(IoResult.ok(6), BlockIO.readFull(r, bytes(a, b)));
        assertEquals("foob", new String(a));
        assertEquals("ar", new String(b));
        IoResult eof = BlockIO.readFull(BlockIO.fromChannel(trickle("ab".getBytes(), 1)), bytes(new byte[4]));
        assertEquals(new IoResult(2, EndOfFile.INSTANCE), eof);
    }

    @Test
    void unsafeBlocksAreBouncedOnRead() {
        try (Arena arena = Arena.ofConfined()) {
            Block native1 = Block.ofUnsafe(arena.allocate(6));
            assertEquals(IoResult.ok(6), BlockIO.readFull(BlockIO.fromChannel(trickle("foobar".getBytes(), 4)), BlockSeq.of(native1)));
            assertEquals("foobar", new String(native1.toArray()));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(IoResult.ok(6), BlockIO.writeFull(BlockIO.toChannel(Channels.newChannel(out)), BlockSeq.of(native1)));
            assertEquals("foobar", out.toString(StandardCharsets.US_ASCII));
        }
    }

    @Test
    void toChannelWritesEveryBlock() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IoResult r = BlockIO.toChannel(Channels.newChannel(out)).writeFromBlocks(bytes("foo".getBytes(), "bar".getBytes()));
        assertEquals(IoResult.ok(6), r);
        assertEquals("foobar", out.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void blockSeqReaderReportsEndOfFile() {
        BlockSeqReader r = new BlockSeqReader(bytes("foo".getBytes()));
        byte[] dst = new byte[2];
        assertEquals(IoResult.ok(2), r.readToBlocks(bytes(dst)));
        assertEquals("fo", new String(dst));
        assertEquals(new IoResult(1, EndOfFile.INSTANCE), r.readToBlocks(bytes(new byte[2])));
        assertTrue(r.remaining().isEmpty());
    }

    @Test
    void blockSeqWriterReportsTheEndOfItsSequence() {
        byte[] dst = new byte[4];
        BlockSeqWriter w = new BlockSeqWriter(bytes(dst));
        assertEquals(IoResult.ok(3), w.writeFromBlocks(bytes("foo".getBytes())));
        IoResult r = w.writeFromBlocks(bytes("bar".getBytes()));
        assertEquals(1, r.n());
        assertEquals(Errno.ENOSPC, r.error());
        assertEquals("foob", new String(dst));
    }

    @Test
    void writeFullStopsAtTheFirstError() {
        BlockWriter failing = srcs -> new IoResult(1, Errno.EIO);
        assertEquals(new IoResult(1, Errno.EIO), BlockIO.writeFull(failing, bytes("abc".getBytes())));
    }
}
