package memmap.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
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

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.safemem.BlockSeq;
import memmap.posix.Posix;

/**
 * memmap.anon: allocate+free of a page, translate of an allocated page, the first write to
 * fresh memory (through translate + mapInternal, against the kernel's first write to fresh
 * 4 KiB-page {@code mmap(MAP_ANONYMOUS)} memory, same run), and a 64 KiB copy through
 * mapInternal against a raw {@link MemorySegment#copy}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class MemoryFileBench {
    static final long P = 4096;
    /** Pages written per first-write operation. */
    static final int PAGES = 512;
    static final Context CTX = Context.background();

    /** Bytes kept committed and zeroed after free: 64 MiB (the default) or none (every free punches a hole). */
    @Param({"67108864", "0"})
    public long retainedLimit;

    MemfdMemoryFile mf;
    AnonymousProvider provider;
    Backing populated;
    MappableRange page = new MappableRange(7 * P, 8 * P);
    FileRange copyRange;
    MemorySegment copyDst;
    /** The memory-file bytes of {@link #copyRange}, mapped once. */
    MemorySegment copySrcRaw;
    Arena arena;

    @Setup(Level.Trial)
    public void setup() throws MemmapException {
        mf = new MemfdMemoryFile("bench", 1L << 30, 8L << 30, retainedLimit, false);
        provider = new AnonymousProvider(mf, config(), Map.of("component.id", 1L));
        populated = provider.create(CTX, new BackingRequest.Anonymous(1L << 20));
        MappableRange all = new MappableRange(0, 1L << 20);
        populated.mappable().translate(CTX, all, all, AccessType.WRITE);
        copyRange = mf.allocate(64 * 1024, AllocOpts.DEFAULT);
        arena = Arena.ofShared();
        copyDst = arena.allocate(64 * 1024, 4096);
        BlockSeq.zero(mf.mapInternal(copyRange, AccessType.WRITE));
        // The raw side copies the very same memory-file bytes, through a segment taken once.
        copySrcRaw = mf.mapInternal(copyRange, AccessType.READ).head().segment();
    }

    static AnonymousProvider.Config config() {
        return config(64 * 1024);
    }

    /** The provider's settings with {@code fill} bytes of fill-ahead, populating. */
    static AnonymousProvider.Config config(long fill) {
        return new AnonymousProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return AnonymousProvider.Config.class;
            }

            @Override
            public long fillAhead() {
                return fill;
            }

            @Override
            public boolean populate() {
                return true;
            }
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        populated.identity().decRef(CTX);
        mf.decRef(copyRange);
        arena.close();
        mf.release();
    }

    @Benchmark
    public FileRange allocateFreeOnePage() throws MemmapException {
        FileRange fr = mf.allocate(P, AllocOpts.DEFAULT);
        mf.decRef(fr);
        return fr;
    }

    @Benchmark
    public TranslateResult translateAllocatedPage() {
        return populated.mappable().translate(CTX, page, page, AccessType.READ);
    }

    /**
     * Fresh shared anonymous memory of {@value #PAGES} pages: translate each page as the
     * address space would on a fault (required = the page, optional = the whole mapping),
     * map it, write one byte; then drop the memory. Divide by {@value #PAGES} for per page.
     */
    @Benchmark
    public long firstWriteThroughTranslate() throws MemmapException {
        Backing b = provider.create(CTX, new BackingRequest.Anonymous(PAGES * P));
        MappableRange all = new MappableRange(0, PAGES * P);
        long sum = 0;
        BlockSeq mapped = BlockSeq.EMPTY;
        long mappedStart = 0;
        long mappedEnd = 0;
        for (long off = 0; off < PAGES * P; off += P) {
            if (off >= mappedEnd) {
                // A fault: translate the page; the Mappable fills a window around it, and the
                // address space caches the translations it got (as pmas do).
                TranslateResult t = b.mappable().translate(CTX, new MappableRange(off, off + P), all, AccessType.WRITE);
                Translation tr = t.translations().get(0);
                mapped = tr.file().mapInternal(tr.fileRange(), AccessType.WRITE);
                mappedStart = tr.source().start();
                mappedEnd = tr.source().end();
            }
            MemorySegment s = mapped.dropFirst(off - mappedStart).head().segment();
            s.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            sum += s.get(ValueLayout.JAVA_BYTE, 0);
        }
        b.identity().decRef(CTX);
        return sum;
    }

    /** The kernel's own: mmap {@value #PAGES} fresh 4 KiB pages, write one byte in each, munmap. */
    @Benchmark
    public long firstWriteKernelAnonymous() throws MemmapException {
        MemorySegment m = Posix.mmap(PAGES * P, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, -1, 0);
        Posix.madvise(m, PAGES * P, Posix.MADV_NOHUGEPAGE);
        long sum = 0;
        for (long off = 0; off < PAGES * P; off += P) {
            m.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
            sum += m.get(ValueLayout.JAVA_BYTE, off);
        }
        Posix.munmap(m, PAGES * P);
        return sum;
    }

    @Benchmark
    public Object copy64KiBThroughMapInternal() throws MemmapException {
        return BlockSeq.copy(BlockSeq.of(memmap.api.safemem.Block.ofSafe(copyDst)), mf.mapInternal(copyRange, AccessType.READ));
    }

    @Benchmark
    public Object copy64KiBRaw() {
        MemorySegment.copy(copySrcRaw, 0, copyDst, 0, 64 * 1024);
        return copyDst;
    }
}
