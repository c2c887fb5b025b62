package memmap.mm.internal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.Checkpoints;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.MigrateOpts;
import memmap.api.checkpoint.MigrationReport;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;
import memmap.api.provider.SysVSharedMemory;

/**
 * The {@link Checkpoints} of one set of {@link Backings} (the AddressSpaces component's, or a
 * plain-Java runtime's): checkpoints under a {@link Stop}, restores through a {@link FrameStore}
 * and {@link Rebuild}, migrations by {@link Migrate}.
 */
public final class CheckpointService implements Checkpoints {
    private final Backings backings;
    private final ProviderSwap swap;
    /** Test seam: while true, lazy restores' loaders load only the records an access waits for. */
    volatile boolean holdLazyLoads;

    public CheckpointService(Backings backings, ProviderSwap swap) {
        this.backings = Objects.requireNonNull(backings, "backings");
        this.swap = Objects.requireNonNull(swap, "swap");
    }

    Backings backings() {
        return backings;
    }

    @Override
    public CheckpointResult checkpoint(Context ctx, List<AddressSpace> spaces, WritableByteChannel out, CheckpointOpts opts)
            throws MemmapException {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(opts, "opts");
        List<MemoryManager> mms = spacesOf(spaces);
        MemoryFile mf = backings.memoryFile();
        CheckpointChain chain = null;
        if (opts.parent() != null) {
            if (!(opts.parent() instanceof CheckpointChain c)) {
                throw new IllegalArgumentException("opts.parent = " + opts.parent() + " is not a chain of this runtime's checkpoints");
            }
            chain = c;
            chain.claim(mf);
        }
        Events.Checkpoint event = new Events.Checkpoint();
        event.begin();
        try {
            UUID id = UUID.randomUUID();
            Capture capture = new Capture(ctx, swap, mf, sysvOrNull(), chain);
            ImageWriter w = new ImageWriter(out, opts.progress());
            long t0 = System.nanoTime();
            CheckpointChain next = chain;
            int depth;
            try (Stop stop = new Stop(ctx, mms)) {
                capture.take(mms);
                depth = chain == null ? 1 : chain.depth() + 1;
                w.header(new ImageFormat.Header(ImageFormat.VERSION, chain == null ? 0 : ImageFormat.FLAG_INCREMENTAL, id,
                        chain == null ? ImageFormat.NONE : chain.imageId(), depth));
                w.meta(capture.meta);
                w.pages(capture.runs);
                w.end();
                if (next == null && opts.keepChain()) {
                    next = new CheckpointChain(mf, swap);
                    next.claim(mf);
                }
                if (next != null) {
                    next.advance(id, capture, mms);
                }
            }
            long pause = System.nanoTime() - t0;
            Logging.CHECKPOINT.info(() -> "memmap.mm: checkpoint " + id + " (depth " + depth + "): " + mms.size()
                    + " address spaces, " + w.pages + " pages saved, " + w.zeroPages + " zero pages, " + capture.sharedPages
                    + " shared, " + w.bytes + " bytes, stopped " + pause / 1_000_000 + " ms");
            if (next != null) {
                next.unclaim();
            }
            chain = null;
            if (event.shouldCommit()) {
                event.spaces = mms.size();
                event.depth = depth;
                event.pages = w.pages;
                event.zeroPages = w.zeroPages;
                event.bytes = w.bytes;
                event.stoppedNanos = pause;
                event.commit();
            }
            return new CheckpointResult(id, depth, w.pages, w.zeroPages, capture.sharedPages, w.bytes, pause, next);
        } catch (MemmapException | RuntimeException e) {
            if (chain != null) {
                // Its trackers were collected for the image that failed: what they held is gone, so
                // no later image may be taken against it.
                chain.close();
            }
            throw e;
        } finally {
            if (chain != null) {
                chain.unclaim();
            }
        }
    }

    private SysVSharedMemory sysvOrNull() {
        try {
            return backings.sysv();
        } catch (MemmapException e) {
            return null;
        }
    }

    /** The spaces as this runtime's MemoryManagers; EINVAL naming one that is not, or a duplicate. */
    List<MemoryManager> spacesOf(List<AddressSpace> spaces) throws MemmapException {
        Objects.requireNonNull(spaces, "spaces");
        if (spaces.isEmpty()) {
            throw new IllegalArgumentException("spaces = [] : name at least one address space to save");
        }
        Set<MemoryManager> ours = new HashSet<>(swap.spacesInOrder());
        List<MemoryManager> out = new ArrayList<>();
        for (int i = 0; i < spaces.size(); i++) {
            AddressSpace a = spaces.get(i);
            if (!(a instanceof MemoryManager mm) || !ours.contains(mm)) {
                throw Errno.EINVAL.exception("spaces[" + i + "] = " + a + " is not a live address space of this runtime");
            }
            if (out.contains(mm)) {
                throw new IllegalArgumentException("spaces[" + i + "] is spaces[" + out.indexOf(mm) + "] again");
            }
            out.add(mm);
        }
        return out;
    }

    @Override
    public Restored restore(Context ctx, List<Path> chain, RestoreOpts opts) throws MemmapException {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(chain, "chain");
        Objects.requireNonNull(opts, "opts");
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("chain = [] : name the full image (and the incremental images after it)");
        }
        for (int i = 0; i < chain.size(); i++) {
            Objects.requireNonNull(chain.get(i), "chain[" + i + "]");
        }
        Events.Restore event = new Events.Restore();
        event.begin();
        Restored restored = opts.lazy() ? LazyRestore.start(ctx, this, chain, opts) : restoreEagerly(ctx, chain, opts);
        event.images = chain.size();
        event.lazy = opts.lazy();
        event.spaces = restored.spaces().size();
        event.pendingBytes = restored.pendingBytes();
        event.commit();
        return restored;
    }

    private Restored restoreEagerly(Context ctx, List<Path> chain, RestoreOpts opts) throws MemmapException {
        FrameStore store = new FrameStore(backings.memoryFile(), true);
        try {
            ImageMeta meta = null;
            UUID last = null;
            String name = null;
            for (int i = 0; i < chain.size(); i++) {
                name = chain.get(i).toString();
                try (FileChannel fc = open(chain.get(i))) {
                    ImageReader r = new ImageReader(name, fc, store, opts.progress());
                    last = link(name, r.begin(), i, last, chain);
                    r.pages();
                    meta = r.meta;
                } catch (IOException e) {
                    throw new ImageException(name + " cannot be closed: " + e.getMessage(), e);
                }
            }
            return new RestoredSpaces(new ArrayList<>(new Rebuild(ctx, name, meta, store, backings, null).run()));
        } finally {
            store.free();
        }
    }

    static FileChannel open(Path p) throws MemmapException {
        try {
            return FileChannel.open(p, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new ImageException(p + " cannot be opened: " + e.getMessage(), e);
        }
    }

    /** Checks that image {@code i} of the chain follows {@code last}; its id. */
    static UUID link(String name, ImageFormat.Header h, int i, UUID last, List<?> chain) throws ImageException {
        if (i == 0 && h.incremental()) {
            throw new ImageException(name + " is an incremental image (depth " + h.depth() + ", after image " + h.parent()
                    + "): restore the chain from its full image");
        }
        if (i > 0 && !h.parent().equals(last)) {
            throw new ImageException(name + " does not follow " + chain.get(i - 1) + ": it was taken after image " + h.parent()
                    + ", and " + chain.get(i - 1) + " is image " + last);
        }
        return h.id();
    }

    @Override
    public Restored restore(Context ctx, ReadableByteChannel in, RestoreOpts opts) throws MemmapException {
        Objects.requireNonNull(ctx, "ctx");
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(opts, "opts");
        if (opts.lazy()) {
            throw new IllegalArgumentException("opts.lazy = true: a lazy restore reads pages out of order, from image files only");
        }
        FrameStore store = new FrameStore(backings.memoryFile(), true);
        try {
            ImageReader r = new ImageReader("the image stream", in, store, opts.progress());
            link("the image stream", r.begin(), 0, null, List.of());
            r.pages();
            return new RestoredSpaces(new ArrayList<>(new Rebuild(ctx, "the image stream", r.meta, store, backings, null).run()));
        } finally {
            store.free();
        }
    }

    @Override
    public MigrationReport migrate(Context ctx, List<AddressSpace> spaces, java.nio.channels.ByteChannel channel, MigrateOpts opts)
            throws MemmapException {
        return new Migrate(this, swap).send(ctx, spacesOf(spaces), Objects.requireNonNull(channel, "channel"),
                Objects.requireNonNull(opts, "opts"));
    }

    @Override
    public Restored receive(Context ctx, java.nio.channels.ByteChannel channel, RestoreOpts opts) throws MemmapException {
        return new Migrate(this, swap).receive(ctx, Objects.requireNonNull(channel, "channel"), Objects.requireNonNull(opts, "opts"));
    }

    /** An eager restore's result. */
    record RestoredSpaces(List<AddressSpace> spaces) implements Restored {
        RestoredSpaces {
            spaces = List.copyOf(spaces);
        }

        @Override
        public long pendingBytes() {
            return 0;
        }

        @Override
        public void awaitLoaded() {
        }
    }
}
