package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
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
import memmap.api.MMapOpts;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;

/**
 * Live reconfiguration through File Install's deploy folder, and a provider bundle updated to
 * a newer version (built here from the installed one) while a writer runs.
 */
class DeployFolderTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String ANON = "(memmap.backing.kind=anonymous)";

    @Test
    void aConfigurationFileInTheDeployFolderConfiguresTheProviderLive() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Framework.Found<BackingProvider> before = HotSwapTest.settled(ANON);
        AddressSpace as = spaces.create(CTX);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        Path cfg = deploy.resolve("memmap.anon.provider.cfg");
        try (HotSwapTest.Writer w = new HotSwapTest.Writer(as, a)) {
            w.awaitProgress(10_000);
            Files.writeString(cfg, "fillAhead = 8192\n");
            BackingProvider next = Framework.awaitReplacement(BackingProvider.class, ANON,
                    before.reference().getProperty(Constants.SERVICE_ID));
            HotSwapTest.awaitEmpty(before.service());
            assertEquals(1, next.usage().liveBackings(), "the live mapping moved to the reconfigured provider");
            ConfigurationAdmin cm = Framework.await(ConfigurationAdmin.class, null);
            Configuration c = cm.getConfiguration("memmap.anon.provider", "?");
            assertEquals("8192", String.valueOf(c.getProperties().get("fillAhead")));
            w.awaitProgress(10_000);
        } finally {
            Files.deleteIfExists(cfg);
        }
        as.release(CTX);
        // File Install deletes the configuration with its file.
        ConfigurationAdmin cm = Framework.await(ConfigurationAdmin.class, null);
        for (int i = 0; i < 100 && cm.listConfigurations("(service.pid=memmap.anon.provider)") != null; i++) {
            Thread.sleep(50);
        }
        assertNull(cm.listConfigurations("(service.pid=memmap.anon.provider)"));
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

    @Test
    void aHigherRankedProviderBundleDroppedInTheDeployFolderTakesOverAndGivesBackWhenRemoved() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider v1 = HotSwapTest.settled(ANON).service();
        Bundle installed = HotSwapTest.bundle("memmap.anon");
        Version was = installed.getVersion();
        Path jar = deploy.resolve("memmap.anon-v2.jar");
        AddressSpace as = spaces.create(CTX);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).build());
        try (HotSwapTest.Writer w = new HotSwapTest.Writer(as, a)) {
            w.awaitProgress(10_000);
            Files.write(jar, withVersion(installed, new Version(was.getMajor(), was.getMinor(), was.getMicro() + 1), 10));
            for (int i = 0; i < 200 && anonBundles().size() < 2; i++) {
                Thread.sleep(50);
            }
            assertEquals(2, anonBundles().size(), "File Install installed the dropped bundle beside the old one");
            HotSwapTest.awaitEmpty(v1);
            Framework.Found<BackingProvider> serving = Framework.awaitReference(BackingProvider.class, ANON);
            assertEquals(10, serving.reference().getProperty(Constants.SERVICE_RANKING), "the higher-ranked provider serves");
            assertEquals(1, serving.service().usage().liveBackings(), "and holds the live mapping");
            w.awaitProgress(10_000);
            Files.delete(jar); // File Install uninstalls it: the mapping moves back to v1's provider
            for (int i = 0; i < 200 && anonBundles().size() > 1; i++) {
                Thread.sleep(50);
            }
            assertEquals(1, anonBundles().size());
            for (int i = 0; i < 200 && v1.usage().liveBackings() == 0; i++) {
                Thread.sleep(50);
            }
            assertEquals(1, v1.usage().liveBackings(), "the old provider serves again once the new one is gone");
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
        AddressSpace as = spaces.create(CTX);
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
