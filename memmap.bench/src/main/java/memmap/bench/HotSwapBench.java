package memmap.bench;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
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
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.provider.BackingProvider;
import memmap.mm.internal.Backings;
import memmap.mm.internal.MemoryManager;
import memmap.mm.internal.ProviderSwap;

/**
 * A hot swap of the anonymous-memory provider with {@code mappings} live shared anonymous
 * mappings of one written page each, until migration is done (aim ≤ 1 s for 10,000): every
 * mapping's memory adopted (copied into the new provider's memfd) and re-pointed.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class HotSwapBench {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @Param({"10000"})
    public int mappings;

    MemfdMemoryFile mf1;
    MemfdMemoryFile mf2;
    BackingProvider from;
    BackingProvider to;
    ProviderSwap swap;
    MemoryManager mm;

    @Setup(Level.Trial)
    public void files() throws MemmapException {
        mf1 = new MemfdMemoryFile("swap-from", 64L << 20, 8L << 30, 0, false);
        mf2 = new MemfdMemoryFile("swap-to", 64L << 20, 8L << 30, 0, false);
    }

    @Setup(Level.Iteration)
    public void live() throws MemmapException {
        from = new AnonymousProvider(mf1, MemoryFileBench.config(), Map.of("component.id", 1L));
        to = new AnonymousProvider(mf2, MemoryFileBench.config(), Map.of("component.id", 2L));
        swap = new ProviderSwap();
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.swapping(swap, () -> mf1, () -> List.of(from), () -> null, () -> null));
        MemorySegment word = MemorySegment.ofArray(new long[] {42});
        for (int i = 0; i < mappings; i++) {
            long a = mm.mmap(CTX, MMapOpts.builder().length(P).build());
            mm.write(CTX, a, word);
        }
    }

    @Benchmark
    public ProviderSwap.Result swap() {
        ProviderSwap.Result r = swap.migrate(CTX, to);
        if (r.backings() != mappings) {
            throw new AssertionError("migrated " + r + " of " + mappings);
        }
        return r;
    }

    @TearDown(Level.Iteration)
    public void unmap() {
        mm.release(CTX);
        if (to.usage().liveBackings() != 0 || from.usage().liveBackings() != 0) {
            throw new AssertionError("left behind: " + from.usage() + " / " + to.usage());
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        mf1.release();
        mf2.release();
    }
}
