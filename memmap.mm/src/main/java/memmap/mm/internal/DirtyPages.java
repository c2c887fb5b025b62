package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A set of page ranges (unsigned keys), merged as they are added: what a {@link WriteLog}
 * collects. Not thread-safe: its owner's lock guards it.
 */
final class DirtyPages {
    /** start → end; disjoint, non-adjacent, ordered by unsigned start. */
    private final TreeMap<Long, Long> ranges = new TreeMap<>(Long::compareUnsigned);
    private long bytes;

    /** Adds {@code [start, end)}. */
    void add(long start, long end) {
        if (Long.compareUnsigned(start, end) >= 0) {
            return;
        }
        Map.Entry<Long, Long> before = ranges.floorEntry(start);
        if (before != null && Long.compareUnsigned(before.getValue(), start) >= 0) {
            if (Long.compareUnsigned(before.getValue(), end) >= 0) {
                return;
            }
            start = before.getKey();
        }
        // Swallow every range starting inside [start, end].
        for (Map.Entry<Long, Long> e = ranges.ceilingEntry(start); e != null && Long.compareUnsigned(e.getKey(), end) <= 0;
                e = ranges.ceilingEntry(start)) {
            if (Long.compareUnsigned(e.getValue(), end) > 0) {
                end = e.getValue();
            }
            bytes -= e.getValue() - e.getKey();
            ranges.remove(e.getKey());
        }
        ranges.put(start, end);
        bytes += end - start;
    }

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Total bytes. */
    long bytes() {
        return bytes;
    }

    /** The ranges as {@code {start, end}} pairs, ascending. */
    List<long[]> ranges() {
        List<long[]> out = new ArrayList<>(ranges.size());
        ranges.forEach((s, e) -> out.add(new long[] {s, e}));
        return out;
    }
}
