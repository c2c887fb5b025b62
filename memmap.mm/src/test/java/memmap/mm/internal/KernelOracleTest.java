package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;

/**
 * The kernel as the oracle (issue 11): seeded random programs of mmap (anonymous and file,
 * shared and private, fixed and noreplace, every prot), munmap, mremap (grow, shrink, move to
 * a fixed place), mprotect, madvise, msync, fork with steps in the children, ftruncate and
 * pwrite on the files, reads and writes straddling holes and protections, and fault probes,
 * run through memmap and through Linux itself ({@code src/test/c/oracle.c}, compiled here with
 * the system's cc), compared after every step by {@link Differential}. A difference is shrunk
 * to a minimal program and printed with its seed.
 *
 * <p>{@code -Dmemmap.fuzz.programs=N -Dmemmap.fuzz.seed=S} ({@code ./memmap fuzz N S}) runs
 * programs S to S+N-1; CI runs the default 2,000.
 */
class KernelOracleTest {
    static Path oracle;
    static MemfdMemoryFile mf;
    static AnonymousProvider anon;

    @TempDir
    static Path dir;

    @BeforeAll
    static void compileOracle() throws Exception {
        Path src = Path.of("src/test/c/oracle.c").toAbsolutePath();
        assertTrue(Files.exists(src), "oracle source " + src);
        oracle = Path.of("target/oracle").toAbsolutePath();
        Process cc = new ProcessBuilder("cc", "-O1", "-Wall", "-o", oracle.toString(), src.toString()).redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes());
        assertEquals(0, cc.waitFor(), "cc " + src + " failed:\n" + out);
        mf = new MemfdMemoryFile("mm-oracle", 2L << 20, 1L << 30, 0, false);
        anon = MemoryManagerIoTestConfig.anonymous(mf);
    }

    @AfterAll
    static void release() {
        if (mf != null) {
            mf.release();
        }
    }

    @Test
    void generatedProgramsBehaveAsLinux() throws Exception {
        int programs = Integer.getInteger("memmap.fuzz.programs", 2000);
        long seed0 = Long.getLong("memmap.fuzz.seed", 1);
        Differential d = new Differential(oracle, Backings.of(mf, anon), dir);
        // Programs are independent (their own processes, files and address spaces): one per core.
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long steps = 0;
        try {
            Deque<Future<Differential.Outcome>> window = new ArrayDeque<>();
            long next = seed0;
            for (long seed = seed0; seed < seed0 + programs; seed++) {
                while (next < seed0 + programs && window.size() < 4 * threads) {
                    List<OracleProgram.Step> p = OracleProgram.generate(next, true);
                    window.add(pool.submit(() -> d.run(p)));
                    next++;
                }
                Differential.Outcome o = window.poll().get();
                steps += o.steps();
                if (o.failed()) {
                    window.forEach(f -> f.cancel(true));
                    fail(report(d, seed, o));
                }
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(5, TimeUnit.MINUTES);
        }
        assertEquals(0, mf.usage().allocated(), "every page of every program was freed");
        System.out.printf("kernel oracle: programs %d..%d (%d steps) agree with Linux; justified differences: %s%n", seed0,
                seed0 + programs - 1, steps, d.justifiedCounts);
    }

    /** The failure, with the program shrunk to a minimal one that still differs. */
    private static String report(Differential d, long seed, Differential.Outcome o) throws Exception {
        List<OracleProgram.Step> program = OracleProgram.generate(seed, true);
        List<OracleProgram.Step> minimal = d.shrink(program, 400);
        Differential.Outcome mo = d.run(minimal);
        StringBuilder sb = new StringBuilder("seed " + seed + ": memmap differs from Linux\n");
        sb.append(o.difference()).append("\nminimal program (").append(minimal.size()).append(" of ").append(program.size())
                .append(" steps; rerun: ./memmap fuzz 1 ").append(seed).append("):\n");
        minimal.forEach(s -> sb.append("  ").append(s).append('\n'));
        sb.append(mo.failed() ? mo.difference() : "(the minimal program no longer fails: flaky?)");
        return sb.toString();
    }
}
