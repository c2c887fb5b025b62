package memmap.itest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium, headless: loads a page, runs its scripts, and gives the resulting DOM or a
 * screenshot. Each run has a fresh profile and none of Chromium's background connections (the
 * machine's network is closed).
 */
final class Chromium {
    static final Path BINARY = Path.of("/usr/bin/chromium");

    private Chromium() {
    }

    /** The page's DOM after its scripts ran. */
    static String dom(String url) throws Exception {
        return run(List.of("--dump-dom", url));
    }

    /** A screenshot of the page, {@code width} x {@code height}, written to {@code png}. */
    static void screenshot(String url, Path png, int width, int height) throws Exception {
        Files.createDirectories(png.getParent());
        Files.deleteIfExists(png);
        run(List.of("--window-size=" + width + "," + height, "--screenshot=" + png, url));
        assertTrue(Files.size(png) > 1000, png + " was written");
    }

    private static String run(List<String> args) throws Exception {
        assertTrue(Files.isExecutable(BINARY), BINARY + " is Debian's chromium package (.ci/run installs it: apt-get install chromium)");
        Path profile = Files.createTempDirectory("memmap-chromium");
        try {
            List<String> cmd = new ArrayList<>(List.of(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=5000"));
            cmd.addAll(args);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            boolean exited = p.waitFor(120, TimeUnit.SECONDS);
            if (!exited) {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            assertTrue(exited, "chromium finished " + args);
            assertEquals(0, p.exitValue(), "chromium's exit status for " + args);
            return new String(out.get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8);
        } finally {
            RuntimeScriptTest.deleteTree(profile);
        }
    }
}
