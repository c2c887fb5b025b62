package memmap.deploy.internal;

import java.io.File;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.Version;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

/**
 * What dropping a jar into {@code deploy/} does when the runtime already has that bundle built
 * in — the same symbolic name and version, installed from somewhere else: nothing. Left to
 * itself, File Install takes such a bundle over (it updates the built-in bundle from the file
 * and, when the file goes, uninstalls it), so copying {@code memmap.anon.jar} into
 * {@code deploy/} and removing it again would take memmap.anon — and with its memory file,
 * memmap.shm — out of the runtime, leaving kinds without a provider. Registered as a File
 * Install {@link ArtifactInstaller}, this component claims exactly those jars, leaves the
 * built-in bundle as it is, and says so in one logged line each time: dropped, changed,
 * removed. Any other jar (a newer version of a built-in bundle, a new bundle) is File Install's
 * as usual: installed beside the built-in one, serving while it is there (among equal rankings
 * the newest serves), gone when its file goes — the built-in one serves again.
 *
 * <p>File Install must start after this component is registered (the runtime starts it one
 * start level later), else its first scan would take the jars over before this is asked.
 *
 * <p>Thread safety: File Install calls from its watcher thread; the claimed map is concurrent.
 */
@Component(service = ArtifactInstaller.class, immediate = true)
public final class BuiltInBundles implements ArtifactInstaller {
    private static final memmap.posix.Logs LOGS = new memmap.posix.Logs();
    private static final memmap.posix.Log LOG = LOGS.get("memmap.deploy");

    /** A bundle's identity as its manifest gives it. */
    record Identity(String symbolicName, Version version) {
        @Override
        public String toString() {
            return symbolicName + " " + version;
        }
    }

    private final BundleContext context;
    private final Map<File, Identity> claimed = new ConcurrentHashMap<>();

    @Activate
    public BuiltInBundles(BundleContext context) {
        this.context = context;
    }

    /** The log service, bound to this bundle's log. */
    @org.osgi.service.component.annotations.Reference(cardinality = org.osgi.service.component.annotations.ReferenceCardinality.OPTIONAL,
            policy = org.osgi.service.component.annotations.ReferencePolicy.DYNAMIC,
            policyOption = org.osgi.service.component.annotations.ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.unuse(this, f);
    }

    /** A jar whose bundle is built in: same symbolic name and version, not installed from this file. */
    @Override
    public boolean canHandle(File artifact) {
        if (claimed.containsKey(artifact)) {
            return true; // what File Install asks again on a change or a removal
        }
        Identity id = identity(artifact);
        return id != null && builtIn(id, artifact) != null;
    }

    @Override
    public void install(File artifact) {
        Identity id = identity(artifact);
        claimed.put(artifact, id);
        LOG.info("memmap.deploy: " + artifact.getName() + " is " + id
                + ", which is built into the runtime: left as it is (drop a newer version to replace it)");
    }

    @Override
    public void update(File artifact) {
        Identity now = identity(artifact);
        Identity was = claimed.get(artifact);
        if (now != null && !now.equals(was) && builtIn(now, artifact) == null) {
            // Not a built-in duplicate any more: let File Install have it from its next scan.
            claimed.remove(artifact);
            LOG.info("memmap.deploy: " + artifact.getName() + " is now " + now
                    + ": remove it and drop it again to install it");
            return;
        }
        LOG.info("memmap.deploy: " + artifact.getName() + " changed; it is still " + now
                + ", built into the runtime: left as it is");
    }

    @Override
    public void uninstall(File artifact) {
        Identity id = claimed.remove(artifact);
        LOG.info("memmap.deploy: " + artifact.getName() + " removed; the built-in "
                + (id == null ? "bundle" : id.toString()) + " stays");
    }

    /** The bundle built into the runtime with {@code id}, or null. */
    private Bundle builtIn(Identity id, File artifact) {
        String here = artifact.toURI().toString();
        for (Bundle b : context.getBundles()) {
            if (id.symbolicName().equals(b.getSymbolicName()) && id.version().equals(b.getVersion())
                    && !b.getLocation().contains(artifact.getAbsolutePath()) && !b.getLocation().equals(here)) {
                return b;
            }
        }
        return null;
    }

    /** The symbolic name and version a jar's manifest gives, or null if it is not a bundle. */
    static Identity identity(File artifact) {
        if (!artifact.getName().endsWith(".jar") || !artifact.isFile()) {
            return null;
        }
        try (JarFile jar = new JarFile(artifact)) {
            Manifest m = jar.getManifest();
            String bsn = m == null ? null : m.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            if (bsn == null) {
                return null;
            }
            int semi = bsn.indexOf(';');
            String v = m.getMainAttributes().getValue(Constants.BUNDLE_VERSION);
            return new Identity((semi < 0 ? bsn : bsn.substring(0, semi)).trim(), v == null ? Version.emptyVersion : Version.parseVersion(v.trim()));
        } catch (IOException | IllegalArgumentException e) {
            return null; // not a jar, or a half-copied one: File Install's to report
        }
    }
}
