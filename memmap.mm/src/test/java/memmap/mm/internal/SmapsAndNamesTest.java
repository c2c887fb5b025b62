package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;

import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.NameMut;

/** smaps in Linux's exact format, and PR_SET_VMA_ANON_NAME. */
class SmapsAndNamesTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    static MemoryManager mm() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, MemoryManagerTest.MF);
    }

    @Test
    void smapsOfAPrivateAnonymousMappingWithTwoTouchedPages() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).addr(0x4000_0000L).fixed(true)
                .mlockMode(MLockMode.LAZY).build());
        mm.write(CTX, a, MemorySegment.ofArray(new byte[] {1}));
        String smaps = mm.smaps(CTX);
        String expected = """
                40000000-40004000 rw-p 00000000 00:00 0\s
                Size:                 16 kB
                Rss:                  16 kB
                Pss:                  16 kB
                Shared_Clean:          0 kB
                Shared_Dirty:          0 kB
                Private_Clean:         0 kB
                Private_Dirty:        16 kB
                Referenced:           16 kB
                Anonymous:            16 kB
                AnonHugePages:         0 kB
                Shared_Hugetlb:        0 kB
                Private_Hugetlb:       0 kB
                Swap:                  0 kB
                SwapPss:               0 kB
                KernelPageSize:        4 kB
                MMUPageSize:           4 kB
                Locked:               16 kB
                VmFlags: rd wr mr mw me lo ?? ac\s
                ffffffffff600000-ffffffffff601000 r-xp 00000000 00:00 0                  [vsyscall]
                Size:                  4 kB
                Rss:                   0 kB
                Pss:                   0 kB
                Shared_Clean:          0 kB
                Shared_Dirty:          0 kB
                Private_Clean:         0 kB
                Private_Dirty:         0 kB
                Referenced:            0 kB
                Anonymous:             0 kB
                AnonHugePages:         0 kB
                Shared_Hugetlb:        0 kB
                Private_Hugetlb:       0 kB
                Swap:                  0 kB
                SwapPss:               0 kB
                KernelPageSize:        4 kB
                MMUPageSize:           4 kB
                Locked:                0 kB
                VmFlags: rd ex\s
                """;
        assertEquals(expected, smaps, "the whole 4-page vma was backed by the first touch (a huge-page window, cut to the vma)");
        mm.mprotect(CTX, a, 4 * P, AccessType.READ);
        assertTrue(mm.smaps(CTX).contains("Private_Clean:        16 kB\nPrivate_Dirty:         0 kB\n"), "read-only: clean");
        mm.release(CTX);
    }

    @Test
    void anonymousNames() throws Exception {
        MemoryManager mm = mm();
        long a = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).nameMut(NameMut.ANON).addr(0x4000_0000L).fixed(true).build());
        long n = mm.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).addr(0x4100_0000L).fixed(true).build());
        mm.setName(CTX, a + P, P, "heap arena");
        String maps = mm.maps(CTX);
        assertTrue(maps.contains("40001000-40002000 rw-p 00000000 00:00 0                                  [anon:heap arena]\n"), maps);
        assertEquals(5, maps.lines().count(), "the named part is its own vma (three pieces, the other mapping, vsyscall)");
        mm.setName(CTX, a + P, P, null);
        assertEquals(3, mm.maps(CTX).lines().count(), "cleared and merged back");
        String before = mm.maps(CTX);
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.setName(CTX, a, P, "bad[name]")).errno());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> mm.setName(CTX, a, P, "tab\there")).errno());
        assertEquals(Errno.EBADF, assertThrows(MemmapException.class, () -> mm.setName(CTX, n, P, "x")).errno());
        assertEquals(before, mm.maps(CTX));
        mm.setName(CTX, a, P, "ok");
        assertEquals(Errno.ENOMEM, assertThrows(MemmapException.class, () -> mm.setName(CTX, a + 3 * P, 2 * P, "x")).errno());
        assertTrue(mm.maps(CTX).contains("40003000-40004000 rw-p 00000000 00:00 0                                  [anon:x]"),
                "named up to the hole");
        MemoryManager shared = mm();
        long s = shared.mmap(CTX, MMapOpts.builder().length(P).isPrivate(true).nameMut(NameMut.ANON_SHMEM).build());
        shared.setName(CTX, s, P, "seg");
        assertTrue(shared.maps(CTX).contains("[anon_shmem:seg]"));
        mm.checkInvariants();
    }
}
