package memmap.itest;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The runtime jar running interactively in its own process, as a user starts it: commands are
 * typed on its standard input, its output (standard output and error together) collected as it
 * comes. Waits are on the output (a condition, bounded), never on time.
 */
final class LiveRuntime implements AutoCloseable {
    private static final long WAIT_SECONDS = 120;
    private final Path dir;
    private final Process process;
    private final StringBuilder out = new StringBuilder(); // guarded by itself
    private final Thread reader;

    /** The runtime with its standard streams on pipes (its shell sees no terminal). */
    LiveRuntime(List<String> jvmArgs) throws IOException {
        this(jvmArgs, false);
    }

    /**
     * The runtime with its standard streams on pipes, or with {@code terminal} on a
     * pseudo-terminal as in a user's terminal emulator (util-linux's {@code script} makes it and
     * passes the runtime's exit status on); {@link #typeKeys} then types keys as a keyboard does.
     */
    LiveRuntime(List<String> jvmArgs, boolean terminal) throws IOException {
        String jar = Framework.context().getProperty("memmap.runtime.jar");
        assertNotNull(jar, "memmap.runtime.jar is set in test.bndrun");
        dir = Files.createTempDirectory("memmap-runtime");
        Files.createDirectories(dir.resolve("deploy"));
        Files.createDirectories(dir.resolve("data"));
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-Duser.home=" + dir, "-jar", jar)); // the shell's history file stays in the folder
        if (terminal) {
            StringBuilder line = new StringBuilder("stty cols 200 rows 50; exec");
            for (String a : cmd) {
                line.append(" '").append(a.replace("'", "'\\''")).append('\'');
            }
            cmd = new ArrayList<>(List.of("script", "--quiet", "--flush", "--return", "--command", line.toString(), "/dev/null"));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        if (terminal) {
            pb.environment().put("TERM", "xterm-256color");
        }
        process = pb.start();
        reader = Thread.ofPlatform().daemon().name("runtime output").start(this::read);
    }

    private void read() {
        byte[] buf = new byte[8192];
        try (InputStream in = process.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                synchronized (out) {
                    out.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    out.notifyAll();
                }
            }
        } catch (IOException e) {
            synchronized (out) {
                out.append("(output unreadable: ").append(e).append(")");
                out.notifyAll();
            }
        }
    }

    /** Everything printed so far. */
    String output() {
        synchronized (out) {
            return out.toString();
        }
    }

    /** Waits until the output satisfies {@code done}; fails with the output after two minutes. */
    String await(Predicate<String> done, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        synchronized (out) {
            while (!done.test(out.toString())) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !process.isAlive() && !reader.isAlive()) {
                    fail("waited for " + what + "; the runtime printed:\n" + out);
                }
                out.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
            return out.toString();
        }
    }

    /** The first group of {@code pattern} once the output has it. */
    String awaitMatch(Pattern pattern, String what) throws InterruptedException {
        Matcher m = pattern.matcher(await(o -> pattern.matcher(o).find(), what));
        assertTrue(m.find());
        return m.group(1);
    }

    /** Types {@code line} into the shell. */
    void type(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    /** Types {@code keys} as they are (a terminal's Enter is {@code "\r"}, Up {@code "\033[A"}, Tab {@code "\t"}). */
    void typeKeys(String keys) throws IOException {
        process.getOutputStream().write(keys.getBytes(StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    /** Waits for the process to end by itself; its exit status. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
            fail("the runtime did not exit; it printed:\n" + output());
        }
        reader.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        return process.exitValue();
    }

    /** {@code stop 0}, then the process is gone and its folder deleted. */
    @Override
    public void close() throws Exception {
        try {
            if (process.isAlive()) {
                type("stop 0");
                process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            // its stdin is closed: it is exiting already
        } finally {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            RuntimeScriptTest.deleteTree(dir);
        }
    }
}
