package memmap.mm.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * A lazy restore of a chain of image files (gVisor's async page loading, CRIU's lazy pages):
 * {@link #start} reads the metadata and every record's head, allocates the frames, loads the
 * pages of shared objects, rebuilds the address spaces with their private pages pending
 * ({@link LazyPages}) and returns; a loader thread then reads the page records in file order.
 * An access to a pending page puts its record at the front of the loader's queue and waits for
 * it. When every record is loaded the loader gives the rest of the pending pages their pmas and
 * drops the frame store.
 *
 * <p>Protocol (ARCHITECTURE.md, "Lazy restore"): a record (a {@link Unit}) is loaded once, by the
 * loader thread only (its reads never see a user thread's interrupt); it goes IDLE → LOADING →
 * LOADED or FAILED, and its latch opens after that. Its bytes are checked against the record's
 * CRC-32C before any reaches a frame. Each frame page is written by the one record of the chain
 * that holds its latest copy (its {@link Owner}), so records load in any order. Waiters hold
 * their address space's mappingMu and activeMu; the loader takes neither while records remain,
 * and at the end takes each space's mappingMu (read) then activeMu, one space at a time.
 */
final class LazyRestore implements Restored {
    static final int IDLE = 0;
    static final int LOADING = 1;
    static final int LOADED = 2;
    static final int FAILED = 3;

    /** One page record of the chain. */
    static final class Unit {
        final int image;
        final ImageFormat.RecordHead head;
        final ImageFormat.PageHead pages;
        /** Frame ranges whose latest copy this record holds. */
        final List<long[]> owned = new ArrayList<>();
        long ownedBytes;
        final AtomicInteger state = new AtomicInteger(IDLE);
        final CountDownLatch done = new CountDownLatch(1);
        volatile ImageException failure;

        Unit(int image, ImageFormat.RecordHead head, ImageFormat.PageHead pages) {
            this.image = image;
            this.head = head;
            this.pages = pages;
        }
    }

    /** Frames {@code [start, end)} of frame space 0 have their latest copy in {@code unit}. */
    record Owner(long start, long end, Unit unit) {}

    private final String[] names;
    private final FileChannel[] files;
    private final FrameStore store;
    private final List<Unit> units;
    private final TreeMap<Long, Owner> owners;
    private final RestoreOpts opts;
    private final ConcurrentLinkedQueue<Unit> urgent = new ConcurrentLinkedQueue<>();
    private final AtomicLong pending = new AtomicLong();
    private final long total;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final CompletableFuture<List<MemoryManager>> rebuilt = new CompletableFuture<>();
    private final long started = System.nanoTime();
    private volatile ImageException failure;
    private volatile boolean cancelled;
    private List<AddressSpace> spaces = List.of();
    private Thread loader;
    /** While true the loader loads only records an access waits for (a test seam: CheckpointService#holdLazyLoads). */
    private final java.util.function.BooleanSupplier hold;

    private LazyRestore(String[] names, FileChannel[] files, FrameStore store, List<Unit> units, TreeMap<Long, Owner> owners,
            RestoreOpts opts, java.util.function.BooleanSupplier hold) {
        this.hold = hold;
        this.names = names;
        this.files = files;
        this.store = store;
        this.units = units;
        this.owners = owners;
        this.opts = opts;
        long t = 0;
        for (Unit u : units) {
            t += u.ownedBytes;
        }
        this.total = t;
        pending.set(t);
    }

    /**
     * Restores {@code chain} lazily. Everything that can be checked without the page bytes is
     * checked first (headers, links, metadata, every record's head, fields and bitmap, the end
     * records, host-file identities): a failure there leaves the runtime as it was.
     */
    static Restored start(Context ctx, CheckpointService service, List<Path> chain, RestoreOpts opts) throws MemmapException {
        FrameStore store = new FrameStore(service.backings().memoryFile());
        String[] names = new String[chain.size()];
        FileChannel[] files = new FileChannel[chain.size()];
        LazyRestore lr = null;
        try {
            List<Unit> units = new ArrayList<>();
            ImageMeta meta = null;
            UUID last = null;
            for (int i = 0; i < chain.size(); i++) {
                names[i] = chain.get(i).toString();
                files[i] = CheckpointService.open(chain.get(i));
                ImageReader r = new ImageReader(names[i], files[i], store, opts.progress());
                last = CheckpointService.link(names[i], r.begin(), i, last, chain);
                meta = r.meta;
                index(names[i], i, files[i], r.position(), units);
            }
            // Frames of frame space 0 that a private pma of the last image uses: only those are
            // allocated and loaded (an earlier image's pages that no mapping keeps are not).
            TreeMap<Long, Long> used = new TreeMap<>();
            for (ImageMeta.Space sp : meta.spaces()) {
                for (ImageMeta.PmaRec p : sp.pmas()) {
                    if (p.isPrivate()) {
                        Capture.addRange(used, p.frame(), p.frame() + (p.end() - p.start()));
                    }
                }
            }
            Map<Long, TreeMap<Long, Owner>> bySpace = new HashMap<>();
            for (Unit u : units) {
                for (long[] r : u.pages.space() == 0 ? clip(used, u.pages.off(), u.pages.end()) : List.of(new long[] {u.pages.off(), u.pages.end()})) {
                    store.slots(u.pages.space(), r[0], r[1], u.pages.memCgId());
                }
                own(bySpace.computeIfAbsent(u.pages.space(), k -> new TreeMap<>()), u);
            }
            for (Map.Entry<Long, TreeMap<Long, Owner>> m : bySpace.entrySet()) {
                for (Owner o : m.getValue().values()) {
                    for (long[] r : m.getKey() == 0 ? clip(used, o.start(), o.end()) : List.of(new long[] {o.start(), o.end()})) {
                        o.unit().owned.add(r);
                        o.unit().ownedBytes += r[1] - r[0];
                    }
                }
            }
            lr = new LazyRestore(names, files, store, units, bySpace.getOrDefault(0L, new TreeMap<>()), opts,
                    () -> service.holdLazyLoads);
            // Shared objects are filled as they are made: their records load now, in this thread.
            ByteBuffer scratch = ByteBuffer.allocateDirect(maxPayload());
            for (Unit u : units) {
                if (u.ownedBytes == 0) {
                    lr.finish(u, LOADED, null);
                } else if (u.pages.space() != 0) {
                    u.state.set(LOADING);
                    lr.load(u, scratch);
                    if (u.failure != null) {
                        throw u.failure;
                    }
                }
            }
            lr.loader = Thread.ofPlatform().daemon().name("memmap-lazy-restore").unstarted(lr::loadAll);
            lr.loader.start();
            List<MemoryManager> made;
            try {
                made = new Rebuild(ctx, names[names.length - 1], meta, store, service.backings(), lr).run();
            } catch (MemmapException | RuntimeException e) {
                lr.abandon(); // (Rebuild's undo did, before it dropped the pending pages)
                throw e;
            }
            // The pending runs hold what is still to load; the shared objects have their pages: the
            // store's references go, as after an eager restore.
            store.dropRefs();
            lr.spaces = List.copyOf(made);
            lr.rebuilt.complete(made);
            return lr;
        } finally {
            if (lr == null || lr.loader == null) { // else the loader frees them when it ends
                store.free();
                closeAll(files);
            }
        }
    }

    /** The rebuild failed: the loader stops (what it did not load fails) and is waited for; it frees the store. Idempotent. */
    void abandon() {
        cancelled = true;
        rebuilt.complete(List.of());
        joinQuietly(loader);
    }

    private static int maxPayload() {
        return 24 + ImageFormat.RUN_PAGES / 8 + (ImageFormat.RUN_PAGES << Pages.PAGE_SHIFT);
    }

    /** Reads every record head after the metadata (which ends at {@code at}) into {@code out}, checking the image's structure. */
    private static void index(String name, int image, FileChannel fc, long at, List<Unit> out) throws ImageException {
        long records = 1;
        long pageBytes = 0;
        try {
            long size = fc.size();
            HeadReader heads = new HeadReader(fc);
            while (true) {
                heads.seek(at);
                ImageFormat.RecordHead h = ImageFormat.readRecordHead(name, heads, at);
                if (h == null) {
                    throw new ImageException(name + " is truncated: it ends at byte " + at + " without its end record");
                }
                long payload = at + ImageFormat.RECORD_HEAD;
                if (h.type() == ImageFormat.END) {
                    ImageFormat.readEnd(name, heads, h, payload, records, pageBytes);
                    return;
                }
                if (h.type() != ImageFormat.PAGES) {
                    throw new ImageException(name + ": a second " + ImageFormat.typeName(h.type()) + " record at byte " + at + " (corrupt)");
                }
                ImageFormat.PageHead ph = ImageFormat.readPageHead(name, heads, h, payload);
                at = payload + h.length();
                if (at > size) {
                    throw new ImageException(name + " is truncated: it ends at byte " + size + ", " + (at - size)
                            + " bytes short of the end of " + ph.where(h));
                }
                out.add(new Unit(image, h, ph));
                records++;
                pageBytes += (long) ph.n() << Pages.PAGE_SHIFT;
            }
        } catch (IOException e) {
            throw new ImageException(name + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** The parts of {@code [s, e)} in {@code set} (disjoint ranges, start → end). */
    private static List<long[]> clip(TreeMap<Long, Long> set, long s, long e) {
        List<long[]> out = new ArrayList<>();
        Map.Entry<Long, Long> f = set.floorEntry(s);
        if (f != null && f.getValue() > s) {
            out.add(new long[] {s, Math.min(f.getValue(), e)});
        }
        for (Map.Entry<Long, Long> n : set.subMap(s, false, e, false).entrySet()) {
            out.add(new long[] {n.getKey(), Math.min(n.getValue(), e)});
        }
        return out;
    }

    /**
     * Reads a file from a position through one positional read of up to a page (a record's head,
     * fields and bitmap are 68 bytes: one read each, not three), for the index pass.
     */
    private static final class HeadReader implements java.nio.channels.ReadableByteChannel {
        private final FileChannel fc;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(4096).limit(0);
        private long pos;

        HeadReader(FileChannel fc) {
            this.fc = fc;
        }

        void seek(long at) {
            pos = at;
            buf.limit(0);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (!buf.hasRemaining()) {
                buf.clear();
                int n = fc.read(buf, pos);
                buf.flip();
                if (n <= 0) {
                    return -1;
                }
            }
            int n = Math.min(buf.remaining(), dst.remaining());
            dst.put(dst.position(), buf, buf.position(), n).position(dst.position() + n);
            buf.position(buf.position() + n);
            pos += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return fc.isOpen();
        }

        @Override
        public void close() {
        }
    }

    /** Records {@code u} as the latest copy of its pages (it comes after every record already owned). */
    private static void own(TreeMap<Long, Owner> m, Unit u) {
        long s = u.pages.off();
        long e = u.pages.end();
        Map.Entry<Long, Owner> f = m.lowerEntry(s);
        if (f != null && f.getValue().end() > s) {
            Owner o = f.getValue();
            m.put(o.start(), new Owner(o.start(), s, o.unit()));
            if (o.end() > e) {
                m.put(e, new Owner(e, o.end(), o.unit()));
            }
        }
        for (Owner o : new ArrayList<>(m.subMap(s, true, e, false).values())) {
            m.remove(o.start());
            if (o.end() > e) {
                m.put(e, new Owner(e, o.end(), o.unit()));
            }
        }
        m.put(s, new Owner(s, e, u));
    }

    // ---------------------------------------------------------------- used by LazyPages

    FrameStore store() {
        return store;
    }

    String name() {
        return names[names.length - 1];
    }

    /** The owners of frames {@code [start, end)} of frame space 0, in order (whole: they may reach outside). */
    List<Owner> owners(long start, long end) {
        List<Owner> out = new ArrayList<>();
        Map.Entry<Long, Owner> f = owners.floorEntry(start);
        if (f != null && f.getValue().end() > start) {
            out.add(f.getValue());
        }
        for (Owner o : owners.subMap(start, false, end, false).values()) {
            out.add(o);
        }
        return out;
    }

    /** Waits until {@code u} is loaded (first in the loader's queue); its failure, or null. */
    ImageException await(Unit u) {
        int st = u.state.get();
        if (st == LOADED) {
            return null;
        }
        if (st == FAILED) {
            return u.failure;
        }
        urgent.add(u);
        boolean interrupted = false;
        while (true) {
            try {
                u.done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // a page fault is not interruptible; the interrupt is kept
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return u.state.get() == LOADED ? null : u.failure;
    }

    // ---------------------------------------------------------------- the loader

    private void loadAll() {
        ByteBuffer scratch = ByteBuffer.allocateDirect(maxPayload());
        int cursor = 0;
        long lastProgress = 0;
        while (true) {
            Unit u = urgent.poll();
            if (u == null) {
                while (cursor < units.size() && units.get(cursor).state.get() != IDLE) {
                    cursor++;
                }
                if (cursor == units.size()) {
                    break;
                }
                while (hold.getAsBoolean() && urgent.isEmpty() && !cancelled) {
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000); // a test holds the loader to urgent records
                }
                u = urgent.poll();
                if (u == null) {
                    u = units.get(cursor);
                }
            }
            if (!u.state.compareAndSet(IDLE, LOADING)) {
                continue;
            }
            if (cancelled) {
                finish(u, FAILED, new ImageException(names[u.image] + ": the restore was abandoned before " + u.pages.where(u.head)
                        + " was loaded"));
                continue;
            }
            load(u, scratch);
            long done = total - pending.get();
            if (done - lastProgress >= (64L << 20)) {
                lastProgress = done;
                opts.progress().update(done, total, System.nanoTime() - started);
            }
        }
        List<MemoryManager> made = rebuilt.join();
        for (MemoryManager mm : made) {
            mm.mappingMu.readLock().lock();
            try {
                mm.pmas.lockForChange(); // settles every pending page that loaded
                try {
                    mm.pmas.finishLazyLocked();
                } finally {
                    mm.pmas.unlock();
                }
            } finally {
                mm.mappingMu.readLock().unlock();
            }
        }
        if (cancelled) {
            store.free(); // else the store's references went after the rebuild, and pending runs still look frames up in it
        }
        closeAll(files);
        opts.progress().update(total - pending.get(), total, System.nanoTime() - started);
        if (failure != null && !cancelled) {
            Logging.CHECKPOINT.error("memmap.mm: lazy restore of " + name() + ": " + failure.getMessage());
        }
        finished.countDown();
    }

    /** Loads {@code u} (state LOADING, this thread's): reads its payload, checks it, copies its owned pages into their frames. */
    private void load(Unit u, ByteBuffer scratch) {
        try {
            ImageFormat.PageHead ph = u.pages;
            scratch.clear().limit(u.head.length());
            long at = u.head.at() + ImageFormat.RECORD_HEAD;
            FileChannel fc = files[u.image];
            while (scratch.hasRemaining()) {
                if (fc.read(scratch, at + scratch.position()) < 0) {
                    throw new ImageException(names[u.image] + " is truncated (it shrank since the restore began): it ends inside "
                            + ph.where(u.head));
                }
            }
            scratch.flip();
            CRC32C c = new CRC32C();
            c.update(scratch.duplicate());
            if ((int) c.getValue() != u.head.crc()) {
                throw new ImageException(names[u.image] + ": " + ph.where(u.head) + " fails its checksum (the image is corrupt)");
            }
            List<FrameStore.Piece> pieces = new ArrayList<>();
            for (long[] o : u.owned) {
                for (FrameStore.Piece p : store.lookup(names[u.image], ph.space(), o[0], o[1])) {
                    pieces.add(new FrameStore.Piece(p.src(), p.target(), p.length(), true)); // only its owner writes a frame
                }
            }
            store.fill(ph, MemorySegment.ofBuffer(scratch).asSlice(ph.prefixBytes()), pieces);
            finish(u, LOADED, null);
        } catch (ImageException e) {
            finish(u, FAILED, e);
        } catch (IOException | MemmapException | RuntimeException e) {
            finish(u, FAILED, new ImageException(names[u.image] + ": loading " + u.pages.where(u.head) + " failed: " + e, e));
        }
    }

    private void finish(Unit u, int state, ImageException e) {
        if (e != null) {
            u.failure = e;
            if (failure == null) {
                failure = e;
            }
        }
        u.state.set(state);
        pending.addAndGet(-u.ownedBytes);
        u.done.countDown();
    }

    private static void closeAll(FileChannel[] files) {
        for (FileChannel f : files) {
            if (f != null) {
                try {
                    f.close();
                } catch (IOException e) {
                    // read-only: nothing to lose
                }
            }
        }
    }

    private static void joinQuietly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- Restored

    @Override
    public List<AddressSpace> spaces() {
        return spaces;
    }

    @Override
    public long pendingBytes() {
        return pending.get();
    }

    @Override
    public void awaitLoaded() throws MemmapException, InterruptedException {
        finished.await();
        if (failure != null) {
            throw failure;
        }
    }
}
