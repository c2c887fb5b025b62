package memmap.anon.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.AllocationMode;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.MemmapException;
import memmap.api.MemoryUsage;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/** The memory file on a real memfd: allocation, reference counting, zeroing, limits, usage, sharing. */
class MemfdMemoryFileTest {
    static final long P = 4096;
    static final long CHUNK = 2L << 20;

    final List<MemfdMemoryFile> files = new ArrayList<>();

    MemfdMemoryFile file(long memoryLimit, long retainedLimit) throws MemmapException {
        MemfdMemoryFile f = new MemfdMemoryFile("test", CHUNK, memoryLimit, retainedLimit, false);
        files.add(f);
        return f;
    }

    @AfterEach
    void releaseAll() {
        files.forEach(MemfdMemoryFile::release);
    }

    static void fill(MemfdMemoryFile f, FileRange fr, byte b) throws MemmapException {
        f.mapInternal(fr, AccessType.WRITE).forEach(block -> block.segment().fill(b));
    }

    static boolean allEqual(MemfdMemoryFile f, FileRange fr, byte b) throws MemmapException {
        for (Block block : f.mapInternal(fr, AccessType.READ).toList()) {
            for (long i = 0; i < block.length(); i += 512) {
                if (block.segment().get(ValueLayout.JAVA_BYTE, i) != b) {
                    return false;
                }
            }
        }
        return true;
    }

    @Test
    void allocationsArePageAlignedZeroedAndBottomUpOrTopDown() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        FileRange a = f.allocate(3 * P, AllocOpts.DEFAULT);
        FileRange b = f.allocate(P, AllocOpts.DEFAULT);
        assertEquals(new FileRange(0, 3 * P), a, "bottom-up: the lowest free offset");
        assertEquals(new FileRange(3 * P, 4 * P), b);
        FileRange top = f.allocate(P, AllocOpts.DEFAULT.withDirection(AllocOpts.Direction.TOP_DOWN));
        assertEquals(new FileRange(CHUNK - P, CHUNK), top, "top-down: the high end of the last free range");
        assertTrue(allEqual(f, a, (byte) 0));
        FileRange huge = f.allocate(CHUNK, AllocOpts.DEFAULT.withHuge(true));
        assertEquals(0, huge.start() % CHUNK, "huge allocations are huge-page aligned");
        f.checkInvariants();
    }

    @Test
    void freedPagesReadAsZeroWhetherRetainedOrPunched() throws MemmapException {
        for (long retained : new long[] {1L << 20, 0}) {
            MemfdMemoryFile f = file(1L << 30, retained);
            FileRange a = f.allocate(16 * P, AllocOpts.DEFAULT);
            fill(f, a, (byte) 0x5a);
            f.decRef(a);
            assertEquals(retained == 0 ? 0 : 16 * P, f.usage().retained());
            FileRange again = f.allocate(16 * P, AllocOpts.DEFAULT);
            assertEquals(a, again, "the same pages are handed out again");
            assertTrue(allEqual(f, again, (byte) 0), "and they read as zeros (retained limit " + retained + ")");
            assertEquals(0, f.usage().retained(), "reused retained pages are no longer retained");
            f.checkInvariants();
        }
    }

    @Test
    void referenceCounting() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        FileRange a = f.allocate(4 * P, AllocOpts.DEFAULT);
        FileRange mid = new FileRange(P, 3 * P);
        f.incRef(mid, 0);
        assertFalse(f.hasUniqueRef(a));
        assertTrue(f.hasUniqueRef(new FileRange(0, P)));
        f.decRef(a); // the middle pages keep one reference
        assertEquals(2 * P, f.usage().allocated());
        fill(f, mid, (byte) 1);
        assertTrue(allEqual(f, mid, (byte) 1));
        f.decRef(mid);
        assertEquals(0, f.usage().allocated());
        f.checkInvariants();
    }

    @Test
    void referencesOnFreePagesAreBugsAndChangeNothing() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        FileRange a = f.allocate(2 * P, AllocOpts.DEFAULT);
        MemoryUsage before = f.usage();
        var e = assertThrows(IllegalStateException.class, () -> f.decRef(new FileRange(P, 3 * P)));
        assertTrue(e.getMessage().contains("page 0x2000"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> f.incRef(new FileRange(8 * P, 9 * P), 0));
        assertEquals(before, f.usage(), "a refused decRef leaves every count as it was");
        f.decRef(a);
        assertThrows(IllegalStateException.class, () -> f.decRef(a), "double free");
        f.checkInvariants();
    }

    @Test
    void badArgumentsNameTheArgument() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> f.allocate(0, AllocOpts.DEFAULT));
        assertTrue(e.getMessage().startsWith("length = 0x0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> f.allocate(100, AllocOpts.DEFAULT));
        e = assertThrows(IllegalArgumentException.class, () -> f.allocate(P, AllocOpts.DEFAULT.withHuge(true)));
        assertTrue(e.getMessage().contains("2 MiB"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> f.decRef(new FileRange(0, 100)));
        assertTrue(e.getMessage().startsWith("fr = [0x0, 0x64)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> f.incRef(new FileRange(P, P), 0));
        e = assertThrows(IllegalArgumentException.class, () -> new MemfdMemoryFile("x", 4096, 1, 0, false));
        assertTrue(e.getMessage().startsWith("chunkSize = 0x1000"), e.getMessage());
        MemmapException x = assertThrows(MemmapException.class, () -> f.mapInternal(new FileRange(0, P), AccessType.ANY_ACCESS));
        assertEquals(Errno.EACCES, x.errno());
        assertEquals(0, f.usage().allocated());
    }

    @Test
    void theMemoryLimitIsEnforcedWithNothingHalfAllocated() throws MemmapException {
        MemfdMemoryFile f = file(8 * P, 0);
        FileRange a = f.allocate(6 * P, AllocOpts.DEFAULT);
        MemmapException e = assertThrows(MemmapException.class, () -> f.allocate(3 * P, AllocOpts.DEFAULT));
        assertEquals(Errno.ENOMEM, e.errno());
        assertTrue(e.getMessage().contains("memory limit"), e.getMessage());
        assertEquals(6 * P, f.usage().allocated());
        f.checkInvariants();
        assertEquals(new FileRange(6 * P, 8 * P), f.allocate(2 * P, AllocOpts.DEFAULT));
        f.setLimits(16 * P, 0);
        f.allocate(3 * P, AllocOpts.DEFAULT);
        f.decRef(a);
    }

    @Test
    void allocationsSpanChunksAndMapAsOneBlockPerChunk() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 0);
        f.allocate(CHUNK - P, AllocOpts.DEFAULT);
        FileRange across = f.allocate(2 * P, AllocOpts.DEFAULT);
        assertEquals(new FileRange(CHUNK - P, CHUNK + P), across);
        BlockSeq bs = f.mapInternal(across, AccessType.READ_WRITE);
        assertEquals(2, bs.numBlocks());
        assertEquals(2 * P, bs.numBytes());
        BlockSeq.zero(bs);
        BlockSeq partial = f.mapInternal(new FileRange(CHUNK - 10, CHUNK + 10), AccessType.READ);
        assertEquals(20, partial.numBytes(), "mapInternal takes unaligned ranges");
        assertTrue(f.usage().fileSize() >= 2 * CHUNK);
    }

    @Test
    void commitModesCommitMemory() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 0);
        long before = f.usage().committed();
        f.allocate(64 * P, AllocOpts.DEFAULT);
        assertEquals(before, f.usage().committed(), "uncommitted allocations take no blocks");
        f.allocate(64 * P, AllocOpts.DEFAULT.withMode(AllocationMode.COMMIT));
        assertEquals(before + 64 * P, f.usage().committed());
        FileRange pop = f.allocate(64 * P, AllocOpts.DEFAULT.withMode(AllocationMode.WRITE_POPULATE).withMemCgId(7));
        assertEquals(before + 128 * P, f.usage().committed());
        MemoryUsage u = f.usage();
        assertEquals(64 * P, u.byCgroup().get(7).allocated());
        assertEquals(64 * P, u.byCgroup().get(7).committed(), "populated pages are resident");
        assertEquals(0, u.byCgroup().get(0).committed(), "cgroup 0 has an uncommitted range and a committed-but-untouched one");
        f.decRef(pop);
        assertNull(f.usage().byCgroup().get(7));
    }

    /** A million random allocate/incRef/decRef operations end with nothing allocated and, after release, nothing committed. */
    @Test
    void aMillionRandomOperationsLeakNothing() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        Random rnd = new Random(1);
        List<long[]> held = new ArrayList<>(); // {start, end} of one reference each
        for (int op = 0; op < 1_000_000; op++) {
            // 30% allocate, 20% incRef, 50% decRef: the held set stays bounded.
            int kind = rnd.nextInt(10);
            if (kind < 3 || held.isEmpty()) {
                long len = (1 + rnd.nextInt(8)) * P;
                FileRange fr = f.allocate(len, AllocOpts.DEFAULT.withDirection(rnd.nextBoolean()
                        ? AllocOpts.Direction.BOTTOM_UP : AllocOpts.Direction.TOP_DOWN).withMemCgId(rnd.nextInt(3)));
                if (rnd.nextInt(50) == 0) {
                    f.mapInternal(fr, AccessType.WRITE).head().segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                }
                held.add(new long[] {fr.start(), fr.end()});
            } else if (kind < 5) {
                long[] h = held.get(rnd.nextInt(held.size()));
                long pages = (h[1] - h[0]) / P;
                long s = h[0] + rnd.nextLong(pages) * P;
                long e = s + (1 + rnd.nextLong((h[1] - s) / P)) * P;
                f.incRef(new FileRange(s, e), 0);
                held.add(new long[] {s, e});
            } else {
                long[] h = held.remove(rnd.nextInt(held.size()));
                f.decRef(new FileRange(h[0], h[1]));
            }
            if (op % 100_000 == 0) {
                f.checkInvariants();
            }
        }
        for (long[] h : held) {
            f.decRef(new FileRange(h[0], h[1]));
        }
        f.checkInvariants();
        MemoryUsage u = f.usage();
        assertEquals(0, u.allocated());
        assertTrue(u.byCgroup().isEmpty());
        f.releaseRetained();
        assertEquals(0, f.usage().retained());
        assertEquals(0, f.usage().committed(), "the memfd's own block count is zero after release");
    }

    @Test
    void concurrentAllocateFreeAndMapKeepTheInvariants() throws Exception {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Long>> results = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int seed = t;
            results.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                List<FileRange> mine = new ArrayList<>();
                long ops = 0;
                while (!stop.get()) {
                    if (mine.isEmpty() || rnd.nextBoolean()) {
                        FileRange fr = f.allocate((1 + rnd.nextInt(4)) * P, AllocOpts.DEFAULT);
                        BlockSeq bs = f.mapInternal(fr, AccessType.READ_WRITE);
                        assertTrue(allEqual(f, fr, (byte) 0), "fresh pages are zero");
                        bs.forEach(b -> b.segment().fill((byte) (seed + 1)));
                        mine.add(fr);
                    } else {
                        FileRange fr = mine.remove(rnd.nextInt(mine.size()));
                        assertTrue(allEqual(f, fr, (byte) (seed + 1)), "nobody else wrote my pages");
                        f.decRef(fr);
                    }
                    ops++;
                }
                for (FileRange fr : mine) {
                    f.decRef(fr);
                }
                return ops;
            }));
        }
        Thread.sleep(2000);
        stop.set(true);
        long total = 0;
        for (Future<Long> r : results) {
            total += r.get();
        }
        pool.shutdown();
        assertTrue(total > 1000, "ran " + total + " operations");
        f.checkInvariants();
        assertEquals(0, f.usage().allocated());
    }

    @Test
    void anotherProcessReadsTheBytesThroughTheDescriptor() throws Exception {
        MemfdMemoryFile f = file(1L << 30, 0);
        f.allocate(3 * P, AllocOpts.DEFAULT);
        FileRange fr = f.allocate(P, AllocOpts.DEFAULT);
        byte[] msg = "hello from the JVM".getBytes();
        Block b = f.mapInternal(fr, AccessType.WRITE).head();
        java.lang.foreign.MemorySegment.copy(msg, 0, b.segment(), ValueLayout.JAVA_BYTE, 0, msg.length);
        String path = "/proc/" + ProcessHandle.current().pid() + "/fd/" + f.fd();
        Process p = new ProcessBuilder("dd", "if=" + path, "bs=4096", "skip=" + fr.start() / P, "count=1", "status=none")
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), new String(out));
        assertEquals(P, out.length);
        assertEquals("hello from the JVM", new String(out, 0, msg.length));
        assertEquals(f.fd(), f.dataFd(fr));
    }

    @Test
    void releaseKeepsReferencedPagesAndClosesWhenTheLastGoes() throws MemmapException {
        MemfdMemoryFile f = file(1L << 30, 1L << 20);
        FileRange a = f.allocate(P, AllocOpts.DEFAULT);
        fill(f, a, (byte) 9);
        f.addUser();
        f.release();
        assertFalse(f.isClosed());
        assertTrue(allEqual(f, a, (byte) 9), "a live page survives the release");
        FileRange b = f.allocate(P, AllocOpts.DEFAULT);
        f.decRef(b);
        f.decRef(a);
        assertFalse(f.isClosed(), "a user is still registered");
        f.removeUser();
        assertTrue(f.isClosed());
        assertThrows(IllegalStateException.class, () -> f.allocate(P, AllocOpts.DEFAULT));
        assertThrows(IllegalStateException.class, f::addUser);
    }
}
