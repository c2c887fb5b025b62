package memmap.hostfile.internal;

import memmap.posix.FdMappable;
import memmap.posix.MappedFd;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.BufferedIOFallback;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.EndOfFile;
import memmap.api.Errno;
import memmap.api.HostFault;
import memmap.api.InvalidateOpts;
import memmap.api.IoResult;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.Translation;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/** Host files on real temporary files: sharing, privacy, msync, truncation, fallback, confinement, bad input. */
class HostFileProviderTest {
    static final long P = 4096;
    static final Context CTX = Context.background();

    @TempDir
    Path dir;

    static HostFileProvider provider(String root, String... noMmap) {
        return new HostFileProvider(config(root, noMmap), Map.of("component.id", 7L));
    }

    static HostFileProvider.Config config(String root, String... noMmap) {
        return new HostFileProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return HostFileProvider.Config.class;
            }

            @Override
            public String rootDirectory() {
                return root;
            }

            @Override
            public String[] noMmap() {
                return noMmap;
            }
        };
    }

    Path file(String name, int pages, byte fill) throws Exception {
        Path f = dir.resolve(name);
        byte[] b = new byte[(int) (pages * P)];
        java.util.Arrays.fill(b, fill);
        Files.write(f, b);
        return f;
    }

    static Translation translate(Backing b, MappableRange req, MappableRange opt, AccessType at) {
        TranslateResult r = b.mappable().translate(CTX, req, opt, at).requireValid(req, opt, at);
        assertNull(r.error(), () -> "translate error " + r.error());
        return r.translations().get(0);
    }

    static long openDescriptors() throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    static final class Recorder implements MappingSpace {
        final List<AddrRange> ranges = new ArrayList<>();
        final List<InvalidateOpts> opts = new ArrayList<>();

        @Override
        public void invalidate(AddrRange ar, InvalidateOpts o) {
            ranges.add(ar);
            opts.add(o);
        }
    }

    @Test
    void sharedWritesReachTheFileAndAnotherProcessSeesThem() throws Exception {
        Path f = file("shared", 4, (byte) '.');
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, true));
        try {
            b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x14000), 0, true);
            Translation t = translate(b, new MappableRange(P, 2 * P), new MappableRange(0, 4 * P), AccessType.WRITE);
            assertEquals(new MappableRange(0, 4 * P), t.source(), "one translation of all of optional");
            BlockSeq bs = t.file().mapInternal(new memmap.api.FileRange(P, 2 * P), AccessType.WRITE);
            byte[] msg = "written through the mapping".getBytes(StandardCharsets.US_ASCII);
            MemorySegment.copy(msg, 0, bs.head().segment(), ValueLayout.JAVA_BYTE, 0, msg.length);
            assertTrue(bs.head().needSafecopy(), "host file blocks may fault");
            Process cat = new ProcessBuilder("dd", "if=" + f, "bs=4096", "skip=1", "count=1", "status=none").start();
            byte[] seen = cat.getInputStream().readAllBytes();
            assertEquals(0, cat.waitFor());
            assertEquals("written through the mapping", new String(seen, 0, msg.length, StandardCharsets.US_ASCII));
            b.identity().msync(CTX, new MappableRange(0, 4 * P));
            assertEquals("written through the mapping",
                    new String(Files.readAllBytes(f), (int) P, msg.length, StandardCharsets.US_ASCII));
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void aPrivateMappingsReaderCannotWriteTheFile() throws Exception {
        Path f = file("private", 2, (byte) 'a');
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, false));
        try {
            b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x12000), 0, false);
            // A private mapping translates for read and copies on write (what an address space does).
            Translation t = translate(b, new MappableRange(0, P), new MappableRange(0, 2 * P), AccessType.READ);
            Block src = t.file().mapInternal(t.fileRange(), AccessType.READ).head();
            assertThrows(IllegalArgumentException.class, () -> src.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 'X'),
                    "the JDK refuses writes to a read-only segment");
            byte[] copy = new byte[(int) P];
            assertEquals(IoResult.ok(P), Block.copy(Block.ofArray(copy), src.takeFirst(P)));
            copy[0] = 'X';
            assertEquals('a', Files.readAllBytes(f)[0], "the private write did not reach the file");
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void msyncForcesOnlyDirtyRangesAndKeepsWritablyMappedOnesDirty() throws Exception {
        Path f = file("dirty", 8, (byte) 0);
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, true));
        FdMappable m = (FdMappable) b.mappable();
        try {
            translate(b, new MappableRange(0, P), new MappableRange(0, 2 * P), AccessType.READ);
            assertEquals(0, m.dirtyBytes(), "a read translation dirties nothing");
            b.identity().msync(CTX, new MappableRange(0, 8 * P));
            translate(b, new MappableRange(2 * P, 3 * P), new MappableRange(2 * P, 4 * P), AccessType.WRITE);
            assertEquals(2 * P, m.dirtyBytes());
            Recorder ms = new Recorder();
            m.addMapping(CTX, ms, new AddrRange(0x20000, 0x22000), 2 * P, true);
            b.identity().msync(CTX, new MappableRange(0, 8 * P));
            assertEquals(2 * P, m.dirtyBytes(), "still writably mapped: stays dirty");
            m.removeMapping(CTX, ms, new AddrRange(0x20000, 0x22000), 2 * P, true);
            b.identity().msync(CTX, new MappableRange(0, 3 * P));
            assertEquals(P, m.dirtyBytes(), "only the synced part became clean");
            b.identity().msync(CTX, new MappableRange(0, 8 * P));
            assertEquals(0, m.dirtyBytes());
        } finally {
            b.identity().decRef(CTX);
        }
    }

    /** The case: a 2-page dirty range, a writable mapping of its second page only. */
    @Test
    void msyncCleansEachPartNoWritableMappingCanStillChange() throws Exception {
        Path f = file("parts", 4, (byte) 0);
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, true));
        FdMappable m = (FdMappable) b.mappable();
        try {
            translate(b, new MappableRange(0, 2 * P), new MappableRange(0, 2 * P), AccessType.WRITE);
            assertEquals(2 * P, m.dirtyBytes());
            Recorder ms = new Recorder();
            m.addMapping(CTX, ms, new AddrRange(0x40000, 0x41000), P, true); // the second page, writable
            Recorder ro = new Recorder();
            m.addMapping(CTX, ro, new AddrRange(0x50000, 0x52000), 0, false); // both pages, read-only
            b.identity().msync(CTX, new MappableRange(0, 4 * P));
            assertEquals(P, m.dirtyBytes(), "the first page is clean, the writably mapped second stays dirty");
            m.removeMapping(CTX, ms, new AddrRange(0x40000, 0x41000), P, true);
            b.identity().msync(CTX, new MappableRange(0, 4 * P));
            assertEquals(0, m.dirtyBytes());
            m.removeMapping(CTX, ro, new AddrRange(0x50000, 0x52000), 0, false);
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void identityIsThePathDeviceAndInode() throws Exception {
        Path f = file("ident", 1, (byte) 0);
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, false));
        try {
            assertEquals(f.toRealPath().toString(), b.identity().mappedName(CTX));
            assertEquals(((Number) Files.getAttribute(f, "unix:ino")).longValue(), b.identity().inodeId());
            long dev = ((Number) Files.getAttribute(f, "unix:dev")).longValue();
            assertEquals(memmap.posix.Posix.Stat.linuxDeviceId(dev), b.identity().deviceId());
            Backing again = provider("").create(CTX, new BackingRequest.HostFile(f, false));
            assertNotSame(b.mappable(), again.mappable(), "different providers");
            again.identity().decRef(CTX);
        } finally {
            b.identity().decRef(CTX);
        }
        assertEquals((8L << 20) | 1, memmap.posix.Posix.Stat.linuxDeviceId(0x801), "8:1 as major << 20 | minor");
    }

    @Test
    void oneProviderGivesOneCoherentMappablePerFile() throws Exception {
        Path f = file("coherent", 1, (byte) 0);
        HostFileProvider p = provider("");
        Backing a = p.create(CTX, new BackingRequest.HostFile(f, true));
        Path link = dir.resolve("hardlink");
        Files.createLink(link, f);
        Backing b = p.create(CTX, new BackingRequest.HostFile(link, false));
        assertSame(a.mappable(), b.mappable());
        assertEquals(1, p.usage().liveBackings());
        a.identity().decRef(CTX);
        b.identity().decRef(CTX);
        assertEquals(0, p.usage().liveBackings());
    }

    @Test
    void truncationThroughTheProviderInvalidatesPrivatePagesThenTranslateIsABusError() throws Exception {
        Path f = file("trunc", 8, (byte) 1);
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, true));
        FdMappable m = (FdMappable) b.mappable();
        try {
            Recorder ms = new Recorder();
            m.addMapping(CTX, ms, new AddrRange(0x40000, 0x48000), 0, false);
            m.setSize(CTX, 3 * P + 10);
            assertEquals(List.of(new AddrRange(0x44000, 0x48000)), ms.ranges, "pages past the new page-rounded end");
            assertEquals(List.of(InvalidateOpts.PRIVATE), ms.opts);
            assertEquals(3 * P + 10, Files.size(f));
            MappableRange past = new MappableRange(5 * P, 6 * P);
            TranslateResult r = m.translate(CTX, past, past, AccessType.READ).requireValid(past, past, AccessType.READ);
            assertInstanceOf(BusError.class, r.error());
            MappableRange straddle = new MappableRange(3 * P, 5 * P);
            TranslateResult s = m.translate(CTX, straddle, straddle, AccessType.READ).requireValid(straddle, straddle, AccessType.READ);
            assertEquals(new MappableRange(3 * P, 4 * P), s.translations().get(0).source(), "the page holding the end is valid");
            assertInstanceOf(BusError.class, s.error());
            m.setSize(CTX, 8 * P);
            assertNull(m.translate(CTX, past, past, AccessType.READ).error(), "grown again");
            assertThrows(IllegalArgumentException.class, () -> m.setSize(CTX, -1));
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void truncationBehindOurBackIsAFaultNeverACrash() throws Exception {
        Path f = file("behind", 8, (byte) 7);
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(f, true));
        try {
            Translation t = translate(b, new MappableRange(0, 8 * P), new MappableRange(0, 8 * P), AccessType.READ);
            BlockSeq bs = t.file().mapInternal(t.fileRange(), AccessType.READ);
            try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
                raf.setLength(2 * P);
            }
            byte[] dst = new byte[(int) (8 * P)];
            IoResult r = BlockSeq.copy(BlockSeq.of(Block.ofArray(dst)), bs);
            assertEquals(2 * P, r.n());
            assertTrue(assertInstanceOf(HostFault.class, r.error()).bus());
            assertEquals(7, dst[(int) P]);
            assertThrows(InternalError.class, () -> bs.dropFirst(5 * P).head().segment().get(ValueLayout.JAVA_BYTE, 0),
                    "a raw access past the end throws; the JVM lives");
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void whatLinuxCannotMapIsRefusedBeforeAnythingIsMapped() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Path socket = dir.resolve("socket");
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(socket));
            Path sub = Files.createDirectory(dir.resolve("sub"));
            HostFileProvider p = provider("");
            long fds = openDescriptors();
            record Case(Path path, boolean writable, Errno errno, String says) {}
            List<Case> cases = new ArrayList<>(List.of(
                    new Case(fifo, false, Errno.ENODEV, "is a FIFO"),
                    new Case(fifo, true, Errno.ENODEV, "is a FIFO"),
                    new Case(socket, false, Errno.ENODEV, "socket"),
                    new Case(sub, false, Errno.ENODEV, "is a directory"),
                    new Case(sub, true, Errno.EISDIR, "is a directory"),
                    new Case(Path.of("/dev/null"), false, Errno.ENODEV, "is a character device"),
                    new Case(Path.of("/proc/self/status"), false, Errno.ENODEV, "procfs"),
                    new Case(Path.of("/proc/self/maps"), false, Errno.ENODEV, "procfs")));
            if (Files.isReadable(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"))) {
                cases.add(new Case(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"), false, Errno.ENODEV, "sysfs"));
            }
            for (Case c : cases) {
                MemmapException e = assertThrows(MemmapException.class, () -> p.create(CTX, new BackingRequest.HostFile(c.path(), c.writable())),
                        c.toString());
                assertEquals(c.errno(), e.errno(), c + ": " + e.getMessage());
                assertTrue(e.getMessage().contains("path = " + c.path()) && e.getMessage().contains(c.says()), e.getMessage());
            }
            assertEquals(fds, openDescriptors(), "a refusal leaves no descriptor open");
            assertEquals(0, p.usage().liveBackings());
        }
    }

    @Test
    void devZeroMapsAsNewAnonymousMemory() throws Exception {
        Backing b = provider("").create(CTX, new BackingRequest.HostFile(Path.of("/dev/zero"), true));
        try {
            assertEquals(Backing.MapAs.ANONYMOUS, b.mapAs());
            for (boolean priv : new boolean[] {false, true}) {
                memmap.api.MMapOpts asked = memmap.api.MMapOpts.builder().length(P).isPrivate(priv).offset(5 * P)
                        .mappable(b.mappable()).mappingIdentity(b.identity()).build();
                memmap.api.MMapOpts o = b.configure(asked);
                assertNull(o.mappable(), "anonymous memory: the address space makes it (shared or private)");
                assertNull(o.mappingIdentity());
                assertEquals(0, o.offset());
                assertEquals(priv, o.isPrivate());
            }
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void configuredFilesFallBackAndBufferedIoIsPositional() throws Exception {
        Path f = file("nommap.db", 2, (byte) 'q');
        Backing b = provider("", "**/*.db").create(CTX, new BackingRequest.HostFile(f, true));
        try {
            MappedFd file = ((FdMappable) b.mappable()).file();
            assertSame(BufferedIOFallback.INSTANCE,
                    assertThrows(MemmapException.class, () -> file.mapInternal(new memmap.api.FileRange(0, P), AccessType.READ)).error());
            byte[] w = "positional".getBytes(StandardCharsets.US_ASCII);
            assertEquals(IoResult.ok(w.length), file.bufferWriteAt(P + 5, MemorySegment.ofArray(w)));
            byte[] r = new byte[w.length];
            assertEquals(IoResult.ok(w.length), file.bufferReadAt(P + 5, MemorySegment.ofArray(r)));
            assertArrayEquals(w, r);
            byte[] tail = new byte[100];
            IoResult eof = file.bufferReadAt(2 * P - 10, MemorySegment.ofArray(tail));
            assertEquals(new IoResult(10, EndOfFile.INSTANCE), eof, "end of file comes with the bytes done");
            assertEquals(Errno.EINVAL, file.bufferReadAt(-4096, MemorySegment.ofArray(tail)).error(), "negative offset");
            assertEquals(Errno.EINVAL, file.bufferReadAt(Long.MAX_VALUE - 10, MemorySegment.ofArray(tail)).error(), "offset overflow");
        } finally {
            b.identity().decRef(CTX);
        }
    }

    @Test
    void readOnlyFilesMapForReadAndRefuseSharedWritableMappings() throws Exception {
        Path f = file("readonly", 1, (byte) 'r');
        Process p = new ProcessBuilder("chattr", "+i", f.toString()).redirectErrorStream(true).start();
        assumeTrue(p.waitFor() == 0, "this file system supports immutable files (chattr +i) so even root cannot write");
        try {
            HostFileProvider prov = provider("");
            MemmapException e = assertThrows(MemmapException.class, () -> prov.create(CTX, new BackingRequest.HostFile(f, true)));
            assertEquals(Errno.EACCES, e.errno());
            Backing b = prov.create(CTX, new BackingRequest.HostFile(f, false));
            try {
                // Linux: a shared read-only mapping of it is fine, it just never becomes writable.
                assertEquals(Backing.MapAs.READ_ONLY, b.mapAs());
                memmap.api.MMapOpts shared = b.configure(memmap.api.MMapOpts.builder().length(P).perms(AccessType.READ).build());
                assertEquals(AccessType.READ_EXECUTE, shared.maxPerms(), "no VM_MAYWRITE");
                assertSame(b.mappable(), shared.mappable());
                assertEquals(Errno.EACCES, assertThrows(MemmapException.class,
                        () -> b.configure(memmap.api.MMapOpts.builder().length(P).perms(AccessType.READ_WRITE).build())).errno());
                memmap.api.MMapOpts priv = b.configure(memmap.api.MMapOpts.builder().length(P).isPrivate(true).perms(AccessType.READ_WRITE).build());
                assertEquals(AccessType.ANY_ACCESS, priv.maxPerms(), "a private mapping may be written: its writes are copies");
                Translation t = translate(b, new MappableRange(0, P), new MappableRange(0, P), AccessType.READ);
                assertEquals(AccessType.READ_EXECUTE, t.perms());
                assertEquals('r', t.file().mapInternal(t.fileRange(), AccessType.READ).head().segment().get(ValueLayout.JAVA_BYTE, 0));
                MemmapException w = assertThrows(MemmapException.class,
                        () -> b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x11000), 0, true));
                assertEquals(Errno.EACCES, w.errno());
                assertEquals(Errno.EACCES, b.mappable().translate(CTX, new MappableRange(0, P), new MappableRange(0, P), AccessType.WRITE).error());
            } finally {
                b.identity().decRef(CTX);
            }
        } finally {
            new ProcessBuilder("chattr", "-i", f.toString()).start().waitFor();
        }
    }

    @Test
    void confinementRefusesEveryEscape() throws Exception {
        Path root = Files.createDirectory(dir.resolve("root"));
        Path inside = Files.write(root.resolve("in"), new byte[(int) P]);
        Path outside = file("outside", 1, (byte) 0);
        Files.createSymbolicLink(root.resolve("escape"), outside);
        Files.createSymbolicLink(root.resolve("ok"), inside);
        HostFileProvider p = provider(root.toString());
        long fds = openDescriptors();
        for (Path bad : List.of(Path.of("../outside"), outside, Path.of("escape"), Path.of("sub/../../outside"))) {
            MemmapException e = assertThrows(MemmapException.class, () -> p.create(CTX, new BackingRequest.HostFile(bad, false)),
                    "path " + bad);
            assertTrue(e.errno().equals(Errno.EACCES) || e.errno().equals(Errno.ENOENT), bad + ": " + e.getMessage());
        }
        MemmapException refused = assertThrows(MemmapException.class,
                () -> p.create(CTX, new BackingRequest.HostFile(Path.of("escape"), false)));
        assertEquals(Errno.EACCES, refused.errno());
        assertEquals("EACCES: path = escape leaves the root directory", refused.getMessage(),
                "the caller's own path, nothing of what lies outside");
        assertEquals(fds, openDescriptors(), "nothing opened for refused paths");
        Backing in = p.create(CTX, new BackingRequest.HostFile(Path.of("in"), false));
        Backing viaLink = p.create(CTX, new BackingRequest.HostFile(Path.of("ok"), false));
        assertSame(in.mappable(), viaLink.mappable(), "a link inside the root is fine");
        Backing absolute = p.create(CTX, new BackingRequest.HostFile(inside, false));
        assertSame(in.mappable(), absolute.mappable());
        in.identity().decRef(CTX);
        viaLink.identity().decRef(CTX);
        absolute.identity().decRef(CTX);
        var e = assertThrows(IllegalArgumentException.class, () -> provider(dir.resolve("missing").toString()));
        assertTrue(e.getMessage().startsWith("rootDirectory = "), e.getMessage());
    }

    @Test
    void badInputLeavesNothingOpen() throws Exception {
        Path f = file("bad", 2, (byte) 0);
        HostFileProvider p = provider("");
        long fds = openDescriptors();
        assertEquals(Errno.ENOENT, assertThrows(MemmapException.class,
                () -> p.create(CTX, new BackingRequest.HostFile(dir.resolve("missing"), false))).errno());
        assertThrows(MemmapException.class, () -> p.create(CTX, new BackingRequest.HostFile(dir, false)), "a directory");
        assertThrows(IllegalArgumentException.class, () -> p.create(CTX, new BackingRequest.Anonymous(P)));
        assertEquals(fds, openDescriptors(), "no descriptor left behind");
        Backing b = p.create(CTX, new BackingRequest.HostFile(f, true));
        assertEquals(fds + 1, openDescriptors());
        var e = assertThrows(IllegalArgumentException.class,
                () -> b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x10800), 0, true));
        assertTrue(e.getMessage().startsWith("ar = "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x11000), 0x10, true));
        assertTrue(e.getMessage().startsWith("offset = 0x10"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> b.mappable().addMapping(CTX, new Recorder(), new AddrRange(0x10000, 0x12000), -0x1000L, true));
        MappableRange huge = new MappableRange(-0x2000L, -0x1000L);
        assertInstanceOf(BusError.class, b.mappable().translate(CTX, huge, huge, AccessType.READ).error(), "far past the end");
        b.identity().decRef(CTX);
        assertEquals(fds, openDescriptors(), "the descriptor closes with the last reference");
    }

    @Test
    void aReleasedProviderOpensNothingButItsFilesLive() throws Exception {
        Path f = file("live", 1, (byte) 'l');
        HostFileProvider p = provider("");
        Backing b = p.create(CTX, new BackingRequest.HostFile(f, false));
        p.deactivate();
        assertThrows(IllegalStateException.class, () -> p.create(CTX, new BackingRequest.HostFile(f, false)));
        Translation t = translate(b, new MappableRange(0, P), new MappableRange(0, P), AccessType.READ);
        assertEquals('l', t.file().mapInternal(t.fileRange(), AccessType.READ).head().segment().get(ValueLayout.JAVA_BYTE, 0));
        Backing adopted = provider("").adopt(CTX, b);
        assertEquals(b.identity().inodeId(), adopted.identity().inodeId());
        adopted.identity().decRef(CTX);
        b.identity().decRef(CTX);
    }

    @Test
    void configurationChangesApplyLiveAndABadRootKeepsTheServingOne() throws Exception {
        Path root = Files.createDirectory(dir.resolve("cfg-root"));
        Files.write(root.resolve("in"), new byte[(int) P]);
        Path outside = file("cfg-outside", 1, (byte) 0);
        HostFileProvider p = new HostFileProvider(Map.of("component.id", 3L, "rootDirectory", root.toString()));
        try {
            assertEquals(root.toRealPath(), p.root());
            List<String> r = p.apply(Map.of("rootDirectory", dir.resolve("missing").toString(), "noMmap", "[unclosed"));
            assertEquals(2, r.size(), r.toString());
            assertTrue(r.get(0).startsWith("memmap.hostfile: rootDirectory = \"" + dir.resolve("missing") + "\" rejected: cannot be opened"),
                    r.get(0));
            assertTrue(r.get(1).startsWith("memmap.hostfile: noMmap = \"[unclosed\" rejected: not a glob"), r.get(1));
            assertEquals(root.toRealPath(), p.root(), "the root serving goes on confining");
            assertEquals(Errno.EACCES, assertThrows(MemmapException.class,
                    () -> p.create(CTX, new BackingRequest.HostFile(outside, false))).errno());
            p.create(CTX, new BackingRequest.HostFile(Path.of("in"), false)).identity().decRef(CTX);
            assertEquals(List.of(), p.apply(Map.of()));
            assertNull(p.root(), "a deleted configuration confines nothing, as the default");
            p.create(CTX, new BackingRequest.HostFile(outside, false)).identity().decRef(CTX);
        } finally {
            p.deactivate();
        }
    }

    @Test
    void aRootThatCannotBeOpenedAtActivationRefusesEveryOpenRatherThanConfiningNothing() throws Exception {
        Path f = file("anything", 1, (byte) 0);
        HostFileProvider p = new HostFileProvider(Map.of("component.id", 4L, "rootDirectory", dir.resolve("missing").toString()));
        MemmapException e = assertThrows(MemmapException.class, () -> p.create(CTX, new BackingRequest.HostFile(f, false)));
        assertEquals(Errno.EACCES, e.errno());
        assertTrue(e.getMessage().contains("no file can be opened: rootDirectory = ") && e.getMessage().contains("cannot be opened as a directory"), e.getMessage());
        p.deactivate();
    }
}
