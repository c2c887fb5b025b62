package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MappableRange;
import memmap.api.MemoryFile;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.PosixSharedMemory;
import memmap.api.provider.SysVSharedMemory;

/** memmap.shm inside Felix: its services are found, its System V memory comes from the MemoryFile service. */
class SharedMemoryTest {
    static final Context CTX = Context.background().withThreadGroupId(77);

    @Test
    void systemVSegmentsUseTheMemoryFileService() throws Exception {
        SysVSharedMemory sysv = Framework.await(SysVSharedMemory.class, null);
        MemoryFile mf = Framework.await(MemoryFile.class, null);
        long before = mf.usage().allocated();
        int id = sysv.get(CTX, SysVSharedMemory.IPC_PRIVATE, 8192, 0600);
        assertEquals(before + 8192, mf.usage().allocated());
        MMapOpts o;
        try (SysVSharedMemory.Attachment a = sysv.attach(CTX, id, 0, 0)) {
            o = a.opts();
            o.mappingIdentity().incRef();
            o.mappable().addMapping(CTX, (ar, x) -> { }, new AddrRange(0x10000, 0x12000), 0, true);
        }
        MappableRange r = new MappableRange(0, 8192);
        Translation t = o.mappable().translate(CTX, r, r, AccessType.WRITE).requireValid(r, r, AccessType.WRITE).translations().get(0);
        assertSame(mf, t.file(), "the segment's pages are the memory file's");
        assertEquals(1, sysv.stat(CTX, id).nattach());
        sysv.remove(CTX, id);
        o.mappable().removeMapping(CTX, (ar, x) -> { }, new AddrRange(0x10000, 0x12000), 0, true);
        o.mappingIdentity().decRef(CTX);
        assertEquals(before, mf.usage().allocated(), "destroyed on the last detach");
    }

    @Test
    void posixSegmentsThroughTheProviderService() throws Exception {
        BackingProvider p = Framework.await(BackingProvider.class, "(" + BackingProvider.KIND + "=shm)");
        assertEquals(BackingKind.SHARED_MEMORY, p.kind());
        String name = "memmap-itest-" + ProcessHandle.current().pid();
        Backing b = p.create(CTX, new BackingRequest.SharedMemory(name, 4096));
        try {
            assertTrue(Files.exists(Path.of("/dev/shm", name)));
            Framework.await(PosixSharedMemory.class, null).unlink(CTX, name);
            assertFalse(Files.exists(Path.of("/dev/shm", name)));
            MappableRange r = new MappableRange(0, 4096);
            assertNull(b.mappable().translate(CTX, r, r, AccessType.READ).error(), "unlinked but still mapped");
        } finally {
            b.identity().decRef(CTX);
            Files.deleteIfExists(Path.of("/dev/shm", name));
        }
    }
}
