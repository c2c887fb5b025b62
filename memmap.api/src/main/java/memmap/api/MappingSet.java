package memmap.api;

import java.util.ArrayList;
import java.util.List;

import memmap.api.segment.Gap;
import memmap.api.segment.Segment;
import memmap.api.segment.SegmentFunctions;
import memmap.api.segment.SegmentSet;

/**
 * The reverse map a {@link Mappable} keeps: for each range of its offsets, every
 * (MappingSpace, addresses, writable) that maps it (gVisor's {@code memmap.MappingSet},
 * spec §2).
 *
 * <p>The segmentation is observable — {@link #invalidate} calls back once per (segment,
 * mapping) — and reproduces gVisor's exactly: {@link #addMapping} never merges segments;
 * {@link #removeMapping} merges only at the two outer edges of the removed range.
 *
 * <p>Invariants: within a segment {@code R}, every mapping's address range has
 * {@code R.length()} bytes and its start corresponds to {@code R.start()}; no segment has
 * an empty set of mappings.
 *
 * <p>Thread safety: none; the owning Mappable serialises access with its "maps" lock, which
 * it may hold across {@link #invalidate} (MappingSpace callbacks rank below it).
 */
public final class MappingSet {
    private static final SegmentFunctions<MappingsOfRange> FUNCTIONS = new SegmentFunctions<>() {
        @Override
        public MappingsOfRange merge(long s1, long e1, MappingsOfRange v1, long s2, long e2, MappingsOfRange v2) {
            if (v1.size() != v2.size()) {
                return null;
            }
            long len2 = e2 - s2;
            MappingsOfRange merged = new MappingsOfRange(v1.size());
            for (MappingOfRange m : v1) {
                AddrRange ar = m.addrRange();
                MappingOfRange continuation = new MappingOfRange(m.mappingSpace(), new AddrRange(ar.end(), ar.end() + len2), m.writable());
                if (!v2.contains(continuation)) {
                    return null;
                }
                merged.add(new MappingOfRange(m.mappingSpace(), new AddrRange(ar.start(), ar.end() + len2), m.writable()));
            }
            return merged;
        }

        @Override
        public Split<MappingsOfRange> split(long start, long end, MappingsOfRange v, long at) {
            long d = at - start;
            MappingsOfRange left = new MappingsOfRange(v.size());
            MappingsOfRange right = new MappingsOfRange(v.size());
            for (MappingOfRange m : v) {
                AddrRange ar = m.addrRange();
                left.add(new MappingOfRange(m.mappingSpace(), new AddrRange(ar.start(), ar.start() + d), m.writable()));
                right.add(new MappingOfRange(m.mappingSpace(), new AddrRange(ar.start() + d, ar.end()), m.writable()));
            }
            return new Split<>(left, right);
        }
    };

    private final SegmentSet<MappingsOfRange> set = new SegmentSet<>(0, -1L, FUNCTIONS, false);

    /** An empty set. */
    public MappingSet() {}

    /**
     * The mapping of {@code subset} when {@code ms} maps {@code whole} from address {@code addr}
     * (gVisor's {@code subsetMapping}).
     *
     * @throws IllegalArgumentException if {@code whole} is not a superset of {@code subset}
     */
    public static MappingOfRange subsetMapping(MappableRange whole, MappableRange subset, MappingSpace ms, long addr,
            boolean writable) {
        if (!whole.isSupersetOf(subset)) {
            throw new IllegalArgumentException("whole = " + whole + " is not a superset of subset = " + subset);
        }
        long start = addr + (subset.start() - whole.start());
        return new MappingOfRange(ms, new AddrRange(start, start + subset.length()), writable);
    }

    /**
     * Records that {@code ms} maps offsets {@code [offset, offset + ar.length())} at
     * addresses {@code ar}.
     *
     * @return the sub-ranges of those offsets that had no mapping before, ascending, one per
     *     gap filled (empty if none)
     * @throws IllegalArgumentException if {@code ar} is empty, ill-formed or unaligned,
     *     {@code offset} is unaligned, or the offsets overflow; the set is then unchanged
     */
    public List<MappableRange> addMapping(MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        java.util.Objects.requireNonNull(ms, "ms");
        MappableRange mr = Mappable.checkMapping(ar, offset);
        List<MappableRange> mapped = new ArrayList<>(1);
        Segment.Step<MappingsOfRange> at = set.find(mr.start());
        Segment<MappingsOfRange> seg = at.segment();
        Gap<MappingsOfRange> gap = at.gap();
        while (true) {
            if (seg != null && Long.compareUnsigned(seg.start(), mr.end()) < 0) {
                seg = set.isolate(seg, mr.start(), mr.end());
                seg.value().add(subsetMapping(mr, new MappableRange(seg.start(), seg.end()), ms, ar.start(), writable));
                if (seg.end() == mr.end()) {
                    return mapped;
                }
                Segment.Step<MappingsOfRange> step = seg.nextNonEmpty();
                seg = step.segment();
                gap = step.gap();
            } else if (gap != null && Long.compareUnsigned(gap.start(), mr.end()) < 0) {
                MappableRange g = new MappableRange(gap.start(), gap.end()).intersect(mr);
                mapped.add(g);
                // A merging insert of an empty set could never merge (neighbours are non-empty).
                seg = set.insertWithoutMerging(gap, g.start(), g.end(), new MappingsOfRange());
                gap = null;
            } else {
                return mapped;
            }
        }
    }

    /**
     * Records that {@code ms} no longer maps offsets {@code [offset, offset + ar.length())} at
     * {@code ar}. Mappings that do not match (other space, addresses or {@code writable}) and
     * holes after the first offset are ignored.
     *
     * @return the sub-ranges of those offsets that now have no mapping at all, ascending, one
     *     per emptied segment (adjacent entries are not coalesced)
     * @throws IllegalArgumentException if no segment contains {@code offset}, or the
     *     arguments are malformed as for {@link #addMapping}; the set is then unchanged
     */
    public List<MappableRange> removeMapping(MappingSpace ms, AddrRange ar, long offset, boolean writable) {
        java.util.Objects.requireNonNull(ms, "ms");
        MappableRange mr = Mappable.checkMapping(ar, offset);
        List<MappableRange> unmapped = new ArrayList<>(1);
        Segment<MappingsOfRange> seg = set.findSegment(mr.start());
        if (seg == null) {
            throw new IllegalArgumentException("removeMapping(" + ar + ", offset = " + Pages.hex(offset)
                    + "): no segment contains offset " + Pages.hex(mr.start()));
        }
        // MergeOutsideRange merges at an edge only if a segment still contains that edge's
        // offset; track whether the walk emptied (or never reached) those segments to skip
        // lookups that would find nothing.
        boolean startStillMapped = true;
        boolean endStillMapped = false;
        boolean first = true;
        while (seg != null && Long.compareUnsigned(seg.start(), mr.end()) < 0) {
            seg = set.isolate(seg, mr.start(), mr.end());
            boolean last = seg.end() == mr.end();
            MappingsOfRange value = seg.value();
            value.remove(subsetMapping(mr, new MappableRange(seg.start(), seg.end()), ms, ar.start(), writable));
            boolean emptied = value.isEmpty();
            if (first) {
                startStillMapped = !emptied;
                first = false;
            }
            if (last) {
                endStillMapped = !emptied;
            }
            if (emptied) {
                unmapped.add(new MappableRange(seg.start(), seg.end()));
                Gap<MappingsOfRange> g = set.remove(seg);
                seg = last ? null : g.nextSegment();
            } else {
                seg = last ? null : seg.nextSegment();
            }
        }
        if (startStillMapped || endStillMapped) {
            set.mergeOutsideRange(mr.start(), mr.end());
        }
        return unmapped;
    }

    /**
     * Calls {@link MappingSpace#invalidate} for every mapping of offsets in {@code mr}: once
     * per (segment, mapping) pair, ascending by offset, with the addresses that map
     * {@code segment ∩ mr}. Segments are not split.
     *
     * @throws IllegalArgumentException if {@code mr} is empty or ill-formed
     */
    public void invalidate(MappableRange mr, InvalidateOpts opts) {
        mr.checkNonEmpty("mr");
        for (Segment<MappingsOfRange> seg = set.lowerBoundSegment(mr.start());
                seg != null && Long.compareUnsigned(seg.start(), mr.end()) < 0; seg = seg.nextSegment()) {
            MappableRange segRange = new MappableRange(seg.start(), seg.end());
            MappableRange sub = segRange.intersect(mr);
            for (MappingOfRange m : seg.value()) {
                m.mappingSpace().invalidate(
                        subsetMapping(segRange, sub, m.mappingSpace(), m.addrRange().start(), m.writable()).addrRange(), opts);
            }
        }
    }

    /** Calls {@link MappingSpace#invalidate} for every mapping, with its whole address range. */
    public void invalidateAll(InvalidateOpts opts) {
        for (Segment<MappingsOfRange> seg = set.firstSegment(); seg != null; seg = seg.nextSegment()) {
            for (MappingOfRange m : seg.value()) {
                m.mappingSpace().invalidate(m.addrRange(), opts);
            }
        }
    }

    /** True if nothing is mapped. */
    public boolean isEmpty() {
        return set.isEmpty();
    }

    /** True if some mapping of an offset in {@code mr} is writable. */
    public boolean hasWritableMapping(MappableRange mr) {
        boolean[] found = {false};
        set.visitRange(mr.start(), mr.end(), seg -> {
            for (MappingOfRange m : seg.value()) {
                if (m.writable()) {
                    found[0] = true;
                    return false;
                }
            }
            return true;
        });
        return found[0];
    }

    /**
     * The parts of {@code mr} that some writable mapping covers, ascending and merged: what a
     * writer can still dirty (msync cleans the rest, gVisor's KeepDirty per part).
     */
    public List<MappableRange> writableRanges(MappableRange mr) {
        java.util.Objects.requireNonNull(mr, "mr = null");
        List<MappableRange> out = new ArrayList<>();
        set.visitRange(mr.start(), mr.end(), seg -> {
            for (MappingOfRange m : seg.value()) {
                if (m.writable()) {
                    MappableRange r = new MappableRange(seg.start(), seg.end()).intersect(mr);
                    MappableRange last = out.isEmpty() ? null : out.getLast();
                    if (last != null && last.end() == r.start()) {
                        out.set(out.size() - 1, new MappableRange(last.start(), r.end()));
                    } else {
                        out.add(r);
                    }
                    break;
                }
            }
            return true;
        });
        return out;
    }

    /**
     * One segment: a range of offsets and its mappings.
     *
     * @param range the offsets
     * @param mappings every mapping of them, in insertion order
     */
    public record Entry(MappableRange range, List<MappingOfRange> mappings) {}

    /** The segments, ascending (a snapshot; for inspection and tests). */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        for (Segment<MappingsOfRange> seg = set.firstSegment(); seg != null; seg = seg.nextSegment()) {
            out.add(new Entry(new MappableRange(seg.start(), seg.end()), seg.value().toList()));
        }
        return out;
    }

    @Override
    public String toString() {
        return entries().toString();
    }
}
