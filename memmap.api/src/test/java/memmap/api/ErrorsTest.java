package memmap.api;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Error values (§1.4, §1.12, §10) and their system-call conversions. */
class ErrorsTest {
    @Test
    void busErrorWrapsItsCause() {
        BusError b = new BusError(Errno.EFAULT);
        assertEquals("BusError: EFAULT", b.message());
        assertEquals(Errno.EFAULT, b.toErrno());
        assertThrows(NullPointerException.class, () -> new BusError(null));
    }

    @Test
    void fallbackSignalBecomesEnodev() {
        assertEquals(Errno.ENODEV, BufferedIOFallback.INSTANCE.toErrno());
        assertEquals("memmap.File.MapInternal() is unsupported, fall back to buffered R/W for internally-mapped I/O",
                BufferedIOFallback.INSTANCE.message());
    }

    @Test
    void errnoEqualityIgnoresTheDetail() {
        Errno e = Errno.EINVAL.withDetail("length = 0x0");
        assertEquals(Errno.EINVAL, e);
        assertEquals("EINVAL: length = 0x0", e.message());
        assertEquals(22, e.code());
        MemmapException ex = Errno.ENOMEM.exception("past the limit");
        assertEquals(Errno.ENOMEM, ex.errno());
        assertEquals("ENOMEM: past the limit", ex.getMessage());
    }

    @Test
    void everyErrorConvertsToAnErrno() {
        assertEquals(Errno.EFAULT, new HostFault(true, "x").toErrno());
        assertEquals(Errno.EFAULT, EndOfFile.INSTANCE.toErrno());
        assertEquals(Errno.EAGAIN, Errno.EAGAIN.toErrno());
        assertSame(Errno.EIDRM, new MemmapException(Errno.EIDRM).error());
    }

    @Test
    void ioResult() {
        assertTrue(IoResult.ok(5).isOk());
        assertFalse(new IoResult(3, EndOfFile.INSTANCE).isOk());
    }
}
