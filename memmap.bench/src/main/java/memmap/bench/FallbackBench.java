package memmap.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.SplittableRandom;
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

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.fallback.internal.BounceStrategy;
import memmap.fallback.internal.DirectStrategy;
import memmap.hostfile.internal.HostFileProvider;

/**
 * The buffered-I/O fallback strategies on a host file that may not be mapped, against
 * {@code FileChannel} positional I/O into direct buffers, same run: 64 KiB sequential reads
 * and writes (target ≥ 0.8×) and 4 KiB random reads (target ≥ 0.7×).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class FallbackBench {
    static final long SIZE = 64L << 20;
    static final int BIG = 64 << 10;
    static final int SMALL = 4 << 10;
    static final Context CTX = Context.background();

    @Param({"direct", "bounce"})
    public String strategy;

    Path dir;
    Path path;
    Arena arena;
    Backing backing;
    MemmapFile file;
    BufferedIOFallbackStrategy s;
    FileChannel channel;
    MemorySegment buf;
    BlockSeq big;
    BlockSeq small;
    BlockSeq scattered;
    ByteBuffer bigBuffer;
    ByteBuffer smallBuffer;
    long seq;
    SplittableRandom rnd = new SplittableRandom(5);

    @Setup(Level.Trial)
    public void setup() throws IOException, MemmapException {
        dir = Files.createTempDirectory("memmap-fallback-bench");
        path = dir.resolve("data.fallback");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1 << 20);
            for (long off = 0; off < SIZE; off += b.capacity()) {
                b.clear();
                ch.write(b, off);
            }
        }
        HostFileProvider provider = new HostFileProvider(HostFileBench.config("**/*.fallback"), Map.of("component.id", 3L));
        backing = provider.create(CTX, new BackingRequest.HostFile(path, true));
        MappableRange first = new MappableRange(0, 4096);
        file = backing.mappable().translate(CTX, first, first, AccessType.READ).translations().get(0).file();
        s = strategy.equals("direct") ? new DirectStrategy(Map.of()) : new BounceStrategy(Map.of());
        channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        arena = Arena.ofShared();
        buf = arena.allocate(BIG, 4096);
        big = BlockSeq.of(Block.ofSafe(buf));
        small = BlockSeq.of(Block.ofSafe(buf.asSlice(0, SMALL)));
        Block[] pieces = new Block[16];
        for (int i = 0; i < 16; i++) {
            pieces[i] = Block.ofSafe(arena.allocate(SMALL, 4096));
        }
        scattered = BlockSeq.of(pieces);
        bigBuffer = buf.asByteBuffer();
        smallBuffer = buf.asSlice(0, SMALL).asByteBuffer();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        backing.identity().decRef(CTX);
        channel.close();
        arena.close();
        Files.deleteIfExists(path);
        Files.deleteIfExists(dir);
    }

    private long nextSeq() {
        long off = seq;
        seq = (seq + BIG) % SIZE;
        return off;
    }

    private long nextRandom() {
        return rnd.nextLong(SIZE / SMALL) * SMALL;
    }

    @Benchmark
    public IoResult strategySeqRead64KiB() {
        return s.read(file, nextSeq(), big);
    }

    @Benchmark
    public IoResult strategySeqWrite64KiB() {
        return s.write(file, nextSeq(), big);
    }

    @Benchmark
    public IoResult strategyRandomRead4KiB() {
        return s.read(file, nextRandom(), small);
    }

    /** 64 KiB sequential read into 16 separate 4 KiB Blocks (e.g. scattered page-cache pages). */
    @Benchmark
    public IoResult strategyScatteredRead16x4KiB() {
        return s.read(file, nextSeq(), scattered);
    }

    @Benchmark
    public int channelSeqRead64KiB() throws IOException {
        bigBuffer.clear();
        return channel.read(bigBuffer, nextSeq());
    }

    @Benchmark
    public int channelSeqWrite64KiB() throws IOException {
        bigBuffer.clear();
        return channel.write(bigBuffer, nextSeq());
    }

    @Benchmark
    public int channelRandomRead4KiB() throws IOException {
        smallBuffer.clear();
        return channel.read(smallBuffer, nextRandom());
    }
}
