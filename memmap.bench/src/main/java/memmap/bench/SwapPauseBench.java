package memmap.bench;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
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
 * The pause writers see during a hot swap: {@code mappings} live shared anonymous mappings of
 * 64 KiB each, every page written, and {@code writers} threads writing 8-byte words at random
 * pages of their own mappings as fast as they can, through the whole swap. The score is the
 * swap's time; each iteration prints the writers' write latencies during the swap (p50, p99,
 * p99.9, max: the longest stop any writer saw), the same during as long a stretch without a
 * swap (the machine's own noise: on a 2-core machine 4 writers and the migrating thread share
 * 2 cores), the protocol's own longest stop, and checks that every page holds its last write.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class SwapPauseBench {
    static final long P = 4096;
    static final int PAGES = 16;
    static final Context CTX = Context.background();

    @Param({"10000"})
    public int mappings;

    @Param({"4"})
    public int writers;

    MemfdMemoryFile mf1;
    MemfdMemoryFile mf2;
    BackingProvider from;
    BackingProvider to;
    ProviderSwap swap;
    MemoryManager mm;
    long[] at;
    long[][] last;
    volatile boolean stop;
    volatile boolean swapping;
    List<Thread> threads;
    long[][] lat;
    int[] n;
    ProviderSwap.Result result;

    @Setup(Level.Trial)
    public void files() throws MemmapException {
        mf1 = new MemfdMemoryFile("pause-from", 1L << 30, 8L << 30, 64L << 20, false);
        mf2 = new MemfdMemoryFile("pause-to", 1L << 30, 8L << 30, 64L << 20, false);
    }

    @Setup(Level.Iteration)
    public void live() throws Exception {
        from = new AnonymousProvider(mf1, MemoryFileBench.config(), Map.of("component.id", 1L));
        to = new AnonymousProvider(mf2, MemoryFileBench.config(), Map.of("component.id", 2L));
        swap = new ProviderSwap();
        mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.swapping(swap, () -> mf1, () -> List.of(from), () -> null, () -> null));
        at = new long[mappings];
        last = new long[mappings][PAGES];
        MemorySegment page = MemorySegment.ofArray(new byte[(int) P]);
        for (int i = 0; i < mappings; i++) {
            at[i] = mm.mmap(CTX, MMapOpts.builder().length(PAGES * P).build());
            for (int p = 0; p < PAGES; p++) {
                mm.write(CTX, at[i] + p * P, page);
            }
        }
        stop = false;
        swapping = false;
        threads = new ArrayList<>();
        lat = new long[writers][1 << 22];
        n = new int[writers];
        CountDownLatch warm = new CountDownLatch(writers);
        for (int w = 0; w < writers; w++) {
            int id = w;
            threads.add(Thread.ofPlatform().start(() -> write(id, warm)));
        }
        warm.await();
        // The noise floor: the same writers, as long as a swap takes, without one.
        long[] floor = measure(() -> sleepSpin(300));
        System.out.printf("%n  without a swap (300 ms): %s%n", describe(floor));
    }

    private void write(int id, CountDownLatch warm) {
        Random r = new Random(id);
        MemorySegment word = MemorySegment.ofArray(new long[1]);
        long[] mine = lat[id];
        for (long v = 1; !stop; v++) {
            int m = writers * r.nextInt(mappings / writers) + id;
            int p = r.nextInt(PAGES);
            word.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, v);
            long t0 = System.nanoTime();
            if (mm.write(CTX, at[m] + p * P + 8L * id, word).n() != 8) {
                throw new AssertionError("write failed");
            }
            long d = System.nanoTime() - t0;
            last[m][p] = v;
            if (swapping && n[id] < mine.length) {
                mine[n[id]++] = d;
            }
            if (v == 10_000) {
                warm.countDown();
            }
        }
    }

    private static void sleepSpin(long millis) {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            Thread.onSpinWait();
        }
    }

    private long[] measure(Runnable r) {
        Arrays.fill(n, 0);
        swapping = true;
        r.run();
        swapping = false;
        int total = Arrays.stream(n).sum();
        long[] all = new long[total];
        int k = 0;
        for (int w = 0; w < writers; w++) {
            System.arraycopy(lat[w], 0, all, k, n[w]);
            k += n[w];
        }
        Arrays.sort(all);
        return all;
    }

    static String describe(long[] s) {
        if (s.length == 0) {
            return "no writes";
        }
        return String.format(java.util.Locale.ROOT, "%d writes, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.3f ms",
                s.length, s[s.length / 2] / 1e3, s[(int) (s.length * 0.99)] / 1e3, s[(int) (s.length * 0.999)] / 1e3,
                s[s.length - 1] / 1e6);
    }

    @Benchmark
    public ProviderSwap.Result swap() {
        long[] during = measure(() -> result = swap.migrate(CTX, to));
        System.out.printf("  during the swap: %s%n  the swap: %s%n", describe(during),
                ProviderSwap.describe("anonymous", "from", "to", result));
        if (result.backings() != mappings) {
            throw new AssertionError("migrated " + result + " of " + mappings);
        }
        return result;
    }

    @TearDown(Level.Iteration)
    public void check() throws Exception {
        stop = true;
        for (Thread t : threads) {
            t.join();
        }
        long[] v = new long[1];
        MemorySegment word = MemorySegment.ofArray(v);
        long lost = 0;
        for (int m = 0; m < mappings; m++) {
            for (int p = 0; p < PAGES; p++) {
                if (last[m][p] != 0) {
                    mm.read(CTX, at[m] + p * P + 8L * (m % writers), word);
                    if (v[0] != last[m][p]) {
                        lost++;
                    }
                }
            }
        }
        if (lost != 0) {
            throw new AssertionError(lost + " words lost their last write");
        }
        mm.release(CTX);
    }

    @TearDown(Level.Trial)
    public void close() {
        mf1.release();
        mf2.release();
    }
}
