package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.segment.Segment;

/**
 * The model beside the kernel oracle (issue 11): the same generated programs through memmap
 * alone, with a per-page model of reference counts checked after every step. Each memory-file
 * page is referenced once by every pma that maps it, in every address space (forks share
 * private pages copy-on-write), plus once by the shared anonymous backing that owns it, and by
 * nothing else; after the program, with every address space released, nothing is allocated.
 * Also every layer's invariants after every step.
 *
 * <p>{@code -Dmemmap.fuzz.programs=N -Dmemmap.fuzz.seed=S} ({@code ./memmap fuzz N S}); CI
 * runs the default 10,000.
 */
class ProgramModelTest {
    static MemfdMemoryFile mf;
    static AnonymousProvider anon;

    @TempDir
    static Path dir;

    @BeforeAll
    static void setUp() throws Exception {
        mf = new MemfdMemoryFile("mm-model", 2L << 20, 1L << 30, 0, false);
        anon = MemoryManagerIoTestConfig.anonymous(mf);
    }

    @AfterAll
    static void tearDown() {
        mf.release();
    }

    @Test
    void referenceCountsFollowTheModelAndEverythingIsFreedAfterEachProgram() throws Exception {
        int programs = Integer.getInteger("memmap.fuzz.programs", 10000);
        long seed0 = Long.getLong("memmap.fuzz.seed", 1);
        long steps = 0;
        for (long seed = seed0; seed < seed0 + programs; seed++) {
            List<OracleProgram.Step> program = OracleProgram.generate(seed, true);
            Path run = Files.createTempDirectory(dir, "model");
            OracleSubjects.Memmap m = new OracleSubjects.Memmap(Backings.of(mf, anon), run);
            int i = 0;
            try {
                for (OracleProgram.Step s : program) {
                    i++;
                    String err;
                    try {
                        m.apply(s);
                        for (MemoryManager mm : m.procs) {
                            mm.checkInvariants();
                        }
                        err = checkRefs(m.procs);
                    } catch (RuntimeException e) {
                        java.io.StringWriter w = new java.io.StringWriter();
                        e.printStackTrace(new java.io.PrintWriter(w));
                        err = "memmap threw " + w;
                    }
                    if (err != null) {
                        fail("seed " + seed + ", step " + i + " " + s + ": " + err + "\nprogram:\n  "
                                + String.join("\n  ", program.subList(0, i).stream().map(Object::toString).toList()));
                    }
                }
            } finally {
                m.close();
            }
            steps += i;
            assertEquals(0, mf.usage().allocated(), "seed " + seed + ": every page freed once the program's address spaces are gone");
            try (var files = Files.walk(run)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
        System.out.printf("model: programs %d..%d (%d steps): reference counts as modelled, everything freed%n", seed0,
                seed0 + programs - 1, steps);
    }

    /** The model's reference counts against the memory file's; null if they agree. */
    static String checkRefs(List<MemoryManager> procs) {
        Map<Long, long[]> model = new HashMap<>(); // page -> {pma references, shared (non-private) references}
        for (MemoryManager mm : procs) {
            mm.mappingMu.readLock().lock();
            mm.activeMu.lock();
            try {
                for (Segment<Pma> p = mm.pmas.set.firstSegment(); p != null; p = p.nextSegment()) {
                    if (p.value().file() != mf) {
                        continue;
                    }
                    for (long off = 0; off < p.length(); off += OracleProgram.P) {
                        long[] c = model.computeIfAbsent(p.value().off() + off, k -> new long[2]);
                        c[0]++;
                        c[1] += p.value().isPrivate() ? 0 : 1;
                    }
                }
            } finally {
                mm.activeMu.unlock();
                mm.mappingMu.readLock().unlock();
            }
        }
        for (Map.Entry<Long, long[]> e : model.entrySet()) {
            long[] c = e.getValue();
            if (c[1] != 0 && c[1] != c[0]) {
                return "page " + Long.toHexString(e.getKey()) + " is mapped both private and shared";
            }
            long expected = c[0] + (c[1] != 0 ? 1 : 0); // shared anonymous pages: their backing holds one more
            long actual = mf.refCount(e.getKey());
            if (actual != expected) {
                return "page " + Long.toHexString(e.getKey()) + " of the memory file has " + actual + " references; the pmas hold "
                        + c[0] + (c[1] != 0 ? " and its shared backing 1" : "");
            }
        }
        return null;
    }
}
