package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Translation;
import memmap.api.TranslateResult;
import memmap.api.checkpoint.ImageException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Segment;
import memmap.posix.FdMappable;
import memmap.posix.Posix;

/**
 * A restore's second half: from metadata and a filled {@link FrameStore}, the objects (host
 * files and POSIX segments opened and checked, shared anonymous memory and System V segments
 * made and filled), then the address spaces, their vmas exactly as saved and their pmas —
 * private ones over the store's pages, shared copy-on-write where they were, translations made
 * again. All or nothing: a failure undoes everything made so far.
 */
final class Rebuild {
    private final Context ctx;
    private final String image;
    private final ImageMeta meta;
    private final FrameStore store;
    private final Backings backings;
    private final List<MemoryManager> made = new ArrayList<>();
    private final List<MappingIdentity> refs = new ArrayList<>();
    private final List<SysVSharedMemory.Segment> segments = new ArrayList<>();
    private final LazyRestore lazy;
    private SysVSharedMemory sysv;
    private Mappable[] objects;
    private MappingIdentity[] ids;

    /**
     * @param lazy the lazy restore the private pages are left pending for (each space gets a
     *     {@link LazyPages}), or null to give them their pmas now (the store holds every page)
     */
    Rebuild(Context ctx, String image, ImageMeta meta, FrameStore store, Backings backings, LazyRestore lazy) {
        this.ctx = ctx;
        this.image = image;
        this.meta = meta;
        this.store = store;
        this.backings = backings;
        this.lazy = lazy;
    }

    /** The restored spaces, in the image's order. The store's references are the caller's to drop. */
    List<MemoryManager> run() throws MemmapException {
        try {
            objects();
            for (ImageMeta.Space s : meta.spaces()) {
                space(s);
            }
            dropOwnRefs();
            return made;
        } catch (MemmapException | RuntimeException e) {
            undo();
            throw e;
        }
    }

    private void objects() throws MemmapException {
        List<ImageMeta.Obj> os = meta.objects();
        objects = new Mappable[os.size()];
        ids = new MappingIdentity[os.size()];
        for (int i = 0; i < os.size(); i++) {
            ImageMeta.Obj o = os.get(i);
            switch (o.kind()) {
                case ImageMeta.HOST_FILE, ImageMeta.POSIX_SHM -> {
                    BackingRequest req = o.kind() == ImageMeta.HOST_FILE
                            ? new BackingRequest.HostFile(java.nio.file.Path.of(o.name()), o.writable())
                            : new BackingRequest.SharedMemory(o.name(), 0, false);
                    Backing b = backings.backing(ctx, req);
                    refs.add(b.identity());
                    check(o, b.mappable());
                    objects[i] = b.mappable();
                    ids[i] = b.identity();
                }
                case ImageMeta.ANON_SHARED -> {
                    Backing b = backings.backing(ctx.withMemCgId(o.memCgId()), new BackingRequest.Anonymous(o.size()));
                    refs.add(b.identity());
                    objects[i] = b.mappable();
                    ids[i] = b.identity();
                    fill(o, b.mappable());
                }
                case ImageMeta.SYSV -> {
                    if (sysv == null) {
                        sysv = backings.sysv();
                    }
                    SysVSharedMemory.Segment seg = sysv.restore(ctx.withMemCgId(o.memCgId()), o.stat(), o.size());
                    segments.add(seg);
                    objects[i] = seg;
                    ids[i] = seg;
                    fill(o, seg);
                }
                default -> throw new ImageException(image + ": object " + i + " has unknown kind " + o.kind());
            }
        }
    }

    /** The file opened for {@code o} is the one saved: same device, inode, size and modification time. */
    private void check(ImageMeta.Obj o, Mappable m) throws MemmapException {
        String what = (o.kind() == ImageMeta.HOST_FILE ? "host file " : "POSIX shared memory ") + o.name();
        if (!(m instanceof FdMappable f)) {
            throw new ImageException(image + ": " + what + " is not a file here");
        }
        int fd = f.file().fd();
        Posix.Stat st = Posix.fstat(fd);
        long mtime = Posix.mtimeNanos(fd);
        String diff = st.device() != o.device() ? "device " + o.device() + " is now " + st.device()
                : st.inode() != o.inode() ? "inode " + o.inode() + " is now " + st.inode()
                : st.size() != o.size() ? "size " + o.size() + " is now " + st.size()
                : mtime != o.mtimeNanos() ? "modification time " + java.time.Instant.ofEpochSecond(0, o.mtimeNanos()) + " is now "
                        + java.time.Instant.ofEpochSecond(0, mtime)
                : null;
        if (diff != null) {
            throw new ImageException(image + ": " + what + " changed since the checkpoint: " + diff);
        }
    }

    /** Copies the object's saved pages from the store into it. */
    private void fill(ImageMeta.Obj o, Mappable m) throws MemmapException {
        MemoryFile mf = store.memoryFile();
        List<FrameStore.Piece> pieces = new ArrayList<>();
        for (long[] r : o.populated()) {
            pieces.addAll(store.lookup(image, o.frameSpace(), r[0], r[1]));
        }
        for (FrameStore.Piece p : pieces) {
            MappableRange r = new MappableRange(p.src(), p.src() + p.length());
            TranslateResult tr = m.translate(ctx, r, r, AccessType.WRITE);
            if (tr.error() != null && tr.translations().isEmpty()) {
                throw new MemmapException(tr.error());
            }
            for (Translation t : tr.translations()) {
                long d = t.source().start() - p.src();
                BlockSeq src = mf.mapInternal(new FileRange(p.target() + d, p.target() + d + t.source().length()), AccessType.READ);
                BlockSeq dst = t.file().mapInternal(t.fileRange(), AccessType.WRITE);
                BlockSeq.copy(dst, src);
            }
        }
    }

    private MemoryManager space(ImageMeta.Space s) throws MemmapException {
        MemoryManager mm = new MemoryManager(meta.layout(), backings);
        made.add(mm);
        List<MappingIdentity> dropped = new ArrayList<>();
        mm.mappingMu.writeLock().lock();
        mm.vmaGeneration++;
        try {
            mm.brk = new AddrRange(s.brkStart(), s.brkEnd());
            mm.vmas.defMLockMode = s.defMLockMode();
            for (ImageMeta.VmaRec v : s.vmas()) {
                Mappable m = v.obj() < 0 ? null : objects[v.obj()];
                MappingIdentity id = v.obj() < 0 ? null : ids[v.obj()];
                Vma vma = new Vma(m, v.off(), ImageMeta.perms(v.realPerms()), ImageMeta.perms(v.maxPerms()), v.isPrivate(), v.growsDown(),
                        v.isStack(), v.dontfork(), v.mlockMode(), id, v.name(), v.nameMut(), v.lastFault());
                AddrRange ar = new AddrRange(v.start(), v.end());
                if (m != null) {
                    ImageMeta.Obj o = meta.objects().get(v.obj());
                    // A System V segment's attach time is the saved one, not the restore's.
                    Context at = o.stat() == null ? ctx : new Context(ctx.credentials(), ctx.limits(), ctx.memCgId(), 0,
                            java.time.InstantSource.fixed(java.time.Instant.ofEpochSecond(o.stat().atime())));
                    m.addMapping(at, mm, ar, v.off(), vma.canWriteMappable());
                }
                if (id != null) {
                    id.incRef();
                }
                mm.vmas.insertLocked(ar, vma, false);
            }
            mm.vmas.set.mergeAll();
            mm.pmas.lockForChange();
            try {
                List<ImageMeta.PmaRec> deferred = new ArrayList<>();
                for (ImageMeta.PmaRec p : s.pmas()) {
                    if (!p.isPrivate()) {
                        continue;
                    }
                    if (lazy != null) {
                        // Pending: the run holds a reference on its frames (the store drops its own), handed to its pmas.
                        for (FrameStore.Piece piece : store.lookup(image, 0, p.frame(), p.frame() + (p.end() - p.start()))) {
                            store.memoryFile().incRef(new FileRange(piece.target(), piece.target() + piece.length()),
                                    store.memCgIdAt(0, piece.src()));
                        }
                        deferred.add(p);
                    } else {
                        insertPrivate(mm.pmas, store, image, p, p.start(), p.end(), true, false);
                    }
                }
                // Translations of shared memory made again, for the access they had.
                for (ImageMeta.PmaRec p : s.pmas()) {
                    if (p.isPrivate()) {
                        continue;
                    }
                    Segment<Vma> vseg = mm.vmas.set.findSegment(p.start());
                    if (vseg == null) {
                        continue;
                    }
                    Vma vma = vseg.value();
                    AccessType want = ImageMeta.perms(p.translatePerms()).write() && !vma.isPrivate() ? AccessType.WRITE : AccessType.READ;
                    AccessType allow = want.write() ? AccessType.READ_WRITE : AccessType.READ;
                    if (!vma.maxPerms().supersetOf(allow)) {
                        continue;
                    }
                    // Translated as it was, whatever the vma allows now (an mprotect keeps a pma): the
                    // vma lent the access for the translation, then the pma re-protected to the vma's.
                    AddrRange ar = new AddrRange(p.start(), p.end());
                    vseg.setValue(vma.withRealPerms(vma.realPerms().union(allow)));
                    try {
                        mm.pmas.fill.translateExactlyLocked(ctx, vseg, ar, want); // a pma is a cache: one that fails is not made
                    } finally {
                        vseg.setValue(vma);
                    }
                    mm.pmas.reprotectLocked(ar, vma);
                }
                if (!deferred.isEmpty()) {
                    mm.pmas.lazy = new LazyPages(lazy, deferred); // last: the re-protections above settle nothing
                }
            } finally {
                mm.pmas.unlock();
            }
        } finally {
            mm.mappingMu.writeLock().unlock();
            dropped.forEach(id -> id.decRef(ctx));
        }
        return mm;
    }

    /**
     * Gives {@code [from, to)} of saved private pma {@code p} its pmas over the store's frames,
     * each frame gaining a reference charged as the store's (or, if {@code handOver}, taking the
     * one a pending run held). Requires activeMu (and mappingMu if {@code merge}: merging looks
     * at the vmas).
     */
    static void insertPrivate(PmaLayer pmas, FrameStore store, String image, ImageMeta.PmaRec p, long from, long to, boolean merge,
            boolean handOver) throws ImageException {
        MemoryFile mf = store.memoryFile();
        long frame = p.frame() + (from - p.start());
        for (FrameStore.Piece piece : store.lookup(image, 0, frame, frame + (to - from))) {
            long a = from + (piece.src() - frame);
            FileRange fr = new FileRange(piece.target(), piece.target() + piece.length());
            if (!handOver) {
                mf.incRef(fr, store.memCgIdAt(0, piece.src()));
            }
            Pma pma = new Pma(mf, piece.target(), ImageMeta.perms(p.translatePerms()), ImageMeta.perms(p.effectivePerms()),
                    ImageMeta.perms(p.maxPerms()), p.needCOW(), true, null);
            if (merge) {
                pmas.set.insert(pmas.set.findGap(a), a, a + piece.length(), pma);
            } else {
                pmas.set.insertWithoutMerging(pmas.set.findGap(a), a, a + piece.length(), pma);
            }
            pmas.curRSS += piece.length();
        }
    }

    /** The references the objects were made with go; the mappings hold their own. */
    private void dropOwnRefs() {
        for (MappingIdentity id : refs) {
            id.decRef(ctx);
        }
        refs.clear();
        for (SysVSharedMemory.Segment seg : segments) {
            if ((seg.stat().mode() & SysVSharedMemory.SHM_DEST) != 0 && seg.stat().nattach() == 0) {
                sysv.forget(ctx, seg);
            } else {
                seg.decRef(ctx);
            }
        }
        segments.clear();
    }

    private void undo() {
        if (lazy != null) {
            lazy.abandon(); // the loader stops before the pending frames can go
        }
        for (MemoryManager mm : made) {
            mm.activeMu.lock();
            try {
                if (mm.pmas.lazy != null) {
                    mm.pmas.lazy.dropAll(); // nothing to wait for: the pending pages' references go
                    mm.pmas.lazy = null;
                }
            } finally {
                mm.activeMu.unlock();
            }
            mm.release(ctx);
        }
        made.clear();
        for (MappingIdentity id : refs) {
            id.decRef(ctx);
        }
        refs.clear();
        for (SysVSharedMemory.Segment seg : segments) {
            sysv.forget(ctx, seg);
        }
        segments.clear();
    }
}
