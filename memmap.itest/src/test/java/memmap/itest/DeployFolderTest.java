package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;

/**
 * Live reconfiguration through File Install's deploy folder, and a provider bundle updated to
 * a newer version (built here from the installed one) while a writer runs.
 */
class DeployFolderTest {
    /** Address spaces a failed test left behind go with it. */
    @org.junit.jupiter.api.AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String ANON = "(memmap.backing.kind=anonymous)";

    /**
     * Records the messages of the Log Service entries whose logger is {@code name} or under it
     * ({@code memmap.mm} takes {@code memmap.mm.swap} too), from the moment it is made.
     */
    static final class Lines implements org.osgi.service.log.LogListener, AutoCloseable {
        final java.util.List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final String name;
        private final org.osgi.service.log.LogReaderService reader;

        Lines() {
            this("memmap.anon.provider");
        }

        Lines(String name) {
            this.name = name;
            reader = Framework.await(org.osgi.service.log.LogReaderService.class, null);
            reader.addLogListener(this);
        }

        boolean any(String part) {
            return lines.stream().anyMatch(l -> l.contains(part));
        }

        /** The first line starting with {@code prefix}, or null. */
        String first(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElse(null);
        }

        @Override
        public void logged(org.osgi.service.log.LogEntry e) {
            String n = e.getLoggerName();
            if (n != null && (n.equals(name) || n.startsWith(name + "."))) {
                lines.add(e.getMessage());
            }
        }

        @Override
        public void close() {
            reader.removeLogListener(this);
        }

        boolean saw(String part) {
            return lines.stream().anyMatch(l -> l.contains(part));
        }
    }

    /**
     * A configuration file dropped in the deploy folder configures the provider live: the same
     * provider keeps the live mapping and the writer never stops. A bad value and a mistyped key
     * are each one logged line naming the PID, the property and the value; the provider goes on
     * serving (new mappings work) with the value it had.
     */
    @Test
    void aConfigurationFileInTheDeployFolderConfiguresTheProviderLiveAndMistakesNeverTakeItDown() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Framework.Found<BackingProvider> before = HotSwapTest.settled(ANON);
        Object id = before.reference().getProperty(Constants.SERVICE_ID);
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        Path cfg = deploy.resolve("memmap.anon.provider.cfg");
        try (HotSwapTest.Writer w = new HotSwapTest.Writer(as, a); Lines log = new Lines()) {
            w.awaitProgress(10_000);
            Framework.writeAtomically(cfg, "fillAhead = 8192\n");
            Framework.until("the provider shows fillAhead = 8192", () -> "8192".equals(String.valueOf(before.reference().getProperty("fillAhead"))));
            assertEquals(1, before.service().usage().liveBackings(), "the live mapping stays with the same provider");

            Framework.writeAtomically(cfg, "fillAhead = banana\n");
            Framework.until("the bad value is logged", () -> log.saw("fillAhead = \"banana\" rejected"));
            assertTrue(log.saw("memmap.anon.provider: fillAhead = \"banana\" rejected: not a number; keeping 8192"), log.lines.toString());
            long b = as.mmap(CTX, MMapOpts.builder().length(4 * P).build());
            assertEquals(IoResult.ok(8), as.write(CTX, b, MemorySegment.ofArray(new long[] {7})), "new mappings still work");
            as.munmap(CTX, b, 4 * P);

            Framework.writeAtomically(cfg, "fillahead = 8192\n");
            Framework.until("the mistyped key is logged", () -> log.saw("unknown property fillahead"));
            assertTrue(log.saw("memmap.anon.provider: unknown property fillahead = \"8192\" ignored (did you mean fillAhead?)"),
                    log.lines.toString());
            assertEquals(id, Framework.awaitReference(BackingProvider.class, ANON).reference().getProperty(Constants.SERVICE_ID),
                    "one provider throughout: never failed, never replaced");
            assertTrue(log.lines.stream().noneMatch(l -> l.contains("\n") || l.contains("Exception")), "one line each, no stack trace: "
                    + log.lines);
            w.awaitProgress(10_000);
        } finally {
            Files.deleteIfExists(cfg);
        }
        as.release(CTX);
        // File Install deletes the configuration with its file.
        ConfigurationAdmin cm = Framework.await(ConfigurationAdmin.class, null);
        Framework.until("the configuration is gone with its file", () -> {
            try {
                return cm.listConfigurations("(service.pid=memmap.anon.provider)") == null;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    /** The installed bundle's jar with another Bundle-Version. */
    static byte[] withVersion(Bundle b, Version v) throws IOException {
        return withVersion(b, v, 0);
    }

    /**
     * The installed bundle's jar with another Bundle-Version and, if {@code ranking} is not 0,
     * its anonymous provider's component description declaring that service ranking.
     */
    static byte[] withVersion(Bundle b, Version v, int ranking) throws IOException {
        String location = b.getLocation();
        String path = location.replaceFirst("^reference:", "").replaceFirst("^file:", "");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream raw = Files.newInputStream(Path.of(path)); JarInputStream in = new JarInputStream(raw)) {
            Manifest m = new Manifest(in.getManifest());
            m.getMainAttributes().put(new Attributes.Name(Constants.BUNDLE_VERSION), v.toString());
            try (JarOutputStream jar = new JarOutputStream(out, m)) {
                for (JarEntry e; (e = in.getNextJarEntry()) != null;) {
                    jar.putNextEntry(new JarEntry(e.getName()));
                    if (ranking != 0 && e.getName().equals("OSGI-INF/memmap.anon.internal.AnonymousProvider.xml")) {
                        String xml = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                        String ranked = xml.replaceFirst("(<property name=\"memmap.backing.kind\")",
                                "<property name=\"service.ranking\" type=\"Integer\" value=\"" + ranking + "\"/>$1");
                        assertNotEquals(xml, ranked, "the component description has the kind property");
                        jar.write(ranked.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    } else {
                        in.transferTo(jar);
                    }
                    jar.closeEntry();
                }
            }
        }
        return out.toByteArray();
    }

    /** The memmap.anon bundles installed now. */
    static java.util.List<Bundle> anonBundles() {
        java.util.List<Bundle> out = new java.util.ArrayList<>();
        for (Bundle b : Framework.context().getBundles()) {
            if (b.getSymbolicName().equals("memmap.anon")) {
                out.add(b);
            }
        }
        return out;
    }

    /**
     * A jar of a bundle built into the runtime (same symbolic name and version) dropped into
     * deploy/ and removed again changes nothing: File Install would take the built-in bundle over
     * and uninstall it with the file (memmap.anon, and memmap.shm's memory file with it);
     * memmap.deploy claims the jar, leaves the bundle alone and says so.
     */
    @Test
    void aJarBuiltIntoTheRuntimeDroppedAndRemovedChangesNothing() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Bundle anon = HotSwapTest.bundle("memmap.anon");
        long lastModified = anon.getLastModified();
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        assertEquals(8, as.write(CTX, a, MemorySegment.ofArray(new long[] {42})).n());
        Path jar = deploy.resolve("memmap.anon.jar");
        try (Lines lines = new Lines("memmap.deploy")) {
            Framework.writeAtomically(jar, withVersion(anon, anon.getVersion()));
            Framework.until("memmap.deploy says it leaves the built-in bundle as it is",
                    () -> lines.any("memmap.anon.jar is memmap.anon " + anon.getVersion() + ", which is built into the runtime"));
            assertEquals(java.util.List.of(anon), anonBundles(), "no second memmap.anon");
            assertEquals(lastModified, anon.getLastModified(), "the built-in bundle was not updated from the file");
            Files.delete(jar);
            Framework.until("memmap.deploy says the built-in bundle stays",
                    () -> lines.any("memmap.anon.jar removed; the built-in memmap.anon " + anon.getVersion() + " stays"));
        } finally {
            Files.deleteIfExists(jar);
        }
        assertEquals(java.util.List.of(anon), anonBundles(), "memmap.anon is still installed");
        assertEquals(Bundle.ACTIVE, anon.getState());
        for (memmap.api.provider.BackingKind k : memmap.api.provider.BackingKind.values()) {
            Framework.until("kind " + k.id() + " has a provider", () -> spaces.serving(k).isPresent());
        }
        long[] v = new long[1];
        assertEquals(8, as.read(CTX, a, MemorySegment.ofArray(v)).n());
        assertEquals(42, v[0], "the live mapping kept its bytes");
        as.release(CTX);
    }

    @Test
    void aHigherRankedProviderBundleDroppedInTheDeployFolderTakesOverAndGivesBackWhenRemoved() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider v1 = HotSwapTest.settled(ANON).service();
        Bundle installed = HotSwapTest.bundle("memmap.anon");
        Version was = installed.getVersion();
        Path jar = deploy.resolve("memmap.anon-v2.jar");
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        try (HotSwapTest.Writer w = new HotSwapTest.Writer(as, a)) {
            w.awaitProgress(10_000);
            Framework.writeAtomically(jar, withVersion(installed, new Version(was.getMajor(), was.getMinor(), was.getMicro() + 1), 10));
            Framework.until("File Install installed the dropped bundle beside the old one", () -> anonBundles().size() == 2);
            HotSwapTest.awaitEmpty(v1);
            Framework.Found<BackingProvider> serving = Framework.awaitReference(BackingProvider.class, ANON);
            assertEquals(10, serving.reference().getProperty(Constants.SERVICE_RANKING), "the higher-ranked provider serves");
            assertEquals(1, serving.service().usage().liveBackings(), "and holds the live mapping");
            w.awaitProgress(10_000);
            Files.delete(jar); // File Install uninstalls it: the mapping moves back to v1's provider
            Framework.until("File Install uninstalled it", () -> anonBundles().size() == 1);
            Framework.until("the old provider serves again once the new one is gone", () -> v1.usage().liveBackings() == 1);
            w.awaitProgress(10_000);
        } finally {
            Files.deleteIfExists(jar);
        }
        as.release(CTX);
    }

    @Test
    void updatingTheProviderBundleToANewVersionMigratesLiveMappings() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider old = HotSwapTest.settled(ANON).service();
        Bundle anon = HotSwapTest.bundle("memmap.anon");
        Version was = anon.getVersion();
        byte[] v2 = withVersion(anon, new Version(was.getMajor(), was.getMinor(), was.getMicro() + 1));
        byte[] v1 = withVersion(anon, was);
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        try (HotSwapTest.Writer w = new HotSwapTest.Writer(as, a)) {
            w.awaitProgress(10_000);
            anon.update(new java.io.ByteArrayInputStream(v2));
            BackingProvider next = Framework.await(BackingProvider.class, ANON);
            HotSwapTest.awaitEmpty(old);
            assertEquals(was.getMicro() + 1, anon.getVersion().getMicro(), "the bundle is now v2");
            assertEquals(1, next.usage().liveBackings(), "the live mapping lives in v2's provider");
            w.awaitProgress(10_000);
        } finally {
            anon.update(new java.io.ByteArrayInputStream(v1)); // leave the framework as it was
            Framework.await(BackingProvider.class, ANON);
        }
        as.release(CTX);
    }
}
