package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * A timed harness (issue 15's speed rows), side by side in one run: checkpoint of written private
 * memory to a tmpfs file and to a pipe against {@code FileChannel.write} / a pipe write of the same
 * bytes, eager restore against reading the image file (into a buffer faulted in before the timer,
 * and into fresh memory-file pages, the restore's own destination), lazy restore's time to return,
 * to a first access and to the last page, and an incremental checkpoint with 1% of the pages
 * dirtied against the full one. Best of 3. Run:
 * {@code java --enable-native-access=ALL-UNNAMED -cp memmap.bench/target/memmap.bench.jar memmap.mm.internal.CheckpointSpeed [MiB]}
 */
public final class CheckpointSpeed {
    static final Context CTX = Context.background();

    public static void main(String[] args) throws Exception {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 1024) << 20;
        Path dir = Files.createTempDirectory(Path.of("/dev/shm"), "memmap-ckpt");
        MemfdMemoryFile mf = new MemfdMemoryFile("ckpt-speed", 2L << 20, 4 * bytes + (1L << 30), 0, false);
        ProviderSwap swap = new ProviderSwap();
        Backings backings = Backings.swapping(swap, () -> mf, List::of, () -> null, () -> null);
        CheckpointService cs = new CheckpointService(backings, swap);
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long addr = mm.mmap(CTX, MMapOpts.builder().length(bytes).perms(AccessType.READ_WRITE).isPrivate(true).build());
        byte[] chunk = new byte[1 << 20];
        new Random(1).nextBytes(chunk);
        for (long o = 0; o < bytes; o += chunk.length) {
            mm.write(CTX, addr + o, MemorySegment.ofArray(chunk));
        }
        // The same bytes, as the raw writer gets them: a pinned view of the space (the memory file's pages).
        MemorySegment same = mm.pin(CTX, addr, bytes, AccessType.READ, false).segment();
        double rawFile = Double.MAX_VALUE, ckFile = Double.MAX_VALUE, rawPipe = Double.MAX_VALUE, ckPipe = Double.MAX_VALUE;
        double rawRead = Double.MAX_VALUE, restore = Double.MAX_VALUE, full = Double.MAX_VALUE, inc = Double.MAX_VALUE;
        double rawFresh = Double.MAX_VALUE;
        double lazyReturn = Double.MAX_VALUE, lazyFirst = Double.MAX_VALUE, lazyAll = Double.MAX_VALUE;
        Path img = dir.resolve("full.img");
        for (int rep = 0; rep < 3; rep++) {
            Path raw = dir.resolve("raw");
            long t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(raw, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ImageFormat.writeFully(fc, same.asByteBuffer());
            }
            rawFile = Math.min(rawFile, (System.nanoTime() - t) / 1e9);
            Files.delete(raw);
            Files.deleteIfExists(img);
            t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                cs.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.FULL);
            }
            ckFile = Math.min(ckFile, (System.nanoTime() - t) / 1e9);
            rawPipe = Math.min(rawPipe, pipe(out -> ImageFormat.writeFully(out, same.asByteBuffer())));
            ckPipe = Math.min(ckPipe, pipe(out -> cs.checkpoint(CTX, List.of(mm), out, CheckpointOpts.FULL)));
            ByteBuffer into = ByteBuffer.allocateDirect((int) Math.min(Files.size(img), Integer.MAX_VALUE - 64));
            t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(img)) {
                while (fc.read(into) > 0 && into.hasRemaining()) {
                }
            }
            rawRead = Math.min(rawRead, (System.nanoTime() - t) / 1e9);
            into = null;
            System.gc(); // the 1 GiB read buffer goes before the restore is timed (else its memory is still held)
            // The same read into fresh memory-file pages: what a restore's destination costs (the kernel
            // allocating and zeroing each page on first touch), which the buffer above paid before the timer.
            memmap.api.FileRange fresh = mf.allocate(Files.size(img) & -4096L, memmap.api.AllocOpts.DEFAULT);
            t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(img)) {
                for (memmap.api.safemem.Block blk : mf.mapInternal(fresh, AccessType.WRITE).toList()) {
                    ByteBuffer bb = blk.segment().asByteBuffer();
                    while (bb.hasRemaining() && fc.read(bb) > 0) {
                    }
                }
            }
            rawFresh = Math.min(rawFresh, (System.nanoTime() - t) / 1e9);
            mf.decRef(fresh);
            t = System.nanoTime();
            Restored r = cs.restore(CTX, List.of(img), RestoreOpts.EAGER);
            restore = Math.min(restore, (System.nanoTime() - t) / 1e9);
            r.spaces().forEach(x -> x.release(CTX));
            // Lazy: until restore returns, until a first access (a page in the middle) returns, until all is loaded.
            t = System.nanoTime();
            Restored lz = cs.restore(CTX, List.of(img), RestoreOpts.LAZY);
            lazyReturn = Math.min(lazyReturn, (System.nanoTime() - t) / 1e9);
            byte[] one = new byte[8];
            lz.spaces().getFirst().read(CTX, addr + bytes / 2 + 4096 * 7, MemorySegment.ofArray(one));
            lazyFirst = Math.min(lazyFirst, (System.nanoTime() - t) / 1e9);
            lz.awaitLoaded();
            lazyAll = Math.min(lazyAll, (System.nanoTime() - t) / 1e9);
            lz.spaces().forEach(x -> x.release(CTX));
            // Incremental: a chain, 1% of the pages dirtied, the next image.
            Path a = dir.resolve("a.img");
            Path b = dir.resolve("b.img");
            Files.deleteIfExists(a);
            Files.deleteIfExists(b);
            CheckpointResult base;
            t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(a, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                base = cs.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.startChain());
            }
            full = Math.min(full, (System.nanoTime() - t) / 1e9);
            Random dirty = new Random(rep);
            long pages = bytes >>> 12;
            for (long i = 0; i < pages / 100; i++) {
                mm.write(CTX, addr + (dirty.nextLong(pages) << 12), MemorySegment.ofArray(new byte[] {(byte) i, 1}));
            }
            t = System.nanoTime();
            try (FileChannel fc = FileChannel.open(b, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                cs.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.after(base.chain())).chain().close();
            }
            inc = Math.min(inc, (System.nanoTime() - t) / 1e9);
            Files.delete(a);
            Files.delete(b);
        }
        double mib = bytes / (double) (1 << 20);
        System.out.printf("%.0f MiB of written private memory, best of 3 (s, MiB/s):%n", mib);
        System.out.printf("  tmpfs file: FileChannel.write %.3f (%.0f)  checkpoint %.3f (%.0f)  ratio %.2f%n", rawFile, mib / rawFile, ckFile, mib / ckFile, rawFile / ckFile);
        System.out.printf("  pipe:       raw write %.3f (%.0f)  checkpoint %.3f (%.0f)  ratio %.2f%n", rawPipe, mib / rawPipe, ckPipe, mib / ckPipe, rawPipe / ckPipe);
        System.out.printf("  restore:    FileChannel.read %.3f (%.0f)  eager restore %.3f (%.0f)  ratio %.2f%n", rawRead, mib / rawRead, restore, mib / restore, rawRead / restore);
        System.out.printf("  restore into fresh pages: FileChannel.read into new memory-file pages %.3f (%.0f)  eager restore ratio %.2f%n",
                rawFresh, mib / rawFresh, rawFresh / restore);
        System.out.printf("  lazy restore: returned %.1f ms, first access (mid-image) returned %.1f ms, all loaded %.3f s (%.0f)%n",
                lazyReturn * 1e3, lazyFirst * 1e3, lazyAll, mib / lazyAll);
        System.out.printf("  incremental 1%% dirty: full %.3f  incremental %.4f  = %.1f%% of the full%n", full, inc, 100 * inc / full);
        Files.walk(dir).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        System.exit(0);
    }

    interface Sink {
        void write(WritableByteChannel out) throws Exception;
    }

    /** Seconds to write through a pipe that a thread drains. */
    static double pipe(Sink s) throws Exception {
        Pipe p = Pipe.open();
        Thread drain = new Thread(() -> {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            try {
                while (p.source().read(b.clear()) >= 0) {
                }
            } catch (java.io.IOException e) {
                // closed
            }
        });
        drain.start();
        long t = System.nanoTime();
        try (WritableByteChannel out = p.sink()) {
            s.write(out);
        }
        drain.join();
        double secs = (System.nanoTime() - t) / 1e9;
        p.source().close();
        return secs;
    }
}
