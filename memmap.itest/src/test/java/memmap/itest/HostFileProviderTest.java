package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.Hashtable;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;

/** memmap.hostfile inside Felix: found through DS, writes reach the file, the root directory is configured live. */
class HostFileProviderTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String HOSTFILE = "(" + BackingProvider.KIND + "=hostfile)";

    @Test
    void sharedWritesThroughTheServiceReachTheFile() throws Exception {
        BackingProvider provider = Framework.await(BackingProvider.class, HOSTFILE);
        assertEquals(BackingKind.HOST_FILE, provider.kind());
        Path f = Files.createTempFile("memmap-itest", ".bin");
        try {
            Files.write(f, new byte[(int) (4 * P)]);
            Backing b = provider.create(CTX, new BackingRequest.HostFile(f, true));
            MappableRange r = new MappableRange(P, 2 * P);
            Translation t = b.mappable().translate(CTX, r, r, AccessType.WRITE).requireValid(r, r, AccessType.WRITE).translations().get(0);
            t.file().mapInternal(t.fileRange(), AccessType.WRITE).head().segment().set(ValueLayout.JAVA_LONG, 0, 0x0102030405060708L);
            b.identity().msync(CTX, new MappableRange(0, 4 * P));
            b.identity().decRef(CTX);
            byte[] bytes = Files.readAllBytes(f);
            assertEquals(8, bytes[(int) P], "little-endian low byte of the long at page 1");
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void theRootDirectoryIsConfiguredLive() throws Exception {
        Path root = Files.createTempDirectory("memmap-root");
        Path inside = Files.write(root.resolve("in.bin"), new byte[(int) P]);
        Path outside = Files.createTempFile("memmap-out", ".bin");
        ConfigurationAdmin ca = Framework.await(ConfigurationAdmin.class, null);
        Configuration c = ca.getConfiguration("memmap.hostfile", "?");
        try {
            var before = Framework.awaitReference(BackingProvider.class, HOSTFILE);
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("rootDirectory", root.toString());
            c.update(props);
            // Applied live: the same provider, its service showing the new root.
            Framework.until("the provider shows the root", () -> root.toString().equals(before.reference().getProperty("rootDirectory")));
            BackingProvider p = before.service();
            MemmapException e = assertThrows(MemmapException.class, () -> p.create(CTX, new BackingRequest.HostFile(outside, false)));
            assertEquals(Errno.EACCES, e.errno());
            assertEquals("EACCES: path = " + outside + " leaves the root directory", e.getMessage());
            Backing b = p.create(CTX, new BackingRequest.HostFile(Path.of("in.bin"), false));
            assertEquals(inside.toRealPath().toString(), b.identity().mappedName(CTX));
            b.identity().decRef(CTX);
        } finally {
            c.delete();
            var now = Framework.awaitReference(BackingProvider.class, HOSTFILE);
            Framework.until("the provider is back to no root", () -> now.reference().getProperty("rootDirectory") == null);
            Files.deleteIfExists(inside);
            Files.deleteIfExists(root);
            Files.deleteIfExists(outside);
        }
    }
}
