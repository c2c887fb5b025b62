package memmap.mm.internal;

import static memmap.mm.internal.OracleProgram.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Runs one {@link OracleProgram} through memmap and through Linux and compares them after
 * every step: the step's outcome (return value or errno; bytes, count and signal of a copy;
 * the signal of a fault probe), each process's maps lines in the window (start, end, perms,
 * offset, name), memmap's own invariants, and at the end every page of the window. Where
 * gVisor deliberately differs from this kernel, {@link #JUSTIFIED} says so with its source;
 * the program stops there (the two sides no longer describe the same state). Any other
 * difference fails, and {@link #shrink} makes the program minimal.
 */
final class Differential {
    /** A deliberate difference of gVisor's from Linux, with where gVisor decides it. */
    record Justified(String id, String citation, boolean statesStayEqual, Predicate<Mismatch> applies) {
    }

    /** A step whose outcomes differ (or, with {@code mapsOnly}, whose outcomes agree and maps do not). */
    record Mismatch(Step step, String kernel, String memmap, List<String> memmapVmasBefore, boolean mapsOnly) {
    }

    /** The outcome of a run: {@code difference} null if none; {@code justified} the entry that stopped it, if any. */
    record Outcome(String difference, Justified justified, int steps) {
        boolean failed() {
            return difference != null;
        }
    }

    /**
     * Where gVisor (and so memmap) deliberately differs from the kernel this runs on. Vma
     * merging is the first: gVisor merges adjacent vmas whose attributes match, without
     * Linux's anon_vma and VM_ACCOUNT conditions (pkg/sentry/mm/vma.go, vmaSetFunctions.Merge;
     * Linux mm/vma.c is_mergeable_anon_vma), so maps are compared with adjacent lines of equal
     * attributes coalesced on both sides ({@link #normalize}) rather than through this list.
     */
    static final List<Justified> JUSTIFIED = List.of(
            new Justified("madvise-hints-ignore-holes",
                    "gVisor pkg/sentry/syscalls/linux/sys_mmap.go Madvise: MADV_NORMAL, RANDOM, SEQUENTIAL and WILLNEED"
                            + " return 0 (\"we totally ignore the suggestions above\") without walking the vmas, so a hole is no ENOMEM",
                    true,
                    m -> m.step().op() == Op.MADVISE && java.util.Set.of(0, 1, 2, 3).contains(m.step().prot())
                            && m.kernel().equals("err 12") && m.memmap().equals("ok")),
            new Justified("mincore-fill-ahead-and-files",
                    "memmap gives private anonymous memory pages up to a huge page around a fault (as gVisor's getPMAsLocked"
                            + " does), so they are resident before Linux faults them in; file pages are reported resident as gVisor"
                            + " reports every mapped page (sys_mmap.go Mincore). What Linux reports resident memmap must too",
                    true,
                    m -> m.step().op() == Op.MINCORE && m.kernel().startsWith("ok ") && m.memmap().startsWith("ok ")
                            && residentSubset(m.kernel().substring(3), m.memmap().substring(3))),
            new Justified("mremap-looks-up-the-vma-first",
                    "gVisor pkg/sentry/mm/syscalls.go MRemap: \"All cases require that a vma exists at oldAddr\" is EFAULT"
                            + " before the MREMAP_FIXED checks (overlap, alignment: EINVAL); Linux's check_mremap_params checks those first",
                    true,
                    m -> m.step().op() == Op.MREMAP && m.memmap().equals("err 14") && m.kernel().equals("err 22")
                            && !insideOneVma(m.memmapVmasBefore(), m.step().addr(), 1)),
            new Justified("mremap-one-vma",
                    "gVisor pkg/sentry/mm/syscalls.go MRemap: an old range past the end of its vma is EFAULT"
                            + " (\"oldEnd > vseg.End()\", Linux <= 6.16's vma_to_resize); Linux 6.17+ moves every vma of the"
                            + " range at once, holes included (mm/mremap.c remap_move)",
                    false,
                    m -> m.step().op() == Op.MREMAP && m.kernel().startsWith("ok") && m.memmap().equals("err 14")
                            && !insideOneVma(m.memmapVmasBefore(), m.step().addr(), m.step().len())),
            new Justified("mremap-grow-keeps-the-stack-guard",
                    "gVisor pkg/sentry/mm/syscalls.go MRemap grows in place only if findAvailableLocked(Fixed) finds the new"
                            + " part in the gap's availableRange, which leaves a guard gap below a growsDown vma (vma.go);"
                            + " Linux's vma_expandable only asks that nothing intersect",
                    false,
                    m -> m.step().op() == Op.MREMAP && (m.step().flags() & MREMAP_FIXED) == 0 && m.memmap().equals("err 12")
                            && m.kernel().startsWith("ok") && vmaStartsWithin(m.memmapVmasBefore(), m.step().addr() + m.step().len2(),
                                    VmaLayer.GUARD_BYTES)),
            new Justified("mremap-unmaps-destination-first",
                    "gVisor pkg/sentry/mm/syscalls.go MRemap: with MREMAP_FIXED the destination is unmapped before the old"
                            + " range is checked, as Linux <= 6.16 did; Linux 6.17+ checks first and leaves it mapped on failure",
                    false,
                    m -> m.step().op() == Op.MREMAP && m.mapsOnly() && m.kernel().startsWith("err")
                            && (m.step().flags() & MREMAP_FIXED) != 0));

    /** Whether every page resident in {@code kernel} (a mincore vector in hex) is resident in {@code memmap}. */
    static boolean residentSubset(String kernel, String memmap) {
        if (kernel.length() != memmap.length()) {
            return false;
        }
        for (int i = 1; i < kernel.length(); i += 2) {
            if (kernel.charAt(i) == '1' && memmap.charAt(i) != '1') {
                return false;
            }
        }
        return true;
    }

    private final Path oracle;
    private final Backings backings;
    private final Path scratch;

    Differential(Path oracle, Backings backings, Path scratch) {
        this.oracle = oracle;
        this.backings = backings;
        this.scratch = scratch;
    }

    /** Runs {@code program} on fresh files and processes. */
    Outcome run(List<Step> program) throws Exception {
        Path dir = Files.createTempDirectory(scratch, "run");
        OracleSubjects.Memmap m = null;
        try (OracleSubjects.Kernel k = new OracleSubjects.Kernel(oracle, dir)) {
            m = new OracleSubjects.Memmap(backings, dir);
            Outcome o;
            try {
                o = compare(program, k, m);
            } catch (RuntimeException | AssertionError e) {
                o = new Outcome("memmap threw " + e, null, 0);
            }
            try {
                OracleSubjects.Memmap done = m;
                m = null;
                done.close();
            } catch (RuntimeException | AssertionError e) {
                return o.failed() ? o : new Outcome("tearing down: memmap threw " + e, null, o.steps());
            }
            return o;
        } finally {
            if (m != null) {
                m.close();
            }
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private Outcome compare(List<Step> program, OracleSubjects.Kernel k, OracleSubjects.Memmap m) throws Exception {
        int i = 0;
        for (Step s : program) {
            i++;
            List<String> before = s.op() == Op.MREMAP && m.procs.size() > s.proc() ? OracleSubjects.inWindow(
                    m.procs.get(s.proc()).maps(OracleSubjects.Memmap.CTX).lines().toList()) : List.of();
            String ko = k.apply(s);
            String mo;
            try {
                mo = m.apply(s);
            } catch (RuntimeException | AssertionError e) {
                return new Outcome("step " + i + " " + s + ": memmap threw " + e, null, i);
            }
            if (!Objects.equals(ko, mo)) {
                Justified j = justify(new Mismatch(s, ko, mo, before, false));
                if (j == null) {
                    return new Outcome("step " + i + " " + s + ":\n  linux:  " + ko + "\n  memmap: " + mo, null, i);
                }
                justifiedCounts.merge(j.id(), 1, Integer::sum);
                if (!j.statesStayEqual()) {
                    return new Outcome(null, j, i);
                }
            }
            if (ko == null) {
                continue;
            }
            String mapsDiff = compareMaps(k.maps(), m.maps());
            if (mapsDiff != null) {
                Justified j = justify(new Mismatch(s, ko, mo, before, true));
                if (j != null) {
                    justifiedCounts.merge(j.id(), 1, Integer::sum);
                }
                return j != null ? new Outcome(null, j, i) : new Outcome("step " + i + " " + s + " (" + ko + "): " + mapsDiff, null, i);
            }
            try {
                m.procs.forEach(MemoryManager::checkInvariants);
            } catch (RuntimeException e) {
                return new Outcome("step " + i + " " + s + ": memmap's invariants broke: " + e.getMessage(), null, i);
            }
        }
        for (int p = 0; p < k.procs(); p++) {
            for (int page = 0; page < WINDOW_PAGES; page++) {
                String ko = k.readPage(p, page);
                String mo = m.readPage(p, page);
                if (!ko.equals(mo)) {
                    int at = 0;
                    while (at < Math.min(ko.length(), mo.length()) && ko.charAt(at) == mo.charAt(at)) {
                        at++;
                    }
                    int from = Math.max(0, at - 40);
                    String where = at > ko.indexOf(' ', 3) + 3 ? " (first difference at byte " + Long.toHexString((at - ko.indexOf(' ', 3) - 3) / 2)
                            + " of the page)" : "";
                    return new Outcome("at the end, page " + page + " of p" + p + where + ":\n  linux:  ..." + abbrev(ko.substring(from))
                            + "\n  memmap: ..." + abbrev(mo.substring(from)), null, i);
                }
            }
        }
        return new Outcome(null, null, i);
    }

    private static String abbrev(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    private static Justified justify(Mismatch m) {
        for (Justified j : JUSTIFIED) {
            if (j.applies().test(m)) {
                return j;
            }
        }
        return null;
    }

    /** Whether one of the vmas of {@code maps} contains {@code [addr, addr + len)}. */
    /** Whether a vma of {@code maps} starts in {@code [addr, addr + within)} (a growsDown one whose guard the range would enter). */
    static boolean vmaStartsWithin(List<String> maps, long addr, long within) {
        for (String l : maps) {
            long start = range(l)[0];
            if (Long.compareUnsigned(start, addr) >= 0 && Long.compareUnsigned(start, addr + within) < 0) {
                return true;
            }
        }
        return false;
    }

    static boolean insideOneVma(List<String> maps, long addr, long len) {
        for (String l : maps) {
            long[] r = range(l);
            if (Long.compareUnsigned(r[0], addr) <= 0 && Long.compareUnsigned(addr + len, r[1]) <= 0) {
                return true;
            }
        }
        return false;
    }

    private static long[] range(String line) {
        String[] f = line.split("\\s+", 6);
        String[] se = f[0].split("-");
        return new long[] {Long.parseUnsignedLong(se[0], 16), Long.parseUnsignedLong(se[1], 16)};
    }

    private static String compareMaps(List<List<String>> kernel, List<List<String>> memmap) {
        if (kernel.size() != memmap.size()) {
            return kernel.size() + " processes in linux, " + memmap.size() + " in memmap";
        }
        for (int p = 0; p < kernel.size(); p++) {
            List<String> k = normalize(kernel.get(p));
            List<String> m = normalize(memmap.get(p));
            if (!k.equals(m)) {
                return "maps of p" + p + " differ:\n  linux:\n    " + String.join("\n    ", k) + "\n  memmap:\n    "
                        + String.join("\n    ", m);
            }
        }
        return null;
    }

    /**
     * Maps lines as {@code start-end perms offset name}, with adjacent lines of the same
     * backing (device, inode, name), permissions and contiguous offsets coalesced (see
     * {@link #JUSTIFIED} on merging); the program's files are named {@code F0}, {@code F1} on
     * both sides, and device and inode are not compared (each side has its own copies).
     */
    static List<String> normalize(List<String> lines) {
        List<String> out = new ArrayList<>();
        long[] cur = null;
        String curKey = null;
        String curText = null;
        for (String l : lines) {
            String[] f = l.trim().split("\\s+", 6);
            long[] r = range(l);
            String perms = f[1];
            long off = Long.parseUnsignedLong(f[2], 16);
            String name = f.length > 5 ? f[5].trim() : "";
            if (name.matches(".*/[mk][0-9]+$")) {
                name = "F" + name.substring(name.length() - 1);
            }
            boolean anon = name.isEmpty();
            String key = perms + " " + f[3] + " " + f[4] + " " + name;
            if (cur != null && cur[1] == r[0] && key.equals(curKey) && (anon || cur[2] + (cur[1] - cur[0]) == off)) {
                cur[1] = r[1];
                continue;
            }
            if (cur != null) {
                out.add(String.format("%x-%x %s", cur[0], cur[1], curText));
            }
            cur = new long[] {r[0], r[1], off};
            curKey = key;
            curText = perms + " " + String.format("%08x", anon ? 0 : off) + " " + name;
        }
        if (cur != null) {
            out.add(String.format("%x-%x %s", cur[0], cur[1], curText));
        }
        return out;
    }

    /** Removes steps (halves, quarters, ... single steps) while the program still fails; at most {@code budget} runs. */
    List<Step> shrink(List<Step> program, int budget) throws Exception {
        List<Step> cur = new ArrayList<>(program);
        int runs = 0;
        for (int chunk = Math.max(1, cur.size() / 2); chunk >= 1; chunk /= 2) {
            boolean progress = true;
            while (progress && runs < budget) {
                progress = false;
                for (int i = 0; i + chunk <= cur.size() && runs < budget; ) {
                    List<Step> candidate = new ArrayList<>(cur.subList(0, i));
                    candidate.addAll(cur.subList(i + chunk, cur.size()));
                    runs++;
                    if (!candidate.isEmpty() && run(candidate).failed()) {
                        cur = candidate;
                        progress = true;
                    } else {
                        i += chunk;
                    }
                }
            }
        }
        return cur;
    }

    /** Counts of the justified differences met, by id. */
    final Map<String, Integer> justifiedCounts = new java.util.concurrent.ConcurrentSkipListMap<>();
}
