package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.Map;

import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.provider.SysVSharedMemory;
import memmap.shm.internal.ShmProvider;

/** shmat and shmdt through the address space (spec §4.15), with fragments left by munmap. */
class ShmAttachTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @Test
    void attachShareDetachFragmentsAndTheMissingService() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("shmat", 2L << 20, 1L << 30, 0, false);
        ShmProvider shm = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", 1L));
        MemoryManager one = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, shm));
        MemoryManager two = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, Backings.of(mf, shm));
        int id = shm.get(CTX, 77, 4 * P, SysVSharedMemory.IPC_CREAT | 0600);
        long a = one.shmat(CTX, id, 0, 0);
        long b = two.shmat(CTX, id, 0x6000_0000L, SysVSharedMemory.SHM_REMAP);
        assertEquals(0x6000_0000L, b);
        assertEquals(2, shm.stat(CTX, id).nattach());
        assertTrue(one.maps(CTX).contains("SYSV00000077"), one.maps(CTX));
        one.write(CTX, a + P, MemorySegment.ofArray("sysv".getBytes()));
        byte[] got = new byte[4];
        assertEquals(IoResult.ok(4), two.read(CTX, b + P, MemorySegment.ofArray(got)));
        assertEquals("sysv", new String(got));
        // munmap the middle page: the attachment is now two fragments; shmdt removes both.
        one.munmap(CTX, a + P, P);
        assertEquals(3, shm.stat(CTX, id).nattach(), "a fragmented attachment counts twice, as in gVisor");
        one.shmdt(CTX, a);
        assertEquals(1, shm.stat(CTX, id).nattach());
        assertEquals(Errno.EFAULT, one.read(CTX, a + 2 * P, MemorySegment.ofArray(got)).error());
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> one.shmdt(CTX, a)).errno(), "nothing attached there");
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> two.shmdt(CTX, b + 1)).errno());
        two.shmdt(CTX, b);
        assertEquals(0, shm.stat(CTX, id).nattach());
        MemoryManager noShm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, mf);
        MemmapException e = assertThrows(MemmapException.class, () -> noShm.shmat(CTX, id, 0, 0));
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.getMessage().contains("no provider for kind shm"), e.getMessage());
        mf.release();
    }
}
