package memmap.api.checkpoint;

import memmap.api.Errno;
import memmap.api.MemmapException;

/**
 * An image that cannot be restored: truncated, corrupt, of another format version, not the
 * next link of the chain given, or naming a host file that changed since it was written. The
 * message names the image, the record and what is wrong. When a restore throws it, the
 * runtime is as it was before the restore began.
 */
public class ImageException extends MemmapException {
    private static final long serialVersionUID = 1L;

    /** @param detail what is wrong, naming the image and the record */
    public ImageException(String detail) {
        super(Errno.EINVAL.withDetail(detail));
    }

    /** @param detail what is wrong; @param cause the failure underneath (an I/O error) */
    public ImageException(String detail, Throwable cause) {
        super(Errno.EIO.withDetail(detail), cause);
    }
}
