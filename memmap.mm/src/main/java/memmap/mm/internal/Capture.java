package memmap.mm.internal;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.MemoryFile;
import memmap.api.OwnedPages;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.segment.Segment;
import memmap.posix.FdMappable;
import memmap.posix.Posix;

/**
 * What a checkpoint saves, taken while the address spaces are stopped ({@link Stop}): the
 * metadata, and the page runs to write — all of them for a full image, only those written since
 * the chain's last image for an incremental one.
 *
 * <p>Preconditions: every space's {@code mappingMu} write-locked and {@code activeMu} held (the
 * stop).
 */
final class Capture {
    /** Pages to write: frame space {@code space}, offsets {@code [start, end)} there, read from {@code file} at {@code fileOff}. */
    record PageRun(long space, long start, long end, int memCgId, MemmapFile file, long fileOff) {}

    final List<PageRun> runs = new ArrayList<>();
    long sharedPages;
    ImageMeta meta;
    /** Frame-space ids of the objects saved, by Mappable (kept by a chain for the next image). */
    final Map<Mappable, Long> objectSpaces = new IdentityHashMap<>();

    private final Context ctx;
    private final ProviderSwap swap;
    private final MemoryFile memoryFile;
    private final CheckpointChain parent;
    private final SysVSharedMemory sysv;

    Capture(Context ctx, ProviderSwap swap, MemoryFile memoryFile, SysVSharedMemory sysv, CheckpointChain parent) {
        this.ctx = ctx;
        this.swap = swap;
        this.memoryFile = memoryFile;
        this.sysv = sysv;
        this.parent = parent;
    }

    /** Takes everything of {@code spaces} (in the caller's order) under the stop. */
    void take(List<MemoryManager> spaces) throws MemmapException {
        List<ImageMeta.Obj> objects = new ArrayList<>();
        Map<Mappable, Integer> index = new IdentityHashMap<>();
        Map<Mappable, Mappable> owners = new IdentityHashMap<>();
        // The whole System V registry, mapped or not, in id order.
        if (sysv != null) {
            for (SysVSharedMemory.ShmStat st : sysv.list()) {
                SysVSharedMemory.Segment seg = segmentOf(st.id());
                if (seg != null) {
                    index.put(seg, objects.size());
                    objects.add(new ImageMeta.Obj(ImageMeta.SYSV, "", true, seg.effectiveSize(), 0, 0, 0, seg.stat(), cgroupOf(seg, seg.effectiveSize()), 0, List.of()));
                }
            }
        }
        List<ImageMeta.Space> recs = new ArrayList<>();
        TreeMap<Long, Long> frames = new TreeMap<>();
        Map<Long, List<AddrRange>> dirtyBySpace = new java.util.HashMap<>();
        Map<memmap.api.Mappable, TreeMap<Long, Long>> unmapped = new java.util.IdentityHashMap<>();
        long privateBytes = 0;
        for (int si = 0; si < spaces.size(); si++) {
            MemoryManager mm = spaces.get(si);
            List<AddrRange> dirty = parent == null ? null : parent.collect(mm, unmapped);
            dirtyBySpace.put(mm.serial, dirty);
            List<ImageMeta.VmaRec> vmas = new ArrayList<>();
            for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                Vma vma = v.value();
                int obj = -1;
                if (vma.mappable() != null) {
                    Integer i = index.get(vma.mappable());
                    if (i == null) {
                        i = objects.size();
                        objects.add(describe(new AddrRange(v.start(), v.end()), vma.mappable()));
                        index.put(vma.mappable(), i);
                    }
                    obj = i;
                }
                vmas.add(new ImageMeta.VmaRec(v.start(), v.end(), obj, vma.off(), ImageMeta.bits(vma.realPerms()),
                        ImageMeta.bits(vma.maxPerms()), vma.isPrivate(), vma.growsDown(), vma.isStack(), vma.dontfork(), vma.mlockMode(),
                        vma.name(), vma.nameMut(), vma.lastFault()));
            }
            List<ImageMeta.PmaRec> pmas = new ArrayList<>();
            for (Segment<Pma> p = mm.pmas.set.firstSegment(); p != null; p = p.nextSegment()) {
                Pma pma = p.value();
                if (pma.isPrivate()) {
                    if (pma.file() != memoryFile) {
                        throw Errno.EINVAL.exception("the private pages at " + new AddrRange(p.start(), p.end()) + " of address space "
                                + si + " are in a memory file that no longer serves; checkpoint after the hot swap finished");
                    }
                    addRange(frames, pma.off(), pma.off() + p.length());
                    privateBytes += p.length();
                }
                pmas.add(new ImageMeta.PmaRec(p.start(), p.end(), pma.isPrivate(), pma.isPrivate() ? pma.off() : 0,
                        ImageMeta.bits(pma.translatePerms()), ImageMeta.bits(pma.effectivePerms()), ImageMeta.bits(pma.maxPerms()),
                        pma.needCOW()));
            }
            recs.add(new ImageMeta.Space(mm.brk.start(), mm.brk.end(), mm.vmas.defMLockMode, vmas, pmas));
        }
        // Frames: each once, split where the cgroup charged changes.
        List<ImageMeta.Run> frameRuns = new ArrayList<>();
        long unionBytes = 0;
        for (Map.Entry<Long, Long> e : frames.entrySet()) {
            unionBytes += e.getValue() - e.getKey();
            for (MemoryFile.Charge c : memoryFile.charges(new FileRange(e.getKey(), e.getValue()))) {
                frameRuns.add(new ImageMeta.Run(c.range().start(), c.range().end(), c.memCgId()));
            }
        }
        sharedPages = (privateBytes - unionBytes) >>> memmap.api.Pages.PAGE_SHIFT;
        long pageBytes = 0;
        TreeMap<Long, Long> writtenFrames = parent == null ? null : parent.changedFrames(spaces, dirtyBySpace);
        for (ImageMeta.Run r : frameRuns) {
            for (long[] part : parent == null ? List.of(new long[] {r.start(), r.end()}) : parent.toWrite(r.start(), r.end(), writtenFrames)) {
                runs.add(new PageRun(0, part[0], part[1], r.memCgId(), memoryFile, part[0]));
                pageBytes += part[1] - part[0];
            }
        }
        // Objects' pages: those that exist (shared anonymous memory, System V).
        for (Map.Entry<Mappable, Integer> e : sorted(index)) {
            long space = parent == null ? e.getValue() + 1 : parent.objectSpace(e.getKey());
            objectSpaces.put(e.getKey(), space);
            ImageMeta.Obj o = objects.get(e.getValue());
            List<long[]> pop = new ArrayList<>();
            if (e.getKey() instanceof OwnedPages owned) {
                for (MappableRange r : owned.populated(new MappableRange(0, o.size()))) {
                    pop.add(new long[] {r.start(), r.end()});
                }
            }
            objects.set(e.getValue(), o.inSpace(space, pop));
        }
        for (Map.Entry<Mappable, Integer> e : sorted(index)) {
            Mappable m = e.getKey();
            ImageMeta.Obj o = objects.get(e.getValue());
            if (!(m instanceof OwnedPages owned)) {
                continue; // files: their contents stay in the file
            }
            long space = objectSpaces.get(m);
            List<long[]> want = parent == null ? List.of(new long[] {0, o.size()}) : parent.objectPagesToWrite(m, o, spaces, dirtyBySpace, unmapped);
            for (long[] w : want) {
                for (Translation t : owned.existing(new MappableRange(w[0], w[1]))) {
                    List<MemoryFile.Charge> charges = t.file() instanceof MemoryFile f ? f.charges(t.fileRange())
                            : List.of(new MemoryFile.Charge(t.fileRange(), o.memCgId()));
                    for (MemoryFile.Charge c : charges) {
                        long d = c.range().start() - t.offset();
                        runs.add(new PageRun(space, t.source().start() + d, t.source().start() + d + c.range().length(), c.memCgId(),
                                t.file(), c.range().start()));
                        pageBytes += c.range().length();
                    }
                }
            }
        }
        meta = new ImageMeta(spaces.getFirst().layout(), objects, recs, frameRuns, pageBytes);
        objectIndex = index;
    }

    /** The objects saved, by their index in the image. */
    Map<Mappable, Integer> objectIndex = Map.of();

    private static List<Map.Entry<Mappable, Integer>> sorted(Map<Mappable, Integer> index) {
        List<Map.Entry<Mappable, Integer>> l = new ArrayList<>(index.entrySet());
        l.sort(Map.Entry.comparingByValue());
        return l;
    }

    private SysVSharedMemory.Segment segmentOf(int id) throws MemmapException {
        try (SysVSharedMemory.Attachment a = sysv.attach(Context.background(), id, 0, SysVSharedMemory.SHM_RDONLY)) {
            return a.opts().mappable() instanceof SysVSharedMemory.Segment s ? s : null;
        } catch (MemmapException e) {
            if (e.errno() == Errno.EINVAL || e.errno() == Errno.EIDRM) {
                return null; // gone meanwhile
            }
            throw e;
        }
    }

    /** What {@code m}, mapped at {@code ar}, is in an image; EINVAL if it cannot be saved. */
    private ImageMeta.Obj describe(AddrRange ar, Mappable m) throws MemmapException {
        if (m instanceof SysVSharedMemory.Segment seg) {
            return new ImageMeta.Obj(ImageMeta.SYSV, "", true, seg.effectiveSize(), 0, 0, 0, seg.stat(), cgroupOf(seg, seg.effectiveSize()), 0, List.of());
        }
        Backing b = swap.template(m);
        if (b == null) {
            throw Errno.EINVAL.exception("the mapping at " + ar + " maps " + m + ", which AddressSpaces.backing did not make: it cannot be saved");
        }
        return switch (b.request()) {
            case BackingRequest.Anonymous a -> new ImageMeta.Obj(ImageMeta.ANON_SHARED, "", true, a.length(), 0, 0, 0, null,
                    cgroupOf(m, a.length()), 0, List.of());
            case BackingRequest.HostFile h -> file(ImageMeta.HOST_FILE, h.path().toString(), h.writable(), ar, m);
            case BackingRequest.SharedMemory s -> file(ImageMeta.POSIX_SHM, s.name(), b.mapAs() == Backing.MapAs.READ_WRITE, ar, m);
        };
    }

    private int cgroupOf(Mappable m, long length) {
        if (m instanceof OwnedPages o) {
            for (Translation t : o.existing(new MappableRange(0, length))) {
                if (t.file() instanceof MemoryFile f) {
                    List<MemoryFile.Charge> c = f.charges(t.fileRange());
                    if (!c.isEmpty()) {
                        return c.getFirst().memCgId();
                    }
                }
            }
        }
        return ctx.memCgId();
    }

    private static ImageMeta.Obj file(int kind, String name, boolean writable, AddrRange ar, Mappable m) throws MemmapException {
        if (!(m instanceof FdMappable f)) {
            throw Errno.EINVAL.exception("the mapping at " + ar + " maps " + m + ", which has no file identity: it cannot be saved");
        }
        int fd = f.file().fd();
        Posix.Stat st = Posix.fstat(fd);
        return new ImageMeta.Obj(kind, name, writable, st.size(), st.device(), st.inode(), Posix.mtimeNanos(fd), null, 0, 0, List.of());
    }

    /** Adds {@code [s, e)} to a set of disjoint ranges (start → end), merging what touches. */
    static void addRange(TreeMap<Long, Long> set, long s, long e) {
        Map.Entry<Long, Long> lo = set.floorEntry(s);
        if (lo != null && Long.compareUnsigned(lo.getValue(), s) >= 0) {
            s = lo.getKey();
            e = Long.compareUnsigned(lo.getValue(), e) > 0 ? lo.getValue() : e;
            set.remove(lo.getKey());
        }
        for (Map.Entry<Long, Long> n = set.ceilingEntry(s); n != null && Long.compareUnsigned(n.getKey(), e) <= 0; n = set.ceilingEntry(s)) {
            e = Long.compareUnsigned(n.getValue(), e) > 0 ? n.getValue() : e;
            set.remove(n.getKey());
        }
        set.put(s, e);
    }
}
