package memmap.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.mm.internal.MemoryManager;
import memmap.posix.Posix;

/**
 * memmap.mm, same run as the kernel's own: a 64 KiB copy out of the address space with
 * translations cached (target ≥ 0.9× MemorySegment.copy), an 8-byte read (aim ≤ 20 ns),
 * mmap+munmap of anonymous memory (target ≤ 0.2× the kernel's pair), and the first write to
 * fresh anonymous memory per page (target ≤ 0.5× the kernel's) — also with 100,000 small vmas
 * (each with its page backed) in the address space, the shape of a runtime with many small
 * mappings, where every fault searches big vma and pma sets.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class AddressSpaceBench {
    static final long P = 4096;
    static final int PAGES = 512;
    static final Context CTX = Context.background();

    @Param({"4096", "2097152"})
    public long mapLength;

    /** Small vmas (one backed page each, a hole between neighbours) in {@link #crowded}. */
    static final int SMALL_VMAS = 100_000;

    MemfdMemoryFile mf;
    MemoryManager mm;
    MemoryManager crowded;
    long hot;
    Arena arena;
    MemorySegment dst;
    MemorySegment rawSrc;
    MemorySegment eight;

    @Setup(Level.Trial)
    public void setup() throws MemmapException {
        mf = new MemfdMemoryFile("as-bench", 1L << 30, 8L << 30, 64L << 20, false);
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
        hot = mm.mmap(CTX, MMapOpts.builder().length(1L << 20).isPrivate(true).build());
        arena = Arena.ofShared();
        dst = arena.allocate(64 * 1024, 4096);
        rawSrc = arena.allocate(64 * 1024, 4096);
        eight = arena.allocate(8, 8);
        mm.zero(CTX, hot, 1L << 20); // back every page: translations cached
        crowded = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
        long base = 0x1000_0000_0000L;
        for (int i = 0; i < SMALL_VMAS; i++) {
            long a = crowded.mmap(CTX, MMapOpts.builder().addr(base + 2 * i * P).fixed(true).length(P).isPrivate(true).build());
            crowded.write(CTX, a, eight.asSlice(0, 1));
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.release(CTX);
        crowded.release(CTX);
        if (kernelPages != null) {
            try {
                Posix.munmap(kernelPages, PAGES * P);
            } catch (MemmapException e) {
                throw new IllegalStateException(e);
            }
        }
        arena.close();
        mf.release();
    }

    @Benchmark
    public IoResult copy64KiBOut() {
        return mm.read(CTX, hot + 8 * P, dst);
    }

    @Benchmark
    public MemorySegment copy64KiBRaw() {
        MemorySegment.copy(rawSrc, 0, dst, 0, 64 * 1024);
        return dst;
    }

    @Benchmark
    public IoResult read8Bytes() {
        return mm.read(CTX, hot + 3 * P + 40, eight);
    }

    @Benchmark
    public long mmapMunmap() throws MemmapException {
        long a = mm.mmap(CTX, MMapOpts.builder().length(mapLength).isPrivate(true).build());
        mm.munmap(CTX, a, mapLength);
        return a;
    }

    @Benchmark
    public long mmapMunmapKernel() throws MemmapException {
        MemorySegment m = Posix.mmap(mapLength, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, -1, 0);
        Posix.munmap(m, mapLength);
        return m.address();
    }

    /** {@value #PAGES} fresh pages of anonymous memory: mmap, one byte written per page, munmap. */
    @Benchmark
    public long firstWrite() throws MemmapException {
        long a = mm.mmap(CTX, MMapOpts.builder().length(PAGES * P).isPrivate(true).build());
        for (long off = 0; off < PAGES * P; off += P) {
            mm.write(CTX, a + off, eight.asSlice(0, 1));
        }
        mm.munmap(CTX, a, PAGES * P);
        return a;
    }

    /** As {@link #firstWrite}, in an address space that also holds {@value #SMALL_VMAS} small backed vmas. */
    @Benchmark
    public long firstWriteAmong100kVmas() throws MemmapException {
        long a = crowded.mmap(CTX, MMapOpts.builder().length(PAGES * P).isPrivate(true).build());
        for (long off = 0; off < PAGES * P; off += P) {
            crowded.write(CTX, a + off, eight.asSlice(0, 1));
        }
        crowded.munmap(CTX, a, PAGES * P);
        return a;
    }

    int next;
    MemorySegment kernelPages;

    /**
     * A page fault among {@value #SMALL_VMAS} small vmas: one of them (in turn) loses its page
     * (MADV_DONTNEED) and is written again — a free, a vma and pma lookup in the big sets, an
     * allocation and a fresh pma — the way a runtime with many small mappings faults.
     */
    @Benchmark
    public IoResult refaultAmong100kVmas() throws MemmapException {
        long a = 0x1000_0000_0000L + 2 * (next++ % SMALL_VMAS) * P;
        crowded.madvise(CTX, a, P, memmap.api.MAdvice.DONTNEED);
        return crowded.write(CTX, a, eight.asSlice(0, 1));
    }

    /** The kernel's: one 4 KiB page (of {@value #PAGES}, in turn) dropped with MADV_DONTNEED and written again. */
    @Benchmark
    public MemorySegment refaultKernel() throws MemmapException {
        if (kernelPages == null) {
            kernelPages = Posix.mmap(PAGES * P, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, -1, 0);
            Posix.madvise(kernelPages, PAGES * P, Posix.MADV_NOHUGEPAGE);
        }
        MemorySegment page = kernelPages.asSlice((next++ % PAGES) * P, P);
        Posix.madvise(page, P, Posix.MADV_DONTNEED);
        page.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
        return page;
    }

    /** The kernel's: {@value #PAGES} fresh 4 KiB pages (MADV_NOHUGEPAGE), one byte written per page. */
    @Benchmark
    public long firstWriteKernel() throws MemmapException {
        MemorySegment m = Posix.mmap(PAGES * P, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS, -1, 0);
        Posix.madvise(m, PAGES * P, Posix.MADV_NOHUGEPAGE);
        for (long off = 0; off < PAGES * P; off += P) {
            m.set(ValueLayout.JAVA_BYTE, off, (byte) 1);
        }
        Posix.munmap(m, PAGES * P);
        return m.address();
    }
}
