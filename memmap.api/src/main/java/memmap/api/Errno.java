package memmap.api;

/**
 * A Linux error number (gVisor's {@code linuxerr}). Two {@code Errno}s are equal when
 * their codes are equal; {@code detail} is informational and does not take part.
 *
 * @param code the Linux errno value (x86-64 numbering)
 * @param name the symbolic name, e.g. {@code EINVAL}
 * @param detail what went wrong, or the empty string
 */
public record Errno(int code, String name, String detail) implements MemmapError {
    public static final Errno EPERM = new Errno(1, "EPERM", "");
    public static final Errno ENOENT = new Errno(2, "ENOENT", "");
    public static final Errno EINTR = new Errno(4, "EINTR", "");
    public static final Errno EIO = new Errno(5, "EIO", "");
    public static final Errno EBADF = new Errno(9, "EBADF", "");
    public static final Errno EAGAIN = new Errno(11, "EAGAIN", "");
    public static final Errno ENOMEM = new Errno(12, "ENOMEM", "");
    public static final Errno EACCES = new Errno(13, "EACCES", "");
    public static final Errno EFAULT = new Errno(14, "EFAULT", "");
    public static final Errno EBUSY = new Errno(16, "EBUSY", "");
    public static final Errno EEXIST = new Errno(17, "EEXIST", "");
    public static final Errno EXDEV = new Errno(18, "EXDEV", "");
    public static final Errno ENODEV = new Errno(19, "ENODEV", "");
    public static final Errno ENOTDIR = new Errno(20, "ENOTDIR", "");
    public static final Errno EISDIR = new Errno(21, "EISDIR", "");
    public static final Errno EINVAL = new Errno(22, "EINVAL", "");
    public static final Errno ENOSPC = new Errno(28, "ENOSPC", "");
    public static final Errno EROFS = new Errno(30, "EROFS", "");
    public static final Errno ENOSYS = new Errno(38, "ENOSYS", "");
    public static final Errno ELOOP = new Errno(40, "ELOOP", "");
    public static final Errno EOVERFLOW = new Errno(75, "EOVERFLOW", "");
    public static final Errno EIDRM = new Errno(43, "EIDRM", "");
    public static final Errno EHWPOISON = new Errno(133, "EHWPOISON", "");

    private static final Errno[] KNOWN = {EPERM, ENOENT, EINTR, EIO, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY,
        EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENOSPC, EROFS, ENOSYS, ELOOP, EOVERFLOW, EIDRM, EHWPOISON};

    /** The errno with Linux code {@code code} (named if known, else {@code errno N}), with a detail. */
    public static Errno of(int code, String detail) {
        for (Errno e : KNOWN) {
            if (e.code == code) {
                return e.withDetail(detail);
            }
        }
        return new Errno(code, "errno " + code, detail);
    }

    /** This errno with an explanation attached (equal to this errno). */
    public Errno withDetail(String detail) {
        return new Errno(code, name, detail);
    }

    /** This errno as a thrown exception with an explanation. */
    public MemmapException exception(String detail) {
        return new MemmapException(withDetail(detail));
    }

    @Override
    public String message() {
        return detail.isEmpty() ? name : name + ": " + detail;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Errno e && e.code == code;
    }

    @Override
    public int hashCode() {
        return code;
    }

    @Override
    public String toString() {
        return message();
    }
}
