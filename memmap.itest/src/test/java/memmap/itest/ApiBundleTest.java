package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URL;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.Version;
import org.osgi.framework.namespace.PackageNamespace;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleWiring;

import memmap.api.AddrRange;
import memmap.api.InvalidateOpts;
import memmap.api.MappableRange;
import memmap.api.MappingSet;

/** The API bundle inside Felix: resolved, active, exporting exactly its API packages at their declared versions. */
class ApiBundleTest {
    /** The packages memmap.api exports and the versions their package-info.java declares. */
    static final Map<String, Version> API_PACKAGES = Map.of(
            "memmap.api", Version.parseVersion("1.5.0"),
            "memmap.api.checkpoint", Version.parseVersion("1.0.0"),
            "memmap.api.provider", Version.parseVersion("1.4.0"),
            "memmap.api.safemem", Version.parseVersion("1.1.0"),
            "memmap.api.segment", Version.parseVersion("1.0.0"));

    final BundleContext context = FrameworkUtil.getBundle(ApiBundleTest.class).getBundleContext();

    Bundle bundle(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return b;
            }
        }
        return fail("no bundle " + bsn + " installed");
    }

    static Map<String, Version> exports(Bundle b) {
        Map<String, Version> out = new TreeMap<>();
        for (BundleCapability c : b.adapt(BundleWiring.class).getCapabilities(PackageNamespace.PACKAGE_NAMESPACE)) {
            out.put((String) c.getAttributes().get(PackageNamespace.PACKAGE_NAMESPACE),
                    (Version) c.getAttributes().get(PackageNamespace.CAPABILITY_VERSION_ATTRIBUTE));
        }
        return out;
    }

    @Test
    void apiBundleIsActiveAndExportsExactlyTheApiPackages() {
        Bundle api = bundle("memmap.api");
        assertEquals(Bundle.ACTIVE, api.getState());
        assertEquals(new TreeMap<>(API_PACKAGES), exports(api));
    }

    @Test
    void apiJarIsANamedModuleExportingTheSamePackages() throws Exception {
        Bundle api = bundle("memmap.api");
        URL entry = api.getEntry("module-info.class");
        assertNotNull(entry, "memmap.api has a module-info.class");
        try (InputStream in = entry.openStream()) {
            ModuleDescriptor md = ModuleDescriptor.read(in);
            assertEquals("memmap.api", md.name());
            assertEquals(API_PACKAGES.keySet(),
                    md.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        }
    }

    /** Provider bundles keep their implementation private; the only other export is the posix library. */
    @Test
    void noOtherBundleExportsAMemmapPackage() {
        Map<String, String> exporters = new TreeMap<>();
        for (Bundle b : context.getBundles()) {
            if (b.adapt(BundleWiring.class) == null) {
                continue;
            }
            for (String pkg : exports(b).keySet()) {
                if (pkg.startsWith("memmap.")) {
                    exporters.put(pkg, b.getSymbolicName());
                }
            }
        }
        Map<String, String> expected = new TreeMap<>();
        API_PACKAGES.keySet().forEach(p -> expected.put(p, "memmap.api"));
        expected.put("memmap.posix", "memmap.posix");
        assertEquals(expected, exporters);
    }

    @Test
    void theApiWorksInsideTheFramework() {
        MappingSet set = new MappingSet();
        List<AddrRange> seen = new java.util.ArrayList<>();
        set.addMapping((ar, opts) -> seen.add(ar), new AddrRange(0x10000, 0x12000), 0, true);
        set.invalidate(new MappableRange(0x1000, 0x2000), InvalidateOpts.DEFAULT);
        assertEquals(List.of(new AddrRange(0x11000, 0x12000)), seen);
        // The test bundle wires memmap.api to the API bundle, not to a copy of its own.
        assertEquals(bundle("memmap.api"), FrameworkUtil.getBundle(MappingSet.class));
    }
}
