package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;

/**
 * The concurrency stress test of issue 11: threads mixing partial mprotects, reads and writes,
 * fork (with I/O in the child), mremap, madvise, mmap/munmap and truncation of a mapped file
 * on one address space, for {@code memmap.stress.seconds} (default 60). Allowed: the errnos
 * the calls document, and EFAULT or SIGBUS for a copy. Afterwards every invariant holds and,
 * with everything released, nothing is allocated and the file has no mapping left.
 */
class StressTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final long BASE = 0x6000_0000_0000L;
    static final int PAGES = 64;
    static final Set<Errno> DOCUMENTED = Set.of(Errno.EINVAL, Errno.ENOMEM, Errno.EFAULT, Errno.EEXIST, Errno.EACCES, Errno.EAGAIN,
            Errno.EBUSY, Errno.EPERM);

    @TempDir
    Path dir;

    @Test
    void threadsMixingEveryCallOnOneAddressSpace() throws Exception {
        long seconds = Long.getLong("memmap.stress.seconds", 60);
        MemfdMemoryFile mf = new MemfdMemoryFile("mm-stress", 2L << 20, 1L << 30, 0, false);
        AnonymousProvider anon = MemoryManagerIoTestConfig.anonymous(mf);
        Path f = Files.write(dir.resolve("stress"), new byte[(int) (8 * P)]);
        int fd = Posix.open(f.toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
        FdMappable file = new FdMappableCache().get(fd, Posix.fstat(fd), f.toString(), true, true, true);
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, anon));
        mm.mmap(CTX, MMapOpts.builder().addr(BASE).fixed(true).length(PAGES * P).isPrivate(true).build());

        List<Throwable> failures = new CopyOnWriteArrayList<>();
        Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        int threads = 4;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = t;
            Thread w = new Thread(() -> {
                Random r = new Random(seed);
                try {
                    while (System.nanoTime() < deadline && failures.isEmpty()) {
                        String op = step(r, mm, file);
                        counts.computeIfAbsent(op, k -> new AtomicLong()).incrementAndGet();
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "stress-" + t);
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            // Not a timing assertion: a thread still running long after the deadline is a deadlock; report it.
            w.join(Duration.ofSeconds(seconds + 300));
            if (w.isAlive()) {
                StringBuilder sb = new StringBuilder(w.getName() + " is stuck (deadlock?):\n");
                for (StackTraceElement e : w.getStackTrace()) {
                    sb.append("  at ").append(e).append('\n');
                }
                fail(sb.toString());
            }
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError("stress: " + failures.size() + " failure(s); first: " + failures.get(0), failures.get(0));
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
        mm.checkInvariants();
        mm.release(CTX);
        file.decRef(CTX);
        assertEquals(0, mf.usage().allocated(), "no page leaked");
        mf.release();
        System.out.println("stress: " + seconds + " s, " + counts);
    }

    /** One random call; returns its name. */
    static String step(Random r, MemoryManager mm, FdMappable file) throws Exception {
        long a = BASE + r.nextInt(PAGES) * P;
        long len = (1 + r.nextInt(8)) * P;
        int k = r.nextInt(100);
        try {
            if (k < 15) {
                AccessType[] perms = {AccessType.READ, AccessType.READ_WRITE, AccessType.NO_ACCESS, AccessType.ANY_ACCESS};
                mm.mprotect(CTX, a, len, perms[r.nextInt(perms.length)]);
                return "mprotect";
            } else if (k < 45) {
                byte[] b = new byte[1 + r.nextInt((int) (2 * P))];
                long at = a + r.nextInt((int) P);
                check(r.nextBoolean() ? mm.read(CTX, at, MemorySegment.ofArray(b)) : mm.write(CTX, at, MemorySegment.ofArray(b)));
                return "io";
            } else if (k < 50) {
                MemoryManager child = mm.fork(CTX);
                try {
                    check(child.write(CTX, a, MemorySegment.ofArray(new byte[64])));
                    check(child.read(CTX, a + P, MemorySegment.ofArray(new byte[64])));
                    child.checkInvariants();
                } finally {
                    child.release(CTX);
                }
                return "fork";
            } else if (k < 60) {
                if (r.nextBoolean()) {
                    mm.mremap(CTX, a, len, (1 + r.nextInt(8)) * P, MRemapMove.NO_MOVE, 0);
                } else {
                    mm.mremap(CTX, a, len, len, MRemapMove.MUST_MOVE, BASE + r.nextInt(PAGES - 8) * P);
                }
                return "mremap";
            } else if (k < 70) {
                MAdvice[] advice = {MAdvice.DONTNEED, MAdvice.DONTFORK, MAdvice.DOFORK};
                mm.madvise(CTX, a, len, advice[r.nextInt(advice.length)]);
                return "madvise";
            } else if (k < 80) {
                MMapOpts.Builder b = MMapOpts.builder().addr(a).fixed(true).unmap(true).length(len).isPrivate(r.nextBoolean());
                if (r.nextBoolean()) {
                    b.mappable(file).mappingIdentity(file).offset(r.nextInt(4) * P);
                }
                mm.mmap(CTX, b.build());
                return "mmap";
            } else if (k < 85) {
                mm.munmap(CTX, a, len);
                return "munmap";
            } else if (k < 90) {
                file.setSize(CTX, (2 + r.nextInt(7)) * P);
                return "truncate";
            } else if (k < 95) {
                mm.msync(CTX, a, len, true, false);
                return "msync";
            } else {
                mm.fault(CTX, a + r.nextInt((int) P), r.nextBoolean() ? AccessType.WRITE : AccessType.READ);
                return "fault";
            }
        } catch (memmap.api.FaultException e) {
            return "fault-signal";
        } catch (MemmapException e) {
            if (!DOCUMENTED.contains(e.errno())) {
                throw new AssertionError("undocumented errno " + e.errno() + ": " + e.getMessage(), e);
            }
            return "errno";
        }
    }

    private static void check(IoResult r) {
        MemmapError e = r.error();
        if (e != null && !(e instanceof BusError) && !e.toErrno().equals(Errno.EFAULT)) {
            throw new AssertionError("a copy failed with " + e);
        }
    }
}
