package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.ValueLayout;
import java.util.Dictionary;
import java.util.Hashtable;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import memmap.api.AccessType;
import memmap.api.AllocOpts;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.safemem.Block;

/** memmap.anon inside Felix: found through DS, used through the API only, reconfigured live. */
class AnonymousProviderTest {
    static final long P = 4096;
    static final Context CTX = Context.background();
    static final String ANON = "(" + BackingProvider.KIND + "=anonymous)";

    /** Puts the memory file back to its defaults and waits until the framework has settled on them. */
    @AfterEach
    void resetConfiguration() throws Exception {
        ConfigurationAdmin ca = Framework.await(ConfigurationAdmin.class, null);
        Configuration c = ca.getConfiguration("memmap.anon.memoryfile", "?");
        c.delete();
        Framework.until("a memory file with the default limit serves", () -> {
            var ref = Framework.context().getServiceReference(MemoryFile.class);
            return ref != null && ref.getProperty("memoryLimit") == null;
        });
        HotSwapTest.settled(ANON);
    }

    static Translation write(Backing b, long page, long value) throws MemmapException {
        MappableRange r = new MappableRange(page * P, (page + 1) * P);
        TranslateResult t = b.mappable().translate(CTX, r, r, AccessType.WRITE).requireValid(r, r, AccessType.WRITE);
        Translation tr = t.translations().get(0);
        Block blk = tr.file().mapInternal(tr.fileRange(), AccessType.WRITE).head();
        blk.segment().set(ValueLayout.JAVA_LONG, 0, value);
        return tr;
    }

    static long read(Backing b, long page) throws MemmapException {
        MappableRange r = new MappableRange(page * P, (page + 1) * P);
        Translation tr = b.mappable().translate(CTX, r, r, AccessType.READ).requireValid(r, r, AccessType.READ).translations().get(0);
        return tr.file().mapInternal(tr.fileRange(), AccessType.READ).head().segment().get(ValueLayout.JAVA_LONG, 0);
    }

    @Test
    void theProviderAndTheMemoryFileAreServices() throws MemmapException {
        BackingProvider provider = Framework.await(BackingProvider.class, ANON);
        assertEquals(BackingKind.ANONYMOUS, provider.kind());
        Backing b = provider.create(CTX, new BackingRequest.Anonymous(64 * P));
        try {
            write(b, 3, 0xfeedL);
            assertEquals(0xfeedL, read(b, 3));
            assertEquals(0, read(b, 4), "untouched memory reads as zero");
            assertEquals("/dev/zero (deleted)", b.identity().mappedName(CTX));
            MemoryFile mf = Framework.await(MemoryFile.class, null);
            assertTrue(mf.usage().allocated() > 0);
            assertTrue(provider.usage().liveBackings() >= 1);
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void configurationTakesEffectLiveAndLivePagesSurviveIt() throws Exception {
        var first = Framework.awaitReference(MemoryFile.class, null);
        BackingProvider provider = Framework.await(BackingProvider.class, ANON);
        Backing live = provider.create(CTX, new BackingRequest.Anonymous(16 * P));
        write(live, 1, 0x1234L);

        ConfigurationAdmin ca = Framework.await(ConfigurationAdmin.class, null);
        Configuration c = ca.getConfiguration("memmap.anon.memoryfile", "?");
        Dictionary<String, Object> props = new Hashtable<>();
        props.put("memoryLimit", 8 * P);
        props.put("chunkSize", 2L << 20);
        c.update(props);

        // A new memory file with the new limit replaces the old one: the one whose service shows it.
        MemoryFile mf = Framework.await(MemoryFile.class, "(memoryLimit=" + (8 * P) + ")");
        assertNotEquals(first.reference().getProperty(Constants.SERVICE_ID),
                Framework.awaitReference(MemoryFile.class, "(memoryLimit=" + (8 * P) + ")").reference().getProperty(Constants.SERVICE_ID));
        MemmapException e = assertThrows(MemmapException.class, () -> mf.allocate(16 * P, AllocOpts.DEFAULT));
        assertEquals(Errno.ENOMEM, e.errno());

        // The backing made before the change still has its bytes: deactivation released, never freed.
        assertEquals(0x1234L, read(live, 1));
        write(live, 2, 0x5678L);
        assertEquals(0x5678L, read(live, 2));
        live.identity().decRef(CTX);
    }
}
