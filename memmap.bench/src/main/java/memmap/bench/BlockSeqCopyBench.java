package memmap.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import memmap.api.IoResult;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * {@link BlockSeq#copy} between two file mappings (tmpfs, as the memory file's chunks are)
 * against a plain {@link MemorySegment#copy} of the same bytes, same run. Target ≥ 0.9×.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class BlockSeqCopyBench {
    @Param({"65536", "2097152"})
    public int bytes;

    Arena arena;
    Path dir;
    MemorySegment src;
    MemorySegment dst;
    BlockSeq srcs;
    BlockSeq dsts;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        arena = Arena.ofShared();
        Path shm = Path.of("/dev/shm");
        dir = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")), "memmap-bench");
        src = map(dir.resolve("src"));
        dst = map(dir.resolve("dst"));
        src.fill((byte) 1);
        dst.fill((byte) 2);
        srcs = BlockSeq.of(Block.ofSafe(src));
        dsts = BlockSeq.of(Block.ofSafe(dst));
    }

    private MemorySegment map(Path f) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ch.truncate(bytes);
            ch.write(java.nio.ByteBuffer.allocate(1), bytes - 1);
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        arena.close();
        Files.deleteIfExists(dir.resolve("src"));
        Files.deleteIfExists(dir.resolve("dst"));
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public IoResult blockSeqCopy() {
        return BlockSeq.copy(dsts, srcs);
    }

    @Benchmark
    public MemorySegment rawSegmentCopy() {
        MemorySegment.copy(src, 0, dst, 0, bytes);
        return dst;
    }
}
