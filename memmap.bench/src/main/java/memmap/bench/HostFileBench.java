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
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
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
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.hostfile.internal.HostFileProvider;

/**
 * memmap.hostfile: a sequential read of a 256 MiB page-cache-hot file through translate and
 * mapInternal against {@code FileChannel.map} + {@code MemorySegment.copy} (target ≥ 0.9×),
 * and 64 KiB sequential reads through the buffered-I/O fallback against {@code FileChannel}
 * positional reads (target ≥ 0.8×), same run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class HostFileBench {
    static final long SIZE = 256L << 20;
    static final int PIECE = 1 << 20;
    static final int SMALL = 64 << 10;
    static final Context CTX = Context.background();

    Path dir;
    Path file;
    Arena arena;
    MemorySegment dst;
    ByteBuffer dstBuffer;
    Backing mapped;
    Backing buffered;
    MemmapFile fallbackFile;
    FileChannel channel;
    MemorySegment channelMap;
    long smallOffset;

    @Setup(Level.Trial)
    public void setup() throws IOException, MemmapException {
        dir = Files.createTempDirectory("memmap-hostfile-bench");
        file = dir.resolve("data.bin");
        byte[] chunk = new byte[PIECE];
        for (int i = 0; i < PIECE; i++) {
            chunk[i] = (byte) i;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long off = 0; off < SIZE; off += PIECE) {
                ch.write(ByteBuffer.wrap(chunk), off);
            }
        }
        arena = Arena.ofShared();
        dst = arena.allocate(PIECE, 4096);
        dstBuffer = dst.asSlice(0, SMALL).asByteBuffer();
        mapped = new HostFileProvider(config(), Map.of("component.id", 1L)).create(CTX, new BackingRequest.HostFile(file, false));
        buffered = new HostFileProvider(config("**/data.bin"), Map.of("component.id", 2L)).create(CTX, new BackingRequest.HostFile(file, false));
        MappableRange first = new MappableRange(0, 4096);
        fallbackFile = buffered.mappable().translate(CTX, first, first, AccessType.READ).translations().get(0).file();
        channel = FileChannel.open(file, StandardOpenOption.READ);
        channelMap = channel.map(FileChannel.MapMode.READ_ONLY, 0, SIZE, arena);
        readThroughTranslate(); // page cache hot, chunk mappings made
        readThroughFileChannelMap();
    }

    static HostFileProvider.Config config(String... noMmap) {
        return new HostFileProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return HostFileProvider.Config.class;
            }

            @Override
            public String rootDirectory() {
                return "";
            }

            @Override
            public String[] noMmap() {
                return noMmap;
            }
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        mapped.identity().decRef(CTX);
        buffered.identity().decRef(CTX);
        channel.close();
        arena.close();
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    /** The whole file, 1 MiB at a time, through one translation and its internal mappings. */
    @Benchmark
    public long readThroughTranslate() throws MemmapException {
        MappableRange all = new MappableRange(0, SIZE);
        Translation t = mapped.mappable().translate(CTX, all, all, AccessType.READ).translations().get(0);
        BlockSeq src = t.file().mapInternal(t.fileRange(), AccessType.READ);
        BlockSeq to = BlockSeq.of(Block.ofSafe(dst));
        long done = 0;
        while (!src.isEmpty()) {
            IoResult r = BlockSeq.copy(to, src.takeFirst(PIECE));
            done += r.n();
            src = src.dropFirst(PIECE);
        }
        return done;
    }

    /** The baseline: one FileChannel mapping of the file, 1 MiB MemorySegment copies. */
    @Benchmark
    public long readThroughFileChannelMap() {
        for (long off = 0; off < SIZE; off += PIECE) {
            MemorySegment.copy(channelMap, off, dst, 0, PIECE);
        }
        return SIZE;
    }

    /** One 64 KiB sequential read through the buffered-I/O fallback (pread into native memory). */
    @Benchmark
    public long bufferedRead64KiB() {
        IoResult r = fallbackFile.bufferReadAt(smallOffset, dst.asSlice(0, SMALL));
        smallOffset = (smallOffset + SMALL) % SIZE;
        return r.n();
    }

    /** The baseline: one 64 KiB FileChannel positional read into a direct buffer. */
    @Benchmark
    public long fileChannelRead64KiB() throws IOException {
        dstBuffer.clear();
        int n = channel.read(dstBuffer, smallOffset);
        smallOffset = (smallOffset + SMALL) % SIZE;
        return n;
    }
}
