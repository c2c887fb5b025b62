package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

import org.junit.jupiter.api.Test;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.InvalidateOpts;
import memmap.api.MMapOpts;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.MRemapMove;
import memmap.api.TranslateResult;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/**
 * The lock order of spec §4.2, checked at every call the address space makes into a Mappable:
 * Add/Remove/CopyMapping run with mappingMu write-held and activeMu not held (their locks
 * rank above activeMu); translate runs with both held (its locks rank below). Invalidate is
 * called back with the Mappable's maps lock held, from another thread, while I/O runs.
 */
class LockOrderTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    /** Wraps shared memory; asserts the address space's locks at each call. */
    static final class Checking implements Mappable {
        final Mappable inner;
        final ReentrantLock mapsMu = new ReentrantLock();
        final List<String> violations = new CopyOnWriteArrayList<>();
        volatile MemoryManager mm;
        volatile int translations;
        volatile int bookkeeping;

        Checking(Mappable inner) {
            this.inner = inner;
        }

        void checkBookkeeping(String call) {
            bookkeeping++;
            if (mm != null && (!mm.holdsMappingWrite() || mm.holdsActive())) {
                violations.add(call + ": mappingMu write " + mm.holdsMappingWrite() + ", activeMu " + mm.holdsActive());
            }
        }

        @Override
        public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException {
            mapsMu.lock();
            try {
                checkBookkeeping("addMapping");
                inner.addMapping(ctx, ms, ar, offset, writable);
            } finally {
                mapsMu.unlock();
            }
        }

        @Override
        public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
            mapsMu.lock();
            try {
                checkBookkeeping("removeMapping");
                inner.removeMapping(ctx, ms, ar, offset, writable);
            } finally {
                mapsMu.unlock();
            }
        }

        @Override
        public void copyMapping(Context ctx, MappingSpace ms, AddrRange s, AddrRange d, long offset, boolean writable) throws MemmapException {
            mapsMu.lock();
            try {
                checkBookkeeping("copyMapping");
                inner.copyMapping(ctx, ms, s, d, offset, writable);
            } finally {
                mapsMu.unlock();
            }
        }

        @Override
        public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
            translations++;
            if (mapsMu.isHeldByCurrentThread()) {
                violations.add("translate under the maps lock");
            }
            if (mm != null && (!mm.holdsMapping() || !mm.holdsActive())) {
                violations.add("translate: mappingMu " + mm.holdsMapping() + ", activeMu " + mm.holdsActive());
            }
            return inner.translate(ctx, required, optional, at);
        }

        @Override
        public void invalidateUnsavable(Context ctx) throws MemmapException {
            inner.invalidateUnsavable(ctx);
        }
    }

    @Test
    void everyCallIntoAMappableHoldsTheRightLocks() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("lock-order", 2L << 20, 1L << 30, 0, false);
        AnonymousProvider anon = MemoryManagerIoTestConfig.anonymous(mf);
        Backing b = anon.create(CTX, new BackingRequest.Anonymous(16 * P));
        Checking m = new Checking(b.mappable());
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, anon));
        m.mm = mm;
        long a = mm.mmap(CTX, MMapOpts.builder().length(16 * P).mappable(m).mappingIdentity(b.identity()).build());
        long p = mm.mmap(CTX, MMapOpts.builder().length(16 * P).mappable(m).mappingIdentity(b.identity()).isPrivate(true).build());
        // A Mappable invalidating from another thread, with its maps lock held, while I/O runs.
        Thread invalidator = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 2000; i++) {
                m.mapsMu.lock();
                try {
                    mm.invalidate(new AddrRange(a, a + 16 * P), (i & 1) == 0 ? InvalidateOpts.DEFAULT : InvalidateOpts.PRIVATE);
                } finally {
                    m.mapsMu.unlock();
                }
            }
        });
        for (int i = 0; i < 2000; i++) {
            mm.write(CTX, a + (i % 16) * P, MemorySegment.ofArray(new byte[] {1}));
            mm.read(CTX, p + (i % 16) * P, MemorySegment.ofArray(new byte[1]));
        }
        invalidator.join(10_000);
        assertFalse(invalidator.isAlive(), "deadlock between invalidate and translate");
        long moved = mm.mremap(CTX, a, 16 * P, 32 * P, MRemapMove.MAY_MOVE, 0);
        mm.munmap(CTX, moved, 32 * P);
        mm.munmap(CTX, p, 16 * P);
        assertTrue(m.translations > 0 && m.bookkeeping >= 5, "translations " + m.translations + ", bookkeeping " + m.bookkeeping);
        assertEquals(List.of(), m.violations);
        b.identity().decRef(CTX);
        mf.release();
    }
}
