package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.InvalidateOpts;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MMapOpts;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/** The address space's I/O path on real memory: anonymous, shared, copy-on-write, invalidation, faults. */
class MemoryManagerIoTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf;
    AnonymousProvider anon;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("mm-io", 2L << 20, 1L << 30, 0, false);
        anon = new AnonymousProvider(mf, new AnonymousProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return AnonymousProvider.Config.class;
            }

            @Override
            public long fillAhead() {
                return 4 * P;
            }

            @Override
            public boolean populate() {
                return false;
            }
        }, Map.of("component.id", 1L));
    }

    @AfterEach
    void tearDown() {
        mf.release();
    }

    MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
    }

    static MemorySegment bytes(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.US_ASCII));
    }

    static String string(MemoryManager mm, long addr, int n) {
        byte[] b = new byte[n];
        IoResult r = mm.read(CTX, addr, MemorySegment.ofArray(b));
        assertEquals(IoResult.ok(n), r);
        return new String(b, StandardCharsets.US_ASCII);
    }

    /** A Mappable that counts translations and forwards to shared anonymous memory. */
    static final class Counting implements Mappable {
        final Mappable inner;
        final AtomicInteger translations = new AtomicInteger();

        Counting(Mappable inner) {
            this.inner = inner;
        }

        @Override
        public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException {
            inner.addMapping(ctx, ms, ar, offset, writable);
        }

        @Override
        public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
            inner.removeMapping(ctx, ms, ar, offset, writable);
        }

        @Override
        public void copyMapping(Context ctx, MappingSpace ms, AddrRange s, AddrRange d, long offset, boolean writable) throws MemmapException {
            inner.copyMapping(ctx, ms, s, d, offset, writable);
        }

        @Override
        public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
            translations.incrementAndGet();
            return inner.translate(ctx, required, optional, at);
        }

        @Override
        public void invalidateUnsavable(Context ctx) throws MemmapException {
            inner.invalidateUnsavable(ctx);
        }
    }

    @Test
    void privateAnonymousMemoryReadsBackAndIsFreedByMunmap() throws Exception {
        MemoryManager mm = mm();
        long before = mf.usage().allocated();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        assertEquals("\0\0\0\0\0", string(mm, a + 100, 5), "fresh memory reads as zero");
        assertEquals(IoResult.ok(5), mm.write(CTX, a + 100, bytes("hello")));
        assertEquals("hello", string(mm, a + 100, 5));
        assertEquals(IoResult.ok(13), mm.write(CTX, a + P - 6, bytes("across pages!")));
        assertEquals("across pages!", string(mm, a + P - 6, 13));
        assertEquals(IoResult.ok(3), mm.zero(CTX, a + 101, 3));
        assertEquals("h\0\0\0o", string(mm, a + 100, 5));
        IoResult past = mm.read(CTX, a + 4 * P - 2, MemorySegment.ofArray(new byte[10]));
        assertEquals(2, past.n(), "the bytes up to the end of the mapping");
        assertEquals(Errno.EFAULT, past.error());
        assertTrue(mm.rss() > 0);
        mm.munmap(CTX, a, 4 * P);
        assertEquals(0, mm.rss());
        assertEquals(before, mf.usage().allocated(), "the private pages went back to the memory file");
        assertEquals(Errno.EFAULT, mm.read(CTX, a, MemorySegment.ofArray(new byte[1])).error(), "I/O after munmap");
    }

    /** Small copies take the cached fast path; every change to pmas or permissions must still be seen. */
    @Test
    void theFastPathNeverOutlivesAChange() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        for (int i = 0; i < 100; i++) {
            assertEquals(IoResult.ok(2), mm.write(CTX, a + 8 + i, bytes("ok")));
        }
        assertEquals("ok", string(mm, a + 107, 2));
        mm.mprotect(CTX, a, 4 * P, AccessType.READ);
        assertEquals(Errno.EFAULT, mm.write(CTX, a + 8, bytes("no")).error(), "mprotect is seen");
        assertEquals("oo", string(mm, a + 8, 2));
        mm.mprotect(CTX, a, 4 * P, AccessType.READ_WRITE);
        MemoryManager child = mm.fork(CTX);
        assertEquals(IoResult.ok(2), mm.write(CTX, a + 8, bytes("PA")));
        assertEquals("oo", string(child, a + 8, 2), "fork's copy-on-write is seen");
        mm.madvise(CTX, a, P, MAdvice.DONTNEED);
        assertEquals("\0\0", string(mm, a + 8, 2), "madvise is seen");
        mm.munmap(CTX, a, 4 * P);
        assertEquals(Errno.EFAULT, mm.read(CTX, a + 8, MemorySegment.ofArray(new byte[2])).error(), "munmap is seen");
        child.release(CTX);
    }

    @Test
    void readOnlyMappingsRefuseWrites() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).perms(AccessType.READ).build());
        IoResult w = mm.write(CTX, a, bytes("x"));
        assertEquals(0, w.n());
        assertEquals(Errno.EFAULT, w.error());
        assertEquals(IoResult.ok(1), mm.read(CTX, a, MemorySegment.ofArray(new byte[1])));
    }

    @Test
    void sharedAnonymousMemoryIsSharedBetweenAddressSpaces() throws Exception {
        Backing shared = anon.create(CTX, new BackingRequest.Anonymous(4 * P));
        MemoryManager one = mm();
        MemoryManager two = mm();
        MMapOpts opts = MMapOpts.builder().length(4 * P).mappable(shared.mappable()).mappingIdentity(shared.identity()).build();
        long a = one.mmap(CTX, opts);
        long b = two.mmap(CTX, opts);
        assertEquals(IoResult.ok(6), one.write(CTX, a + P, bytes("shared")));
        assertEquals("shared", string(two, b + P, 6));
        assertTrue(two.maps(CTX).contains("rw-s"));
        assertTrue(two.maps(CTX).contains("/dev/zero (deleted)"));
        one.munmap(CTX, a, 4 * P);
        two.munmap(CTX, b, 4 * P);
        shared.identity().decRef(CTX);
    }

    @Test
    void privateMappingsCopyOnWriteInBothDirections() throws Exception {
        Backing file = anon.create(CTX, new BackingRequest.Anonymous(4 * P));
        MemoryManager writer = mm();
        MemoryManager priv = mm();
        long w = writer.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file.mappable()).mappingIdentity(file.identity()).build());
        writer.write(CTX, w, bytes("original"));
        writer.write(CTX, w + P, bytes("page two"));
        long p = priv.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(file.mappable()).mappingIdentity(file.identity())
                .isPrivate(true).build());
        assertEquals("original", string(priv, p, 8), "a private mapping reads the file");
        assertEquals(IoResult.ok(7), priv.write(CTX, p, bytes("private")));
        assertEquals("private", string(priv, p, 7), "and sees its own write");
        assertEquals("original", string(writer, w, 8), "which never reaches the file");
        writer.write(CTX, w, bytes("CHANGED!"));
        writer.write(CTX, w + P, bytes("PAGE TWO"));
        assertEquals("private", string(priv, p, 7), "the copied page is the private mapping's own");
        assertEquals("PAGE TWO", string(priv, p + P, 8), "an untouched page still shows the file");
        assertTrue(priv.maps(CTX).contains("rw-p"));
        priv.munmap(CTX, p, 4 * P);
        writer.munmap(CTX, w, 4 * P);
        file.identity().decRef(CTX);
        assertEquals(0, mf.usage().allocated(), "every page came back");
    }

    @Test
    void aFirstWriteToAPrivateMappingCopiesToo() throws Exception {
        Backing file = anon.create(CTX, new BackingRequest.Anonymous(2 * P));
        MemoryManager writer = mm();
        long w = writer.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(file.mappable()).mappingIdentity(file.identity()).build());
        writer.write(CTX, w, bytes("original"));
        MemoryManager priv = mm();
        long p = priv.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(file.mappable()).mappingIdentity(file.identity())
                .isPrivate(true).build());
        assertEquals(IoResult.ok(7), priv.write(CTX, p, bytes("PRIVATE")), "the very first access is a write");
        assertEquals("PRIVATEl", string(priv, p, 8));
        assertEquals("original", string(writer, w, 8), "and it did not reach the shared memory");
        priv.release(CTX);
        writer.release(CTX);
        file.identity().decRef(CTX);
    }

    @Test
    void invalidationDropsCachedTranslationsAndPrivatePagesOnlyWhenAsked() throws Exception {
        Backing file = anon.create(CTX, new BackingRequest.Anonymous(4 * P));
        Counting counting = new Counting(file.mappable());
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(counting).mappingIdentity(file.identity()).isPrivate(true).build());
        string(mm, a, 1);
        string(mm, a + P, 1);
        assertEquals(1, counting.translations.get(), "one translation covers the whole vma and is cached");
        mm.write(CTX, a, bytes("mine"));
        mm.invalidate(new AddrRange(a, a + 4 * P), InvalidateOpts.DEFAULT);
        assertEquals("mine", string(mm, a, 4), "copy-on-write pages survive a plain invalidation");
        string(mm, a + P, 1);
        assertEquals(2, counting.translations.get(), "the shared page is translated again");
        mm.invalidate(new AddrRange(a, a + 4 * P), InvalidateOpts.PRIVATE);
        assertEquals("\0\0\0\0", string(mm, a, 4), "private pages dropped: the file's content shows again");
        mm.munmap(CTX, a, 4 * P);
        file.identity().decRef(CTX);
    }

    @Test
    void translatingPastTheEndOfTheMappableIsABusError() throws Exception {
        Backing small = anon.create(CTX, new BackingRequest.Anonymous(2 * P));
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(small.mappable()).mappingIdentity(small.identity()).build());
        IoResult r = mm.read(CTX, a + 2 * P - 4, MemorySegment.ofArray(new byte[8]));
        assertEquals(4, r.n());
        assertInstanceOf(BusError.class, r.error(), "SIGBUS, as Linux gives past the end of a shmem file");
        mm.munmap(CTX, a, 4 * P);
        small.identity().decRef(CTX);
    }
}
