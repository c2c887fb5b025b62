package memmap.posix;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.MappableRange;
import memmap.api.MemmapException;

/** The fd-backed File and Mappable, and the per-file cache, on real files. */
class FdMappableTest {
    static final Context CTX = Context.background();

    @TempDir
    Path dir;

    FdMappable open(FdMappableCache cache, Path f, boolean write) throws MemmapException {
        int fd = Posix.open(f.toString(), (write ? Posix.O_RDWR : Posix.O_RDONLY) | Posix.O_CLOEXEC, 0);
        return cache.get(fd, Posix.fstat(fd), f.toString(), write, true, true);
    }

    @Test
    void oneMappablePerFileAndDescriptorsCloseWithTheLastReference() throws Exception {
        Path f = Files.write(dir.resolve("a"), new byte[8192]);
        FdMappableCache cache = new FdMappableCache();
        FdMappable ro = open(cache, f, false);
        FdMappable again = open(cache, f, false);
        assertSame(ro, again, "reused, the second descriptor closed");
        FdMappable rw = open(cache, f, true);
        assertNotSame(ro, rw, "a read-only one cannot serve a writable open");
        assertEquals(2, ro.refCount());
        ro.decRef(CTX);
        ro.decRef(CTX);
        assertTrue(ro.file().isClosed());
        assertEquals(Files.getAttribute(f, "unix:ino"), rw.inodeId());
        MappableRange r = new MappableRange(0, 4096);
        assertEquals(0, rw.translate(CTX, r, r, AccessType.READ).translations().get(0).file()
                .mapInternal(new memmap.api.FileRange(0, 4096), AccessType.READ).head().segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        rw.decRef(CTX);
        assertTrue(rw.file().isClosed());
        assertEquals(0, cache.size());
    }
}
