package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Without OSGi: the very jars installed in this framework, on a plain JPMS module path in
 * another JVM, where examples/PlainJpms.java finds the providers and the address spaces through
 * ServiceLoader and maps anonymous memory.
 */
class PlainJpmsTest {
    static Path jarOf(String bsn) {
        String location = HotSwapTest.bundle(bsn).getLocation();
        Path p = Path.of(location.replaceFirst("^reference:", "").replaceFirst("^file:", ""));
        assertTrue(Files.isRegularFile(p), bsn + " is installed from a jar: " + location);
        return p;
    }

    @Test
    void theSameJarsWorkOnAPlainModulePathThroughServiceLoader() throws Exception {
        List<String> path = new ArrayList<>();
        for (String bsn : new String[] {"memmap.api", "memmap.posix", "memmap.anon", "memmap.mm", "memmap.hostfile", "memmap.shm",
                "memmap.fallback"}) {
            path.add(jarOf(bsn).toString());
        }
        Path program = Path.of(Framework.context().getProperty("memmap.examples"), "PlainJpms.java");
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=memmap.posix,memmap.anon,memmap.mm,memmap.api,memmap.hostfile,memmap.shm",
                "--module-path", String.join(":", path), "--add-modules", "memmap.mm,memmap.anon,memmap.hostfile,memmap.shm,memmap.fallback",
                program.toString())
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("provider anonymous from module memmap.anon"), "a named module's provider:\n" + out);
        assertTrue(out.contains("provider hostfile from module memmap.hostfile"), out);
        assertTrue(out.contains("provider shm from module memmap.shm"), out);
        assertTrue(out.contains("fallback from module memmap.fallback"), out);
        assertTrue(out.contains("file: a host file, mapped"), "AddressSpaces.backing(HostFile) without OSGi:\n" + out);
        assertTrue(out.contains("shm segment "), out);
        assertTrue(out.contains("pinned: hello from plain JPMS"), out);
        assertTrue(out.contains("read 21 bytes shared with the fork: hello from plain JPMS"), out);
        assertTrue(out.contains("rw-s 00000000 00:01") && out.contains("/dev/zero (deleted)"), out);
        assertTrue(out.contains("rw-p 00000000 00:00 0"), out);
        assertTrue(out.strip().endsWith("ok"), out);
    }
}
