package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.Checkpoints;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;

/** The Checkpoints service inside Felix: an address space with a fork and shared memory saved, then made again from the image. */
class CheckpointServiceTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    @Test
    void aForkedSpaceWithSharedMemoryRoundTripsThroughTheService() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Checkpoints checkpoints = Framework.await(Checkpoints.class, null);
        AddressSpace as = Framework.space(spaces);
        long a = as.mmap(CTX, MMapOpts.builder().length(16 * P).perms(AccessType.READ_WRITE).isPrivate(true).build());
        Backing shared = spaces.backing(CTX, new BackingRequest.Anonymous(4 * P));
        long s = as.mmap(CTX, shared.configure(MMapOpts.builder().length(4 * P).perms(AccessType.READ_WRITE).isPrivate(false).build()));
        shared.identity().decRef(CTX);
        assertEquals(IoResult.ok(5), as.write(CTX, a + P, MemorySegment.ofArray("hello".getBytes())));
        assertEquals(IoResult.ok(6), as.write(CTX, s, MemorySegment.ofArray("shared".getBytes())));
        AddressSpace child = as.fork(CTX);
        assertEquals(IoResult.ok(5), child.write(CTX, a + P, MemorySegment.ofArray("child".getBytes())));
        Path image = Files.createTempFile("memmap-itest", ".img");
        CheckpointResult r;
        try (FileChannel fc = FileChannel.open(image, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            r = checkpoints.checkpoint(CTX, List.of(as, child), fc, CheckpointOpts.FULL);
        }
        assertEquals(1, r.depth());
        assertTrue(r.pages() >= 3, r.toString());
        String maps = as.maps(CTX);
        child.release(CTX);
        Restored back = checkpoints.restore(CTX, List.of(image), RestoreOpts.EAGER);
        try {
            AddressSpace as2 = back.spaces().get(0);
            AddressSpace child2 = back.spaces().get(1);
            byte[] got = new byte[5];
            assertEquals(IoResult.ok(5), as2.read(CTX, a + P, MemorySegment.ofArray(got)));
            assertEquals("hello", new String(got));
            assertEquals(IoResult.ok(5), child2.read(CTX, a + P, MemorySegment.ofArray(got)));
            assertEquals("child", new String(got));
            assertEquals(IoResult.ok(5), child2.write(CTX, s + 8, MemorySegment.ofArray("again".getBytes())));
            assertEquals(IoResult.ok(5), as2.read(CTX, s + 8, MemorySegment.ofArray(got)));
            assertEquals("again", new String(got), "the restored spaces share their shared memory");
            assertEquals(maps.lines().count(), as2.maps(CTX).lines().count());
        } finally {
            back.spaces().forEach(x -> x.release(CTX));
            Files.delete(image);
        }
    }
}
