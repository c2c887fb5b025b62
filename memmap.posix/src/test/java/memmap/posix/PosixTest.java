package memmap.posix;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

import memmap.api.Errno;
import memmap.api.MemmapException;

/** The system calls against the real kernel. */
class PosixTest {
    static final long P = 4096;

    @Test
    void memfdLifecycleAndBlockAccounting() throws MemmapException {
        int fd = Posix.memfdCreate("posix-test", Posix.MFD_CLOEXEC);
        try {
            Posix.ftruncate(fd, 16 * P);
            Posix.Stat st = Posix.fstat(fd);
            assertEquals(16 * P, st.size());
            assertEquals(0, st.allocatedBytes(), "a fresh memfd has no blocks");
            assertEquals(0100000, st.mode() & 0170000, "a regular file");
            Posix.fallocate(fd, 0, 0, 4 * P);
            assertEquals(4 * P, Posix.fstat(fd).allocatedBytes());
            Posix.fallocate(fd, Posix.FALLOC_FL_PUNCH_HOLE | Posix.FALLOC_FL_KEEP_SIZE, 0, 2 * P);
            assertEquals(2 * P, Posix.fstat(fd).allocatedBytes());
            MemorySegment m = Posix.mmap(16 * P, Posix.PROT_READ | Posix.PROT_WRITE, Posix.MAP_SHARED, fd, 0);
            m.set(ValueLayout.JAVA_LONG, 8 * P, 42);
            assertEquals(1, Posix.residentPages(m.asSlice(8 * P), P, P));
            Posix.madvise(m, 16 * P, Posix.MADV_POPULATE_WRITE);
            assertEquals(16, Posix.residentPages(m, 16 * P, P));
            Posix.munmap(m, 16 * P);
        } finally {
            Posix.close(fd);
        }
    }

    @Test
    void failuresCarryTheErrno() {
        MemmapException e = assertThrows(MemmapException.class, () -> Posix.close(-1));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().contains("close(-1)"), e.getMessage());
        e = assertThrows(MemmapException.class, () -> Posix.open("/nonexistent/memmap", Posix.O_RDONLY, 0));
        assertEquals(Errno.ENOENT, e.errno());
        e = assertThrows(MemmapException.class, () -> Posix.ftruncate(-1, 0));
        assertEquals(Errno.EBADF, e.errno());
    }

    @Test
    void getpidIsThisProcess() {
        assertEquals(ProcessHandle.current().pid(), Posix.getpid());
    }
}
