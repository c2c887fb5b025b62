package memmap.mm.internal;

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.MLockMode;
import memmap.api.Pages;
import memmap.api.segment.Segment;

/**
 * {@code /proc/[pid]/maps} and {@code smaps} (gVisor's {@code procfs.go}): read-only views,
 * under {@code mappingMu} read (and {@code activeMu} for smaps' resident counts).
 */
final class Procfs {
    private Procfs() {}

    /**
     * maps in Linux's exact format (spec §4.17): one line per vma,
     * {@code %08x-%08x %s%s %08x %02x:%02x %d }, the path padded to column 73, then the fixed
     * vsyscall line.
     */
    static String maps(Context ctx, MemoryManager mm) {
        StringBuilder sb = new StringBuilder();
        mm.mappingMu.readLock().lock();
        try {
            for (Segment<Vma> s = mm.vmas.set.firstSegment(); s != null; s = s.nextSegment()) {
                line(ctx, sb, s);
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        vsyscall(sb);
        return sb.toString();
    }

    static String smaps(Context ctx, MemoryManager mm) {
        StringBuilder sb = new StringBuilder();
        mm.mappingMu.readLock().lock();
        try {
            mm.activeMu.lock();
            try {
                mm.pmas.settleLazyLocked();
                for (Segment<Vma> s = mm.vmas.set.firstSegment(); s != null; s = s.nextSegment()) {
                    Vma v = s.value();
                    line(ctx, sb, s);
                    long rss = 0;
                    long anonymous = 0;
                    for (Segment<Pma> p = mm.pmas.set.lowerBoundSegment(s.start());
                            p != null && Long.compareUnsigned(p.start(), s.end()) < 0; p = p.nextSegment()) {
                        long len = Math.min(p.end(), s.end()) - Math.max(p.start(), s.start());
                        rss += len;
                        anonymous += p.value().isPrivate() ? len : 0;
                    }
                    fields(sb, s.length(), rss, v.effectivePerms().write() ? 0 : rss, anonymous, v.mlockMode() != MLockMode.NONE ? rss : 0);
                    StringBuilder flags = new StringBuilder("VmFlags: ");
                    flag(flags, v.realPerms().read(), "rd");
                    flag(flags, v.realPerms().write(), "wr");
                    flag(flags, v.realPerms().execute(), "ex");
                    flag(flags, v.canWriteMappable(), "sh");
                    flag(flags, v.maxPerms().read(), "mr");
                    flag(flags, v.maxPerms().write(), "mw");
                    flag(flags, v.maxPerms().execute(), "me");
                    flag(flags, !v.isPrivate(), "ms");
                    flag(flags, v.growsDown(), "gd");
                    flag(flags, v.mlockMode() != MLockMode.NONE, "lo");
                    flag(flags, v.mlockMode() == MLockMode.LAZY, "??");
                    flag(flags, v.isPrivate() && v.effectivePerms().write(), "ac");
                    sb.append(flags).append('\n');
                }
            } finally {
                mm.activeMu.unlock();
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        vsyscall(sb);
        fields(sb, Pages.PAGE_SIZE, 0, 0, 0, 0);
        sb.append("VmFlags: rd ex \n");
        return sb.toString();
    }

    private static void line(Context ctx, StringBuilder sb, Segment<Vma> s) {
        Vma v = s.value();
        String path = !v.name().isEmpty() ? v.name() : v.id() != null ? v.id().mappedName(ctx) : "";
        long dev = v.id() != null ? v.id().deviceId() : 0;
        long ino = v.id() != null ? v.id().inodeId() : 0;
        mapsLine(sb, s.start(), s.end(), v.realPerms(), v.isPrivate(), v.mappable() == null ? 0 : v.off(), dev, ino, path);
    }

    private static void vsyscall(StringBuilder sb) {
        mapsLine(sb, 0xffff_ffff_ff60_0000L, 0xffff_ffff_ff60_1000L, AccessType.READ_EXECUTE, true, 0, 0, 0, "[vsyscall]");
    }

    private static void flag(StringBuilder sb, boolean set, String name) {
        if (set) {
            sb.append(name).append(' ');
        }
    }

    /** The smaps fields after a maps line (gVisor's layout: PSS = RSS, dirty iff writable). */
    private static void fields(StringBuilder sb, long size, long rss, long privateClean, long anonymous, long locked) {
        field(sb, "Size:", size);
        field(sb, "Rss:", rss);
        field(sb, "Pss:", rss);
        field(sb, "Shared_Clean:", 0);
        field(sb, "Shared_Dirty:", 0);
        field(sb, "Private_Clean:", privateClean);
        field(sb, "Private_Dirty:", rss - privateClean);
        field(sb, "Referenced:", rss);
        field(sb, "Anonymous:", anonymous);
        field(sb, "AnonHugePages:", 0);
        field(sb, "Shared_Hugetlb:", 0);
        sb.append(String.format("%-17s%7d kB%n", "Private_Hugetlb:", 0).replace(System.lineSeparator(), "\n"));
        field(sb, "Swap:", 0);
        field(sb, "SwapPss:", 0);
        field(sb, "KernelPageSize:", Pages.PAGE_SIZE);
        field(sb, "MMUPageSize:", Pages.PAGE_SIZE);
        field(sb, "Locked:", locked);
    }

    private static void field(StringBuilder sb, String label, long bytes) {
        sb.append(String.format("%-16s%8d kB", label, bytes / 1024)).append('\n');
    }

    static void mapsLine(StringBuilder sb, long start, long end, AccessType perms, boolean isPrivate, long off, long dev,
            long ino, String path) {
        int lineStart = sb.length();
        sb.append(String.format("%08x-%08x %s%s %08x %02x:%02x %d ", start, end, perms, isPrivate ? "p" : "s", off,
                dev >>> 20, dev & 0xfffff, ino));
        if (!path.isEmpty()) {
            int pad = 73 - (sb.length() - lineStart);
            sb.append(" ".repeat(Math.max(pad, 0))).append(path);
        }
        sb.append('\n');
    }
}
