package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MemoryFile;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.SysVSharedMemory;

/**
 * Hot swaps in the real framework of large, sparse mappings under a running writer: the
 * replacement holds what was touched (not the mappings' length), every byte arrives, the writer
 * never fails, and the swap says what it did in one line.
 */
class PreCopySwapTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String ANON = "(memmap.backing.kind=anonymous)";

    @AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    /** The line memmap.mm logged for a swap of {@code kind}, or null. */
    static String swapped(DeployFolderTest.Lines lines, String kind) {
        return lines.first("memmap.mm: swapped " + kind + " ");
    }

    /**
     * Writes the page number + 1 into 1% of the pages of {@code [a, a + len)} (seeded), none of
     * the first {@link HotSwapTest#PAGES} (where a writer may run); returns the pages.
     */
    static long[] touch(AddressSpace as, long a, long len) {
        long[] pages = new Random(11).longs(len / P / 100, HotSwapTest.PAGES, len / P).distinct().toArray();
        for (long p : pages) {
            assertEquals(8, as.write(CTX, a + p * P, MemorySegment.ofArray(new long[] {p + 1})).n());
        }
        return pages;
    }

    static void check(AddressSpace as, long a, long[] pages) {
        long[] v = new long[1];
        for (long p : pages) {
            assertEquals(8, as.read(CTX, a + p * P, MemorySegment.ofArray(v)).n());
            assertEquals(p + 1, v[0], "page " + p);
        }
    }

    @Test
    void aLargeSparseAnonymousMappingMovesWithWhatWasTouchedWhileAWriterRuns() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider old = HotSwapTest.settled(ANON).service();
        AddressSpace as = Framework.space(spaces);
        long len = 256L << 20;
        long before = old.usage().allocatedBytes();
        long a = as.mmap(CTX, MMapOpts.builder().length(len).build());
        long[] pages = touch(as, a, len);
        long w = as.mmap(CTX, MMapOpts.builder().length(HotSwapTest.PAGES * P).build());
        Bundle anon = HotSwapTest.bundle("memmap.anon");
        try (DeployFolderTest.Lines lines = new DeployFolderTest.Lines("memmap.mm"); HotSwapTest.Writer writer = new HotSwapTest.Writer(as, w)) {
            writer.awaitProgress(10_000);
            long touched = old.usage().allocatedBytes() - before;
            assertTrue(touched < len / 4, "1% written, fill-ahead windows included: " + touched);
            anon.stop();
            anon.start(); // a new memory file and provider: everything moves, while the writer writes
            BackingProvider next = Framework.await(BackingProvider.class, ANON);
            HotSwapTest.awaitEmpty(old);
            Framework.until("the swap said what it did", () -> swapped(lines, "anonymous") != null);
            String line = swapped(lines, "anonymous");
            assertTrue(line.matches(".* from .* to " + java.util.regex.Pattern.quote(next.id())
                    + ": \\d+ mappings of \\d+ backings, \\d+ bytes copied in \\d+ rounds, longest pause [\\d.]+ ms \\(\\d+ stops\\).*"), line);
            long after = next.usage().allocatedBytes() - before; // what other live mappings hold moved too
            assertTrue(after <= touched + (2L << 20), "the new provider holds " + after + " bytes for " + touched + " touched");
            writer.awaitProgress(10_000);
        }
        check(as, a, pages);
        as.release(CTX);
    }

    @Test
    void aLargeSparseSystemVSegmentIsHandedOverWithWhatWasTouched() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        SysVSharedMemory old = Framework.await(SysVSharedMemory.class, null);
        MemoryFile mf = Framework.await(MemoryFile.class, null);
        long len = 128L << 20;
        int id = old.get(CTX, 0x5eed5, len, SysVSharedMemory.IPC_CREAT | 0600);
        AddressSpace as = Framework.space(spaces);
        long a = as.shmat(CTX, id, 0, 0);
        long[] pages = touch(as, a, len);
        Bundle shm = HotSwapTest.bundle("memmap.shm");
        long committedBefore = mf.usage().committed();
        try (HotSwapTest.Writer writer = new HotSwapTest.Writer(as, a)) {
            writer.awaitProgress(10_000);
            shm.stop();
            shm.start();
            SysVSharedMemory next = Framework.await(SysVSharedMemory.class, null);
            assertNotSame(old, next);
            HotSwapTest.awaitSegment(next, id, 1);
            writer.awaitProgress(10_000);
        }
        // The old segment's pages went with it; the new one committed only what the old had.
        Framework.until("the old segment's memory is freed",
                () -> mf.usage().committed() <= committedBefore + (2L << 20) + (long) pages.length * P);
        check(as, a, pages);
        as.shmdt(CTX, a);
        as.release(CTX);
        Framework.await(SysVSharedMemory.class, null).remove(CTX, id);
    }
}
