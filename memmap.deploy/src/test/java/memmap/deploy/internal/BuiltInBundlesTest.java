package memmap.deploy.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Version;

/** What a file in deploy/ is, as memmap.deploy reads it: real jars written here. */
class BuiltInBundlesTest {
    @TempDir
    Path dir;

    File jar(String name, String bsn, String version) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (bsn != null) {
            m.getMainAttributes().putValue("Bundle-SymbolicName", bsn);
        }
        if (version != null) {
            m.getMainAttributes().putValue("Bundle-Version", version);
        }
        Path p = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(p); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return p.toFile();
    }

    @Test
    void aBundleJarIsItsSymbolicNameAndVersion() throws IOException {
        assertEquals(new BuiltInBundles.Identity("memmap.anon", new Version(1, 0, 0)),
                BuiltInBundles.identity(jar("a.jar", "memmap.anon", "1.0.0")));
        assertEquals(new BuiltInBundles.Identity("memmap.api", new Version(1, 2, 3, "SNAPSHOT")),
                BuiltInBundles.identity(jar("b.jar", " memmap.api ;singleton:=true", "1.2.3.SNAPSHOT")), "directives and spaces go");
        assertEquals(new BuiltInBundles.Identity("x", Version.emptyVersion), BuiltInBundles.identity(jar("c.jar", "x", null)),
                "no version: 0.0.0, as the framework reads it");
    }

    @Test
    void whatIsNotABundleJarIsNotClaimed() throws IOException {
        assertNull(BuiltInBundles.identity(jar("plain.jar", null, "1.0.0")), "a jar that is no bundle");
        Path cfg = Files.writeString(dir.resolve("memmap.anon.provider.cfg"), "fillAhead = 8192\n");
        assertNull(BuiltInBundles.identity(cfg.toFile()), "a configuration file");
        Path half = dir.resolve("half.jar");
        Files.write(half, new byte[] {'P', 'K', 3, 4, 0, 0});
        assertNull(BuiltInBundles.identity(half.toFile()), "a half-copied jar is File Install's to report");
        assertNull(BuiltInBundles.identity(dir.resolve("gone.jar").toFile()));
        assertNull(BuiltInBundles.identity(jar("bad.jar", "x", "not-a-version")), "a bad version: File Install reports it");
    }
}
