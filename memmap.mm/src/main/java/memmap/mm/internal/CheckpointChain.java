package memmap.mm.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import memmap.api.AddrRange;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MemoryFile;
import memmap.api.checkpoint.Chain;
import memmap.api.segment.Segment;

/**
 * A chain of images: what the next incremental checkpoint is taken against.
 *
 * <p>Why the next image may leave a private page out: its frame (memory-file offset) was in
 * the last image, a reference held here since keeps the offset from being freed and reused,
 * and no tracked address space wrote it since (a write in place is logged by the space's
 * {@link SpaceTracker}; every other change of a frame's contents — a copy-on-write break, a
 * fault of fresh memory — uses a new frame, because the reference held here means no pma ever
 * holds the only one). Object pages (shared memory) are left out when every address space of
 * the checkpoint was tracked, every space tracked is in it again, no address space was made since
 * the last image (one made and released between two images could have written it untracked) and
 * no other space maps the object; otherwise all of it is saved.
 *
 * <p>Guarded by its own monitor; its methods run under the checkpoint's stop.
 */
final class CheckpointChain implements Chain {
    private final MemoryFile memoryFile;
    private final ProviderSwap swap;
    private UUID imageId;
    private int depth;
    private final Map<Long, SpaceTracker> trackers = new HashMap<>();
    private List<ImageMeta.Run> held = List.of();
    private TreeMap<Long, Long> heldSet = new TreeMap<>();
    private Map<Mappable, Long> objectSpaces = new IdentityHashMap<>();
    /** The pages each object had in the last image. */
    private Map<Mappable, TreeMap<Long, Long>> populated = new IdentityHashMap<>();
    private long nextObjectSpace = 1;
    /** {@link ProviderSwap#createdCount} when the last image was taken: a space made since may have written shared memory untracked. */
    private long createdAtImage = -1;
    private boolean closed;
    private boolean busy;

    CheckpointChain(MemoryFile memoryFile, ProviderSwap swap) {
        this.memoryFile = memoryFile;
        this.swap = swap;
    }

    @Override
    public synchronized UUID imageId() {
        return imageId;
    }

    @Override
    public synchronized int depth() {
        return depth;
    }

    /** Claims the chain for one checkpoint; IllegalStateException if closed or in use. */
    synchronized void claim(MemoryFile serving) {
        if (closed) {
            throw new IllegalStateException("the chain of image " + imageId + " is closed");
        }
        if (busy) {
            throw new IllegalStateException("the chain of image " + imageId + " is in use by another checkpoint");
        }
        if (serving != memoryFile) {
            throw new IllegalStateException("the chain of image " + imageId + " was taken on another memory file: take a full image");
        }
        busy = true;
    }

    synchronized void unclaim() {
        busy = false;
    }

    /**
     * Pages {@code mm} wrote since the last image (re-armed), or null if it was not tracked;
     * what it wrote through shared mappings it has unmapped since goes into {@code unmapped}.
     */
    List<AddrRange> collect(MemoryManager mm, Map<Mappable, TreeMap<Long, Long>> unmapped) {
        SpaceTracker t = trackers.get(mm.serial);
        if (t == null) {
            return null;
        }
        t.takeUnmappedWrites().forEach((m, rs) -> rs.forEach((s, e) -> Capture.addRange(unmapped.computeIfAbsent(m,
                k -> new TreeMap<>()), s, e)));
        return t.collect();
    }

    /** The frames written in place by the tracked spaces (their dirty ranges through their private pmas). */
    TreeMap<Long, Long> changedFrames(List<MemoryManager> spaces, Map<Long, List<AddrRange>> dirtyBySpace) {
        TreeMap<Long, Long> out = new TreeMap<>();
        for (MemoryManager mm : spaces) {
            List<AddrRange> dirty = dirtyBySpace.get(mm.serial);
            if (dirty == null) {
                // Not tracked since the last image (a fork made since): every frame it maps is saved
                // again. A frame it shares may have been written in place by its parent before the
                // fork, and the parent's log names the address, which the parent may since have
                // moved off that frame.
                dirty = List.of(new AddrRange(0, -1L));
            }
            for (AddrRange d : dirty) {
                for (Segment<Pma> p = mm.pmas.set.lowerBoundSegment(d.start()); p != null && Long.compareUnsigned(p.start(), d.end()) < 0;
                        p = p.nextSegment()) {
                    if (!p.value().isPrivate()) {
                        continue;
                    }
                    long s = Long.compareUnsigned(p.start(), d.start()) > 0 ? p.start() : d.start();
                    long e = Long.compareUnsigned(p.end(), d.end()) < 0 ? p.end() : d.end();
                    long off = p.value().off() + (s - p.start());
                    Capture.addRange(out, off, off + (e - s));
                }
            }
        }
        return out;
    }

    /** The parts of frames {@code [s, e)} to write: not held (new since the last image) or changed. */
    List<long[]> toWrite(long s, long e, TreeMap<Long, Long> changed) {
        return toWrite(heldSet, s, e, changed);
    }

    /** The parts of {@code [s, e)} outside {@code have}, and those inside it that {@code changed} covers. */
    static List<long[]> toWrite(TreeMap<Long, Long> have, long s, long e, TreeMap<Long, Long> changed) {
        TreeMap<Long, Long> heldSet = have;
        List<long[]> out = new ArrayList<>();
        long pos = s;
        while (pos < e) {
            Map.Entry<Long, Long> h = heldSet.floorEntry(pos);
            if (h != null && h.getValue() > pos) {
                long upTo = Math.min(h.getValue(), e);
                // Held: only what changed.
                Map.Entry<Long, Long> c = changed.floorEntry(pos);
                if (c == null || c.getValue() <= pos) {
                    c = changed.higherEntry(pos);
                }
                for (; c != null && c.getKey() < upTo; c = changed.higherEntry(c.getKey())) {
                    long cs = Math.max(c.getKey(), pos);
                    long ce = Math.min(c.getValue(), upTo);
                    if (cs < ce) {
                        add(out, cs, ce);
                    }
                }
                pos = upTo;
            } else {
                Map.Entry<Long, Long> next = heldSet.higherEntry(pos);
                long upTo = next == null ? e : Math.min(next.getKey(), e);
                add(out, pos, upTo);
                pos = upTo;
            }
        }
        return out;
    }

    private static void add(List<long[]> out, long s, long e) {
        if (!out.isEmpty() && out.getLast()[1] == s) {
            out.getLast()[1] = e;
        } else {
            out.add(new long[] {s, e});
        }
    }

    /** The frame space of object {@code m}: the one it had in the chain, else a new one. */
    long objectSpace(Mappable m) {
        Long s = objectSpaces.get(m);
        return s != null ? s : nextObjectSpace++;
    }

    /** Offsets of object {@code m} (of {@code size} bytes) to save: all of it unless every writer of it was tracked. */
    List<long[]> objectPagesToWrite(Mappable m, ImageMeta.Obj o, List<MemoryManager> spaces, Map<Long, List<AddrRange>> dirtyBySpace,
            Map<Mappable, TreeMap<Long, Long>> unmapped) {
        long size = o.size();
        List<long[]> all = List.of(new long[] {0, size});
        TreeMap<Long, Long> before = populated.get(m);
        if (!objectSpaces.containsKey(m) || before == null || leftOut(spaces) || swap.createdCount() != createdAtImage
                || mappedOutside(m, spaces)) {
            return all;
        }
        TreeMap<Long, Long> offs = new TreeMap<>();
        // Pages written through mappings that went since.
        unmapped.getOrDefault(m, new TreeMap<>()).forEach((s, e) -> {
            if (s < size) {
                Capture.addRange(offs, s, Math.min(e, size));
            }
        });
        // Pages that came to exist since (a read fault makes one without writing it).
        for (long[] r : o.populated()) {
            for (long[] part : toWrite(before, r[0], r[1], new TreeMap<>())) {
                Capture.addRange(offs, part[0], part[1]);
            }
        }
        for (MemoryManager mm : spaces) {
            boolean maps = false;
            for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                maps |= v.value().mappable() == m;
            }
            if (!maps) {
                continue;
            }
            List<AddrRange> dirty = dirtyBySpace.get(mm.serial);
            if (dirty == null) {
                return all; // a space made since the last image (a fork) may have written it
            }
            for (AddrRange d : dirty) {
                for (Segment<Vma> v = mm.vmas.set.lowerBoundSegment(d.start()); v != null && Long.compareUnsigned(v.start(), d.end()) < 0;
                        v = v.nextSegment()) {
                    if (v.value().mappable() != m) {
                        continue;
                    }
                    long s = Long.compareUnsigned(v.start(), d.start()) > 0 ? v.start() : d.start();
                    long e = Long.compareUnsigned(v.end(), d.end()) < 0 ? v.end() : d.end();
                    long off = v.value().off() + (s - v.start());
                    long end = Math.min(off + (e - s), size);
                    if (off < end) {
                        Capture.addRange(offs, off, end);
                    }
                }
            }
        }
        List<long[]> out = new ArrayList<>();
        offs.forEach((s, e) -> out.add(new long[] {s, e}));
        return out;
    }

    /** Whether a space tracked since the last image is not in this one (released, or left out): what it wrote is unknown. */
    private boolean leftOut(List<MemoryManager> spaces) {
        java.util.Set<Long> in = new java.util.HashSet<>();
        spaces.forEach(mm -> in.add(mm.serial));
        return !in.containsAll(trackers.keySet());
    }

    /** Whether an address space outside the checkpoint maps {@code m} (or might: its lock is busy). */
    private boolean mappedOutside(Mappable m, List<MemoryManager> spaces) {
        java.util.Set<Long> in = new java.util.HashSet<>();
        spaces.forEach(mm -> in.add(mm.serial));
        for (MemoryManager other : swap.spacesInOrder()) {
            if (in.contains(other.serial)) {
                continue;
            }
            if (!other.mappingMu.readLock().tryLock()) {
                return true;
            }
            try {
                for (Segment<Vma> v = other.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                    if (v.value().mappable() == m) {
                        return true;
                    }
                }
            } finally {
                other.mappingMu.readLock().unlock();
            }
        }
        return false;
    }

    /**
     * Moves the chain on to the image just written: its frames held (references taken before the
     * last image's are dropped), every space of it tracked from now on. Under the stop.
     */
    synchronized void advance(UUID id, Capture c, List<MemoryManager> spaces) {
        for (ImageMeta.Run r : c.meta.frames()) {
            memoryFile.incRef(new FileRange(r.start(), r.end()), r.memCgId());
        }
        release(held);
        held = c.meta.frames();
        heldSet = new TreeMap<>();
        for (ImageMeta.Run r : held) {
            Capture.addRange(heldSet, r.start(), r.end());
        }
        objectSpaces = new IdentityHashMap<>(c.objectSpaces);
        populated = new IdentityHashMap<>();
        for (Map.Entry<Mappable, Integer> e : c.objectIndex.entrySet()) {
            TreeMap<Long, Long> t = new TreeMap<>();
            for (long[] r : c.meta.objects().get(e.getValue()).populated()) {
                Capture.addRange(t, r[0], r[1]);
            }
            populated.put(e.getKey(), t);
        }
        for (long s : objectSpaces.values()) {
            nextObjectSpace = Math.max(nextObjectSpace, s + 1);
        }
        Map<Long, SpaceTracker> keep = new HashMap<>();
        for (MemoryManager mm : spaces) {
            SpaceTracker t = trackers.remove(mm.serial);
            keep.put(mm.serial, t != null ? t : SpaceTracker.start(mm, new AddrRange(0, -1L)));
        }
        trackers.values().forEach(SpaceTracker::close); // spaces no longer saved
        trackers.clear();
        trackers.putAll(keep);
        imageId = id;
        depth++;
        createdAtImage = swap.createdCount();
    }

    private void release(List<ImageMeta.Run> runs) {
        for (ImageMeta.Run r : runs) {
            memoryFile.decRef(new FileRange(r.start(), r.end()));
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        trackers.values().forEach(SpaceTracker::close);
        trackers.clear();
        release(held);
        held = List.of();
        heldSet.clear();
    }

    @Override
    public String toString() {
        return "chain of " + depth + " image(s), last " + imageId;
    }
}
