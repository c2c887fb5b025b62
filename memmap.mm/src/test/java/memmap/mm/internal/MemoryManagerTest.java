package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.Credentials;
import memmap.api.Errno;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.Mappable;
import memmap.api.MappableRange;
import memmap.api.MappingIdentity;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.ResourceLimits;
import memmap.api.TranslateResult;

/** The vma layer of the address space: mmap, munmap, address selection, limits, merging, maps text. */
class MemoryManagerTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final MemoryManager.Layout LAYOUT = MemoryManager.Layout.LINUX_X86_64;
    static final memmap.api.MemoryFile MF = memoryFile();

    static memmap.api.MemoryFile memoryFile() {
        try {
            return new memmap.anon.internal.MemfdMemoryFile("mm-test", 2L << 20, 1L << 30, 0, false);
        } catch (MemmapException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A Mappable and identity that records every call, as gVisor's tests' fakes do. */
    static final class Recording implements Mappable, MappingIdentity {
        final List<String> calls = new ArrayList<>();
        long refs = 1;
        final String name;
        MemmapException refuse;

        Recording(String name) {
            this.name = name;
        }

        @Override
        public void addMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) throws MemmapException {
            if (refuse != null) {
                throw refuse;
            }
            calls.add("add " + ar + " @" + Long.toHexString(offset) + (writable ? " w" : ""));
        }

        @Override
        public void removeMapping(Context ctx, MappingSpace ms, AddrRange ar, long offset, boolean writable) {
            calls.add("remove " + ar + " @" + Long.toHexString(offset) + (writable ? " w" : ""));
        }

        @Override
        public void copyMapping(Context ctx, MappingSpace ms, AddrRange src, AddrRange dst, long offset, boolean writable) {
            calls.add("copy " + src + " -> " + dst);
        }

        @Override
        public TranslateResult translate(Context ctx, MappableRange required, MappableRange optional, AccessType at) {
            throw new UnsupportedOperationException("the vma layer never translates");
        }

        @Override
        public void invalidateUnsavable(Context ctx) {}

        @Override
        public void incRef() {
            refs++;
        }

        @Override
        public void decRef(Context ctx) {
            refs--;
            assertTrue(refs >= 0, "refs went negative");
        }

        @Override
        public String mappedName(Context ctx) {
            return name;
        }

        @Override
        public long deviceId() {
            return (8L << 20) | 1;
        }

        @Override
        public long inodeId() {
            return 1234;
        }

        @Override
        public void msync(Context ctx, MappableRange mr) {}
    }

    static MMapOpts.Builder anon(long length) {
        return MMapOpts.builder().length(length).isPrivate(true);
    }

    static MMapOpts.Builder file(Recording r, long length, long offset, boolean shared) {
        return MMapOpts.builder().length(length).mappable(r).mappingIdentity(r).offset(offset).isPrivate(!shared)
                .perms(AccessType.READ_WRITE).maxPerms(AccessType.ANY_ACCESS);
    }

    static Errno errno(MemoryManager mm, MMapOpts o) {
        String before = mm.maps(CTX);
        MemmapException e = assertThrows(MemmapException.class, () -> mm.mmap(CTX, o));
        assertEquals(before, mm.maps(CTX), "a refused mmap changes nothing");
        mm.checkInvariants();
        return e.errno();
    }

    @Test
    void validationOrderAndErrnos() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording r = new Recording("/f");
        assertEquals(Errno.EINVAL, errno(mm, anon(0).build()), "length 0");
        assertEquals(Errno.ENOMEM, errno(mm, anon(-1L).build()), "length overflows when rounded");
        assertEquals(Errno.EINVAL, errno(mm, file(r, P, 100, true).build()), "unaligned offset");
        assertEquals(Errno.EOVERFLOW, errno(mm, file(r, 2 * P, -P, true).build()), "offset + length overflows");
        assertEquals(Errno.EINVAL, errno(mm, anon(P).addr(0x10000123L).fixed(true).build()), "unaligned fixed address");
        assertEquals(Errno.EACCES, errno(mm, anon(P).perms(AccessType.READ_WRITE).maxPerms(AccessType.READ).build()));
        assertEquals(Errno.EINVAL, errno(mm, file(r, P, 0, true).growsDown(true).build()), "growsDown with a Mappable");
        assertEquals(Errno.ENOMEM, errno(mm, anon(P).addr(0x1000).fixed(true).build()), "below minAddr");
        assertEquals(List.of(), r.calls, "no Mappable was told anything");
        assertEquals(1, r.refs);
    }

    @Test
    void topDownPlacementMergingAndTheMapsText() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        long a = mm.mmap(CTX, anon(2 * P).build());
        assertEquals(LAYOUT.topDownBase() - 2 * P, a, "the top of the top-down area");
        long b = mm.mmap(CTX, anon(P).build());
        assertEquals(a - P, b, "just below, and merged with it");
        String maps = mm.maps(CTX);
        assertEquals(String.format("%08x-%08x rw-p 00000000 00:00 0 %n", b, a + 2 * P).replace(System.lineSeparator(), "\n")
                + "ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0                  [vsyscall]\n", maps);
        assertEquals(3 * P, mm.usageAS());
        assertEquals(3 * P, mm.dataAS());
        mm.checkInvariants();
    }

    @Test
    void pathsArePaddedToColumn73() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording r = new Recording("/data/file.db");
        long a = mm.mmap(CTX, file(r, P, 3 * P, true).addr(0x5000_0000L).fixed(true).build());
        String line = mm.maps(CTX).lines().findFirst().orElseThrow();
        assertEquals("50000000-50001000 rw-s 00003000 08:01 1234", line.substring(0, 42));
        assertEquals(73, line.indexOf("/data/file.db"), line);
        assertEquals(0x5000_0000L, a);
        MemoryManager named = new MemoryManager(LAYOUT, MF);
        named.mmap(CTX, anon(P).addr(0x6000_0000L).fixed(true).name("[heap]").build());
        assertTrue(named.maps(CTX).startsWith("60000000-60001000 rw-p 00000000 00:00 0                                  [heap]\n"));
    }

    @Test
    void fixedMappingsReplaceOnlyWithUnmapAndNoReplaceSaysEexist() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording old = new Recording("/old");
        Recording neu = new Recording("/new");
        mm.mmap(CTX, file(old, 4 * P, 0, true).addr(0x4000_0000L).fixed(true).build());
        assertEquals(Errno.ENOMEM, errno(mm, file(neu, P, 0, true).addr(0x4000_1000L).fixed(true).build()));
        assertEquals(Errno.EEXIST, errno(mm, file(neu, P, 0, true).addr(0x4000_1000L).fixed(true).noReplace(true).build()));
        mm.mmap(CTX, file(neu, P, 0x10 * P, true).addr(0x4000_1000L).fixed(true).unmap(true).build());
        assertEquals(List.of("add [0x40000000, 0x40004000) @0 w", "remove [0x40001000, 0x40002000) @1000 w"), old.calls,
                "the replaced piece is removed with its own offset");
        assertEquals(List.of("add [0x40001000, 0x40002000) @10000 w"), neu.calls);
        assertEquals(3, old.refs, "two vma pieces hold the old identity, plus the caller's");
        assertEquals(2, neu.refs);
        mm.checkInvariants();
    }

    @Test
    void munmapSplitsRemovesPiecesInOrderAndDropsIdentitiesAfterUnlocking() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording r = new Recording("/f");
        long a = mm.mmap(CTX, file(r, 8 * P, 0x100 * P, false).build());
        assertEquals(2, r.refs);
        mm.munmap(CTX, a + 2 * P, 3 * P);
        assertEquals(List.of("add [" + hex(a) + ", " + hex(a + 8 * P) + ") @100000",
                "remove [" + hex(a + 2 * P) + ", " + hex(a + 5 * P) + ") @102000"), r.calls,
                "private mappings are added and removed with writable = false");
        assertEquals(3, r.refs, "two pieces left, plus the caller's");
        mm.munmap(CTX, a, 8 * P);
        assertEquals("remove [" + hex(a) + ", " + hex(a + 2 * P) + ") @100000", r.calls.get(2));
        assertEquals("remove [" + hex(a + 5 * P) + ", " + hex(a + 8 * P) + ") @105000", r.calls.get(3));
        assertEquals(1, r.refs);
        mm.munmap(CTX, a, 8 * P); // nothing mapped: not an error
        assertEquals(0, mm.usageAS());
        mm.checkInvariants();
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.munmap(CTX, a + 1, P)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.munmap(CTX, a, 0)).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.munmap(CTX, -P, 2 * P)).errno());
    }

    @Test
    void adjacentFileMappingsOfOneIdentityMergeAndDropTheExtraReference() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording r = new Recording("/f");
        mm.mmap(CTX, file(r, 2 * P, 0, true).addr(0x4000_0000L).fixed(true).build());
        mm.mmap(CTX, file(r, 2 * P, 2 * P, true).addr(0x4000_2000L).fixed(true).build());
        assertEquals(2, r.refs, "one merged vma holds one reference");
        assertEquals(2, mm.maps(CTX).lines().count(), "one vma line and vsyscall");
        Recording other = new Recording("/g");
        mm.mmap(CTX, file(other, P, 4 * P, true).addr(0x4000_4000L).fixed(true).build());
        assertEquals(3, mm.maps(CTX).lines().count(), "another identity never merges");
        mm.checkInvariants();
    }

    @Test
    void addMappingRefusalLeavesNothingMapped() {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording r = new Recording("/sealed");
        r.refuse = Errno.EPERM.exception("sealed");
        assertEquals(Errno.EPERM, errno(mm, file(r, P, 0, true).build()));
        assertEquals(1, r.refs);
    }

    @Test
    void limits() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Context as = CTX.withLimits(new ResourceLimits(4 * P, ResourceLimits.INFINITY, ResourceLimits.INFINITY, 8L << 20));
        mm.mmap(as, anon(3 * P).build());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.mmap(as, anon(2 * P).build())).errno(), "RLIMIT_AS");
        Context user = CTX.withCredentials(Credentials.user(1000, 1000));
        Context noLock = user.withLimits(new ResourceLimits(ResourceLimits.INFINITY, 0, ResourceLimits.INFINITY, 8L << 20));
        assertEquals(Errno.EPERM, assertThrows(MemmapException.class,
                () -> mm.mmap(noLock, anon(P).mlockMode(MLockMode.EAGER).build())).errno());
        Context twoPages = user.withLimits(new ResourceLimits(ResourceLimits.INFINITY, 2 * P, ResourceLimits.INFINITY, 8L << 20));
        mm.mmap(twoPages, anon(2 * P).mlockMode(MLockMode.LAZY).build());
        assertEquals(Errno.EAGAIN, assertThrows(MemmapException.class,
                () -> mm.mmap(twoPages, anon(P).mlockMode(MLockMode.EAGER).build())).errno());
        assertEquals(2 * P, mm.lockedAS());
        mm.mmap(CTX, anon(P).mlockMode(MLockMode.EAGER).build()); // root has CAP_IPC_LOCK
        assertEquals(3 * P, mm.lockedAS());
        mm.checkInvariants();
    }

    @Test
    void addressSelection() throws Exception {
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        long low = mm.mmap(CTX, anon(P).map32Bit(true).build());
        assertTrue(low >= 0x4000_0000L && low + P <= 0x8000_0000L, hex(low));
        long huge = mm.mmap(CTX, anon(2L << 20).build());
        assertEquals(0, huge % (2L << 20), "private huge-page multiples are huge-page aligned");
        long hint = mm.mmap(CTX, anon(P).addr(0x5555_0000L).build());
        assertEquals(0x5555_0000L, hint, "a free hint is taken");
        long taken = mm.mmap(CTX, anon(P).addr(0x5555_0000L).build());
        assertNotEquals(0x5555_0000L, taken, "an occupied hint is not");
        // A growsDown vma keeps a guard gap below it.
        MemoryManager stack = new MemoryManager(LAYOUT, MF);
        stack.mmap(CTX, anon(P).addr(0x7000_0000L).fixed(true).growsDown(true).build());
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class,
                () -> stack.mmap(CTX, anon(P).addr(0x7000_0000L - P).fixed(true).build())).errno(), "inside the guard");
        stack.mmap(CTX, anon(P).addr(0x7000_0000L - P).fixed(true).noReplace(true).build()); // NOREPLACE may use the guard
        MemoryManager bottomUp = new MemoryManager(new MemoryManager.Layout(0x10000, 0x7fff_ffff_f000L, 0x1000_0000L,
                0x7000_0000_0000L, false), MF);
        assertEquals(0x1000_0000L, bottomUp.mmap(CTX, anon(P).build()));
        assertEquals(0x1000_1000L, bottomUp.mmap(CTX, anon(P).build()));
        mm.checkInvariants();
    }

    /** Random mmap/munmap sequences: counters match the vmas, and each identity's references match the vmas holding it. */
    @Test
    void randomSequencesKeepCountersAndReferencesExact() throws Exception {
        java.util.Random rnd = new java.util.Random(21);
        MemoryManager mm = new MemoryManager(LAYOUT, MF);
        Recording[] files = {new Recording("/a"), new Recording("/b")};
        long base = 0x4000_0000L;
        for (int step = 0; step < 2000; step++) {
            long addr = base + rnd.nextInt(64) * P;
            long len = (1 + rnd.nextInt(8)) * P;
            try {
                switch (rnd.nextInt(4)) {
                    case 0 -> mm.mmap(CTX, anon(len).addr(addr).fixed(true).unmap(rnd.nextBoolean())
                            .mlockMode(rnd.nextInt(4) == 0 ? MLockMode.EAGER : MLockMode.NONE).build());
                    case 1 -> {
                        Recording r = files[rnd.nextInt(2)];
                        mm.mmap(CTX, file(r, len, (addr - base), rnd.nextBoolean()).addr(addr).fixed(true).unmap(true).build());
                    }
                    default -> mm.munmap(CTX, addr, len);
                }
            } catch (MemmapException e) {
                assertEquals(Errno.ENOMEM, e.errno(), "only a fixed mapping onto a used range may fail");
            }
            mm.checkInvariants();
            String maps = mm.maps(CTX);
            for (Recording r : files) {
                long vmasHolding = maps.lines().filter(l -> l.endsWith(" " + r.name)).count();
                assertEquals(1 + vmasHolding, r.refs, "references of " + r.name + " at step " + step);
            }
        }
        mm.munmap(CTX, base, 128 * P);
        assertEquals(0, mm.usageAS());
        for (Recording r : files) {
            assertEquals(1, r.refs);
        }
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
