package memmap.mm.internal;

import static memmap.mm.internal.CheckpointRuntime.CTX;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * Lazy restore: the spaces are there when restore returns, an access waits only for the record
 * its page is in (the loader is held to urgent records here, so what loaded is exactly what was
 * asked for), everything else sees what an eager restore gives, and a record that turns out
 * corrupt while loading is an EIO fault on its pages and the error of {@link Restored#awaitLoaded}.
 */
class LazyRestoreTest {
    static final long P = 4096;
    static final long MIB = 1 << 20;
    @TempDir
    Path dir;

    /** Source: a 16 MiB private mapping, each page stamped with its index, and a fork that rewrote page 3. */
    record Source(MemoryManager parent, MemoryManager child, long addr, Path image) {}

    Source source(CheckpointRuntime a, String name) throws Exception {
        MemoryManager mm = a.space();
        long addr = mm.mmap(CTX, CheckpointTest.anon(16 * MIB).name("data").build());
        MemorySegment page = MemorySegment.ofArray(new byte[(int) P]);
        for (long i = 0; i < 16 * MIB / P; i++) {
            page.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, i + 1);
            page.set(ValueLayout.JAVA_LONG_UNALIGNED, P - 8, ~i);
            assertEquals(IoResult.ok(P), mm.write(CTX, addr + i * P, page));
        }
        MemoryManager child = mm.fork(CTX);
        CheckpointTest.write(child, addr + 3 * P, "child");
        Path image = dir.resolve(name);
        try (FileChannel fc = FileChannel.open(image, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            a.checkpoints.checkpoint(CTX, List.of(mm, child), fc, CheckpointOpts.FULL);
        }
        return new Source(mm, child, addr, image);
    }

    static long stamp(AddressSpace as, long addr) {
        byte[] b = new byte[8];
        assertEquals(IoResult.ok(8), as.read(CTX, addr, MemorySegment.ofArray(b)));
        return MemorySegment.ofArray(b).get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
    }

    @Test
    void anAccessWaitsForItsOwnRecordOnlyAndTheRestLoadsBehindIt() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("lazy-a"); CheckpointRuntime b = new CheckpointRuntime("lazy-b")) {
            Source s = source(a, "full.img");
            List<AddressSpace> spaces = List.of(s.parent(), s.child());
            List<String> want = CheckpointTest.state(a, spaces, false);
            b.checkpoints.holdLazyLoads = true;
            Restored r = b.checkpoints.restore(CTX, List.of(s.image()), RestoreOpts.LAZY);
            long total = 16 * MIB + P; // the parent's pages, and the child's copy of page 3
            assertEquals(total, r.pendingBytes(), "nothing loaded yet");
            assertEquals(a.usageByCgroup(), b.usageByCgroup(), "the frames are allocated and charged at once");
            AddressSpace parent = r.spaces().get(0);
            AddressSpace child = r.spaces().get(1);
            assertEquals(s.parent().rss(), parent.rss(), "pending pages count in RSS");
            assertEquals(s.parent().maps(CTX), parent.maps(CTX), "maps needs no page");

            long last = 16 * MIB / P - 1;
            assertEquals(last + 1, stamp(parent, s.addr() + last * P), "the last page, loaded out of turn");
            assertEquals(total - MIB, r.pendingBytes(), "exactly its record (256 pages) loaded");
            assertEquals(last + 1, stamp(child, s.addr() + last * P), "the fork shares that record's frames");
            assertEquals(total - MIB, r.pendingBytes(), "and needed nothing more");
            assertEquals("child", CheckpointTest.read(child, s.addr() + 3 * P, 5));
            assertEquals(4, stamp(parent, s.addr() + 3 * P));
            assertTrue(r.pendingBytes() < total - MIB, "page 3's records loaded: " + r.pendingBytes());
            assertTrue(r.pendingBytes() > 0, "the rest still pending");

            // Copy-on-write between the forks survives: a write to a loaded shared page copies it.
            CheckpointTest.write(parent, s.addr() + last * P, "parent");
            assertEquals(last + 1, stamp(child, s.addr() + last * P));

            b.checkpoints.holdLazyLoads = false;
            r.awaitLoaded();
            assertEquals(0, r.pendingBytes());
            CheckpointTest.write(s.parent(), s.addr() + last * P, "parent"); // the same write on the source
            CheckpointTest.assertSameState(CheckpointTest.state(a, spaces, false), CheckpointTest.state(b, r.spaces(), false),
                    "maps, smaps, usage after the load");
            CheckpointTest.assertSameState(CheckpointTest.state(a, spaces, true), CheckpointTest.state(b, r.spaces(), true), "every byte");
            assertNotEquals(want, CheckpointTest.state(a, spaces, false), "(the written page shows in both)");
            for (AddressSpace as : r.spaces()) {
                as.release(CTX);
            }
            spaces.forEach(x -> x.release(CTX));
            assertEquals(0, b.mf.usage().allocated(), "nothing left in the target");
        }
    }

    @Test
    void manyThreadsFaultWhileTheLoaderRuns() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("mt-a"); CheckpointRuntime b = new CheckpointRuntime("mt-b")) {
            Source s = source(a, "full.img");
            Restored r = b.checkpoints.restore(CTX, List.of(s.image()), RestoreOpts.LAZY);
            AddressSpace parent = r.spaces().get(0);
            int threads = 4;
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<String>> results = new java.util.ArrayList<>();
            try (var pool = java.util.concurrent.Executors.newFixedThreadPool(threads)) {
                for (int t = 0; t < threads; t++) {
                    long seed = t;
                    results.add(pool.submit(() -> {
                        go.await();
                        java.util.Random rnd = new java.util.Random(seed);
                        for (int k = 0; k < 2000; k++) {
                            long i = rnd.nextInt((int) (16 * MIB / P));
                            long got = stamp(parent, s.addr() + i * P);
                            if (got != i + 1) {
                                return "page " + i + " read " + got;
                            }
                            if (k % 64 == 0) {
                                CheckpointTest.write(parent, s.addr() + i * P + 16, "w" + seed); // copy-on-write break of a shared page
                            }
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (var f : results) {
                    assertNull(f.get());
                }
            }
            r.awaitLoaded();
            AddressSpace child = r.spaces().get(1);
            assertEquals("child", CheckpointTest.read(child, s.addr() + 3 * P, 5), "the fork's own page");
            for (long i = 0; i < 16 * MIB / P; i += 97) {
                assertEquals(i == 3 ? stamp(child, s.addr() + 3 * P) : i + 1, stamp(child, s.addr() + i * P),
                        "the fork does not see the parent's writes: page " + i);
            }
            r.spaces().forEach(x -> x.release(CTX));
            s.parent().release(CTX);
            s.child().release(CTX);
            assertEquals(0, b.mf.usage().allocated(), "nothing left in the target");
        }
    }

    @Test
    void changesBeforeTheLoadSeeThePagesAnEagerRestoreWouldHave() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("chg-a"); CheckpointRuntime b = new CheckpointRuntime("chg-b");
                CheckpointRuntime c = new CheckpointRuntime("chg-c")) {
            Source s = source(a, "full.img");
            Restored eager = b.checkpoints.restore(CTX, List.of(s.image()), RestoreOpts.EAGER);
            c.checkpoints.holdLazyLoads = true;
            Restored lazy = c.checkpoints.restore(CTX, List.of(s.image()), RestoreOpts.LAZY);
            for (Restored r : List.of(eager, lazy)) {
                MemoryManager p = (MemoryManager) r.spaces().get(0);
                p.mprotect(CTX, s.addr() + 100 * P, 4 * P, AccessType.READ);
                p.munmap(CTX, s.addr() + 600 * P, 300 * P);
                long moved = p.mremap(CTX, s.addr() + 2000 * P, 8 * P, 16 * P, memmap.api.MRemapMove.MUST_MOVE, s.addr() + 32 * MIB);
                CheckpointTest.write(p, moved, "moved");
                MemoryManager grandchild = p.fork(CTX);
                CheckpointTest.write(grandchild, s.addr() + 3000 * P, "grandchild");
                assertEquals(s.addr() + 32 * MIB, moved);
                grandchild.release(CTX);
            }
            CheckpointTest.assertSameState(CheckpointTest.state(b, eager.spaces(), false), CheckpointTest.state(c, lazy.spaces(), false),
                    "lazy = eager after mprotect, munmap, mremap, fork");
            CheckpointTest.assertSameState(CheckpointTest.state(b, eager.spaces(), true), CheckpointTest.state(c, lazy.spaces(), true),
                    "every byte");
            c.checkpoints.holdLazyLoads = false;
            lazy.awaitLoaded();
            for (Restored r : List.of(eager, lazy)) {
                r.spaces().forEach(x -> x.release(CTX));
            }
            s.parent().release(CTX);
            s.child().release(CTX);
            assertEquals(0, b.mf.usage().allocated());
            assertEquals(0, c.mf.usage().allocated());
        }
    }

    @Test
    void aRecordCorruptOnDiskIsAnEioFaultOnItsPagesAndTheRestLoads() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("bad-a"); CheckpointRuntime b = new CheckpointRuntime("bad-b")) {
            Source s = source(a, "full.img");
            byte[] img = Files.readAllBytes(s.image());
            // A byte inside the bytes of the record holding pages 1024..1279 (about 4 MiB into the page data).
            int at = (int) (img.length / 4);
            img[at] ^= 0x20;
            Path bad = dir.resolve("bad.img");
            Files.write(bad, img);
            Restored r = b.checkpoints.restore(CTX, List.of(bad), RestoreOpts.LAZY);
            ImageException e = assertThrows(ImageException.class, r::awaitLoaded);
            assertTrue(e.getMessage().contains("fails its checksum") && e.getMessage().contains("bad.img"), e.getMessage());
            AddressSpace parent = r.spaces().get(0);
            long badPages = 0;
            long goodPages = 0;
            byte[] one = new byte[8];
            for (long i = 0; i < 16 * MIB / P; i++) {
                IoResult res = parent.read(CTX, s.addr() + i * P, MemorySegment.ofArray(one));
                if (res.error() != null) {
                    assertEquals(Errno.EIO, res.error(), "page " + i + ": " + res);
                    assertTrue(res.error().message().contains("fails its checksum"), res.error().message());
                    badPages++;
                } else {
                    assertEquals(i + 1, MemorySegment.ofArray(one).get(ValueLayout.JAVA_LONG_UNALIGNED, 0), "page " + i);
                    goodPages++;
                }
            }
            assertTrue(badPages > 0 && badPages <= 256, "one record's pages are lost, no more: " + badPages);
            assertEquals(16 * MIB / P - badPages, goodPages);
            assertTrue(parent.smaps(CTX).contains("[data]") || parent.smaps(CTX).contains("data"), "smaps works around the lost pages");
            // The lost pages go with their mapping.
            ((MemoryManager) parent).munmap(CTX, s.addr(), 16 * MIB);
            r.spaces().forEach(x -> x.release(CTX));
            s.parent().release(CTX);
            s.child().release(CTX);
            assertEquals(0, b.mf.usage().allocated(), "the lost record's frames are not leaked");
        }
    }
}
