package memmap.hostfile.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.posix.Beneath;
import memmap.posix.FdMappable;

/**
 * The root directory holds while a renamer thread swaps a directory on the path with a
 * symbolic link pointing outside ({@code renameat2(RENAME_EXCHANGE)}, atomically, as fast as it
 * can): every open of {@code d/f} either reads the file inside or is refused with EACCES, never
 * the file outside. Before opening beneath the root's descriptor, the provider checked the real
 * path and then opened it by name, and read the outside file hundreds of times in 100,000 opens.
 *
 * <p>Runs until both outcomes have been seen many times (bounded), for openat2 and for the
 * openat walk, with an absolute and a relative link.
 */
class ConfinementRaceTest {
    static final Context CTX = Context.background();
    static final int RENAME_EXCHANGE = 2;
    static final MethodHandle RENAMEAT2 = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("renameat2").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    static final int AT_FDCWD = -100;

    @TempDir
    Path dir;

    static void exchange(Arena a, MemorySegment x, MemorySegment y) throws Throwable {
        int rc = (int) RENAMEAT2.invokeExact(AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE);
        assertEquals(0, rc, "renameat2(RENAME_EXCHANGE)");
    }

    @ParameterizedTest(name = "walk only {0}, absolute link {1}")
    @CsvSource({"false, true", "false, false", "true, true", "true, false"})
    void aRacingRenameNeverOpensAnythingOutsideTheRoot(boolean walkOnly, boolean absoluteLink) throws Throwable {
        Path root = Files.createDirectory(dir.resolve("root"));
        Path outside = Files.createDirectory(dir.resolve("outside"));
        Files.writeString(outside.resolve("f"), "OUTSIDE");
        Files.createDirectory(root.resolve("d"));
        Files.writeString(root.resolve("d/f"), "inside!");
        Files.createSymbolicLink(root.resolve("l"), absoluteLink ? outside : Path.of("../outside"));
        HostFileProvider p = new HostFileProvider(HostFileProviderTest.config(root.toString()), Map.of("component.id", 9L),
                walkOnly);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> renamerFailed = new AtomicReference<>();
        AtomicLong swaps = new AtomicLong();
        CountDownLatch started = new CountDownLatch(1);
        Thread renamer = new Thread(() -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment d = a.allocateFrom(root.resolve("d").toString());
                MemorySegment l = a.allocateFrom(root.resolve("l").toString());
                started.countDown();
                while (!stop.get()) {
                    exchange(a, d, l);
                    swaps.incrementAndGet();
                }
            } catch (Throwable t) {
                renamerFailed.set(t);
                started.countDown();
            }
        }, "renamer");
        renamer.start();
        assertTrue(started.await(30, TimeUnit.SECONDS), "the renamer started");
        long inside = 0;
        long refused = 0;
        long escapes = 0;
        long opens = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try {
            // Until both outcomes are common (the race really ran), or a bound on a crawling machine.
            while ((inside < 500 || refused < 500 || opens < 5_000) && System.nanoTime() < deadline && renamerFailed.get() == null) {
                opens++;
                Backing b;
                try {
                    b = p.create(CTX, new BackingRequest.HostFile(Path.of("d/f"), false));
                } catch (MemmapException e) {
                    // EACCES: d was the link. ENOENT: the path was looked up mid-exchange.
                    assertTrue(e.errno().equals(Errno.EACCES) || e.errno().equals(Errno.ENOENT), e.getMessage());
                    assertFalse(e.getMessage().contains(outside.toString()), "the refusal names nothing outside: " + e.getMessage());
                    refused++;
                    continue;
                }
                try {
                    byte[] got = new byte[7];
                    IoResult r = ((FdMappable) b.mappable()).file().bufferReadAt(0, MemorySegment.ofArray(got));
                    assertEquals(7, r.n());
                    String text = new String(got, StandardCharsets.US_ASCII);
                    if (text.equals("OUTSIDE")) {
                        escapes++;
                    } else {
                        assertEquals("inside!", text);
                        inside++;
                    }
                } finally {
                    b.identity().decRef(CTX);
                }
            }
        } finally {
            stop.set(true);
            renamer.join();
            p.deactivate();
        }
        assertNull(renamerFailed.get(), "the renamer ran");
        assertEquals(0, escapes, "opens that read the file outside the root, of " + opens + " (" + swaps.get() + " swaps)");
        assertTrue(inside > 0 && refused > 0, "both outcomes seen: inside " + inside + ", refused " + refused + " of " + opens);
        if (!walkOnly) {
            System.out.println("openat2 in use: " + Beneath.usesOpenat2());
        }
        System.out.printf("walk only %s, absolute link %s: %d opens, %d inside, %d refused, %d escapes, %d swaps%n", walkOnly,
                absoluteLink, opens, inside, refused, escapes, swaps.get());
    }
}
