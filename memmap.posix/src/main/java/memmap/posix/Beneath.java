package memmap.posix;

import java.util.ArrayDeque;
import java.util.Deque;

import memmap.api.Errno;
import memmap.api.MemmapException;

/**
 * Opens a path <em>beneath</em> a directory descriptor: no component of the path, whatever
 * is renamed or replaced by a symbolic link while it is being resolved, can make the call
 * open anything outside that directory.
 *
 * <p>Where the kernel has it, this is {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)}.
 * Where it does not (before Linux 5.6, or a seccomp filter refusing it with ENOSYS) it is a
 * walk of {@code openat(O_PATH | O_NOFOLLOW)} from the directory's descriptor, one component at
 * a time: {@code ..} pops a descriptor the walk itself opened (never the kernel's {@code ..}),
 * and a symbolic link is read and its target walked the same way. Both refuse the same
 * paths: an absolute path or link target outside the directory, and a {@code ..} above it, are
 * EXDEV; more than 40 links are ELOOP. An absolute path or link target that names a place
 * inside the directory (by the directory's own path) is walked from the directory's descriptor,
 * never resolved by name: openat2 refuses it, so it goes to the walk.
 *
 * <p>Symbolic links inside the directory are followed, the last component's too (as
 * {@code open} without {@code O_NOFOLLOW}).
 *
 * <p>Thread safety: stateless; every method may be called concurrently.
 */
public final class Beneath {
    /** Linux's MAXSYMLINKS. */
    private static final int MAX_LINKS = 40;
    /** -1 unknown, 0 openat2 refused (ENOSYS), 1 openat2 works. */
    private static volatile int openat2Works = -1;

    private Beneath() {}

    /**
     * Opens {@code path} beneath the directory open at {@code dirfd}.
     *
     * @param dirfd an open directory (not closed by this call)
     * @param dirPath the directory's real path, for absolute paths and links that point inside it
     * @param path the path, relative to the directory or absolute
     * @param flags open flags ({@code O_CLOEXEC} is added)
     * @param walk true to use the component walk even where openat2 works (tests)
     * @return the new descriptor, owned by the caller
     * @throws MemmapException EXDEV if the path leaves the directory, else what open reports
     */
    public static int open(int dirfd, String dirPath, String path, int flags, boolean walk) throws MemmapException {
        int f = flags | Posix.O_CLOEXEC;
        if (!walk && openat2Works != 0 && !path.startsWith("/")) {
            try {
                int fd = Posix.openat2(dirfd, path.isEmpty() ? "." : path, f, 0,
                        Posix.RESOLVE_BENEATH | Posix.RESOLVE_NO_MAGICLINKS);
                openat2Works = 1;
                return fd;
            } catch (MemmapException e) {
                if (e.errno().equals(Errno.EXDEV)) {
                    return walk(dirfd, dirPath, path, f); // maybe an absolute link back into the directory
                }
                if (!e.errno().equals(Errno.ENOSYS)) {
                    throw e;
                }
                openat2Works = 0;
            }
        }
        return walk(dirfd, dirPath, path, f);
    }

    /** Whether openat2 has been found to work here (false also before the first call). */
    public static boolean usesOpenat2() {
        return openat2Works == 1;
    }

    private static int walk(int dirfd, String dirPath, String path, int flags) throws MemmapException {
        Deque<Integer> opened = new ArrayDeque<>(); // directories the walk opened, innermost first
        Deque<String> todo = new ArrayDeque<>();
        int links = 0;
        try {
            pushFromTop(todo, opened, dirPath, path, path);
            while (true) {
                while (!todo.isEmpty() && (todo.peekFirst().isEmpty() || todo.peekFirst().equals("."))) {
                    todo.removeFirst();
                }
                int cur = opened.isEmpty() ? dirfd : opened.peekFirst();
                if (todo.isEmpty()) {
                    return Posix.openat(cur, ".", flags, 0); // the path names a directory
                }
                String c = todo.removeFirst();
                if (c.equals("..")) {
                    if (opened.isEmpty()) {
                        throw Errno.EXDEV.exception("path = " + path + " leaves the directory");
                    }
                    Posix.close(opened.removeFirst());
                    continue;
                }
                boolean last = todo.stream().allMatch(t -> t.isEmpty() || t.equals("."));
                if (last && !path.endsWith("/")) {
                    try {
                        return Posix.openat(cur, c, flags | Posix.O_NOFOLLOW, 0);
                    } catch (MemmapException e) {
                        if (!e.errno().equals(Errno.ELOOP) /* O_NOFOLLOW met a symbolic link */) {
                            throw e;
                        }
                    }
                }
                int fd = Posix.openat(cur, c, Posix.O_PATH | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
                int type;
                try {
                    type = Posix.fstat(fd).mode() & Posix.S_IFMT;
                } catch (MemmapException e) {
                    Posix.close(fd);
                    throw e;
                }
                if (type == Posix.S_IFLNK) {
                    String target;
                    try {
                        // The link the descriptor holds, not whatever the name is by now.
                        target = Posix.readlinkat(fd, "");
                    } finally {
                        Posix.close(fd);
                    }
                    if (++links > MAX_LINKS) {
                        throw Errno.ELOOP.exception("path = " + path + ": too many symbolic links");
                    }
                    pushFromTop(todo, opened, dirPath, target, path);
                } else if (type == Posix.S_IFDIR) {
                    opened.addFirst(fd);
                } else {
                    Posix.close(fd);
                    throw Errno.ENOTDIR.exception("path = " + path + ": " + c + " is not a directory");
                }
            }
        } finally {
            for (int fd : opened) {
                try {
                    Posix.close(fd);
                } catch (MemmapException ignored) {
                    // A descriptor of our own that will not close: nothing more to do.
                }
            }
        }
    }

    /**
     * Puts {@code p}'s components in front of {@code todo}; an absolute {@code p} inside the
     * directory restarts the walk at the directory, any other absolute one is EXDEV.
     */
    private static void pushFromTop(Deque<String> todo, Deque<Integer> opened, String dirPath, String p, String path)
            throws MemmapException {
        if (!p.startsWith("/")) {
            push(todo, p);
            return;
        }
        String top = dirPath == null || dirPath.endsWith("/") ? dirPath : dirPath + "/";
        if (top == null || !(p + "/").startsWith(top)) {
            throw Errno.EXDEV.exception("path = " + path + " leaves the directory");
        }
        while (!opened.isEmpty()) {
            Posix.close(opened.removeFirst());
        }
        push(todo, p.length() <= top.length() ? "" : p.substring(top.length()));
    }

    /** Puts {@code path}'s components in front of {@code todo}, in order. */
    private static void push(Deque<String> todo, String path) {
        String[] parts = path.split("/", -1);
        for (int i = parts.length - 1; i >= 0; i--) {
            todo.addFirst(parts[i]);
        }
    }
}
