package memmap.api.safemem;

import static org.junit.jupiter.api.Assertions.*;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.Pages;

/** Fault-tolerant copies on a real truncated file mapping, and the atomic operations. */
class BlockTest {
    static final int P = (int) Pages.PAGE_SIZE;

    @Test
    void copyFromATruncatedMappingStopsAtTheFaultingPage(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("data");
        Files.write(f, new byte[3 * P]);
        try (Arena arena = Arena.ofShared();
                FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment map = ch.map(FileChannel.MapMode.READ_WRITE, 0, 3 * P, arena);
            map.fill((byte) 7);
            Block unsafe = Block.ofUnsafe(map);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(P + 100); // the second page is now partly past the end; the third entirely
            }
            byte[] dst = new byte[3 * P];
            IoResult r = Block.copy(Block.ofArray(dst), unsafe);
            assertEquals(2 * P, r.n(), "the page containing the new end is still mapped");
            HostFault fault = assertInstanceOf(HostFault.class, r.error());
            assertTrue(fault.bus(), "a truncated file raises SIGBUS");
            assertEquals(7, dst[0]);
            assertEquals(0, dst[P + 200], "bytes past the end of file read as zero within the last page");

            // Writing into the mapping and zeroing it fault the same way, and the JVM lives on.
            IoResult w = Block.copy(unsafe, Block.ofArray(new byte[3 * P]));
            assertEquals(2 * P, w.n());
            assertInstanceOf(HostFault.class, w.error());
            IoResult z = Block.zero(unsafe);
            assertEquals(2 * P, z.n());
            assertInstanceOf(HostFault.class, z.error());

            // A safe copy of the pages still backed by the file is unaffected.
            assertEquals(IoResult.ok(P), Block.copy(Block.ofArray(new byte[P]), Block.ofSafe(map.asSlice(0, P))));
        }
    }

    @Test
    void copyFromAClosedMappingIsAFaultNotACrash() {
        Arena arena = Arena.ofShared();
        MemorySegment seg = arena.allocate(P);
        Block unsafe = Block.ofUnsafe(seg);
        arena.close();
        IoResult r = Block.copy(Block.ofArray(new byte[P]), unsafe);
        assertEquals(0, r.n());
        HostFault fault = assertInstanceOf(HostFault.class, r.error());
        assertFalse(fault.bus());
    }

    @Test
    void atomicOperations() throws MemmapException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16, 8);
            Block b = Block.ofSafe(seg);
            assertEquals(0, b.swapInt(5));
            assertEquals(5, b.loadInt());
            assertEquals(5, b.compareAndSwapInt(5, 9));
            assertEquals(9, b.compareAndSwapInt(5, 11), "a failed CAS returns the value found");
            assertEquals(9, seg.get(ValueLayout.JAVA_INT, 0));
            assertEquals(9 & 0xffffffffL, b.swapLong(42) & 0xffffffffL);
            assertEquals(42, seg.get(ValueLayout.JAVA_LONG, 0));
            var e = assertThrows(IllegalArgumentException.class, () -> Block.ofSafe(seg.asSlice(0, 2)).loadInt());
            assertTrue(e.getMessage().contains("shorter than 4 bytes"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Block.ofSafe(seg.asSlice(2, 8)).loadInt());
            assertThrows(IllegalArgumentException.class, () -> Block.ofArray(new byte[8]).loadInt());
        }
    }
}
