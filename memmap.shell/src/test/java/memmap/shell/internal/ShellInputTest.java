package memmap.shell.internal;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.hostfile.internal.HostFileProvider;
import memmap.mm.internal.Backings;
import memmap.shm.internal.ShmProvider;

/**
 * Every shell command fed the classic bad values through a real Gogo command processor, with
 * real anonymous, host-file and shared-memory providers (segments in a directory of this
 * test's own, as they would be in /dev/shm): each refusal names the argument and the value,
 * and leaves maps, usage, the segment directory and the open descriptors as they were. Then
 * what may be mapped, end to end: UTF-8 text, /dev/zero, a read-only file shared read-only.
 */
class ShellInputTest {

    @TempDir
    Path dir;
    Path shmDir;
    MemfdMemoryFile mf;
    Shell shell;
    MemmapCommands commands;

    @BeforeEach
    void setUp() throws Exception {
        shmDir = Files.createDirectory(dir.resolve("shm"));
        mf = new MemfdMemoryFile("shell-input-test", 2L << 20, 1L << 30, 0, false);
        // The providers as DS makes them: from their configuration properties.
        AnonymousProvider anon = new AnonymousProvider(mf, Map.of("component.id", 1L, "fillAhead", 16384L, "populate", false));
        HostFileProvider files = new HostFileProvider(Map.of("component.id", 2L));
        ShmProvider shm = new ShmProvider(mf, Map.of("component.id", 3L, "posixDirectory", shmDir.toString(), "shmMni", 64L));
        memmap.mm.internal.ProviderSwap swap = new memmap.mm.internal.ProviderSwap();
        Backings backings = Backings.swapping(swap, () -> mf, () -> List.of(anon, files, shm), () -> shm, () -> null);
        shell = new Shell(backings, dir, new memmap.mm.internal.CheckpointService(backings, swap));
        commands = shell.commands;
        commands.posixShms = List.of(shm);
        commands.sysvs = List.of(shm);
    }

    @AfterEach
    void tearDown() {
        shell.close();
        mf.release();
    }

    Shell.Ran run(String... lines) throws Exception {
        return shell.run(lines);
    }

    /** What must not change when a command is refused. */
    record State(String maps, String spaces, TreeSet<String> segments, long descriptors) {}

    State state() throws Exception {
        try (var s = Files.list(shmDir); var fds = Files.list(Path.of("/proc/self/fd"))) {
            TreeSet<String> segs = new TreeSet<>();
            s.forEach(p -> segs.add(p.getFileName().toString()));
            return new State(commands.maps("1"), commands.spaces(), segs, fds.count());
        }
    }

    @Test
    void everyBadValueIsRefusedNamingItAndChangesNothing() throws Exception {
        Files.write(dir.resolve("data"), new byte[8192]);
        Files.write(shmDir.resolve("existing"), new byte[0]);
        assertEquals(0, run("space", "mmap 1 16K").status());
        long a = 0x7ffff7ffb000L; // where the setup mapping is
        String file = dir.resolve("data").toString();
        // One row per case: the command line, then what the error must say (argument and value).
        String[][] cases = {
            {"read 1 " + a + " 18446744073709551615", "length = 18446744073709551615 is more than 1 MiB"},
            {"read 1 " + a + " 0x8000000000000000", "length = 0x8000000000000000 is more than 1 MiB"},
            {"read 1 A 16", "addr = A is not a number"},
            {"read 1 " + a + " -1", "length = -1 is not a number"},
            {"read 2 " + a + " 1", "space = 2 is not an open address space"},
            {"read x " + a + " 1", "space = x is not a number"},
            {"mmap --offset garbage --file " + file + " 1 4K", "offset = garbage is not a number"},
            {"mmap --offset garbage 1 4K", "offset = garbage is not a number"},
            {"mmap --offset 4096 1 4K", "--offset = 4096 is for --file or --shm"},
            {"mmap --file \"\" 1 4K", "--file = \"\" is empty"},
            {"mmap --shm \"\" 1 4K", "--shm = \"\" is empty"},
            {"mmap --shm NEW --create --offset 1 1 4K", "--offset = 1 is not a multiple of the page size"},
            {"mmap --shm NEW2 --create --offset 0xfffffffffffff000 1 8K", "overflows 64 bits"},
            {"mmap --shm MISSING 1 4K", "ENOENT: --shm = MISSING: no such segment (--create makes it)"},
            {"mmap --create 1 4K", "--create is for --shm"},
            {"mmap --file " + file + " --shm existing 1 4K", "map one or the other"},
            {"mmap --file " + dir.resolve("missing") + " 1 4K", "ENOENT: path = " + dir.resolve("missing") + " does not exist"},
            {"mmap --file " + dir + " 1 4K", "EISDIR: path = " + dir + " is a directory"},
            {"mmap --perms r --file " + dir + " 1 4K", "ENODEV: path = " + dir + " is a directory"},
            {"mmap 1 0", "length = 0: a mapping has at least one byte"},
            {"mmap 1 0xffffffffffffffff", "length = 0xffffffffffffffff with offset = 0 overflows 64 bits"},
            {"mmap 1 9223372036854775808", "ENOMEM"},
            {"mmap 1 17179869184G", "length = 17179869184G overflows 64 bits"},
            {"mmap --perms rwz 1 4K", "perms = rwz"},
            {"mmap --perms \"\" 1 4K", "perms = "},
            {"mprotect 1 " + (a + 1) + " 4096 r", "EINVAL"},
            {"mprotect 1 " + a + " 4096 q", "perms = q"},
            {"munmap 1 " + a + " 0", "EINVAL: length = 0"},
            {"munmap 1 0x1001 4096", "EINVAL: addr = 0x1001 is not page-aligned"},
            {"msync 1 " + (a + 1) + " 4096", "EINVAL"},
            {"write 1 0x1000 héllo€", "EFAULT"},
            {"write --hex 1 " + a + " abc", "data = abc is not an even number of hex digits"},
            {"write --hex 1 " + a + " zz", "data = zz is not an even number of hex digits"},
            {"madvise 1 " + a + " 4096 banana", "advice = banana is not an advice (normal, random"},
            {"mremap --to zz 1 " + a + " 4K 8K", "--to = zz is not a number"},
            {"mremap 1 " + a + " 4K 1024G", "ENOMEM"},
            {"mlock 1 " + a + " 1024G", "ENOMEM"},
            {"fork 9", "space = 9 is not an open address space"},
            {"shmget --mode 9 0 4K", "--mode = 9 is not octal permission bits"},
            {"shmget --mode 1777 0 4K", "--mode = 1777 has bits beyond 0777"},
            {"shmget --excl 0 4K", "--excl is for --create"},
            {"shmget 0x100000000 4K", "key = 0x100000000 does not fit 32 bits"},
            {"shmat 1 -1", "id = -1"},
            {"shmctl 12345 stat", "EINVAL"},
            {"shmctl 1 explode", "cmd = explode is not stat or rmid"},
            {"brk 1 banana", "addr = banana is not a number"},
            {"brk --setup 1 0x1001", "EINVAL: addr = 0x1001 is not page-aligned"},
            {"mincore 1 " + (a + 1) + " 4096", "EINVAL"},
            {"pin 1 " + a + " 0", "EINVAL: length = 0"},
            {"pin 1 0x1000 4096", "EFAULT"},
            {"unpin 3", "view = 3 is not an open pinned view"},
            {"read --force 1 0x1000 4", "EFAULT"},
        };
        for (String[] c : cases) {
            State before = state();
            Shell.Ran r = run(c[0]);
            assertEquals(1, r.status(), c[0] + " was refused\n" + r.out());
            String said = r.out().lines().filter(l -> !l.startsWith("memmap> ")).collect(java.util.stream.Collectors.joining("\n"));
            assertTrue(said.contains(c[1]), c[0] + ": the error says \"" + c[1] + "\"\n" + r.out());
            assertFalse(r.out().contains("Exception"), c[0] + ": one clear line, no exception name\n" + r.out());
            assertEquals(before, state(), c[0] + " changed nothing (maps, usage, segments, descriptors)");
        }
        assertFalse(Files.exists(shmDir.resolve("NEW")), "a refused --create leaves no segment behind");
        assertFalse(Files.exists(shmDir.resolve("MISSING")), "without --create nothing is created");
    }

    @Test
    void systemVSegmentsThroughTheCommands() throws Exception {
        Shell.Ran r = run("space", "shmget --create --mode 640 0x5eed 8K");
        assertEquals(0, r.status(), r.out());
        String id = r.out().lines().filter(l -> l.startsWith("shmid ")).findFirst().orElseThrow().substring(6).strip();
        String at = commands.shmat(false, "1", id);
        assertTrue(commands.shmctl(id, "stat").matches("shmid " + id + " key 0x00005eed owner \\d+ perms 640 bytes 8192 nattch 1"),
                commands.shmctl(id, "stat"));
        assertEquals("wrote 2", commands.write(false, false, "1", at, "hi"));
        commands.shmdt("1", at);
        assertTrue(commands.shmctl(id, "stat").endsWith("nattch 0"), commands.shmctl(id, "stat"));
        assertEquals("", commands.shmctl(id, "rmid"));
        assertFalse(commands.ipcs().contains("0x00005eed"), commands.ipcs());
    }

    @Test
    void textIsUtf8BothWays() throws Exception {
        Shell.Ran r = run("space", "mmap 1 4K", "write 1 0x7ffff7ffe000 héllo€", "read --text 1 0x7ffff7ffe000 9",
                "read 1 0x7ffff7ffe000 9");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("wrote 9"), "é is 2 bytes and € 3 in UTF-8: " + r.out());
        assertTrue(r.out().contains("héllo€"), r.out());
        assertTrue(r.out().contains("68 c3 a9 6c 6c 6f e2 82 ac"), r.out());
    }

    @Test
    void shmCreateMakesASegmentSizedToTheMappingAndWithoutItTheNameMustExist() throws Exception {
        Shell.Ran r = run("space", "mmap --shm seg --create 1 8K", "write 1 0x7ffff7ffd000 shared", "mmap --shm seg 1 8K",
                "read --text 1 0x7ffff7ffb000 6");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().endsWith("shared\nok\n") || r.out().contains("\nshared\n"), "the second mapping sees the first's write: " + r.out());
        assertEquals(8192, Files.size(shmDir.resolve("seg")), "created sized to offset + length");
        Shell.Ran again = run("mmap --shm seg --create 1 4K");
        assertEquals(0, again.status(), "an existing segment is opened, not recreated: " + again.out());
        assertEquals(8192, Files.size(shmDir.resolve("seg")), "nor resized");
    }

    @Test
    void devZeroIsAnonymousMemoryNewForEachMapping() throws Exception {
        Shell.Ran r = run("space", "mmap --file /dev/zero 1 8K", "mmap --file /dev/zero 1 8K", "write 1 0x7ffff7ffd000 first",
                "read --text 1 0x7ffff7ffb000 5", "read 1 0x7ffff7ffb000 5", "mmap --private --file /dev/zero 1 4K",
                "write 1 0x7ffff7ffa000 private", "read --text 1 0x7ffff7ffa000 7");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("00 00 00 00 00"), "two shared mappings of /dev/zero do not share: " + r.out());
        assertTrue(r.out().contains("\nprivate\n"), r.out());
    }

    @Test
    void aFileThatCannotBeOpenedForWritingMapsSharedReadOnly() throws Exception {
        Path f = dir.resolve("immutable");
        Files.writeString(f, "read only bytes");
        assumeTrue(new ProcessBuilder("chattr", "+i", f.toString()).start().waitFor() == 0,
                "chattr +i works here (even root cannot open the file for writing)");
        try {
            Shell.Ran r = run("space", "mmap --perms r --file " + f + " 1 4K", "read --text 1 0x7ffff7ffe000 15");
            assertEquals(0, r.status(), r.out());
            assertTrue(r.out().contains("read only bytes"), r.out());
            Shell.Ran w = run("mprotect 1 0x7ffff7ffe000 4096 rw");
            assertEquals(1, w.status());
            assertTrue(w.out().contains("EACCES"), "never writable: " + w.out());
            Shell.Ran shared = run("mmap --perms rw --file " + f + " 1 4K");
            assertEquals(1, shared.status());
            assertTrue(shared.out().contains("EACCES: path = " + f + " cannot be opened for writing"), shared.out());
            Shell.Ran priv = run("mmap --private --perms rw --file " + f + " 1 4K", "write 1 0x7ffff7ffd000 copy",
                    "read --text 1 0x7ffff7ffd000 9");
            assertEquals(0, priv.status(), "a private mapping may be written; the file is not: " + priv.out());
            assertTrue(priv.out().contains("copy only"), priv.out());
            assertEquals("read only bytes", Files.readString(f));
        } finally {
            new ProcessBuilder("chattr", "-i", f.toString()).start().waitFor();
        }
    }
    /** checkpoint and restore in the shell: a full image and an incremental one, restored as a chain; every refusal names its argument. */
    @Test
    void checkpointAndRestoreFromTheShell() throws Exception {
        Path full = dir.resolve("full.img");
        Path inc = dir.resolve("inc.img");
        Shell.Ran r = run("space", "mmap --private 1 8K", "write 1 0x7ffff7ffd000 hello", "fork 1", "write 2 0x7ffff7ffe000 child",
                "checkpoint " + full, "write 1 0x7ffff7ffd000 HELLO", "checkpoint --incremental " + inc,
                "restore " + full + " " + inc, "read --text 3 0x7ffff7ffd000 5", "read --text 4 0x7ffff7ffe000 5", "restore --lazy " + full,
                "read --text 5 0x7ffff7ffd000 5", "spaces");
        assertEquals(0, r.status(), r.out());
        assertTrue(r.out().contains("memmap> read --text 3 0x7ffff7ffd000 5\nHELLO\n"), "the chain's last write:\n" + r.out());
        assertTrue(r.out().contains("memmap> read --text 4 0x7ffff7ffe000 5\nchild\n"), "the fork's page:\n" + r.out());
        assertTrue(r.out().contains("memmap> read --text 5 0x7ffff7ffd000 5\nhello\n"), "the full image alone, lazily:\n" + r.out());
        for (String want : new String[] {"checkpoint " + full + ": spaces [1, 2], depth 1", "checkpoint " + inc + ": spaces [1, 2], depth 2",
                "restored " + full + " " + inc + ": spaces [3, 4]", "restored " + full + ": spaces [5, 6], ",
                "bytes loading in the background"}) {
            assertTrue(r.out().contains(want), "missing <" + want + "> in\n" + r.out());
        }
        String maps1 = run("maps 1").out();
        String maps3 = run("maps 3").out();
        assertEquals(maps1.substring(maps1.indexOf('\n')), maps3.substring(maps3.indexOf('\n')), "the restored space's maps");
        assertTrue(maps1.contains("rw-p"), maps1);
        for (String[] bad : new String[][] {
                {"checkpoint " + full, "file = " + full + " exists"},
                {"checkpoint " + dir.resolve("x.img") + " 9", "9"},
                {"checkpoint " + dir.resolve("x.img") + " 1 1", "space 1 is named twice"},
                {"checkpoint --incremental " + dir.resolve("y.img") + " 1", "the last checkpoint saved other spaces"},
                {"restore", "no image file"},
                {"restore " + inc, "incremental image"},
                {"restore " + dir.resolve("missing.img"), "cannot be opened"}}) {
            Shell.Ran b = run(bad[0]);
            assertEquals(1, b.status(), bad[0] + ":\n" + b.out());
            assertTrue(b.out().contains(bad[1]), bad[0] + ": missing <" + bad[1] + "> in\n" + b.out());
        }
        assertFalse(Files.exists(dir.resolve("x.img")), "a refused checkpoint leaves no file");
        // A System V segment's id is its own: restoring it where the id is taken is refused, and nothing is made.
        Path sysv = dir.resolve("sysv.img");
        assertEquals(0, run("shmget --create 0x1234 4K", "shmat 1 1", "checkpoint " + sysv + " 1").status());
        String before = run("spaces").out();
        Shell.Ran taken = run("restore " + sysv);
        assertEquals(1, taken.status(), taken.out());
        assertTrue(taken.out().contains("id = 1 is already used here"), taken.out());
        assertEquals(before, run("spaces").out(), "no space made");
    }
}
