package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.Credentials;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;
import memmap.api.ResourceLimits;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/** mprotect, msync, madvise, mlock and fork on real memory. */
class MemoryManagerCallsTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf;
    AnonymousProvider anon;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("mm-calls", 2L << 20, 1L << 30, 0, false);
        anon = MemoryManagerIoTestConfig.anonymous(mf);
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
        assertEquals(IoResult.ok(n), mm.read(CTX, addr, MemorySegment.ofArray(b)));
        return new String(b, StandardCharsets.US_ASCII);
    }

    static Errno errno(Executable e) {
        return assertThrows(MemmapException.class, e::run).errno();
    }

    interface Executable {
        void run() throws Exception;
    }

    @Test
    void mprotect() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        mm.write(CTX, a, bytes("data"));
        mm.mprotect(CTX, a + P, 2 * P, AccessType.READ);
        assertEquals(Errno.EFAULT, mm.write(CTX, a + P, bytes("x")).error(), "write after mprotect(PROT_READ)");
        assertEquals(IoResult.ok(1), mm.write(CTX, a, bytes("D")));
        assertEquals(4, mm.maps(CTX).lines().count(), "split into three vmas");
        mm.mprotect(CTX, a + P, 2 * P, AccessType.READ_WRITE);
        assertEquals(2, mm.maps(CTX).lines().count(), "merged back");
        assertEquals(4 * P, mm.dataAS());
        assertEquals(Errno.EINVAL, errno(() -> mm.mprotect(CTX, a + 1, P, AccessType.READ)));
        assertEquals(Errno.ENOMEM, errno(() -> mm.mprotect(CTX, a + 4 * P, P, AccessType.READ)), "nothing mapped");
        assertEquals(Errno.ENOMEM, errno(() -> mm.mprotect(CTX, a + 3 * P, 2 * P, AccessType.READ)), "hole after the vma");
        assertEquals(Errno.EFAULT, mm.write(CTX, a + 3 * P, bytes("x")).error(), "the part before the hole was changed");
        long ro = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).perms(AccessType.READ).maxPerms(AccessType.READ).build());
        assertEquals(Errno.EACCES, errno(() -> mm.mprotect(CTX, ro, P, AccessType.READ_WRITE)));
        mm.mprotect(CTX, a, 0, AccessType.NO_ACCESS);
        mm.checkInvariants();
    }

    @Test
    void msyncCallsTheIdentityOfSharedMappingsOnly() throws Exception {
        List<MappableRange> synced = new ArrayList<>();
        Backing b = anon.create(CTX, new BackingRequest.Anonymous(8 * P));
        MappingIdentity spy = new ForwardingIdentity(b.identity()) {
            @Override
            public void msync(Context ctx, MappableRange mr) {
                synced.add(mr);
            }
        };
        MemoryManager mm = mm();
        long s = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(b.mappable()).mappingIdentity(spy).offset(2 * P).build());
        long p = mm.mmap(CTX, MMapOpts.builder().length(4 * P).mappable(b.mappable()).mappingIdentity(spy).isPrivate(true).build());
        mm.msync(CTX, s + P, 2 * P, true, false);
        assertEquals(List.of(new MappableRange(3 * P, 5 * P)), synced, "the Mappable range of the synced part");
        mm.msync(CTX, p, 4 * P, true, false);
        assertEquals(1, synced.size(), "private mappings are not synced");
        mm.msync(CTX, s, 4 * P, false, false);
        assertEquals(1, synced.size(), "MS_ASYNC does nothing more");
        mm.mlock(CTX, s, P, MLockMode.LAZY);
        assertEquals(Errno.EBUSY, errno(() -> mm.msync(CTX, s, P, false, true)));
        assertEquals(Errno.ENOMEM, errno(() -> mm.msync(CTX, s + 4 * P + (1L << 30), P, true, false)), "nothing mapped after");
        mm.munmap(CTX, s, 4 * P);
        mm.munmap(CTX, p, 4 * P);
        b.identity().decRef(CTX);
    }

    @Test
    void madvise() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        mm.write(CTX, a, bytes("gone soon"));
        mm.madvise(CTX, a, P, MAdvice.DONTNEED);
        assertEquals("\0\0\0\0", string(mm, a, 4), "anonymous memory comes back as zeros");
        mm.madvise(CTX, a, P, MAdvice.WILLNEED);
        assertEquals(Errno.ENOSYS, errno(() -> mm.madvise(CTX, a, P, MAdvice.REMOVE)));
        assertEquals(Errno.EPERM, errno(() -> mm.madvise(CTX, a, P, MAdvice.HWPOISON)));
        assertEquals(Errno.EINVAL, errno(() -> mm.madvise(CTX, a + 1, P, MAdvice.DONTNEED)));
        assertEquals(Errno.ENOMEM, errno(() -> mm.madvise(CTX, a + 3 * P, 2 * P, MAdvice.DONTNEED)), "hole after");
        mm.mlock(CTX, a, P, MLockMode.LAZY);
        assertEquals(Errno.EINVAL, errno(() -> mm.madvise(CTX, a, P, MAdvice.DONTNEED)), "mlocked");
        mm.madvise(CTX, a + P, P, MAdvice.DONTFORK);
        MemoryManager child = mm.fork(CTX);
        assertEquals(Errno.EFAULT, child.read(CTX, a + P, MemorySegment.ofArray(new byte[1])).error(), "not inherited");
        assertEquals(IoResult.ok(1), child.read(CTX, a + 2 * P, MemorySegment.ofArray(new byte[1])));
        mm.madvise(CTX, a + P, P, MAdvice.DOFORK);
        assertEquals(IoResult.ok(1), mm.fork(CTX).read(CTX, a + P, MemorySegment.ofArray(new byte[1])));
        mm.checkInvariants();
    }

    @Test
    void mlockLimitsAndEagerPopulation() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(8 * P).isPrivate(true).build());
        Context user = CTX.withCredentials(Credentials.user(1000, 1000));
        Context noLock = user.withLimits(new ResourceLimits(ResourceLimits.INFINITY, 0, ResourceLimits.INFINITY, 8L << 20));
        assertEquals(Errno.EPERM, errno(() -> mm.mlock(noLock, a, P, MLockMode.EAGER)));
        Context twoPages = user.withLimits(new ResourceLimits(ResourceLimits.INFINITY, 2 * P, ResourceLimits.INFINITY, 8L << 20));
        assertEquals(Errno.ENOMEM, errno(() -> mm.mlock(twoPages, a, 3 * P, MLockMode.EAGER)));
        long rss = mm.rss();
        mm.mlock(twoPages, a + 100, P, MLockMode.EAGER); // rounds to [a, a + 2P)
        assertEquals(2 * P, mm.lockedAS());
        assertTrue(mm.rss() >= rss + 2 * P, "eager locking backs the pages now");
        mm.mlock(CTX, a, 8 * P, MLockMode.NONE);
        assertEquals(0, mm.lockedAS());
        mm.mlock(CTX, a + 3 * P, 2 * P, MLockMode.LAZY); // the middle of the vma
        assertEquals(2 * P, mm.lockedAS());
        assertEquals(4, mm.maps(CTX).lines().count(), "split around the locked part");
        mm.mlock(CTX, a + 3 * P, 2 * P, MLockMode.NONE);
        assertEquals(2, mm.maps(CTX).lines().count(), "merged back");
        mm.mlockAll(CTX, true, true, MLockMode.LAZY);
        assertEquals(8 * P, mm.lockedAS());
        long b = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).build());
        assertEquals(9 * P, mm.lockedAS(), "MCL_FUTURE locks new mappings");
        mm.munlockAll(CTX);
        assertEquals(0, mm.lockedAS());
        assertEquals(Errno.EINVAL, errno(() -> mm.mlockAll(CTX, false, false, MLockMode.EAGER)));
        assertEquals(Errno.ENOMEM, errno(() -> mm.mlock(CTX, 0x10_0000_0000L, P, MLockMode.LAZY)), "nothing mapped");
        assertEquals(a - P, b, "placed just below");
        mm.checkInvariants();
    }

    @Test
    void forkSharesPrivatePagesCopyOnWriteInBothDirections() throws Exception {
        MemoryManager parent = mm();
        long a = parent.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        parent.write(CTX, a, bytes("before fork"));
        long allocated = mf.usage().allocated();
        MemoryManager child = parent.fork(CTX);
        assertEquals(allocated, mf.usage().allocated(), "no copy at fork");
        assertEquals("before fork", string(child, a, 11));
        child.write(CTX, a, bytes("child!"));
        assertEquals("before fork", string(parent, a, 11), "the child's write copied");
        assertEquals("child! fork", string(child, a, 11));
        parent.write(CTX, a + P, bytes("parent"));
        assertEquals("\0\0\0\0\0\0", string(child, a + P, 6), "and the parent's copies too");
        assertEquals(allocated + 2 * P, mf.usage().allocated(), "one page copied by each side");
        child.release(CTX);
        // The child's copy and the original of the parent's copied page are freed: four pages remain.
        assertEquals(4 * P, mf.usage().allocated());
        parent.write(CTX, a + 2 * P, bytes("sole owner"));
        assertEquals(4 * P, mf.usage().allocated(), "the parent takes its now unshared pages over without copying");
        assertEquals("sole owner", string(parent, a + 2 * P, 10));
        parent.release(CTX);
        assertEquals(0, mf.usage().allocated(), "every page came back");
    }

    /** A MappingIdentity that forwards to another. */
    static class ForwardingIdentity implements MappingIdentity {
        final MappingIdentity inner;

        ForwardingIdentity(MappingIdentity inner) {
            this.inner = inner;
        }

        @Override
        public void incRef() {
            inner.incRef();
        }

        @Override
        public void decRef(Context ctx) {
            inner.decRef(ctx);
        }

        @Override
        public String mappedName(Context ctx) {
            return inner.mappedName(ctx);
        }

        @Override
        public long deviceId() {
            return inner.deviceId();
        }

        @Override
        public long inodeId() {
            return inner.inodeId();
        }

        @Override
        public void msync(Context ctx, MappableRange mr) throws MemmapException {
            inner.msync(ctx, mr);
        }
    }
}
