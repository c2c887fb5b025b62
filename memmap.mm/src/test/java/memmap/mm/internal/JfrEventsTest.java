package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.InvalidateOpts;
import memmap.api.MMapOpts;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/** memmap's JFR events, recorded for real and read back from the recording file. */
class JfrEventsTest extends TwoAnonymousProviders {
    static final String[] EVENTS = {"memmap.PageFault", "memmap.CopyOnWrite", "memmap.Invalidate", "memmap.HotSwap", "memmap.Checkpoint",
            "memmap.Restore", "memmap.Migration"};

    @TempDir
    Path dir;

    @Test
    void eachSlowPathLeavesItsEvent() throws Exception {
        Path file = dir.resolve("memmap.jfr");
        MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
        try (Recording rec = new Recording()) {
            for (String e : EVENTS) {
                rec.enable(e).withThreshold(Duration.ZERO).withoutStackTrace();
            }
            rec.start();
            long shared = mm.mmap(CTX, MMapOpts.builder().length(4 * P).build()); // anonymous, shared: the provider's
            put(mm, shared, 1);
            long priv = mm.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
            put(mm, priv, 2);
            MemoryManager child = mm.fork(CTX);
            put(child, priv, 3); // the fork's write copies the shared page
            mm.invalidate(new AddrRange(shared, shared + P), InvalidateOpts.DEFAULT);
            current.set(anon2);
            ProviderSwap.Result swapped = swap.migrate(CTX, anon2);
            assertEquals(1, swapped.backings(), swapped.toString());
            CheckpointService cs = new CheckpointService(backings, swap);
            Path img = dir.resolve("x.img");
            try (FileChannel out = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                cs.checkpoint(CTX, List.of(mm, child), out, CheckpointOpts.FULL);
            }
            Restored eager = cs.restore(CTX, List.of(img), RestoreOpts.EAGER);
            Restored lazy = cs.restore(CTX, List.of(img), RestoreOpts.LAZY);
            lazy.awaitLoaded();
            rec.stop();
            rec.dump(file);
            eager.spaces().forEach(x -> x.release(CTX));
            lazy.spaces().forEach(x -> x.release(CTX));
            child.release(CTX);
            mm.release(CTX);

            Map<String, List<RecordedEvent>> got = RecordingFile.readAllEvents(file).stream()
                    .collect(Collectors.groupingBy(e -> e.getEventType().getName()));
            assertTrue(got.getOrDefault("memmap.PageFault", List.of()).stream()
                    .anyMatch(e -> e.getLong("address") == shared && e.getString("access").equals(AccessType.WRITE.toString())
                            && !e.getString("backing").equals("anonymous")), "the shared page's fault: " + got.get("memmap.PageFault"));
            assertTrue(got.get("memmap.PageFault").stream().anyMatch(e -> e.getLong("address") == priv && e.getString("backing").equals("anonymous")),
                    "the private page's fault");
            assertTrue(got.getOrDefault("memmap.CopyOnWrite", List.of()).stream()
                    .anyMatch(e -> e.getLong("start") == priv && e.getLong("bytes") == P), "the fork's copy: " + got.get("memmap.CopyOnWrite"));
            assertTrue(got.getOrDefault("memmap.Invalidate", List.of()).stream()
                    .anyMatch(e -> e.getLong("start") == shared && e.getLong("length") == P && !e.getBoolean("invalidatePrivate")),
                    "the invalidation: " + got.get("memmap.Invalidate"));
            RecordedEvent swap1 = got.get("memmap.HotSwap").getFirst();
            assertEquals("anonymous", swap1.getString("kind"));
            assertEquals(anon2.id(), swap1.getString("to"));
            assertEquals(1, swap1.getInt("backings"));
            RecordedEvent ck = got.get("memmap.Checkpoint").getFirst();
            assertEquals(2, ck.getInt("spaces"));
            assertEquals(1, ck.getInt("depth"));
            assertTrue(ck.getLong("pages") >= 1 && ck.getLong("bytes") > 0, ck.toString());
            List<RecordedEvent> restores = got.get("memmap.Restore");
            assertEquals(2, restores.size(), restores.toString());
            assertFalse(restores.get(0).getBoolean("lazy"));
            assertTrue(restores.get(1).getBoolean("lazy"));
            assertEquals(2, restores.get(1).getInt("spaces"));
        }
    }
}
