package memmap.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

import memmap.api.AddrRange;
import memmap.api.InvalidateOpts;
import memmap.api.MappableRange;
import memmap.api.MappingSet;
import memmap.api.MappingSpace;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * MappingSet costs at 1k/100k/1M segments, random positions: an AddMapping+RemoveMapping
 * pair of one page, a one-page Invalidate, and (for the ratio, same run) a segment lookup.
 * Target at 1M: each ≤ 4× the lookup.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class MappingSetBench {
    @Param({"1000", "100000", "1000000"})
    public int size;

    static final long P = 4096;
    private static final int KEYS = 1 << 16;

    MappingSet mappings;
    SegmentSet<Long> lookupSet;
    MappingSpace space;
    long[] pages;
    int next;

    @Setup
    public void setup(Blackhole bh) {
        space = (ar, opts) -> bh.consume(ar);
        mappings = new MappingSet();
        lookupSet = new SegmentSet<>(SegmentFunctions.neverMerge());
        for (long i = 0; i < size; i++) {
            // Mapped pages at even page offsets, each its own segment (distinct address runs).
            long off = i * 2 * P;
            mappings.addMapping(space, new AddrRange(0x1000_0000_0000L + i * 4 * P, 0x1000_0000_0000L + i * 4 * P + P), off, true);
            lookupSet.add(off, off + P, i);
        }
        Random rnd = new Random(7);
        pages = new long[KEYS];
        for (int i = 0; i < KEYS; i++) {
            pages[i] = rnd.nextLong(size);
        }
    }

    private long nextPage() {
        long p = pages[next];
        next = (next + 1) & (KEYS - 1);
        return p;
    }

    /** Maps and unmaps the odd page between two mapped pages: a gap becomes a segment and goes again. */
    @Benchmark
    public Object addRemovePair() {
        long i = nextPage();
        long off = i * 2 * P + P;
        AddrRange ar = new AddrRange(0x2000_0000_0000L + off, 0x2000_0000_0000L + off + P);
        mappings.addMapping(space, ar, off, false);
        return mappings.removeMapping(space, ar, off, false);
    }

    @Benchmark
    public void invalidateOnePage() {
        long off = nextPage() * 2 * P;
        mappings.invalidate(new MappableRange(off, off + P), InvalidateOpts.DEFAULT);
    }

    /** The segment-set half of {@link #addRemovePair}: insert a one-page segment into a gap and remove it. */
    @Benchmark
    public Object segmentInsertRemove() {
        long off = nextPage() * 2 * P + P;
        memmap.api.segment.Gap<Long> g = lookupSet.findGap(off);
        return lookupSet.remove(lookupSet.insertWithoutMerging(g, off, off + P, off));
    }

    @Benchmark
    public Object lookup() {
        return lookupSet.findValue(nextPage() * 2 * P);
    }
}
