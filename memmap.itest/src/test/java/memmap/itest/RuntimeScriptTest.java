package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * The exported runtime jar run the way the README runs it (`./memmap run SCRIPT` starts exactly
 * this command line): a non-interactive script, its output, its exit status.
 */
class RuntimeScriptTest {
    record Ran(int status, String out) {}

    /** The script run in a new runtime process, the console log off (its lines come asynchronously). */
    static Ran runtime(String... script) throws IOException, InterruptedException {
        return runtime(List.of("-Dmemmap.log.console.level=OFF"), script);
    }

    /** The script run in a new runtime process started with {@code jvmArgs}. */
    static Ran runtime(List<String> jvmArgs, String... script) throws IOException, InterruptedException {
        String jar = Framework.context().getProperty("memmap.runtime.jar");
        assertNotNull(jar, "memmap.runtime.jar is set in test.bndrun");
        assertTrue(Files.isRegularFile(Path.of(jar)), jar + " is built before the tests (the itest module depends on it)");
        Path dir = Files.createTempDirectory("memmap-runtime");
        Files.createDirectories(dir.resolve("deploy")); // as ./memmap run makes them
        Files.createDirectories(dir.resolve("data"));
        Path file = dir.resolve("script.gosh");
        Files.write(file, List.of(script));
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-Dmemmap.script=" + file, "-Dgosh.args=--nointeractive --noshutdown", "-jar", jar));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            String out = awaitExit(p, "the runtime exits after its script");
            return new Ran(p.exitValue(), out);
        } finally {
            p.destroyForcibly();
            deleteTree(dir); // its deploy/, data/ (the framework cache) and the script
        }
    }

    @Test
    void aScriptRunsAgainstEveryProviderAndExitsZero() throws Exception {
        Path data = Files.createTempFile("memmap-runtime", ".bin");
        Files.write(data, "file contents here".getBytes(StandardCharsets.US_ASCII));
        Ran r = runtime("providers", "space", "mmap 1 8K", "write 1 0x7ffff7ffd000 hello", "read --text 1 0x7ffff7ffd000 5",
                "mmap --file " + data + " 1 4K", "read --text 1 0x7ffff7ffc000 13", "mmap --shm memmap-runtime-test --create 1 4K",
                "maps 1", "ipcs", "usage", "release 1");
        assertEquals(0, r.status(), r.out());
        for (String expected : new String[] {"* anonymous  memmap.anon", "* hostfile   memmap.hostfile", "* shm        memmap.shm",
                "space 1", "0x7ffff7ffd000", "hello", "file contents", "/dev/zero (deleted)", data.toRealPath().toString(),
                "------ Shared Memory Segments --------", "CGROUP", "released 1", ": ok"}) {
            assertTrue(r.out().contains(expected), "missing " + expected + " in\n" + r.out());
        }
        Files.deleteIfExists(data);
        Files.deleteIfExists(Path.of("/dev/shm/memmap-runtime-test"));
    }

    /** The commands of issue 14 in the runtime's own shell: fork, mremap, mlock, madvise, System V, smaps, brk, mincore, pins, forced I/O. */
    @Test
    void theWholeAddressSpaceFromTheShell() throws Exception {
        Ran r = runtime("space", "mmap --private 1 8K", "write 1 0x7ffff7ffd000 hello", "fork 1", "write 2 0x7ffff7ffd000 HELLO",
                "read --text 1 0x7ffff7ffd000 5", "mremap --may-move 1 0x7ffff7ffd000 8K 16K", "mlock 1 0x7ffff7ffd000 4K",
                "madvise 1 0x7ffff7ffe000 4K dontneed", "mincore 1 0x7ffff7ffd000 8K", "mprotect 2 0x7ffff7ffd000 8K -",
                "read --force --text 2 0x7ffff7ffd000 5", "shmget --create 0x7e57 8K", "smaps 1",
                "brk --setup 1 0x555555554000", "brk 1 0x555555555010", "pin --write 1 0x555555554000 4K", "pins", "unpin 1",
                "release 2", "release 1");
        assertEquals(0, r.status(), r.out());
        for (String expected : new String[] {"space 2", "hello", "HELLO", "0x7ffff7ffd000", "shmid ", "Locked:                4 kB",
                "heap 0x555555554000-0x555555555010", "view 1 [0x555555554000, 0x555555555000) in 1 pieces", "live",
                "unpinned 1", ": ok"}) {
            assertTrue(r.out().contains(expected), "missing " + expected + " in\n" + r.out());
        }
    }

    /**
     * Waits (bounded) for {@code p} to exit, reading its output meanwhile on another thread (a
     * full pipe would stall it); its output. A process that does not exit within two minutes is
     * killed and the test fails with what it printed, rather than hanging the build.
     */
    static String awaitExit(Process p, String what) throws InterruptedException {
        java.util.concurrent.CompletableFuture<byte[]> out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (IOException e) {
                return ("(output unreadable: " + e + ")").getBytes(StandardCharsets.UTF_8);
            }
        });
        boolean exited = p.waitFor(120, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        String text;
        try {
            text = new String(out.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            text = "(output not read: " + e + ")";
        }
        assertTrue(exited, what + "; it printed:\n" + text);
        return text;
    }

    /** What {@code command} printed in a script's output (up to the next command's echo). */
    static String section(String out, String command) {
        int i = out.indexOf("memmap> " + command + "\n");
        assertTrue(i >= 0, "no " + command + " in\n" + out);
        int from = out.indexOf('\n', i) + 1;
        int to = out.indexOf("memmap> ", from);
        int script = out.indexOf("\nscript ", from); // the closing "script FILE: ok"
        to = to < 0 || (script >= 0 && script < to) ? (script < 0 ? out.length() : script + 1) : to;
        return out.substring(from, to);
    }

    /**
     * Checkpoint in one runtime process, restore in another: smaps of both spaces, the System V
     * registry and the bytes are the same there; a long checkpoint prints progress lines.
     */
    @Test
    void aCheckpointRestoresInAnotherProcess() throws Exception {
        Path dir = Files.createTempDirectory("memmap-ckpt");
        try {
            Path img = dir.resolve("spaces.img");
            long sysv = 0x7ffff7ffbL << 12; // the next 8 KiB down from the first mapping
            long big = (sysv - (96L << 20)) & -(2L << 20); // a large anonymous mapping is 2 MiB-aligned
            String[] inspect = {"smaps 1", "smaps 2", "ipcs", "read --text 1 0x7ffff7ffd000 5", "read --text 2 0x7ffff7ffd000 5",
                    "read --text 2 0x" + Long.toHexString(sysv) + " 4", "spaces"};
            List<String> first = new java.util.ArrayList<>(List.of("space", "mmap --private 1 8K", "write 1 0x7ffff7ffd000 hello",
                    "shmget --create 0x7e58 8K", "shmat 1 1", "write 1 0x" + Long.toHexString(sysv) + " sysv", "mmap --private 1 96M",
                    "mlock 1 0x" + Long.toHexString(big) + " 96M", "fork 1", "write 2 0x7ffff7ffd000 HELLO"));
            first.add("checkpoint " + img); // then both processes look at the same state (reads make translations)
            first.addAll(List.of(inspect));
            Ran a = runtime(first.toArray(String[]::new));
            assertEquals(0, a.status(), a.out());
            assertTrue(a.out().contains("checkpoint " + img + ": 64.0 MiB of "), "a progress line:\n" + a.out());
            assertTrue(a.out().contains("checkpoint " + img + ": spaces [1, 2], depth 1"), a.out());
            List<String> second = new java.util.ArrayList<>(List.of("restore " + img));
            second.addAll(List.of(inspect));
            Ran b = runtime(second.toArray(String[]::new));
            assertEquals(0, b.status(), b.out());
            assertTrue(b.out().contains("restored " + img + ": spaces [1, 2]"), b.out());
            for (String cmd : inspect) {
                assertEquals(section(a.out(), cmd), section(b.out(), cmd), cmd + " in the restoring process");
            }
            assertTrue(section(b.out(), "read --text 2 0x" + Long.toHexString(sysv) + " 4").contains("sysv"), b.out());
            assertTrue(section(b.out(), "smaps 1").contains("Locked:            98304 kB"), b.out());
        } finally {
            deleteTree(dir); // also when an assertion failed
        }
    }

    /** The README's way to quit the interactive shell exits with status 0 (not the launcher's 117, STOPPED). */
    @Test
    void stopZeroInTheShellExitsZero() throws Exception {
        String jar = Framework.context().getProperty("memmap.runtime.jar");
        Path dir = Files.createTempDirectory("memmap-runtime");
        Files.createDirectories(dir.resolve("deploy"));
        Files.createDirectories(dir.resolve("data"));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Dmemmap.log.console.level=OFF", "-jar", jar)
                .directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write("stop 0\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush(); // stdin stays open: the shell quits because of the command, not of EOF
            String out = awaitExit(p, "the runtime exits after stop 0");
            assertEquals(0, p.exitValue(), out);
        } finally {
            p.destroyForcibly();
            deleteTree(dir);
        }
    }

    /** The README's example script, as it is in the repository: it runs, and its captured addresses are reused. */
    @Test
    void theDemoScriptRuns() throws Exception {
        Path jar = Path.of(Framework.context().getProperty("memmap.runtime.jar"));
        Path demo = jar.toAbsolutePath().getParent().getParent().getParent().resolve("examples/demo.gosh");
        assertTrue(Files.isRegularFile(demo), demo + " exists");
        Ran r = runtime(Files.readAllLines(demo).toArray(String[]::new));
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("memmap> read --text 1 $a 13\nhello, memmap\n"), r.out());
        assertTrue(r.out().contains("memmap> read --text 2 $b 7\nprivate\n"), "the fork reads the parent's private page:\n" + r.out());
    }

    /**
     * The console shows the Log Service's entries at INFO by default (the components' settings,
     * providers bound), not framework events; {@code memmap.log.console.level}
     * chooses the level.
     */
    @Test
    void theConsoleShowsTheLogAtItsLevel() throws Exception {
        Ran info = runtime(List.of(), "space", "mmap 1 8K");
        assertEquals(0, info.status(), info.out());
        for (String want : new String[] {"INFO  memmap.anon.provider [memmap.anon] memmap.anon/", " activated: fillAhead=65536 populate=true",
                "INFO  memmap.mm.providers [memmap.mm] provider bound: memmap.anon/", "INFO  memmap.anon.memoryfile [memmap.anon] memory file memmap activated"}) {
            assertTrue(info.out().contains(want), "missing " + want + " in\n" + info.out());
        }
        assertFalse(info.out().contains(" Events."), "framework events stay off the console:\n" + info.out());
        Ran errors = runtime(List.of("-Dmemmap.log.console.level=ERROR"), "space", "mmap 1 8K");
        assertEquals(0, errors.status(), errors.out());
        assertFalse(errors.out().contains("INFO "), "ERROR shows no INFO entry:\n" + errors.out());
        assertTrue(errors.out().contains("0x7ffff7ffd000"), errors.out());
    }

    /** {@code NAME --help} shows the usage; wrong arguments say so and show it too — in a script and in the interactive shell. */
    @Test
    void helpAndUsage() throws Exception {
        Ran help = runtime("mmap --help", "checkpoint --help");
        assertEquals(0, help.status(), help.out());
        for (String want : new String[] {"mmap - map memory", "--private", "address space number", "checkpoint - save address spaces",
                "--incremental"}) {
            assertTrue(help.out().contains(want), "missing " + want + " in\n" + help.out());
        }
        Ran wrong = runtime("space", "mmap 1");
        assertEquals(1, wrong.status(), wrong.out());
        assertTrue(wrong.out().contains("script.gosh:2: wrong arguments for mmap"), wrong.out());
        assertTrue(wrong.out().contains("bytes (decimal, 0x hex, or with K, M, G)"), "the usage follows:\n" + wrong.out());

        String jar = Framework.context().getProperty("memmap.runtime.jar");
        Path dir = Files.createTempDirectory("memmap-runtime");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-Dmemmap.log.console.level=OFF", "-jar", jar)
                .directory(dir.toFile()).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write("space\nmmap 1\nstop 0\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            String out = awaitExit(p, "the runtime exits after stop 0");
            assertTrue(out.contains("wrong arguments for mmap; usage:") && out.contains("address space number"), out);
            assertEquals(0, p.exitValue(), out);
        } finally {
            p.destroyForcibly();
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                for (Path q : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(q);
                }
            }
        }
    }

    @Test
    void aFailingCommandStopsTheScriptAndExitsOne() throws Exception {
        Ran r = runtime("space", "munmap 1 0x1001 4K", "space");
        assertEquals(1, r.status(), r.out());
        assertTrue(r.out().contains("script.gosh:2: "), r.out());
        assertTrue(r.out().contains("EINVAL"), r.out());
        assertFalse(r.out().contains("space 2"), "nothing after the failing line ran:\n" + r.out());
    }
}
