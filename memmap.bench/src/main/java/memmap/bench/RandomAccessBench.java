package memmap.bench;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.apache.lucene.store.IOContext;
import org.apache.lucene.store.IndexInput;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.store.RandomAccessInput;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.PinnedView;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.hostfile.internal.HostFileProvider;
import memmap.mm.internal.MemoryManager;

/**
 * Random access, the shape of an emulator's guest loads and stores and of a storage engine's
 * point lookups: 8-byte reads at random 8-aligned offsets over a page-cache-hot host file
 * mapped into an address space, and reads and writes over touched private anonymous memory,
 * each next to the peers a user would pick instead, on the same bytes in the same run — raw
 * {@code MemorySegment} on a {@code FileChannel.map} of the file (and on native memory for the
 * anonymous side), Agrona's {@code UnsafeBuffer} on that mapping, Lucene's
 * {@code MMapDirectory}. Targets (issue 14): memmap ≤ 2× raw at random, a pinned view ≤ 1.2×;
 * sequential 1 MiB reads ≥ 1.0× every peer. {@code size} 4 GiB is where cache and TLB misses
 * dominate.
 *
 * <p>The {@code shared…2Threads} rows run two threads on one address space (the shape of a
 * two-vCPU guest). Offsets come from an xorshift generator inlined in the loop (no index array competing for
 * the cache); every read value is summed into the result so nothing is optimised away.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(RandomAccessBench.OPS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 7, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"})
public class RandomAccessBench {
    static final int OPS = 1024;
    static final int PIECE = 1 << 20;
    static final Context CTX = Context.background();

    /** The next xorshift64 state. */
    static long next(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        return x ^ (x << 17);
    }

    /** What every random-access benchmark reads through: an address space, its mapping at {@code base}, a view, the same bytes raw. */
    public abstract static class Mapped {
        MemfdMemoryFile mf;
        MemoryManager mm;
        long base;
        PinnedView view;
        /** The same bytes for raw access: a {@code FileChannel.map} of the file, or native memory. */
        MemorySegment raw;
        long mask;
    }

    /** Each thread's own: its place in the random sequence (seeded by thread) and an 8-byte buffer. */
    @State(Scope.Thread)
    public static class Cursor {
        long x = 0x9E3779B97F4A7C15L ^ Thread.currentThread().threadId();
        final MemorySegment eight = Arena.ofAuto().allocate(8, 8);
    }

    /** A page-cache-hot file of {@code size} bytes, mapped by memmap and by each peer. */
    @State(Scope.Thread)
    public static class FileState extends Mapped {
        @Param({"268435456", "4294967296"})
        public long size;

        Path dir;
        Backing backing;
        Arena arena;
        FileChannel channel;
        UnsafeBuffer[] agrona;
        MMapDirectory lucene;
        IndexInput luceneInput;
        RandomAccessInput luceneRandom;
        MemorySegment piece;
        UnsafeBuffer pieceBuffer;
        byte[] pieceArray;
        long seq;

        @Setup(Level.Trial)
        public void setup() throws IOException, MemmapException {
            dir = Files.createTempDirectory("memmap-random-bench");
            Path file = dir.resolve("data.bin");
            byte[] chunk = new byte[PIECE];
            for (int i = 0; i < PIECE; i++) {
                chunk[i] = (byte) (i * 31 + 7);
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                for (long off = 0; off < size; off += PIECE) {
                    ch.write(ByteBuffer.wrap(chunk), off);
                }
            }
            mask = (size - 1) & ~7L;
            arena = Arena.ofShared();
            piece = arena.allocate(PIECE, 4096);
            pieceBuffer = new UnsafeBuffer(piece.address(), PIECE);
            pieceArray = new byte[PIECE];
            mf = new MemfdMemoryFile("random-bench", 1L << 30, 1L << 30, 0, false);
            mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
            backing = new HostFileProvider(HostFileBench.config(), Map.of("component.id", 1L))
                    .create(CTX, new BackingRequest.HostFile(file, false));
            base = mm.mmap(CTX, backing.configure(MMapOpts.builder().length(size).perms(AccessType.READ)
                    .maxPerms(AccessType.READ).build()));
            channel = FileChannel.open(file, StandardOpenOption.READ);
            raw = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            agrona = new UnsafeBuffer[(int) ((size + (1L << 30) - 1) >>> 30)];
            for (int i = 0; i < agrona.length; i++) {
                agrona[i] = new UnsafeBuffer(raw.address() + ((long) i << 30), (int) Math.min(1L << 30, size - ((long) i << 30)));
            }
            lucene = new MMapDirectory(dir);
            luceneInput = lucene.openInput("data.bin", IOContext.DEFAULT);
            luceneRandom = luceneInput.randomAccessSlice(0, size);
            for (long off = 0; off < size; off += PIECE) { // page cache hot, every path's translations made
                mm.read(CTX, base + off, piece);
                MemorySegment.copy(raw, off, piece, 0, PIECE);
                luceneRandom.readLong(off);
            }
            view = mm.pin(CTX, base, size, AccessType.READ, false);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws IOException {
            luceneInput.close();
            lucene.close();
            view.close();
            mm.release(CTX);
            backing.identity().decRef(CTX);
            mf.release();
            channel.close();
            arena.close();
            Files.deleteIfExists(dir.resolve("data.bin"));
            Files.deleteIfExists(dir);
        }
    }

    /** {@code size} bytes of private anonymous memory, every page touched, and as much native memory for raw. */
    public abstract static class Anonymous extends Mapped {
        Arena arena;

        void make(long size) throws MemmapException {
            mask = (size - 1) & ~7L;
            mf = new MemfdMemoryFile("random-bench", 1L << 30, size + (1L << 30), 0, false);
            mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
            base = mm.mmap(CTX, MMapOpts.builder().length(size).isPrivate(true).build());
            arena = Arena.ofShared();
            raw = arena.allocate(size, 4096);
            MemorySegment page = arena.allocate(4096, 4096);
            page.fill((byte) 1);
            for (long off = 0; off < size; off += 4096) { // every page touched on both sides
                mm.write(CTX, base + off, page);
                raw.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
            }
            view = mm.pin(CTX, base, size, AccessType.READ_WRITE, false);
        }

        void free() {
            view.close();
            mm.release(CTX);
            mf.release();
            arena.close();
        }
    }

    /** One thread's own anonymous memory. */
    @State(Scope.Thread)
    public static class AnonState extends Anonymous {
        @Param({"268435456", "4294967296"})
        public long size;

        @Setup(Level.Trial)
        public void setup() throws MemmapException {
            make(size);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            free();
        }
    }

    /** 256 MiB of anonymous memory in one address space that every thread of the benchmark uses. */
    @State(Scope.Benchmark)
    public static class SharedAnonState extends Anonymous {
        @Setup(Level.Trial)
        public void setup() throws MemmapException {
            make(256L << 20);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            free();
        }
    }

    // ------------------------------------------------------------ the loops, one each for both states

    /** OPS random 8-byte reads through {@code AddressSpace.read}. */
    static long memmapReads(Mapped s, Cursor c) {
        long sum = 0;
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            s.mm.read(CTX, s.base + (x & s.mask), c.eight);
            sum += c.eight.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
        }
        c.x = x;
        return sum;
    }

    /** OPS random 8-byte reads of a segment ({@code raw}, or the pinned view's): offset = address minus the start. */
    static long segmentReads(Mapped s, Cursor c, MemorySegment seg) {
        long sum = 0;
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            sum += seg.get(ValueLayout.JAVA_LONG_UNALIGNED, x & s.mask);
        }
        c.x = x;
        return sum;
    }

    /** OPS random 8-byte writes through {@code AddressSpace.write}. */
    static long memmapWrites(Mapped s, Cursor c) {
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            c.eight.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, x);
            s.mm.write(CTX, s.base + (x & s.mask), c.eight);
        }
        c.x = x;
        return x;
    }

    /** OPS random 8-byte writes of a segment. */
    static long segmentWrites(Mapped s, Cursor c, MemorySegment seg) {
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, x & s.mask, x);
        }
        c.x = x;
        return x;
    }

    // ------------------------------------------------------------ random reads of the file

    @Benchmark
    public long fileMemmapRead(FileState s, Cursor c) {
        return memmapReads(s, c);
    }

    @Benchmark
    public long fileRawSegmentRead(FileState s, Cursor c) {
        return segmentReads(s, c, s.raw);
    }

    /** Through a pinned view of the whole mapping: its one segment, indexed by address minus the view's start. */
    @Benchmark
    public long fileMemmapPinnedRead(FileState s, Cursor c) {
        return segmentReads(s, c, s.view.segment());
    }

    @Benchmark
    public long fileAgronaRead(FileState s, Cursor c) {
        long sum = 0;
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            long off = x & s.mask;
            sum += s.agrona[(int) (off >>> 30)].getLong((int) (off & ((1 << 30) - 1)));
        }
        c.x = x;
        return sum;
    }

    @Benchmark
    public long fileLuceneRead(FileState s, Cursor c) throws IOException {
        long sum = 0;
        long x = c.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            sum += s.luceneRandom.readLong(x & s.mask);
        }
        c.x = x;
        return sum;
    }

    // ------------------------------------------------------------ sequential 1 MiB reads of the file

    @Benchmark
    @OperationsPerInvocation(1)
    public long fileMemmapSequential1MiB(FileState s) {
        long off = s.seq;
        s.seq = (off + PIECE) & (s.size - 1);
        return s.mm.read(CTX, s.base + off, s.piece).n();
    }

    @Benchmark
    @OperationsPerInvocation(1)
    public long fileRawSegmentSequential1MiB(FileState s) {
        long off = s.seq;
        s.seq = (off + PIECE) & (s.size - 1);
        MemorySegment.copy(s.raw, off, s.piece, 0, PIECE);
        return off;
    }

    @Benchmark
    @OperationsPerInvocation(1)
    public long fileAgronaSequential1MiB(FileState s) {
        long off = s.seq;
        s.seq = (off + PIECE) & (s.size - 1);
        s.agrona[(int) (off >>> 30)].getBytes((int) (off & ((1 << 30) - 1)), s.pieceBuffer, 0, PIECE);
        return off;
    }

    @Benchmark
    @OperationsPerInvocation(1)
    public long fileLuceneSequential1MiB(FileState s) throws IOException {
        long off = s.seq;
        s.seq = (off + PIECE) & (s.size - 1);
        s.luceneInput.seek(off);
        s.luceneInput.readBytes(s.pieceArray, 0, PIECE);
        return off;
    }

    // ------------------------------------------------------------ random reads and writes of anonymous memory

    @Benchmark
    public long anonMemmapRead(AnonState s, Cursor c) {
        return memmapReads(s, c);
    }

    @Benchmark
    public long anonMemmapPinnedRead(AnonState s, Cursor c) {
        return segmentReads(s, c, s.view.segment());
    }

    @Benchmark
    public long anonMemmapPinnedWrite(AnonState s, Cursor c) {
        return segmentWrites(s, c, s.view.segment());
    }

    @Benchmark
    public long anonRawSegmentRead(AnonState s, Cursor c) {
        return segmentReads(s, c, s.raw);
    }

    @Benchmark
    public long anonMemmapWrite(AnonState s, Cursor c) {
        return memmapWrites(s, c);
    }

    @Benchmark
    public long anonRawSegmentWrite(AnonState s, Cursor c) {
        return segmentWrites(s, c, s.raw);
    }

    // ------------------------------------------------------------ two threads, one address space

    @Benchmark
    @Threads(2)
    public long sharedAnonMemmapRead2Threads(SharedAnonState s, Cursor c) {
        return memmapReads(s, c);
    }

    @Benchmark
    @Threads(2)
    public long sharedAnonMemmapWrite2Threads(SharedAnonState s, Cursor c) {
        return memmapWrites(s, c);
    }

    @Benchmark
    @Threads(2)
    public long sharedAnonPinnedRead2Threads(SharedAnonState s, Cursor c) {
        return segmentReads(s, c, s.view.segment());
    }

    @Benchmark
    @Threads(2)
    public long sharedAnonRawRead2Threads(SharedAnonState s, Cursor c) {
        return segmentReads(s, c, s.raw);
    }

    @Benchmark
    @Threads(2)
    public long sharedAnonRawWrite2Threads(SharedAnonState s, Cursor c) {
        return segmentWrites(s, c, s.raw);
    }
}
