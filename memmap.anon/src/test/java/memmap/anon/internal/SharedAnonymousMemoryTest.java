package memmap.anon.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.safemem.Block;

/** Shared anonymous memory over a real memory file: translate, sharing, size, identity, release. */
class SharedAnonymousMemoryTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf;
    AnonymousProvider provider;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("anon-test", 2L << 20, 1L << 30, 0, false);
        provider = new AnonymousProvider(mf, config(16 * P, true), Map.of("component.id", 1L));
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    static AnonymousProvider.Config config(long fillAhead, boolean populate) {
        return new AnonymousProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return AnonymousProvider.Config.class;
            }

            @Override
            public long fillAhead() {
                return fillAhead;
            }

            @Override
            public boolean populate() {
                return populate;
            }
        };
    }

    SharedAnonymousMemory create(long size) {
        Backing b = provider.create(CTX, new BackingRequest.Anonymous(size));
        return (SharedAnonymousMemory) b.mappable();
    }

    static TranslateResult checked(SharedAnonymousMemory m, MappableRange req, MappableRange opt, AccessType at) {
        TranslateResult r = m.translate(CTX, req, opt, at);
        return r.requireValid(req, opt, at);
    }

    @Test
    void translateAllocatesOnDemandWithinOptionalOnly() {
        SharedAnonymousMemory m = create(1L << 20);
        MappableRange req = new MappableRange(20 * P, 21 * P);
        MappableRange opt = new MappableRange(18 * P, 40 * P);
        TranslateResult r = checked(m, req, opt, AccessType.READ_WRITE);
        assertNull(r.error());
        // The fill window is the 16-page aligned block around the fault, cut to optional.
        assertEquals(new MappableRange(18 * P, 32 * P), r.translations().get(0).source());
        assertEquals(14 * P, m.allocatedBytes());
        MappableRange tight = new MappableRange(100 * P, 101 * P);
        checked(m, tight, tight, AccessType.READ);
        assertEquals(15 * P, m.allocatedBytes(), "never beyond optional");
    }

    @Test
    void writesThroughOneTranslationAreSeenThroughAnother() throws MemmapException {
        SharedAnonymousMemory m = create(64 * P);
        MappableRange page = new MappableRange(5 * P, 6 * P);
        Translation t1 = checked(m, page, page, AccessType.WRITE).translations().get(0);
        Block w = t1.file().mapInternal(t1.fileRange(), AccessType.WRITE).head();
        w.segment().set(ValueLayout.JAVA_LONG, 8, 0x1122334455667788L);
        Translation t2 = checked(m, page, new MappableRange(0, 64 * P), AccessType.READ).translations().get(0);
        Block r = t2.file().mapInternal(t2.fileRange(), AccessType.READ).head();
        assertEquals(0x1122334455667788L, r.segment().get(ValueLayout.JAVA_LONG, 5 * P - t2.source().start() + 8));
        Translation fresh = checked(m, new MappableRange(40 * P, 41 * P), new MappableRange(40 * P, 41 * P), AccessType.READ)
                .translations().get(0);
        assertEquals(0, fresh.file().mapInternal(fresh.fileRange(), AccessType.READ).head().segment().get(ValueLayout.JAVA_LONG, 0));
    }

    @Test
    void translatingPastTheEndIsABusError() {
        SharedAnonymousMemory m = create(4 * P);
        MappableRange beyond = new MappableRange(4 * P, 5 * P);
        TranslateResult r = checked(m, beyond, beyond, AccessType.READ);
        assertInstanceOf(BusError.class, r.error());
        assertTrue(r.translations().isEmpty());
        MappableRange straddle = new MappableRange(3 * P, 5 * P);
        TranslateResult partial = checked(m, straddle, straddle, AccessType.READ);
        assertInstanceOf(BusError.class, partial.error());
        assertEquals(new MappableRange(3 * P, 4 * P), partial.translations().get(0).source());
    }

    @Test
    void badArgumentsAreRejected() {
        SharedAnonymousMemory m = create(4 * P);
        var e = assertThrows(IllegalArgumentException.class,
                () -> m.translate(CTX, new MappableRange(0, 100), new MappableRange(0, P), AccessType.READ));
        assertTrue(e.getMessage().startsWith("required = [0x0, 0x64)"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> m.translate(CTX, new MappableRange(0, 2 * P), new MappableRange(P, 2 * P), AccessType.READ));
        e = assertThrows(IllegalArgumentException.class,
                () -> m.addMapping(CTX, (ar, o) -> { }, new AddrRange(0x10000, 0x10800), 0, true));
        assertTrue(e.getMessage().startsWith("ar = "), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> m.addMapping(CTX, (ar, o) -> { }, new AddrRange(0x10000, 0x11000), -P, true));
        assertThrows(IllegalArgumentException.class, () -> provider.create(CTX, new BackingRequest.SharedMemory("x", P)));
        assertThrows(IllegalArgumentException.class, () -> new BackingRequest.Anonymous(100));
        assertEquals(0, m.allocatedBytes());
    }

    @Test
    void identityLooksLikeLinuxAndReleasesItsPagesOnTheLastReference() {
        SharedAnonymousMemory m = create(16 * P);
        assertEquals("/dev/zero (deleted)", m.mappedName(CTX));
        assertEquals(1, m.deviceId(), "device 00:01");
        assertTrue(m.inodeId() > 0);
        assertNotEquals(m.inodeId(), create(P).inodeId());
        checked(m, new MappableRange(0, 16 * P), new MappableRange(0, 16 * P), AccessType.WRITE);
        long before = mf.usage().allocated();
        assertEquals(16 * P, m.allocatedBytes());
        m.incRef();
        m.decRef(CTX);
        assertEquals(before, mf.usage().allocated(), "one reference left: nothing freed");
        m.decRef(CTX);
        assertEquals(before - 16 * P, mf.usage().allocated());
        assertThrows(IllegalStateException.class, m::incRef);
        assertThrows(IllegalStateException.class, () -> m.decRef(CTX));
    }

    @Test
    void mappingBookkeeping() {
        SharedAnonymousMemory m = create(16 * P);
        RecordingSpace ms = new RecordingSpace();
        m.addMapping(CTX, ms, new AddrRange(0x10000, 0x12000), 0, true);
        m.copyMapping(CTX, ms, new AddrRange(0x10000, 0x12000), new AddrRange(0x20000, 0x22000), 0, true);
        m.removeMapping(CTX, ms, new AddrRange(0x10000, 0x12000), 0, true);
        m.removeMapping(CTX, ms, new AddrRange(0x20000, 0x22000), 0, true);
        assertThrows(IllegalArgumentException.class, () -> m.removeMapping(CTX, ms, new AddrRange(0x20000, 0x21000), 0, true),
                "removing a mapping that does not exist");
    }

    @Test
    void providerAdoptsAnotherProvidersMemoryWithItsContents() throws MemmapException {
        SharedAnonymousMemory m = create(8 * P);
        Translation t = checked(m, new MappableRange(2 * P, 3 * P), new MappableRange(2 * P, 3 * P), AccessType.WRITE)
                .translations().get(0);
        t.file().mapInternal(t.fileRange(), AccessType.WRITE).head().segment().fill((byte) 0x42);
        MemfdMemoryFile other = new MemfdMemoryFile("other", 2L << 20, 1L << 30, 0, false);
        try {
            AnonymousProvider next = new AnonymousProvider(other, config(16 * P, false), Map.of("component.id", 2L));
            Backing adopted = next.adopt(CTX, new Backing(new BackingRequest.Anonymous(8 * P), m, m, provider.id()));
            SharedAnonymousMemory copy = (SharedAnonymousMemory) adopted.mappable();
            Translation c = checked(copy, new MappableRange(2 * P, 3 * P), new MappableRange(2 * P, 3 * P), AccessType.READ)
                    .translations().get(0);
            assertSame(other, c.file());
            assertEquals(0x42, c.file().mapInternal(c.fileRange(), AccessType.READ).head().segment().get(ValueLayout.JAVA_BYTE, 100));
            assertEquals(1, next.usage().liveBackings());
            assertEquals(m.inodeId(), adopted.identity().inodeId(), "maps shows the same inode after a swap");
            Backing fresh = next.create(CTX, new BackingRequest.Anonymous(P));
            assertTrue(fresh.identity().inodeId() > m.inodeId(), "later inodes do not repeat the adopted one");
            fresh.identity().decRef(CTX);
            adopted.identity().decRef(CTX);
            assertEquals(0, next.usage().liveBackings());
        } finally {
            other.release();
        }
    }

    @Test
    void aReleasedProviderMakesNothingNewButItsBackingsLive() {
        SharedAnonymousMemory m = create(4 * P);
        checked(m, new MappableRange(0, P), new MappableRange(0, P), AccessType.WRITE);
        provider.deactivate();
        assertThrows(IllegalStateException.class, () -> provider.create(CTX, new BackingRequest.Anonymous(P)));
        assertNull(checked(m, new MappableRange(P, 2 * P), new MappableRange(P, 2 * P), AccessType.WRITE).error());
        assertEquals(1, provider.usage().liveBackings());
        m.decRef(CTX);
        assertEquals(0, provider.usage().liveBackings());
    }

    /** Threads translating and writing their own pages of shared memory while others create and drop backings. */
    @Test
    void concurrentTranslateAllocateAndFree() throws Exception {
        SharedAnonymousMemory shared = create(1024 * P);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        java.util.List<java.util.concurrent.Future<Long>> done = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int me = t;
            done.add(pool.submit(() -> {
                java.util.Random rnd = new java.util.Random(me);
                long ops = 0;
                while (!stop.get()) {
                    if (me < 2) {
                        // Translators: each owns the pages p with p % 2 == me.
                        long page = rnd.nextInt(512) * 2L + me;
                        MappableRange r = new MappableRange(page * P, (page + 1) * P);
                        TranslateResult res = shared.translate(CTX, r, new MappableRange(0, 1024 * P), AccessType.WRITE)
                                .requireValid(r, new MappableRange(0, 1024 * P), AccessType.WRITE);
                        Translation tr = res.translations().get(0);
                        var seg = tr.file().mapInternal(tr.fileRange(), AccessType.READ_WRITE)
                                .dropFirst(page * P - tr.source().start()).head().segment();
                        long v = seg.get(ValueLayout.JAVA_LONG, 0);
                        assertTrue(v == 0 || v == page, "page " + page + " holds " + v);
                        seg.set(ValueLayout.JAVA_LONG, 0, page);
                    } else {
                        // Churners: make, touch and drop private backings.
                        SharedAnonymousMemory m = create(8 * P);
                        MappableRange r = new MappableRange(0, 8 * P);
                        m.translate(CTX, r, r, AccessType.WRITE).requireValid(r, r, AccessType.WRITE);
                        m.decRef(CTX);
                    }
                    ops++;
                }
                return ops;
            }));
        }
        Thread.sleep(1500);
        stop.set(true);
        long total = 0;
        for (var f : done) {
            total += f.get();
        }
        pool.shutdown();
        assertTrue(total > 1000, "ran " + total + " operations");
        mf.checkInvariants();
        assertEquals(1024 * P, shared.allocatedBytes());
        assertEquals(1024 * P, mf.usage().allocated(), "only the shared memory's pages remain");
        shared.decRef(CTX);
        assertEquals(0, mf.usage().allocated());
    }

    static final class RecordingSpace implements memmap.api.MappingSpace {
        @Override
        public void invalidate(AddrRange ar, memmap.api.InvalidateOpts opts) {}
    }
}
