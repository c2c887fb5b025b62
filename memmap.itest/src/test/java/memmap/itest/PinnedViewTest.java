package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.PinnedView;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;

/**
 * Pinned views and I/O that ignores permissions inside Felix, through the AddressSpaces
 * service: raw access both ways, forced I/O of PROT_NONE memory, and a hot swap of the
 * anonymous provider (its bundle stopped and started) that tells an open write view before it
 * copies, so the holder's last write arrives, and frees the old memory once the view closes.
 */
class PinnedViewTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String ANON = "(memmap.backing.kind=anonymous)";
    static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    @AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    static long get(AddressSpace as, long addr) {
        long[] v = new long[1];
        assertEquals(IoResult.ok(8), as.read(CTX, addr, MemorySegment.ofArray(v)));
        return v[0];
    }

    static void put(AddressSpace as, long addr, long v) {
        assertEquals(IoResult.ok(8), as.write(CTX, addr, MemorySegment.ofArray(new long[] {v})));
    }

    @Test
    void aPinnedViewAndForcedIoThroughTheService() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(8 * P).isPrivate(true).build());
        put(as, a + 3 * P, 7);
        try (PinnedView v = as.pin(CTX, a, 8 * P, AccessType.READ_WRITE, false)) {
            MemorySegment all = v.segment();
            assertEquals(8 * P, all.byteSize());
            assertEquals(7, all.get(LONG, 3 * P));
            all.set(LONG, 5 * P, 11);
            assertEquals(11, get(as, a + 5 * P));
        }
        as.mprotect(CTX, a, 8 * P, AccessType.NO_ACCESS);
        MemorySegment eight = MemorySegment.ofArray(new long[1]);
        assertEquals(Errno.EFAULT, as.read(CTX, a + 5 * P, eight).error());
        assertEquals(IoResult.ok(8), as.read(CTX, a + 5 * P, eight, IoOpts.FORCE));
        assertEquals(11, eight.get(LONG, 0));
        as.release(CTX);
    }

    @Test
    void aHotSwapTellsAnOpenWriteViewFirstAndLosesNothingItWrote() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider old = HotSwapTest.settled(ANON).service();
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build()); // shared anonymous memory
        put(as, a + 2 * P, 1);
        PinnedView v = as.pin(CTX, a, 16 * P, AccessType.READ_WRITE, false);
        AtomicInteger told = new AtomicInteger();
        v.onStale(r -> {
            v.segment().set(LONG, 2 * P, 99); // the holder's last write, as it stops using the view
            told.incrementAndGet();
        });
        v.segment().set(LONG, 4 * P, 44);
        Bundle anon = HotSwapTest.bundle("memmap.anon");
        anon.stop();
        anon.start(); // a new memory file and provider: the mapping moves
        BackingProvider next = Framework.await(BackingProvider.class, ANON);
        assertNotSame(old, next);
        Framework.until("the swap told the view", v::isStale);
        Framework.until("the mapping moved to the new provider", () -> next.usage().liveBackings() > 0);
        assertTrue(told.get() >= 1);
        assertEquals(99, get(as, a + 2 * P), "written by the listener, before the copy");
        assertEquals(44, get(as, a + 4 * P), "written through the view before the swap");
        v.close();
        HotSwapTest.awaitEmpty(old);
        as.release(CTX);
    }
}
