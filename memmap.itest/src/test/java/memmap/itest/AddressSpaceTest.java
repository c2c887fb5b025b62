package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.annotation.Property;
import org.osgi.test.common.annotation.config.WithConfiguration;
import org.osgi.test.junit5.cm.ConfigurationExtension;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;
import org.osgi.framework.Bundle;

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
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
@ExtendWith(ConfigurationExtension.class)
class AddressSpaceTest {
    /** Address spaces a failed test left behind go with it. */
    @org.junit.jupiter.api.AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

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
        AddressSpace one = Framework.space(spaces);
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
            AddressSpace as = Framework.space(spaces);
            long a = as.mmap(CTX, b.configure(MMapOpts.builder().length(2 * P).build()));
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
        AddressSpace one = Framework.space(spaces);
        AddressSpace two = Framework.space(spaces);
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

    /**
     * The host-file provider configured live (its settings apply without replacing it): the
     * configuration extension makes the configuration before and deletes it after the test, and
     * the provider is injected once its service properties show it applied — no waiting on time.
     */
    @Test
    @WithConfiguration(pid = "memmap.hostfile", location = "?",
            properties = @Property(key = "noMmap", value = "**/*.fallback", type = Property.Type.Array))
    void filesThatCannotBeMappedGoThroughTheFallbackStrategy(@InjectService(timeout = Framework.TIMEOUT_MS) AddressSpaces spaces,
            @InjectService(filter = "(&(memmap.backing.kind=hostfile)(noMmap=\\*\\*/\\*.fallback))", timeout = Framework.TIMEOUT_MS)
            BackingProvider applied) throws Exception {
        Path f = Files.createTempFile("memmap-as", ".fallback");
        try {
            Files.write(f, new byte[(int) P]);
            Backing b = spaces.backing(CTX, new BackingRequest.HostFile(f, true));
            AddressSpace as = Framework.space(spaces);
            long a = as.mmap(CTX, b.configure(MMapOpts.builder().length(P).build()));
            b.identity().decRef(CTX);
            assertEquals(IoResult.ok(8), as.write(CTX, a + 100, text("buffered")));
            assertEquals("buffered", read(as, a + 100, 8));
            assertEquals("buffered", new String(Files.readAllBytes(f), 100, 8, StandardCharsets.US_ASCII));
            as.release(CTX);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /**
     * While the provider of a kind is being replaced (here: its bundle stopped and started
     * again), new mappings of the kind never see ENODEV: they wait for the replacement. Mappers
     * run throughout; every mapping must succeed.
     */
    @Test
    void newMappingsWaitForTheReplacementProviderInsteadOfFailing(
            // Not the service still configured without a wait by a test before (Config Admin's updates are asynchronous).
            @InjectService(filter = "(!(providerWaitMillis=0))", timeout = Framework.TIMEOUT_MS) AddressSpaces spaces)
            throws Exception {
        Bundle hostfile = HotSwapTest.bundle("memmap.hostfile");
        Path f = Files.createTempFile("memmap-as", ".bin");
        Files.write(f, new byte[(int) P]);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong mapped = new java.util.concurrent.atomic.AtomicLong();
        java.util.List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.List<Thread> mappers = new java.util.ArrayList<>();
        for (int t = 0; t < 2; t++) {
            mappers.add(Thread.ofPlatform().name("mapper-" + t).start(() -> {
                AddressSpace as = Framework.space(spaces);
                try {
                    while (!stop.get()) {
                        Backing b = spaces.backing(CTX, new BackingRequest.HostFile(f, false));
                        long a = as.mmap(CTX, b.configure(MMapOpts.builder().length(P).perms(memmap.api.AccessType.READ).build()));
                        b.identity().decRef(CTX);
                        as.munmap(CTX, a, P);
                        mapped.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failures.add(e);
                } finally {
                    as.release(CTX);
                }
            }));
        }
        try {
            for (int round = 0; round < 5 && failures.isEmpty(); round++) {
                long before = mapped.get();
                Framework.until("mappings are being made", () -> mapped.get() > before + 20 || !failures.isEmpty());
                hostfile.stop();
                hostfile.start();
            }
            long before = mapped.get();
            Framework.until("mappings are made after the last restart", () -> mapped.get() > before + 20 || !failures.isEmpty());
        } finally {
            stop.set(true);
            for (Thread t : mappers) {
                t.join();
            }
            Files.deleteIfExists(f);
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a mapping failed while its provider was being replaced", failures.get(0));
        }
    }

    /** With the wait configured off, a kind whose provider is gone is ENODEV at once, naming the kind. */
    @Test
    @WithConfiguration(pid = "memmap.mm", location = "?", properties = @Property(key = "providerWaitMillis", value = "0", scalar = Property.Scalar.Long))
    void aMissingProviderIsAClearError(
            @InjectService(filter = "(providerWaitMillis=0)", timeout = Framework.TIMEOUT_MS) AddressSpaces spaces) throws Exception {
        Bundle shm = HotSwapTest.bundle("memmap.shm");
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
