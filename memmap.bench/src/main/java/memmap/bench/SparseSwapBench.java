package memmap.bench;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.provider.BackingProvider;
import memmap.api.safemem.BlockSeq;
import memmap.mm.internal.Backings;
import memmap.mm.internal.MemoryManager;
import memmap.mm.internal.ProviderSwap;

/**
 * A hot swap of one large, sparse shared anonymous mapping (1 GiB, 1% of its pages written at
 * random): the swap copies only the pages that exist. Beside it, in the same run, the floor:
 * copying the same bytes alone, from the old memfd into fresh pages of the new one
 * ({@code copyTouchedAlone}). Each iteration starts from a freshly written mapping; the
 * teardown checks that the new provider holds no more than was touched (+ 2 MiB) and that the
 * old one holds nothing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class SparseSwapBench {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @Param({"1073741824"})
    public long length;

    /** Bytes of the window the provider fills around a first touch (the runtime's default: 64 KiB). */
    @Param({"65536", "4096"})
    public long fillAhead;

    MemfdMemoryFile mf1;
    MemfdMemoryFile mf2;
    BackingProvider from;
    BackingProvider to;
    ProviderSwap swap;
    MemoryManager mm;
    long touched;
    /** For the floor: the touched ranges of the old memfd, and where they go. */
    List<FileRange> source;
    FileRange dest;

    @Setup(Level.Trial)
    public void files() throws MemmapException {
        mf1 = new MemfdMemoryFile("sparse-from", 1L << 30, 8L << 30, 64L << 20, false);
        mf2 = new MemfdMemoryFile("sparse-to", 1L << 30, 8L << 30, 64L << 20, false);
    }

    @Setup(Level.Iteration)
    public void live() throws MemmapException {
        AnonymousProvider.Config c = MemoryFileBench.config(fillAhead);
        from = new AnonymousProvider(mf1, c, Map.of("component.id", 1L));
        to = new AnonymousProvider(mf2, c, Map.of("component.id", 2L));
        swap = new ProviderSwap();
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.swapping(swap, () -> mf1, () -> List.of(from), () -> null, () -> null));
        long a = mm.mmap(CTX, MMapOpts.builder().length(length).build());
        Random r = new Random(42);
        MemorySegment word = MemorySegment.ofArray(new long[] {42});
        long pages = length / P;
        for (long i = 0; i < pages / 100; i++) {
            mm.write(CTX, a + r.nextLong(pages) * P, word);
        }
        touched = from.usage().allocatedBytes();
        source = mf1.committed(new FileRange(0, mf1.usage().fileSize()));
        long n = source.stream().mapToLong(FileRange::length).sum();
        dest = mf2.allocate(n, new AllocOpts(AllocationMode.UNCOMMITTED, AllocOpts.Direction.BOTTOM_UP, false, 0));
    }

    /** The swap: every page that exists copied to the new provider, the vma re-pointed, the old memory freed. */
    @Benchmark
    public ProviderSwap.Result swap() {
        ProviderSwap.Result res = swap.migrate(CTX, to);
        if (res.backings() != 1) {
            throw new AssertionError("migrated " + res);
        }
        return res;
    }

    /** The floor: the same bytes copied alone into fresh memfd pages (no address space, no provider). */
    @Benchmark
    public long copyTouchedAlone() throws MemmapException {
        long at = dest.start();
        for (FileRange s : source) {
            BlockSeq.copy(mf2.mapInternal(new FileRange(at, at + s.length()), AccessType.WRITE), mf1.mapInternal(s, AccessType.READ));
            at += s.length();
        }
        return at;
    }

    @TearDown(Level.Iteration)
    public void check() throws MemmapException {
        mf2.decRef(dest);
        long after = to.usage().allocatedBytes();
        if (after > touched + (2L << 20) && after != 0) {
            throw new AssertionError("after the swap " + after + " bytes allocated for " + touched + " touched");
        }
        System.out.printf("  touched (allocated before) %d bytes, allocated after %d, committed %d%n", touched, after,
                mf2.usage().committed());
        mm.release(CTX);
        if (from.usage().liveBackings() + to.usage().liveBackings() != 0) {
            throw new AssertionError("left behind: " + from.usage() + " / " + to.usage());
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        mf1.release();
        mf2.release();
    }

}
