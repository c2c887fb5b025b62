package memmap.mm.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;

/**
 * Where a TLB hit's time goes (in memmap.mm's package, to reach the TLB): random 8-byte reads
 * over 256 MiB of touched private memory, raw; the TLB lookup with the data then read from the
 * raw segment at the same offset (the lookup's cost alone); the lookup and the Block's segment
 * (lookup + checked access); and the whole {@code AddressSpace.read}. BENCHMARKS.md explains
 * the steps between them.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(TlbLookupBench.OPS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 7, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class TlbLookupBench {
    static final int OPS = 1024;
    static final long SIZE = 256L << 20;
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf;
    MemoryManager mm;
    long base;
    Arena arena;
    MemorySegment raw;
    MemorySegment eight;
    final long mask = (SIZE - 1) & ~7L;
    long x = 0x9E3779B97F4A7C15L;

    @Setup(Level.Trial)
    public void setup() throws MemmapException {
        mf = new MemfdMemoryFile("tlb-bench", 1L << 30, 2L << 30, 0, false);
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
        base = mm.mmap(CTX, MMapOpts.builder().length(SIZE).isPrivate(true).build());
        arena = Arena.ofShared();
        MemorySegment page = arena.allocate(4096, 4096);
        for (long off = 0; off < SIZE; off += 4096) {
            mm.write(CTX, base + off, page);
        }
        raw = arena.allocate(SIZE, 4096);
        raw.fill((byte) 1);
        eight = arena.allocate(8, 8);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mm.release(CTX);
        mf.release();
        arena.close();
    }

    static long next(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        return x ^ (x << 17);
    }

    @Benchmark
    public long raw() {
        long s = 0;
        long x = this.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            s += raw.get(L, x & mask);
        }
        this.x = x;
        return s;
    }

    @Benchmark
    public long lookupThenRaw() {
        long s = 0;
        long x = this.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            long a = base + (x & mask);
            Tlb.Entry e = mm.pmas.tlb.lookup(a, 8, mm.pmas.version());
            s += raw.get(L, a - e.start()); // an offset that depends on the entry, as a translation does
        }
        this.x = x;
        return s;
    }

    @Benchmark
    public long lookupThenBlock() {
        long s = 0;
        long x = this.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            long a = base + (x & mask);
            Tlb.Entry e = mm.pmas.tlb.lookup(a, 8, mm.pmas.version());
            s += e.segment().get(L, a - e.start());
        }
        this.x = x;
        return s;
    }

    @Benchmark
    public long read() {
        long s = 0;
        long x = this.x;
        for (int i = 0; i < OPS; i++) {
            x = next(x);
            mm.read(CTX, base + (x & mask), eight);
            s += eight.get(L, 0);
        }
        this.x = x;
        return s;
    }
}
