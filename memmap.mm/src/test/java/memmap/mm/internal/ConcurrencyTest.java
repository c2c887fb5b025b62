package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.InvalidateOpts;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;

/**
 * Threads copying through an address space while others munmap and mmap, mprotect, invalidate,
 * and a Mappable truncates and regrows a mapped file (its Invalidate arrives with the
 * Mappable's maps lock held). No deadlock, only the errors those races allow, invariants and
 * page counts exact afterwards. CheckTranslateResult is asserted on every translation (-ea).
 */
class ConcurrencyTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @TempDir
    Path dir;

    @Test
    void faultsAndCopiesRaceWithMunmapMprotectInvalidateAndTruncate() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("mm-race", 2L << 20, 1L << 30, 0, false);
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
        Path f = Files.write(dir.resolve("data"), new byte[(int) (16 * P)]);
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        FdMappable file = new FdMappableCache().get(fd, Posix.fstat(fd), f.toString(), true, true, true);
        long anonBase = 0x4000_0000L;
        long fileBase = 0x5000_0000L;
        mm.mmap(CTX, MMapOpts.builder().length(64 * P).isPrivate(true).addr(anonBase).fixed(true).build());
        mm.mmap(CTX, MMapOpts.builder().length(16 * P).mappable(file).mappingIdentity(file).addr(fileBase).fixed(true).build());

        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        AtomicLong copies = new AtomicLong();
        List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int seed = t;
            threads.add(Thread.ofPlatform().start(() -> {
                Random rnd = new Random(seed);
                byte[] buf = new byte[3 * (int) P];
                try {
                    while (!stop.get()) {
                        boolean onFile = rnd.nextBoolean();
                        long addr = (onFile ? fileBase + rnd.nextInt(14) * P : anonBase + rnd.nextInt(60) * P) + rnd.nextInt(100);
                        MemorySegment seg = MemorySegment.ofArray(buf).asSlice(0, 1 + rnd.nextInt(buf.length - 1));
                        IoResult r = rnd.nextBoolean() ? mm.read(CTX, addr, seg) : mm.write(CTX, addr, seg);
                        if (r.error() != null && !(r.error() instanceof BusError) && !r.error().equals(Errno.EFAULT)) {
                            throw new AssertionError("unexpected " + r.error());
                        }
                        copies.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        threads.add(Thread.ofPlatform().start(() -> {
            Random rnd = new Random(99);
            try {
                while (!stop.get()) {
                    long a = anonBase + rnd.nextInt(60) * P;
                    switch (rnd.nextInt(4)) {
                        case 0 -> mm.munmap(CTX, a, (1 + rnd.nextInt(4)) * P);
                        case 1 -> mm.mmap(CTX, MMapOpts.builder().length((1 + rnd.nextInt(4)) * P).isPrivate(true).addr(a)
                                .fixed(true).unmap(true).build());
                        case 2 -> {
                            try {
                                mm.mprotect(CTX, a, P, rnd.nextBoolean() ? AccessType.READ : AccessType.READ_WRITE);
                            } catch (MemmapException e) {
                                assertEquals(Errno.ENOMEM, e.errno(), "only a hole may refuse");
                            }
                        }
                        default -> mm.invalidate(new AddrRange(a, a + 2 * P), rnd.nextBoolean() ? InvalidateOpts.DEFAULT : InvalidateOpts.PRIVATE);
                    }
                }
            } catch (Throwable e) {
                failures.add(e);
            }
        }));
        threads.add(Thread.ofPlatform().start(() -> {
            Random rnd = new Random(7);
            try {
                while (!stop.get()) {
                    file.setSize(CTX, (4 + rnd.nextInt(12)) * P);
                    Thread.onSpinWait();
                }
            } catch (Throwable e) {
                failures.add(e);
            }
        }));
        Thread.sleep(2000);
        stop.set(true);
        for (Thread t : threads) {
            t.join(10_000);
            assertFalse(t.isAlive(), "a thread is stuck: deadlock?");
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a racing call failed", failures.get(0));
        }
        assertTrue(copies.get() > 1000, "copies: " + copies.get());
        mm.checkInvariants();
        mm.release(CTX);
        assertEquals(0, mm.rss());
        assertEquals(0, mf.usage().allocated(), "every private page came back");
        file.decRef(CTX);
        assertTrue(file.file().isClosed(), "every file reference came back");
        mf.release();
    }
}
