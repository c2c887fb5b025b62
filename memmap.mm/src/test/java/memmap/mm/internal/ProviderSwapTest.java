package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.ProviderUsage;

/** The hot-swap protocol with real providers on real memfds: bytes kept, sharing kept, old memory freed. */
class ProviderSwapTest extends TwoAnonymousProviders {
    @Test
    void liveSharedMappingsMoveWithTheirBytesAndStayShared() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).build());
        long b = mm.mmap(CTX, MMapOpts.builder().length(2 * P).build());
        for (long i = 0; i < 4; i++) {
            put(mm, a + i * P, 100 + i);
        }
        put(mm, b + P + 8, 7);
        MemoryManager child = mm.fork(CTX);
        String maps = mm.maps(CTX);
        assertEquals(2, anon1.usage().liveBackings());

        ProviderSwap.Result r = swap.migrate(CTX, anon2);

        assertEquals(new ProviderSwap.Result(2, 4, 0), r.counts(), "2 backings, mapped by 2 vmas in each of 2 address spaces");
        assertEquals(ProviderUsage.NONE.liveBackings(), anon1.usage().liveBackings(), "the old provider holds nothing");
        assertEquals(0, anon1.usage().allocatedBytes());
        assertEquals(2, anon2.usage().liveBackings());
        for (long i = 0; i < 4; i++) {
            assertEquals(100 + i, get(mm, a + i * P));
            assertEquals(100 + i, get(child, a + i * P));
        }
        assertEquals(7, get(child, b + P + 8));
        assertEquals(maps, mm.maps(CTX), "the same vmas, the same names");
        put(child, a + 16, 42);
        assertEquals(42, get(mm, a + 16), "parent and child still share the new memory");
        mm.checkInvariants();
        child.checkInvariants();

        assertEquals(new ProviderSwap.Result(0, 0, 0), swap.migrate(CTX, anon2).counts(), "nothing left to move");
        child.release(CTX);
        mm.release(CTX);
        assertEquals(0, anon2.usage().liveBackings(), "unmapping frees the adopted backings");
    }

    @Test
    void writersRunningThroughTheSwapLoseNothing() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong lastWritten = new AtomicLong(-1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                for (long i = 0; !stop.get(); i++) {
                    put(mm, a + (i % 16) * P, i);
                    lastWritten.set(i);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                long seen = -1;
                while (!stop.get()) {
                    long v = get(mm, a + 3 * P);
                    assertTrue(v >= seen || v == 0, "slot 3 went back from " + seen + " to " + v);
                    seen = Math.max(seen, v);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        while (lastWritten.get() < 10_000) {
            Thread.onSpinWait();
        }
        ProviderSwap.Result r = swap.migrate(CTX, anon2);
        long after = lastWritten.get();
        while (lastWritten.get() < after + 10_000) {
            Thread.onSpinWait();
        }
        stop.set(true);
        writer.join();
        reader.join();
        assertNull(failure.get());
        assertEquals(1, r.backings());
        long last = lastWritten.get();
        for (long i = Math.max(0, last - 15); i <= last; i++) {
            assertEquals(i, get(mm, a + (i % 16) * P), "the last write to each page survives");
        }
        assertEquals(0, anon1.usage().liveBackings());
        mm.release(CTX);
    }

    @Test
    void aRefusedAdoptionLeavesTheMappingOnItsProvider() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(2 * P).build());
        put(mm, a, 5);
        BackingProvider full = new BackingProvider() {
            @Override
            public BackingKind kind() {
                return BackingKind.ANONYMOUS;
            }

            @Override
            public String id() {
                return "full";
            }

            @Override
            public Backing create(Context ctx, BackingRequest request) throws MemmapException {
                throw Errno.ENOMEM.exception("full");
            }

            @Override
            public Backing adopt(Context ctx, Backing live) throws MemmapException {
                throw Errno.ENOMEM.exception("full");
            }

            @Override
            public ProviderUsage usage() {
                return ProviderUsage.NONE;
            }
        };
        assertEquals(new ProviderSwap.Result(0, 0, 1), swap.migrate(CTX, full).counts());
        assertEquals(5, get(mm, a));
        assertEquals(1, anon1.usage().liveBackings());
        assertEquals(1, swap.migrate(CTX, anon2).backings(), "a later replacement still takes it");
        assertEquals(5, get(mm, a));
        mm.release(CTX);
    }

    @Test
    void privateMemoryAndOtherKindsStayPut() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long priv = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).build());
        put(mm, priv, 9);
        Backing direct = anon1.create(CTX, new BackingRequest.Anonymous(P));
        long d = mm.mmap(CTX, MMapOpts.builder().length(P).mappable(direct.mappable()).mappingIdentity(direct.identity()).build());
        direct.identity().decRef(CTX);
        put(mm, d, 11);
        assertEquals(new ProviderSwap.Result(0, 0, 0), swap.migrate(CTX, anon2).counts(),
                "private pages are the memory file's; a backing not handed out through the address spaces is not known");
        assertEquals(9, get(mm, priv));
        assertEquals(11, get(mm, d));
        mm.release(CTX);
    }

    @Test
    void privatePagesMoveToTheNewMemoryFileAndForkSharingSurvives() throws Exception {
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).isPrivate(true).build());
        for (long i = 0; i < 8; i++) {
            put(mm, a + i * P, 1000 + i);
        }
        MemoryManager child = mm.fork(CTX);
        long held = mf1.usage().allocated();
        assertTrue(held >= 8 * P, "the pages are in the first memory file: " + mf1.usage());

        long bytes = swap.migratePrivatePages(CTX, mf2);

        assertTrue(bytes >= 16 * P, "both address spaces' pmas moved: " + bytes);
        assertEquals(0, mf1.usage().allocated(), "the old memory file holds nothing: " + mf1.usage());
        assertEquals(held, mf2.usage().allocated(), "pages shared with the fork stay shared (moved once)");
        for (long i = 0; i < 8; i++) {
            assertEquals(1000 + i, get(mm, a + i * P));
            assertEquals(1000 + i, get(child, a + i * P));
        }
        put(child, a, 7);
        assertEquals(1000, get(mm, a), "still copy-on-write after the move");
        assertEquals(7, get(child, a));
        mm.checkInvariants();
        child.checkInvariants();
        child.release(CTX);
        mm.release(CTX);
        assertEquals(0, mf2.usage().allocated(), "nothing leaked");
    }
}
