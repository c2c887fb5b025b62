package memmap.fallback.internal;

import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.Pages;

/** The argument checks both strategies make before touching a file. */
final class Offsets {
    private Offsets() {}

    /**
     * EINVAL naming the offset if {@code [offset, offset + length)} is not a valid range of file
     * offsets (file offsets are signed 64-bit on Linux), else null.
     */
    static IoResult check(long offset, long length) {
        if (offset < 0) {
            return new IoResult(0, Errno.EINVAL.withDetail("offset = " + Pages.hex(offset) + " is past the largest file offset"));
        }
        if (offset + length < offset) {
            return new IoResult(0, Errno.EINVAL.withDetail("offset = " + Pages.hex(offset) + " + length " + length
                    + " passes the largest file offset"));
        }
        return null;
    }
}
