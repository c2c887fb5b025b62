package memmap.bench;

import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
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

import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * Segment lookup at random keys: {@link SegmentSet#findSegment} against
 * {@link TreeMap#floorEntry} over the same segments, same run. Target: SegmentSet ≤ 1× TreeMap
 * at every size.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SegmentLookupBench {
    @Param({"1000", "100000", "1000000"})
    public int size;

    static final long P = 4096;
    private static final int KEYS = 1 << 16;

    SegmentSet<Long> set;
    TreeMap<Long, long[]> tree;
    long[] keys;
    int next;

    @Setup
    public void setup() {
        set = new SegmentSet<>(SegmentFunctions.neverMerge());
        tree = new TreeMap<>();
        for (long i = 0; i < size; i++) {
            // One-page segments with one-page gaps between them.
            long start = i * 2 * P;
            set.add(start, start + P, i);
            tree.put(start, new long[] {start + P});
        }
        Random rnd = new Random(42);
        keys = new long[KEYS];
        for (int i = 0; i < KEYS; i++) {
            keys[i] = (rnd.nextLong(size) * 2 * P) + rnd.nextLong(P);
        }
    }

    private long nextKey() {
        long k = keys[next];
        next = (next + 1) & (KEYS - 1);
        return k;
    }

    @Benchmark
    public Object segmentSetFind() {
        return set.findValue(nextKey());
    }

    @Benchmark
    public Object treeMapFloorEntry() {
        long k = nextKey();
        Map.Entry<Long, long[]> e = tree.floorEntry(k);
        return e != null && k < e.getValue()[0] ? e : null;
    }
}
