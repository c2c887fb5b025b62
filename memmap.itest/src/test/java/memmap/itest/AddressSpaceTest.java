package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;

/** Every provider exercised through the address space, inside Felix. */
class AddressSpaceTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    static MemorySegment text(String s) {
        return MemorySegment.ofArray(s.getBytes(StandardCharsets.US_ASCII));
    }

    static String read(AddressSpace as, long addr, int n) {
        byte[] b = new byte[n];
        IoResult r = as.read(CTX, addr, MemorySegment.ofArray(b));
        assertEquals(IoResult.ok(n), r);
        return new String(b, StandardCharsets.US_ASCII);
    }

    @Test
    void anonymousMemoryPrivateAndShared() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        AddressSpace one = spaces.create(CTX);
        long a = one.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        one.write(CTX, a + 10, text("private"));
        assertEquals("private", read(one, a + 10, 7));
        long s = one.mmap(CTX, MMapOpts.builder().length(4 * P).build()); // MAP_SHARED | MAP_ANONYMOUS
        assertTrue(one.maps(CTX).contains("/dev/zero (deleted)"), one.maps(CTX));
        one.write(CTX, s, text("shared"));
        AddressSpace child = one.fork(CTX);
        child.write(CTX, s + 6, text("+child"));
        child.write(CTX, a + 10, text("CHILD!!"));
        assertEquals("shared+child", read(one, s, 12), "shared memory is shared with the child");
        assertEquals("private", read(one, a + 10, 7), "private memory is copied on write");
        child.release(CTX);
        one.release(CTX);
        assertEquals(0, one.usageAS());
    }

    @Test
    void hostFilesThroughTheAddressSpace() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Path f = Files.createTempFile("memmap-as", ".bin");
        try {
            Files.write(f, new byte[(int) (2 * P)]);
            Backing b = spaces.backing(CTX, new BackingRequest.HostFile(f, true));
            AddressSpace as = spaces.create(CTX);
            long a = as.mmap(CTX, MMapOpts.builder().length(2 * P).mappable(b.mappable()).mappingIdentity(b.identity()).build());
            b.identity().decRef(CTX);
            as.write(CTX, a + P, text("to the file"));
            as.msync(CTX, a, 2 * P, true, false);
            assertEquals("to the file", new String(Files.readAllBytes(f), (int) P, 11, StandardCharsets.US_ASCII));
            assertTrue(as.maps(CTX).contains(f.toRealPath().toString()));
            IoResult past = as.read(CTX, a + 2 * P - 1, MemorySegment.ofArray(new byte[2]));
            assertEquals(1, past.n());
            as.release(CTX);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void systemVSegmentsAttachedInTwoAddressSpaces() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        SysVSharedMemory sysv = Framework.await(SysVSharedMemory.class, null);
        int id = sysv.get(CTX, SysVSharedMemory.IPC_PRIVATE, 2 * P, 0600);
        AddressSpace one = spaces.create(CTX);
        AddressSpace two = spaces.create(CTX);
        long a;
        long b;
        try (SysVSharedMemory.Attachment at = sysv.attach(CTX, id, 0, 0)) {
            a = one.mmap(CTX, at.opts());
        }
        try (SysVSharedMemory.Attachment at = sysv.attach(CTX, id, 0, 0)) {
            b = two.mmap(CTX, at.opts());
        }
        assertEquals(2, sysv.stat(CTX, id).nattach());
        assertTrue(one.maps(CTX).contains("SYSV00000000"));
        one.write(CTX, a + 5, text("ipc"));
        assertEquals("ipc", read(two, b + 5, 3));
        sysv.remove(CTX, id);
        one.munmap(CTX, a, 2 * P);
        two.munmap(CTX, b, 2 * P);
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> sysv.stat(CTX, id)).errno(), "gone with the last detach");
    }

    @Test
    void filesThatCannotBeMappedGoThroughTheFallbackStrategy() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        ConfigurationAdmin ca = Framework.await(ConfigurationAdmin.class, null);
        Configuration cfg = ca.getConfiguration("memmap.hostfile", "?");
        Path f = Files.createTempFile("memmap-as", ".fallback");
        try {
            Files.write(f, new byte[(int) P]);
            Object old = Framework.awaitReference(BackingProvider.class, "(memmap.backing.kind=hostfile)").reference()
                    .getProperty(Constants.SERVICE_ID);
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("noMmap", new String[] {"**/*.fallback"});
            cfg.update(props);
            Framework.awaitReplacement(BackingProvider.class, "(memmap.backing.kind=hostfile)", old);
            Backing b = spaces.backing(CTX, new BackingRequest.HostFile(f, true));
            AddressSpace as = spaces.create(CTX);
            long a = as.mmap(CTX, MMapOpts.builder().length(P).mappable(b.mappable()).mappingIdentity(b.identity()).build());
            b.identity().decRef(CTX);
            assertEquals(IoResult.ok(8), as.write(CTX, a + 100, text("buffered")));
            assertEquals("buffered", read(as, a + 100, 8));
            assertEquals("buffered", new String(Files.readAllBytes(f), 100, 8, StandardCharsets.US_ASCII));
            as.release(CTX);
        } finally {
            cfg.delete();
            Files.deleteIfExists(f);
        }
    }

    @Test
    void aMissingProviderIsAClearError() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Bundle shm = null;
        for (Bundle bundle : Framework.context().getBundles()) {
            if (bundle.getSymbolicName().equals("memmap.shm")) {
                shm = bundle;
            }
        }
        assertNotNull(shm);
        shm.stop();
        try {
            MemmapException e = assertThrows(MemmapException.class,
                    () -> spaces.backing(CTX, new BackingRequest.SharedMemory("x", P)));
            assertEquals(Errno.ENODEV, e.errno());
            assertTrue(e.getMessage().contains("no provider for kind shm"), e.getMessage());
        } finally {
            shm.start();
        }
        Framework.await(BackingProvider.class, "(memmap.backing.kind=shm)");
    }
}
