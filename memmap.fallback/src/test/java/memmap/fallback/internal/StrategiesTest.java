package memmap.fallback.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/** Both strategies against real files and a real pipe. */
class StrategiesTest {
    @TempDir
    Path dir;

    static Stream<BufferedIOFallbackStrategy> strategies() {
        return Stream.of(new DirectStrategy(Map.of()), new BounceStrategy(Map.of()));
    }

    /** Blocks of random sizes over heap and native memory, some marked as possibly faulting. */
    static BlockSeq scattered(Arena arena, Random rnd, int total) {
        List<Block> blocks = new ArrayList<>();
        int left = total;
        while (left > 0) {
            int n = Math.min(left, 1 + rnd.nextInt(20_000));
            MemorySegment seg = switch (rnd.nextInt(3)) {
                case 0 -> MemorySegment.ofArray(new byte[n]);
                default -> arena.allocate(n);
            };
            blocks.add(rnd.nextInt(4) == 0 ? Block.ofUnsafe(seg) : Block.ofSafe(seg));
            left -= n;
        }
        return BlockSeq.of(blocks);
    }

    static byte[] bytes(BlockSeq s) {
        byte[] out = new byte[(int) s.numBytes()];
        int at = 0;
        for (Block b : s.toList()) {
            byte[] part = b.toArray();
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void writesThenReadsEveryByteThroughScatteredBlocks(BufferedIOFallbackStrategy s) throws Exception {
        Path f = dir.resolve("data");
        Random rnd = new Random(3);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                Arena arena = Arena.ofConfined()) {
            ChannelFile file = new ChannelFile(ch);
            byte[] data = new byte[700_000];
            rnd.nextBytes(data);
            BlockSeq src = scattered(arena, rnd, data.length);
            assertEquals(IoResult.ok(data.length), BlockSeq.copy(src, BlockSeq.of(Block.ofArray(data))));
            assertEquals(IoResult.ok(data.length), s.write(file, 12345, src));
            BlockSeq dst = scattered(arena, rnd, data.length);
            assertEquals(IoResult.ok(data.length), s.read(file, 12345, dst));
            assertArrayEquals(data, bytes(dst));
            byte[] onDisk = Files.readAllBytes(f);
            assertArrayEquals(data, java.util.Arrays.copyOfRange(onDisk, 12345, 12345 + data.length));
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void endOfFileComesWithTheBytesDone(BufferedIOFallbackStrategy s) throws Exception {
        Path f = Files.write(dir.resolve("short"), new byte[1000]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            byte[] dst = new byte[4096];
            IoResult r = s.read(new ChannelFile(ch), 600, BlockSeq.of(Block.ofArray(dst)));
            assertEquals(new IoResult(400, EndOfFile.INSTANCE), r);
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void errorsFromTheFileComeWithTheBytesDone(BufferedIOFallbackStrategy s) throws Exception {
        Path f = Files.write(dir.resolve("wo"), new byte[8192]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            IoResult r = s.read(new ChannelFile(ch), 0, BlockSeq.of(Block.ofArray(new byte[100])));
            assertEquals(0, r.n());
            assertEquals(Errno.EBADF, r.error());
        }
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            IoResult r = s.write(new ChannelFile(ch), 0, BlockSeq.of(Block.ofArray(new byte[100])));
            assertEquals(Errno.EBADF, r.error());
        }
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void shortReadsFromAPipeAreRetriedUntilDone(BufferedIOFallbackStrategy s) throws Exception {
        Pipe pipe = Pipe.open();
        ChannelFile file = new ChannelFile(pipe);
        byte[] msg = new byte[50_000];
        new Random(9).nextBytes(msg);
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < msg.length; i += 777) {
                    pipe.sink().write(java.nio.ByteBuffer.wrap(msg, i, Math.min(777, msg.length - i)));
                    Thread.sleep(1);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        byte[] got = new byte[msg.length];
        assertEquals(IoResult.ok(msg.length), s.read(file, 0, BlockSeq.of(Block.ofArray(got))));
        writer.join();
        assertArrayEquals(msg, got);
        pipe.source().close();
        pipe.sink().close();
    }

    @ParameterizedTest
    @MethodSource("strategies")
    void hugeAndNegativeOffsetsAreRefusedNamingTheOffset(BufferedIOFallbackStrategy s) throws Exception {
        Path f = Files.write(dir.resolve("o"), new byte[10]);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ChannelFile file = new ChannelFile(ch);
            BlockSeq ten = BlockSeq.of(Block.ofArray(new byte[10]));
            IoResult neg = s.read(file, -1L, ten);
            assertEquals(Errno.EINVAL, neg.error());
            assertTrue(neg.error().message().contains("offset = 0xffffffffffffffff"), neg.error().message());
            assertEquals(Errno.EINVAL, s.write(file, Long.MAX_VALUE - 5, ten).error());
            assertEquals(0, file.calls, "refused before touching the file");
            assertEquals(10, Files.size(f));
        }
    }
}
