package memmap.mm.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BufferedIOFallback;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.HostFault;
import memmap.api.IoResult;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.Pages;
import memmap.api.PinnedView;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;
import memmap.api.segment.Segment;
import memmap.posix.Posix;

/**
 * Pinned views of one address space (gVisor's {@code mm.Pin}/{@code Unpin}; Linux's
 * {@code pin_user_pages} with an MMU notifier): making them, telling them before the pages
 * they show stop being what the address space maps ({@link #invalidateLocked}), and what fork
 * and dirty tracking must know of the ones pinned for writing.
 *
 * <p>A view's segments are the internal mappings of its pages re-scoped to an arena of its
 * own, closed when it is: after {@link PinnedView#close} no access through them can happen
 * (the JDK's guarantee for a closed shared arena), and only then are the page references
 * dropped, so a page is never reused under a holder.
 *
 * <p>Locking: the list of open views is guarded by {@code activeMu}; {@link #pin} takes
 * {@code mappingMu} (read) then {@code activeMu}; closing takes {@code activeMu}.
 */
final class Pins {

    private final MemoryManager mm;
    /** The open views. Guarded by activeMu. */
    private final List<View> open = new ArrayList<>();

    Pins(MemoryManager mm) {
        this.mm = mm;
    }

    /** A page reference a view holds. */
    private record Ref(MemmapFile file, FileRange range) {
    }

    /** {@link memmap.api.AddressSpace#pin}. */
    PinnedView pin(Context ctx, long addr, long length, AccessType at, boolean force) throws MemmapException {
        java.util.Objects.requireNonNull(ctx, "ctx = null");
        java.util.Objects.requireNonNull(at, "at = null");
        if (length == 0) {
            throw Errno.EINVAL.exception("length = 0: nothing to pin at " + Pages.hex(addr));
        }
        if (!at.read() && !at.write()) {
            throw Errno.EINVAL.exception("at = " + at + ": a view is pinned for reading, writing or both");
        }
        long end = addr + length;
        Pages.Rounded pagesEnd = Pages.roundUp(end);
        if (Long.compareUnsigned(end, addr) < 0 || !pagesEnd.ok()) {
            throw Errno.EFAULT.exception("[" + Pages.hex(addr) + ", +" + Long.toUnsignedString(length) + ") wraps");
        }
        AccessType access = at.intersect(AccessType.READ_WRITE);
        Arena arena = Arena.ofShared();
        List<Ref> refs = new ArrayList<>();
        List<Part> parts = new ArrayList<>();
        mm.mappingMu.readLock().lock();
        try {
            mm.pmas.lockToTranslate();
            try {
                long pos = Pages.roundDown(addr);
                while (Long.compareUnsigned(pos, pagesEnd.value()) < 0) {
                    Segment<Vma> v = mm.vmas.set.findSegment(pos);
                    if (v == null) {
                        throw Errno.EFAULT.exception(Pages.hex(pos) + " is not mapped");
                    }
                    String refused = Io.refusal(v.value(), at, force);
                    if (refused != null) {
                        throw Errno.EFAULT.exception(Pages.hex(pos) + " " + refused);
                    }
                    long chunkEnd = Long.compareUnsigned(v.end(), pagesEnd.value()) < 0 ? v.end() : pagesEnd.value();
                    PmaLayer.Prepared r = mm.pmas.getPmasLocked(ctx, v, new AddrRange(pos, chunkEnd), at);
                    if (Long.compareUnsigned(r.end(), chunkEnd) < 0) {
                        MemmapError e = r.error() != null ? r.error() : Errno.EFAULT.withDetail(Pages.hex(r.end()) + " could not be backed");
                        throw new MemmapException(e);
                    }
                    if (force && at.write()) {
                        mm.pmas.dirty.logWrittenLocked(v.start(), v.value(), pos, chunkEnd);
                    }
                    while (Long.compareUnsigned(pos, chunkEnd) < 0) {
                        Segment<Pma> p = mm.pmas.set.findSegment(pos);
                        Pma pma = p.value();
                        if (!Io.usable(pma, at, force)) {
                            throw Errno.EFAULT.exception("the pma at " + Pages.hex(p.start()) + " allows " + pma.effectivePerms() + ", not " + at);
                        }
                        long e = Long.compareUnsigned(p.end(), chunkEnd) < 0 ? p.end() : chunkEnd;
                        FileRange fr = new FileRange(pma.off() + (pos - p.start()), pma.off() + (e - p.start()));
                        BlockSeq bs;
                        try {
                            bs = pma.file().mapInternal(fr, access);
                        } catch (MemmapException ex) {
                            if (ex.error() == BufferedIOFallback.INSTANCE) {
                                throw Errno.EFAULT.exception(Pages.hex(pos) + " cannot be pinned: its file cannot be mapped (buffered I/O only)");
                            }
                            throw ex;
                        }
                        pma.file().incRef(fr, ctx.memCgId());
                        refs.add(new Ref(pma.file(), fr));
                        boolean mayFault = false;
                        for (BlockSeq b = bs; !b.isEmpty(); b = b.tail()) {
                            mayFault |= b.head().needSafecopy();
                        }
                        parts.add(new Part(pos, e, pma.file(), fr, mayFault));
                        pos = e;
                    }
                }
                List<PinnedView.Piece> pieces = map(parts, access, arena, addr, end);
                MemorySegment all = pieces.getFirst().segment().reinterpret(end - addr); // the pieces are one mapping, in order
                View view = new View(this, new AddrRange(addr, end), access, pieces, all, refs, arena);
                open.add(view);
                if (access.write()) {
                    relogLocked(view.pages());
                }
                return view;
            } finally {
                mm.pmas.unlock();
            }
        } catch (MemmapException | RuntimeException e) {
            arena.close();
            refs.forEach(ref -> ref.file().decRef(ref.range()));
            throw e;
        } finally {
            mm.mappingMu.readLock().unlock();
        }
    }

    /** A contiguous part of a view: pages {@code [start, end)} are {@code range} of {@code file}. */
    private record Part(long start, long end, MemmapFile file, FileRange range, boolean mayFault) {
    }

    /**
     * The view's memory as one contiguous host mapping: a reservation of its pages with each
     * part's file range mapped over it (MAP_SHARED of the file's data descriptor: the very
     * pages the address space maps), unmapped when {@code arena} closes. One segment, however
     * many pmas, chunks or files the range spans: the holder indexes it directly.
     */
    private static List<PinnedView.Piece> map(List<Part> parts, AccessType access, Arena arena, long start, long end)
            throws MemmapException {
        long base = parts.getFirst().start();
        long len = parts.getLast().end() - base;
        int prot = access.write() ? Posix.PROT_READ | Posix.PROT_WRITE : Posix.PROT_READ;
        MemorySegment reserved = Posix.mmap(len, Posix.PROT_NONE, Posix.MAP_PRIVATE | Posix.MAP_ANONYMOUS | Posix.MAP_NORESERVE, -1, 0);
        try {
            for (Part p : parts) {
                Posix.mmapFixed(MemorySegment.ofAddress(reserved.address() + (p.start() - base)), p.end() - p.start(), prot,
                        Posix.MAP_SHARED, p.file().dataFd(p.range()), p.range().start());
            }
        } catch (MemmapException | RuntimeException e) {
            Posix.munmap(reserved, len);
            throw e;
        }
        MemorySegment whole = MemorySegment.ofAddress(reserved.address()).reinterpret(len, arena, s -> {
            try {
                Posix.munmap(s, len);
            } catch (MemmapException e) {
                Logging.PINS.warn("memmap.mm: unmapping a closed pinned view failed: " + e.getMessage());
            }
        });
        if (!access.write()) {
            whole = whole.asReadOnly();
        }
        List<PinnedView.Piece> out = new ArrayList<>(parts.size());
        for (Part p : parts) {
            long s = Long.compareUnsigned(p.start(), start) > 0 ? p.start() : start;
            long e = Long.compareUnsigned(p.end(), end) < 0 ? p.end() : end;
            if (Long.compareUnsigned(s, e) < 0) {
                PinnedView.Piece last = out.isEmpty() ? null : out.getLast();
                if (last != null && last.mayFault() == p.mayFault()) { // one piece per run of equal mayFault
                    out.set(out.size() - 1, new PinnedView.Piece(new AddrRange(last.range().start(), e),
                            whole.asSlice(last.range().start() - base, e - last.range().start()), p.mayFault()));
                } else {
                    out.add(new PinnedView.Piece(new AddrRange(s, e), whole.asSlice(s - base, e - s), p.mayFault()));
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * The address space is about to stop mapping {@code [start, end)} as it does now (its pmas
     * are removed, moved, copied on write or re-pointed): the open views over it go stale,
     * their listeners told first. Requires activeMu.
     */
    void invalidateLocked(long start, long end) {
        if (open.isEmpty()) {
            return;
        }
        for (View v : List.copyOf(open)) { // a listener may close its view (which leaves the list)
            AddrRange pages = v.pages();
            long s = Long.compareUnsigned(pages.start(), start) > 0 ? pages.start() : start;
            long e = Long.compareUnsigned(pages.end(), end) < 0 ? pages.end() : end;
            if (Long.compareUnsigned(s, e) < 0) {
                v.goStale(clip(v.range(), s, e));
            }
        }
    }

    private static AddrRange clip(AddrRange r, long s, long e) {
        return new AddrRange(Long.compareUnsigned(r.start(), s) > 0 ? r.start() : s, Long.compareUnsigned(r.end(), e) < 0 ? r.end() : e);
    }

    /**
     * The pages of {@code [start, end)} under open views pinned for writing, in address order
     * (possibly overlapping): fork copies them for the child at once. Requires activeMu.
     */
    List<AddrRange> writePinnedLocked(long start, long end) {
        if (open.isEmpty()) {
            return List.of();
        }
        List<AddrRange> out = new ArrayList<>();
        for (View v : open) {
            if (v.access().write() && !v.isStale()) {
                AddrRange pages = v.pages();
                long s = Long.compareUnsigned(pages.start(), start) > 0 ? pages.start() : start;
                long e = Long.compareUnsigned(pages.end(), end) < 0 ? pages.end() : end;
                if (Long.compareUnsigned(s, e) < 0) {
                    out.add(new AddrRange(s, e));
                }
            }
        }
        out.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        return out;
    }

    /**
     * Logs the pages of open write views in {@code ar} as written (their holders may write
     * them at any time, unseen): called when a write log is re-armed. Requires activeMu and
     * mappingMu.
     */
    void relogLocked(AddrRange ar) {
        for (AddrRange w : writePinnedLocked(ar.start(), ar.end())) {
            for (long pos = w.start(); Long.compareUnsigned(pos, w.end()) < 0;) {
                Segment<Vma> v = mm.vmas.set.findSegment(pos);
                if (v == null) {
                    break;
                }
                long e = Long.compareUnsigned(v.end(), w.end()) < 0 ? v.end() : w.end();
                mm.pmas.dirty.logWrittenLocked(v.start(), v.value(), pos, e);
                pos = e;
            }
        }
    }

    /** Number of open views (for tests and invariants). Requires activeMu. */
    int openLocked() {
        return open.size();
    }

    private void closed(View v) {
        mm.activeMu.lock();
        try {
            open.remove(v);
        } finally {
            mm.activeMu.unlock();
        }
    }

    /** One open (or closed) view. */
    private static final class View implements PinnedView {
        private final Pins owner;
        private final AddrRange range;
        private final AccessType access;
        private final List<Piece> pieces;
        private final MemorySegment all;
        private final List<Ref> refs;
        private final Arena arena;
        private final CopyOnWriteArrayList<Consumer<AddrRange>> listeners = new CopyOnWriteArrayList<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private volatile boolean stale;

        View(Pins owner, AddrRange range, AccessType access, List<Piece> pieces, MemorySegment all, List<Ref> refs, Arena arena) {
            this.owner = owner;
            this.range = range;
            this.access = access;
            this.pieces = pieces;
            this.all = all;
            this.refs = refs;
            this.arena = arena;
        }

        AddrRange pages() {
            return new AddrRange(Pages.roundDown(range.start()), Pages.roundUp(range.end()).value());
        }

        void goStale(AddrRange r) {
            stale = true;
            for (Consumer<AddrRange> l : listeners) {
                try {
                    l.accept(r);
                } catch (RuntimeException e) {
                    Logging.PINS.warn("memmap.mm: a pinned view's stale listener threw (ignored): " + e, e);
                }
            }
        }

        @Override
        public AddrRange range() {
            return range;
        }

        @Override
        public AccessType access() {
            return access;
        }

        @Override
        public List<Piece> pieces() {
            return pieces;
        }

        @Override
        public MemorySegment segment() {
            if (closed.get()) {
                throw new IllegalStateException("the view of " + range + " is closed");
            }
            return all;
        }

        @Override
        public MemorySegment segment(long addr, long length) {
            if (closed.get()) {
                throw new IllegalStateException("the view of " + range + " is closed");
            }
            long end = addr + length;
            if (Long.compareUnsigned(addr, range.start()) < 0 || Long.compareUnsigned(end, addr) < 0
                    || Long.compareUnsigned(end, range.end()) > 0) {
                throw new IllegalArgumentException("[" + Pages.hex(addr) + ", +" + Long.toUnsignedString(length) + ") is not inside the view of " + range);
            }
            return all.asSlice(addr - range.start(), length);
        }

        @Override
        public IoResult read(long addr, MemorySegment dst) {
            return copy(addr, dst, false);
        }

        @Override
        public IoResult write(long addr, MemorySegment src) {
            if (!access.write()) {
                return new IoResult(0, Errno.EACCES.withDetail("the view of " + range + " is pinned for " + access));
            }
            return copy(addr, src, true);
        }

        private IoResult copy(long addr, MemorySegment mem, boolean write) {
            long n = java.util.Objects.requireNonNull(mem, write ? "src = null" : "dst = null").byteSize();
            if (closed.get()) {
                return new IoResult(0, Errno.EBADF.withDetail("the view of " + range + " is closed"));
            }
            long end = addr + n;
            if (Long.compareUnsigned(addr, range.start()) < 0 || Long.compareUnsigned(end, addr) < 0
                    || Long.compareUnsigned(end, range.end()) > 0) {
                return new IoResult(0, Errno.EFAULT.withDetail("[" + Pages.hex(addr) + ", +" + n + ") is outside the view of " + range));
            }
            long done = 0;
            for (Piece p : pieces) {
                if (done == n) {
                    break;
                }
                long pos = addr + done;
                if (Long.compareUnsigned(pos, p.range().end()) >= 0) {
                    continue;
                }
                long k = Math.min(n - done, p.range().end() - pos);
                MemorySegment part = p.segment().asSlice(pos - p.range().start(), k);
                Block viewSide = p.mayFault() ? Block.ofUnsafe(part) : Block.ofSafe(part);
                Block mine = Block.ofSafe(mem.asSlice(done, k));
                IoResult r = write ? Block.copy(viewSide, mine) : Block.copy(mine, viewSide);
                done += r.n();
                if (r.error() != null) {
                    return new IoResult(done, r.error() instanceof HostFault ? new BusError(r.error()) : r.error());
                }
            }
            return IoResult.ok(done);
        }

        @Override
        public boolean isStale() {
            return stale;
        }

        @Override
        public void onStale(Consumer<AddrRange> listener) {
            java.util.Objects.requireNonNull(listener, "listener");
            listeners.add(listener);
            if (stale) {
                listener.accept(range);
            }
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            owner.closed(this);
            arena.close(); // no access through the segments after this (the JDK's handshake)
            for (Ref r : refs) {
                r.file().decRef(r.range());
            }
        }

        @Override
        public String toString() {
            return "PinnedView[" + range + " " + access + (stale ? " stale" : "") + (closed.get() ? " closed" : "") + "]";
        }
    }
}
