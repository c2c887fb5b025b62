package memmap.shm.internal;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.provider.SysVSharedMemory;

/** SysVSharedMemory.adopt: a registry taking over another's segment, and what it refuses. */
class SysVAdoptTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @Test
    void adoptCopiesTheSegmentAndRefusesTakenIdsAndKeysChangingNothing() throws Exception {
        MemfdMemoryFile mf = ShmTestSupport.memoryFile();
        ShmRegistry oldReg = new ShmRegistry(mf, 0, ShmRegistry.Limits.LINUX);
        ShmRegistry newReg = new ShmRegistry(mf, 0, ShmRegistry.Limits.LINUX);
        int id = oldReg.get(CTX, 0x77, 2 * P, SysVSharedMemory.IPC_CREAT | 0640);
        ShmSegment live = oldReg.findOrCreate(CTX, 0x77, 0, 0, false, false, false);
        live.decRef(CTX);

        assertSame(live, oldReg.adopt(CTX, live), "a registry's own segment comes back unchanged");
        assertThrows(NullPointerException.class, () -> newReg.adopt(CTX, null));

        int taken = newReg.get(CTX, 0x77, P, SysVSharedMemory.IPC_CREAT | 0600); // the same key, here first
        assertEquals(id, taken, "both registries start their ids at 1");
        long allocated = mf.usage().allocated();
        MemmapException e = assertThrows(MemmapException.class, () -> newReg.adopt(CTX, live));
        assertEquals(Errno.EEXIST, e.errno());
        assertTrue(e.getMessage().contains("id = " + id), e.getMessage());
        assertEquals(allocated, mf.usage().allocated(), "a refused adoption allocates nothing");
        assertEquals(1, newReg.count());
        assertEquals(P, newReg.stat(CTX, taken).size(), "the registry's own segment is untouched");

        newReg.remove(CTX, taken);
        SysVSharedMemory.Segment copy = newReg.adopt(CTX, live);
        assertNotSame(live, copy);
        SysVSharedMemory.ShmStat st = newReg.stat(CTX, id);
        assertEquals(0x77, st.key());
        assertEquals(0640, st.mode() & 0777);
        assertEquals(2 * P, st.size());
        assertEquals(id, newReg.get(CTX, 0x77, 0, 0), "its key finds it");
        copy.decRef(CTX); // the adoption's reference
        oldReg.release(CTX);
        newReg.release(CTX);
        assertEquals(0, mf.usage().allocated(), "nothing leaked");
        mf.release();
    }
}
