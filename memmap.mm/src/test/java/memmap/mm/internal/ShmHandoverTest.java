package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.provider.SysVSharedMemory;
import memmap.shm.internal.ShmProvider;

/** System V segments handed over from a released registry to its replacement, mappings re-pointed. */
class ShmHandoverTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    /** What SCR does when the shm component goes: its @Deactivate method. */
    static void deactivate(ShmProvider p) throws Exception {
        Method m = ShmProvider.class.getDeclaredMethod("deactivate");
        m.setAccessible(true);
        m.invoke(p);
    }

    @Test
    void segmentsKeepIdKeyModeContentsAndAttachCountsAcrossAHandover() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("shm-handover", 2L << 20, 1L << 30, 0, false);
        ProviderSwap swap = new ProviderSwap();
        AtomicReference<SysVSharedMemory> serving = new AtomicReference<>();
        Backings backings = Backings.swapping(swap, () -> mf, List::of, serving::get, () -> null);
        ShmProvider v1 = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", 1L));
        serving.set(v1);
        MemoryManager one = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        int kept = v1.get(CTX, 0x42, 4 * P, SysVSharedMemory.IPC_CREAT | 0640);
        int removed = v1.get(CTX, 0x43, P, SysVSharedMemory.IPC_CREAT | 0600);
        long a = one.shmat(CTX, kept, 0, 0);
        long r = one.shmat(CTX, removed, 0, 0);
        MemoryManager two = one.fork(CTX);
        v1.remove(CTX, removed); // IPC_RMID while attached: it lives while attached
        one.write(CTX, a + P, MemorySegment.ofArray("kept".getBytes()));
        one.write(CTX, r, MemorySegment.ofArray("gone".getBytes()));
        SysVSharedMemory.ShmStat before = v1.stat(CTX, kept);
        long allocatedBefore = mf.usage().allocated();

        deactivate(v1); // the old bundle goes: it forgets its keys, its segments live on while attached
        ShmProvider v2 = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", 2L));
        serving.set(v2);
        ProviderSwap.Result res = swap.migrateSegments(CTX, v2);

        assertEquals(new ProviderSwap.Result(2, 4, 0), res, "2 segments, attached in 2 address spaces");
        SysVSharedMemory.ShmStat after = v2.stat(CTX, kept);
        assertEquals(before.id(), after.id());
        assertEquals(before.key(), after.key());
        assertEquals(before.mode(), after.mode());
        assertEquals(before.uid(), after.uid());
        assertEquals(before.cpid(), after.cpid());
        assertEquals(before.size(), after.size());
        assertEquals(2, after.nattach(), "attach counts follow the mappings");
        assertEquals(kept, v2.get(CTX, 0x42, 0, 0), "the key finds the segment in the new registry");
        assertEquals(Errno.ENOENT, assertThrows(MemmapException.class, () -> v2.get(CTX, 0x43, 0, 0)).errno(),
                "a removed segment stays unfindable");
        byte[] got = new byte[4];
        assertEquals(IoResult.ok(4), two.read(CTX, a + P, MemorySegment.ofArray(got)));
        assertEquals("kept", new String(got));
        assertEquals(IoResult.ok(4), two.read(CTX, r, MemorySegment.ofArray(got)));
        assertEquals("gone", new String(got));
        assertEquals(allocatedBefore, mf.usage().allocated(), "the old segments' memory was freed as the copies took over");

        one.shmdt(CTX, a);
        assertEquals(1, v2.stat(CTX, kept).nattach());
        one.release(CTX);
        two.release(CTX);
        assertEquals(0, v2.stat(CTX, kept).nattach());
        v2.remove(CTX, kept);
        assertEquals(0, mf.usage().allocated(), "nothing leaked: the removed segment went with its last detach");
        mf.release();
    }
}
