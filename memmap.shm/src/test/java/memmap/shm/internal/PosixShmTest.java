package memmap.shm.internal;

import static memmap.api.provider.PosixSharedMemory.*;
import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.InvalidateOpts;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.Resizable;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/** POSIX named shared memory under /dev/shm, shared with a real Python process both ways. */
class PosixShmTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    MemfdMemoryFile mf;
    ShmProvider shm;
    String name;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = ShmTestSupport.memoryFile();
        shm = ShmTestSupport.provider(mf, 8, 1024);
        name = "memmap-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    }

    @AfterEach
    void tearDown() throws Exception {
        Files.deleteIfExists(Path.of("/dev/shm", name));
        shm.deactivate();
        mf.release();
    }

    static String python(String script) throws Exception {
        Process py = new ProcessBuilder("python3", "-c", script).redirectErrorStream(true).start();
        String out = new String(py.getInputStream().readAllBytes()).trim();
        assertEquals(0, py.waitFor(), out);
        return out;
    }

    @Test
    void createOpenUnlinkWithTheHostsErrnos() throws Exception {
        assertEquals(Errno.ENOENT, assertThrows(MemmapException.class, () -> shm.open(CTX, name, O_RDWR, 0)).errno());
        Backing b = shm.open(CTX, "/" + name, O_RDWR | O_CREAT | O_EXCL, 0600);
        assertTrue(Files.exists(Path.of("/dev/shm", name)), "a real file other processes can open");
        assertEquals(Errno.EEXIST, assertThrows(MemmapException.class, () -> shm.open(CTX, name, O_RDWR | O_CREAT | O_EXCL, 0600)).errno());
        Backing again = shm.open(CTX, name, O_RDONLY, 0);
        assertSame(b.mappable(), again.mappable(), "one coherent Mappable per segment");
        assertEquals("/dev/shm/" + name, b.identity().mappedName(CTX));
        shm.unlink(CTX, name);
        assertEquals(Errno.ENOENT, assertThrows(MemmapException.class, () -> shm.unlink(CTX, name)).errno());
        again.identity().decRef(CTX);
        b.identity().decRef(CTX);
    }

    @Test
    void badNamesAreRefusedBeforeAnythingIsOpened() {
        for (String bad : new String[] {"", "/", "a/b", "..", ".", "x".repeat(256)}) {
            MemmapException e = assertThrows(MemmapException.class, () -> shm.open(CTX, bad, O_RDWR | O_CREAT, 0600), bad);
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("name = "), e.getMessage());
        }
        assertEquals(Errno.EINVAL, assertThrows(MemmapException.class, () -> shm.open(CTX, name, 3, 0600)).errno(), "access mode 3");
        assertFalse(Files.exists(Path.of("/dev/shm", name)));
        assertThrows(IllegalArgumentException.class, () -> shm.create(CTX, new BackingRequest.Anonymous(P)));
    }

    @Test
    void resizeAndTheBackingRequest() throws Exception {
        Backing b = shm.create(CTX, new BackingRequest.SharedMemory(name, 3 * P));
        Resizable r = (Resizable) b.mappable();
        assertEquals(3 * P, r.size());
        assertEquals(3 * P, Files.size(Path.of("/dev/shm", name)));
        java.util.List<AddrRange> invalidated = new java.util.ArrayList<>();
        b.mappable().addMapping(CTX, (ar, o) -> {
            invalidated.add(ar);
            assertEquals(InvalidateOpts.PRIVATE, o);
        }, new AddrRange(0x10000, 0x13000), 0, true);
        r.setSize(CTX, P);
        assertEquals(java.util.List.of(new AddrRange(0x11000, 0x13000)), invalidated);
        MappableRange past = new MappableRange(2 * P, 3 * P);
        assertInstanceOf(BusError.class, b.mappable().translate(CTX, past, past, AccessType.READ).error());
        b.identity().decRef(CTX);
    }

    @Test
    void pythonAndJavaShareTheSegmentBothWays() throws Exception {
        Backing b = shm.create(CTX, new BackingRequest.SharedMemory(name, 2 * P));
        MappableRange all = new MappableRange(0, 2 * P);
        Translation t = b.mappable().translate(CTX, all, all, AccessType.WRITE).requireValid(all, all, AccessType.WRITE).translations().get(0);
        var seg = t.file().mapInternal(t.fileRange(), AccessType.WRITE).head().segment();
        seg.setString(0, "hello from java");
        String out = python("import mmap, os\n"
                + "fd = os.open('/dev/shm/" + name + "', os.O_RDWR)\n"
                + "m = mmap.mmap(fd, 8192)\n"
                + "print(m[:15].decode())\n"
                + "m[4096:4114] = b'hello from python\\0'\n"
                + "m.close()\n");
        assertEquals("hello from java", out);
        assertEquals("hello from python", seg.getString(P));
        b.identity().decRef(CTX);
    }
}
