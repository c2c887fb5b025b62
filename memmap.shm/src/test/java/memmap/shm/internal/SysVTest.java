package memmap.shm.internal;

import static memmap.api.provider.SysVSharedMemory.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Credentials;
import memmap.api.Errno;
import memmap.api.MMapOpts;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.Translation;

/** System V shared memory: the errno matrix in the spec's order, permissions, IPC_RMID, limits, sharing. */
class SysVTest {
    static final long P = 4096;
    static final Context ROOT = Context.background().withThreadGroupId(100);
    static final Context ALICE = ROOT.withCredentials(Credentials.user(1000, 1000)).withThreadGroupId(200);
    static final Context BOB = ROOT.withCredentials(Credentials.user(2000, 2000)).withThreadGroupId(300);
    static final Context BOB_IN_ALICES_GROUP = ROOT.withCredentials(new Credentials(2000, 2000, Set.of(1000), Set.of()));
    static final Context BOB_OWNER_CAP = ROOT.withCredentials(new Credentials(2000, 2000, Set.of(), Set.of(Capability.IPC_OWNER)));
    static final MappingSpace SPACE = (ar, o) -> { };

    MemfdMemoryFile mf;
    ShmProvider shm;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = ShmTestSupport.memoryFile();
        shm = ShmTestSupport.provider(mf, 8, 1024);
    }

    @AfterEach
    void tearDown() {
        shm.deactivate();
        mf.release();
    }

    static Errno errno(Executable e) {
        return assertThrows(MemmapException.class, e::run).errno();
    }

    interface Executable {
        void run() throws Exception;
    }

    /** Attach as an address space would: take the mapping's reference and tell the Mappable. */
    static MMapOpts map(ShmProvider shm, Context ctx, int id, int flags, long addr) throws MemmapException {
        try (Attachment a = shm.attach(ctx, id, 0, flags)) {
            MMapOpts o = a.opts();
            o.mappingIdentity().incRef();
            o.mappable().addMapping(ctx, SPACE, AddrRange.ofLength(addr, memmap.api.Pages.roundUpExact("len", o.length())), 0, false);
            return o;
        }
    }

    static void unmap(Context ctx, MMapOpts o, long addr) {
        o.mappable().removeMapping(ctx, SPACE, AddrRange.ofLength(addr, memmap.api.Pages.roundUpExact("len", o.length())), 0, false);
        o.mappingIdentity().decRef(ctx);
    }

    @Test
    void getCreatesFindsAndRefusesInTheSpecsOrder() throws Exception {
        int id = shm.get(ALICE, 42, 3 * P + 1, IPC_CREAT | 0640);
        assertTrue(id >= 1, "ids start at 1");
        assertEquals(id, shm.get(ALICE, 42, 100, 0), "found by key, smaller size fine");
        assertEquals(Errno.EEXIST, errno(() -> shm.get(ALICE, 42, 100, IPC_CREAT | IPC_EXCL | 0600)));
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, 42, 4 * P, 0)), "larger than the segment");
        assertEquals(Errno.ENOENT, errno(() -> shm.get(ALICE, 43, P, 0)));
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, 44, 0, IPC_CREAT)), "size below SHMMIN, checked first");
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, 42, 0, IPC_CREAT)), "size checked even when the key exists");
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, IPC_PRIVATE, -1L, 0)), "beyond SHMMAX");
        // Permission before EEXIST: bob asking for write on a 0640 segment.
        assertEquals(Errno.EACCES, errno(() -> shm.get(BOB, 42, 100, IPC_CREAT | IPC_EXCL | 0602)));
        int p1 = shm.get(ALICE, IPC_PRIVATE, P, 0600);
        int p2 = shm.get(ALICE, IPC_PRIVATE, P, 0600);
        assertNotEquals(p1, p2, "IPC_PRIVATE always creates");
    }

    @Test
    void badInputLeavesTheRegistryUnchanged() throws Exception {
        int id = shm.get(ALICE, 20, P, IPC_CREAT | 0600);
        List<ShmStat> before = shm.list();
        ShmInfo infoBefore = shm.shmInfo();
        long allocated = mf.usage().allocated();
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, 21, -5L, IPC_CREAT | 0600)), "huge size");
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, IPC_PRIVATE, 0, 0600)), "zero size");
        assertEquals(Errno.EINVAL, errno(() -> shm.get(ALICE, 21, -1L - (1L << 24) + 1, IPC_CREAT)), "just past SHMMAX");
        assertEquals(Errno.ENOENT, errno(() -> shm.get(ALICE, -7, P, 0)), "any int is a key; this one has no segment");
        assertEquals(Errno.EINVAL, errno(() -> shm.attach(ALICE, -1, 0, 0)));
        assertEquals(Errno.EINVAL, errno(() -> shm.set(ALICE, 0, 0, 0, 0)), "id 0 is never used");
        assertEquals(before, shm.list());
        assertEquals(infoBefore, shm.shmInfo());
        assertEquals(allocated, mf.usage().allocated(), "nothing allocated by a refused call");
        assertEquals(id, shm.get(ALICE, 20, P, 0));
    }

    @Test
    void limitsGiveEnospcEvenForLookups() throws Exception {
        ShmProvider small = ShmTestSupport.provider(mf, 2, 3);
        try {
            small.get(ALICE, 1, P, IPC_CREAT | 0600);
            assertEquals(Errno.ENOSPC, errno(() -> small.get(ALICE, 2, 3 * P, IPC_CREAT | 0600)), "SHMALL: 1 + 3 pages > 3");
            small.get(ALICE, 2, P, IPC_CREAT | 0600);
            assertEquals(Errno.ENOSPC, errno(() -> small.get(ALICE, 3, P, IPC_CREAT | 0600)), "SHMMNI");
            assertEquals(Errno.ENOSPC, errno(() -> small.get(ALICE, 1, P, 0)), "SHMMNI is checked even for a lookup");
            IpcInfo info = small.ipcInfo();
            assertEquals(2, info.shmMni());
            assertEquals(3, info.shmAll());
            assertEquals(2, small.shmInfo().shmTot());
        } finally {
            small.deactivate();
        }
    }

    @Test
    void permissionMatrix() throws Exception {
        int id = shm.get(ALICE, 7, P, IPC_CREAT | 0640);
        // owner: rw; group: r; others: nothing
        shm.attach(ALICE, id, 0, 0).close();
        assertEquals(Errno.EACCES, errno(() -> shm.attach(ALICE, id, 0, SHM_EXEC)), "owner has no x");
        shm.attach(BOB_IN_ALICES_GROUP, id, 0, SHM_RDONLY).close();
        assertEquals(Errno.EACCES, errno(() -> shm.attach(BOB_IN_ALICES_GROUP, id, 0, 0)), "group has no w");
        assertEquals(Errno.EACCES, errno(() -> shm.attach(BOB, id, 0, SHM_RDONLY)), "others have nothing");
        assertEquals(Errno.EACCES, errno(() -> shm.stat(BOB, id)), "IPC_STAT needs read");
        shm.attach(BOB_OWNER_CAP, id, 0, SHM_EXEC).close();
        assertEquals(Errno.EINVAL, errno(() -> shm.attach(ALICE, 99, 0, 0)), "unknown id");
        // IPC_SET: owner, creator or CAP_SYS_ADMIN.
        assertEquals(Errno.EPERM, errno(() -> shm.set(BOB, id, 2000, 2000, 0666)));
        shm.set(ALICE, id, 2000, 2000, 0604);
        shm.attach(BOB, id, 0, 0).close();
        shm.set(ALICE, id, 2000, 2000, 0600); // alice is still the creator
        assertEquals(0600, shm.stat(BOB, id).mode());
    }

    @Test
    void attachOptionsFollowTheFlags() throws Exception {
        int id = shm.get(ALICE, 8, 2 * P + 10, IPC_CREAT | 0777);
        try (Attachment a = shm.attach(ALICE, id, 0x7000_0000L, SHM_RDONLY | SHM_REMAP)) {
            MMapOpts o = a.opts();
            assertEquals(2 * P + 10, o.length(), "the unrounded size; mmap rounds");
            assertEquals(AccessType.READ, o.perms());
            assertEquals(AccessType.READ_EXECUTE, o.maxPerms());
            assertTrue(o.fixed());
            assertFalse(o.unmap(), "SHM_REMAP does not set unmap");
            assertFalse(o.isPrivate());
            assertSame(o.mappable(), o.mappingIdentity());
            assertEquals(0x7000_0000L, o.addr());
        }
        try (Attachment a = shm.attach(ALICE, id, 0, SHM_EXEC)) {
            assertEquals(AccessType.ANY_ACCESS, a.opts().perms());
        }
    }

    @Test
    void rmidDestroysOnTheLastDetach() throws Exception {
        int id = shm.get(ALICE, 9, P, IPC_CREAT | 0600);
        long before = mf.usage().allocated();
        MMapOpts o1 = map(shm, ALICE, id, 0, 0x10000);
        MMapOpts o2 = map(shm, ALICE, id, 0, 0x20000);
        ShmStat st = shm.stat(ALICE, id);
        assertEquals(2, st.nattach());
        assertEquals(200, st.lpid());
        assertTrue(st.atime() > 0);
        assertEquals("SYSV00000009", o1.mappingIdentity().mappedName(ALICE));
        assertEquals(id, o1.mappingIdentity().inodeId());
        shm.remove(ALICE, id);
        assertEquals(Errno.ENOENT, errno(() -> shm.get(ALICE, 9, P, 0)), "the key is forgotten at once");
        ShmStat pending = shm.stat(ALICE, id);
        assertEquals(0, pending.key());
        assertEquals(SHM_DEST, pending.mode() & SHM_DEST);
        assertEquals(2, pending.nattach());
        assertEquals("SYSV00000000", o1.mappingIdentity().mappedName(ALICE));
        shm.remove(ALICE, id); // again: no-op
        unmap(ALICE, o1, 0x10000);
        assertEquals(1, shm.stat(ALICE, id).nattach());
        assertEquals(before, mf.usage().allocated(), "still attached: memory kept");
        unmap(BOB, o2, 0x20000);
        assertEquals(Errno.EINVAL, errno(() -> shm.stat(ALICE, id)), "gone with the last detach");
        assertEquals(before - P, mf.usage().allocated(), "memory freed");
        assertEquals(Errno.EINVAL, errno(() -> shm.remove(ALICE, id)));
        assertEquals(0, shm.shmInfo().shmTot());
    }

    @Test
    void statSetInfoLockAndList() throws Exception {
        int id = shm.get(ALICE, 10, 5000, IPC_CREAT | 0644);
        ShmStat st = shm.stat(ALICE, id);
        assertEquals(new ShmStat(id, 10, 1000, 1000, 1000, 1000, 0644, 5000, 0, 0, st.ctime(), 200, 0, 0), st);
        shm.lock(ALICE, id);
        shm.unlock(ALICE, id);
        assertEquals(Errno.EINVAL, errno(() -> shm.lock(ALICE, 12345)));
        assertEquals(List.of(id), shm.list().stream().map(ShmStat::id).toList());
        ShmInfo info = shm.shmInfo();
        assertEquals(id, info.usedIds());
        assertEquals(2, info.shmTot());
        assertEquals(0, info.shmSwp());
        assertEquals(-1L - (1L << 24), shm.ipcInfo().shmMax());
    }

    @Test
    void translateCoversTheSegmentAndBusErrorsPastIt() throws Exception {
        int id = shm.get(ALICE, 11, 2 * P, IPC_CREAT | 0600);
        MMapOpts o = map(shm, ALICE, id, 0, 0x30000);
        MappableRange req = new MappableRange(P, 2 * P);
        MappableRange opt = new MappableRange(0, 4 * P);
        TranslateResult r = o.mappable().translate(ALICE, req, opt, AccessType.WRITE).requireValid(req, opt, AccessType.WRITE);
        assertNull(r.error());
        assertEquals(new MappableRange(0, 2 * P), r.translations().get(0).source());
        MappableRange past = new MappableRange(2 * P, 3 * P);
        assertInstanceOf(BusError.class, o.mappable().translate(ALICE, past, past, AccessType.READ)
                .requireValid(past, past, AccessType.READ).error());
        unmap(ALICE, o, 0x30000);
    }

    @Test
    void twoAttachmentsShareBytesAndAnotherProcessSeesThemThroughTheMemfd() throws Exception {
        int id = shm.get(ALICE, 12, P, IPC_CREAT | 0600);
        MMapOpts a = map(shm, ALICE, id, 0, 0x40000);
        MMapOpts b = map(shm, ALICE, id, 0, 0x50000);
        MappableRange page = new MappableRange(0, P);
        Translation ta = a.mappable().translate(ALICE, page, page, AccessType.WRITE).translations().get(0);
        ta.file().mapInternal(ta.fileRange(), AccessType.WRITE).head().segment().setString(0, "from java");
        Translation tb = b.mappable().translate(ALICE, page, page, AccessType.READ).translations().get(0);
        assertEquals("from java", tb.file().mapInternal(tb.fileRange(), AccessType.READ).head().segment().getString(0));
        // Another OS process: read the segment's bytes, then write back, through the memfd.
        String fd = "/proc/" + ProcessHandle.current().pid() + "/fd/" + ta.file().fd();
        String script = "import os\nfd=os.open('" + fd + "', os.O_RDWR)\n"
                + "print(os.pread(fd, 9, " + ta.offset() + ").decode())\n"
                + "os.pwrite(fd, b'from python\\0', " + (ta.offset() + 100) + ")\n";
        Process py = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
        String out = new String(py.getInputStream().readAllBytes()).trim();
        assertEquals(0, py.waitFor(), out);
        assertEquals("from java", out);
        assertEquals("from python", tb.file().mapInternal(tb.fileRange(), AccessType.READ).head().segment().getString(100));
        unmap(ALICE, a, 0x40000);
        unmap(ALICE, b, 0x50000);
        assertEquals(0, shm.stat(ALICE, id).nattach());
        assertEquals(1, b.mappingIdentity().deviceId(), "device 00:01");
    }

    @Test
    void releaseKeepsAttachedSegmentsUntilDetached() throws Exception {
        int id = shm.get(ALICE, 13, P, IPC_CREAT | 0600);
        int idle = shm.get(ALICE, 14, P, IPC_CREAT | 0600);
        MMapOpts o = map(shm, ALICE, id, 0, 0x60000);
        long before = mf.usage().allocated();
        shm.deactivate();
        assertEquals(before - P, mf.usage().allocated(), "the unattached segment is destroyed at once");
        assertThrows(IllegalStateException.class, () -> shm.get(ALICE, 15, P, IPC_CREAT));
        MappableRange page = new MappableRange(0, P);
        assertNull(o.mappable().translate(ALICE, page, page, AccessType.WRITE).error(), "the attached one still works");
        unmap(ALICE, o, 0x60000);
        assertEquals(before - 2 * P, mf.usage().allocated());
        assertEquals(Errno.EINVAL, errno(() -> shm.stat(ALICE, idle)));
    }
}
