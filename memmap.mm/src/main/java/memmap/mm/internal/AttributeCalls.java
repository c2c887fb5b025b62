package memmap.mm.internal;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Capability;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.api.NameMut;
import memmap.api.Pages;
import memmap.api.ResourceLimits;
import memmap.api.segment.Segment;

/**
 * The system calls that change vma attributes (gVisor's {@code syscalls.go}: MProtect, MLock,
 * MLockAll, MAdvise, SetVMAName): each is a few lines around {@link VmaLayer#changeLocked},
 * the one isolate/change/merge helper, which computes a split piece's offset in one place and
 * keeps pmas inside vmas. Each takes {@code mappingMu} for writing.
 */
final class AttributeCalls {
    private final MemoryManager mm;

    AttributeCalls(MemoryManager mm) {
        this.mm = mm;
    }

    private VmaLayer vmas() {
        return mm.vmas;
    }

    /** mprotect (spec §4.8), with PROT_GROWSDOWN if {@code growsDown}: no Mappable is told; {@code writable} and maxPerms never change. */
    void mprotect(Context ctx, long addr, long length, AccessType perms, boolean growsDown) throws MemmapException {
        AddrRange asked = Syscalls.alignedRange(addr, length, Errno.ENOMEM);
        if (asked == null) {
            return;
        }
        AccessType effective = perms.effective();
        mm.withWriteLock(ctx, dropped -> {
            AddrRange ar = asked;
            if (growsDown) {
                // Linux's mprotect with PROT_GROWSDOWN: the vma at or above addr must grow down and
                // start before the end; the range then starts at that vma's start.
                Segment<Vma> v = vmas().set.lowerBoundSegment(ar.start());
                if (v == null) {
                    throw Errno.ENOMEM.exception("nothing is mapped at or above " + Pages.hex(ar.start()));
                }
                if (Long.compareUnsigned(v.start(), ar.end()) >= 0) {
                    throw Errno.ENOMEM.exception("the mapping above " + Pages.hex(ar.start()) + " starts at " + Pages.hex(v.start())
                            + ", not before " + Pages.hex(ar.end()));
                }
                if (!v.value().growsDown()) {
                    throw Errno.EINVAL.exception("PROT_GROWSDOWN: the mapping at " + Pages.hex(v.start()) + " does not grow down");
                }
                ar = new AddrRange(v.start(), ar.end());
            }
            AddrRange range = ar;
            VmaLayer.Coverage c = vmas().changeLocked(range, true, piece -> {
                Vma vma = piece.value();
                if (!vma.maxPerms().supersetOf(effective)) {
                    throw Errno.EACCES.exception(effective + " exceeds the maximum " + vma.maxPerms() + " at " + Pages.hex(piece.start()));
                }
                Vma changed = vma.withRealPerms(perms);
                mm.pmas.reprotectLocked(new AddrRange(piece.start(), piece.end()), changed);
                return changed;
            });
            if (!c.complete(range)) {
                throw Errno.ENOMEM.exception(Pages.hex(c.end()) + " is not mapped");
            }
            return null;
        });
    }

    /** mlock/munlock (spec §4.13) over the page range around {@code [addr, addr + length)}. */
    void mlock(Context ctx, long addr, long length, MLockMode mode) throws MemmapException {
        long start = Pages.roundDown(addr);
        Pages.Rounded len = Pages.roundUp(length + Pages.pageOffset(addr));
        long end = start + len.value();
        if (Long.compareUnsigned(end, start) < 0) {
            throw Errno.EINVAL.exception("[" + Pages.hex(addr) + ", +" + Pages.hex(length) + ") overflows");
        }
        AddrRange ar = new AddrRange(start, end);
        mm.withWriteLock(ctx, dropped -> {
            if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                long limit = ctx.limits().memlock();
                if (limit == 0) {
                    throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                }
                if (limit != ResourceLimits.INFINITY
                        && Long.compareUnsigned(vmas().lockedAS + ar.length() - vmas().lockedIn(ar), limit) > 0) {
                    throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: locking " + ar.length() + " more bytes passes " + limit);
                }
            }
            if (ar.isEmpty()) {
                return null;
            }
            VmaLayer.Coverage c = vmas().changeLocked(ar, true, piece -> piece.value().withMLockMode(mode));
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception(Pages.hex(c.end()) + " is not mapped");
            }
            if (mode == MLockMode.EAGER) {
                MemmapError err = mm.pmas.populateLocked(ctx, ar, true);
                if (err != null) {
                    // Linux's __mlock_posix_error_return: EFAULT is ENOMEM, ENOMEM is EAGAIN, the rest as they are.
                    Errno e = err.toErrno();
                    Errno reported = e.equals(Errno.EFAULT) ? Errno.ENOMEM : e.equals(Errno.ENOMEM) ? Errno.EAGAIN : e;
                    throw reported.exception("populating " + ar + ": " + err.message());
                }
            }
            return null;
        });
    }

    /** mlockall: {@code current} locks every vma now (EAGER backs them too, errors ignored as in Linux); {@code future} new ones. */
    void mlockAll(Context ctx, boolean current, boolean future, MLockMode mode) throws MemmapException {
        if (!current && !future) {
            throw Errno.EINVAL.exception("mlockall needs MCL_CURRENT or MCL_FUTURE");
        }
        mm.withWriteLock(ctx, dropped -> {
            if (current) {
                if (mode != MLockMode.NONE && !ctx.credentials().has(Capability.IPC_LOCK)) {
                    long limit = ctx.limits().memlock();
                    if (limit == 0) {
                        throw Errno.EPERM.exception("RLIMIT_MEMLOCK is 0");
                    }
                    if (limit != ResourceLimits.INFINITY && Long.compareUnsigned(vmas().usageAS, limit) > 0) {
                        throw Errno.ENOMEM.exception("RLIMIT_MEMLOCK: " + vmas().usageAS + " bytes mapped pass " + limit);
                    }
                }
                AddrRange all = new AddrRange(0, -1L);
                vmas().changeLocked(all, false, piece -> piece.value().withMLockMode(mode));
                if (mode == MLockMode.EAGER) {
                    mm.pmas.populateLocked(ctx, all, false);
                }
            }
            if (future) {
                vmas().defMLockMode = mode;
            }
            return null;
        });
    }

    /**
     * madvise (spec §4.14): DONTNEED drops every pma in the range (private copies lost) and is
     * EINVAL on mlocked vmas; DONTFORK/DOFORK mark vmas; REMOVE is ENOSYS, HWPOISON EPERM; the
     * rest succeed doing nothing. Holes give ENOMEM after the rest is done.
     */
    void madvise(Context ctx, long addr, long length, MAdvice advice) throws MemmapException {
        // gVisor's Madvise: the address and length first, then the advice; hints are ignored
        // without looking at the vmas (so, unlike Linux, no ENOMEM for a hole).
        AddrRange ar = Syscalls.alignedRange(addr, length, Errno.EINVAL);
        if (ar == null) {
            return;
        }
        switch (advice) {
            case REMOVE -> throw Errno.ENOSYS.exception("MADV_REMOVE");
            case HWPOISON -> throw Errno.EPERM.exception("MADV_HWPOISON");
            case DONTNEED, DONTFORK, DOFORK -> { }
            default -> {
                return;
            }
        }
        mm.withWriteLock(ctx, dropped -> {
            VmaLayer.Coverage c;
            if (advice == MAdvice.DONTNEED) {
                c = dontNeedLocked(ar);
            } else {
                c = vmas().changeLocked(ar, false, piece -> piece.value().withDontfork(advice == MAdvice.DONTFORK));
            }
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
            return null;
        });
    }

    /**
     * mincore (Linux's mm/mincore.c checks: an unaligned address is EINVAL, a range past the
     * address space or holding a hole ENOMEM, length 0 nothing): 1 for a page of a file
     * mapping (gVisor reports every mapped page resident) or of anonymous memory that has a
     * pma, 0 for anonymous memory never backed.
     */
    byte[] mincore(Context ctx, long addr, long length) throws MemmapException {
        if (Pages.pageOffset(addr) != 0) {
            throw Errno.EINVAL.exception("addr = " + Pages.hex(addr) + " is not page-aligned");
        }
        Pages.Rounded end = Pages.roundUp(addr + length);
        if (Long.compareUnsigned(addr + length, addr) < 0 || !end.ok() || Long.compareUnsigned(end.value(), mm.layout().maxAddr()) > 0) {
            throw Errno.ENOMEM.exception("[" + Pages.hex(addr) + ", +" + Long.toUnsignedString(length) + ") is past the address space");
        }
        long n = (end.value() - addr) / Pages.PAGE_SIZE;
        if (n > Integer.MAX_VALUE - 8) {
            throw Errno.ENOMEM.exception("length = " + Long.toUnsignedString(length) + ": more pages than one array holds");
        }
        byte[] vec = new byte[(int) n];
        mm.mappingMu.readLock().lock();
        try {
            long pos = addr;
            while (Long.compareUnsigned(pos, end.value()) < 0) {
                Segment<Vma> v = vmas().set.findSegment(pos);
                if (v == null) {
                    throw Errno.ENOMEM.exception(Pages.hex(pos) + " is not mapped");
                }
                long e = Long.compareUnsigned(v.end(), end.value()) < 0 ? v.end() : end.value();
                if (v.value().mappable() != null) {
                    java.util.Arrays.fill(vec, (int) ((pos - addr) / Pages.PAGE_SIZE), (int) ((e - addr) / Pages.PAGE_SIZE), (byte) 1);
                } else {
                    mm.pmas.lockToTranslate();
                    try {
                        mm.pmas.settleLazyLocked();
                        for (Segment<Pma> p = mm.pmas.set.lowerBoundSegment(pos); p != null && Long.compareUnsigned(p.start(), e) < 0;
                                p = p.nextSegment()) {
                            long s = Long.compareUnsigned(p.start(), pos) > 0 ? p.start() : pos;
                            long t = Long.compareUnsigned(p.end(), e) < 0 ? p.end() : e;
                            java.util.Arrays.fill(vec, (int) ((s - addr) / Pages.PAGE_SIZE), (int) ((t - addr) / Pages.PAGE_SIZE), (byte) 1);
                        }
                    } finally {
                        mm.pmas.unlock();
                    }
                }
                pos = e;
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        return vec;
    }

    /** MADV_DONTNEED: no vma changes, every pma of the mapped parts goes. */
    private VmaLayer.Coverage dontNeedLocked(AddrRange ar) throws MemmapException {
        long pos = ar.start();
        boolean hole = false;
        for (Segment<Vma> v = vmas().set.lowerBoundSegment(ar.start()); v != null && Long.compareUnsigned(v.start(), ar.end()) < 0;
                v = v.nextSegment()) {
            if (Long.compareUnsigned(v.start(), pos) > 0) {
                hole = true;
            }
            if (v.value().mlockMode() != MLockMode.NONE) {
                throw Errno.EINVAL.exception("MADV_DONTNEED on the mlocked mapping at " + Pages.hex(v.start()));
            }
            long s = Long.compareUnsigned(v.start(), ar.start()) > 0 ? v.start() : ar.start();
            long e = Long.compareUnsigned(v.end(), ar.end()) < 0 ? v.end() : ar.end();
            mm.pmas.invalidateLocked(new AddrRange(s, e), true);
            pos = v.end();
        }
        return new VmaLayer.Coverage(pos, hole);
    }

    /** PR_SET_VMA_ANON_NAME. */
    /** Linux's ANON_VMA_NAME_MAX_LEN (80) less the NUL. */
    static final int MAX_NAME_BYTES = 79;

    void setName(Context ctx, long addr, long length, String name) throws MemmapException {
        if (name != null) {
            int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes > MAX_NAME_BYTES) {
                throw Errno.EINVAL.exception("name is " + bytes + " bytes: Linux allows at most " + MAX_NAME_BYTES
                        + " (80 with its NUL)");
            }
            for (char c : name.toCharArray()) {
                if (c <= 0x1f || c >= 0x7f || c == '\\' || c == '`' || c == '$' || c == '[' || c == ']') {
                    throw Errno.EINVAL.exception("name = \"" + name + "\" has the character " + (int) c + ", which names may not");
                }
            }
        }
        AddrRange ar = Syscalls.alignedRange(addr, length, Errno.EINVAL);
        if (ar == null) {
            return;
        }
        mm.withWriteLock(ctx, dropped -> {
            VmaLayer.Coverage c = vmas().changeLocked(ar, false, piece -> {
                Vma vma = piece.value();
                if (vma.nameMut() == NameMut.DISALLOWED) {
                    throw Errno.EBADF.exception("the mapping at " + Pages.hex(piece.start()) + " may not be renamed");
                }
                return vma.withName(name == null ? "" : (vma.nameMut() == NameMut.ANON ? "[anon:" : "[anon_shmem:") + name + "]");
            });
            if (!c.complete(ar)) {
                throw Errno.ENOMEM.exception("part of [" + Pages.hex(ar.start()) + ", " + Pages.hex(ar.end()) + ") is not mapped");
            }
            return null;
        });
    }

}
