package memmap.shell.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.MemmapException;
import memmap.mm.internal.Backings;

/** The commands through a real Gogo command processor, on real address spaces and a real memfd. */
class MemmapCommandsTest {
    @TempDir
    Path dir;

    MemfdMemoryFile mf;
    Shell shell;
    MemmapCommands commands;

    @BeforeEach
    void setUp() throws MemmapException {
        mf = new MemfdMemoryFile("shell-test", 2L << 20, 1L << 30, 0, false);
        AnonymousProvider anon = new AnonymousProvider(mf, Map.of("component.id", 1L, "fillAhead", 16384L, "populate", false));
        shell = new Shell(Backings.of(mf, anon), dir);
        commands = shell.commands;
    }

    @AfterEach
    void tearDown() {
        shell.close();
        mf.release();
    }

    Shell.Ran script(String... lines) throws Exception {
        return shell.run(lines);
    }

    @Test
    void aScriptMapsWritesReadsAndPrintsMaps() throws Exception {
        Shell.Ran r = script("# comment", "space", "mmap 1 8K", "write 1 0x7ffff7ffd000 hello", "read --text 1 0x7ffff7ffd000 5",
                "write --hex 1 0x7ffff7ffe010 \"de ad be ef\"", "read 1 0x7ffff7ffe010 4", "mprotect 1 0x7ffff7ffd000 4096 r",
                "maps 1", "spaces", "munmap 1 0x7ffff7ffd000 8K", "release 1");
        assertEquals(0, r.status(), r.out());
        String[] expected = {
            "memmap> space", "space 1",
            "memmap> mmap 1 8K", "0x7ffff7ffd000", // top-down, ending at the top of the mmap area
            "memmap> write 1 0x7ffff7ffd000 hello", "wrote 5",
            "memmap> read --text 1 0x7ffff7ffd000 5", "hello",
            "memmap> read 1 0x7ffff7ffe010 4", "de ad be ef",
            "7ffff7ffd000-7ffff7ffe000 r--s 00000000 00:01",
            "7ffff7ffe000-7ffff7fff000 rw-s 00001000 00:01",
            "    1           8192           8192",
            "memmap> release 1", "released 1",
            "ok"};
        int from = 0;
        for (String e : expected) {
            int at = r.out().indexOf(e, from);
            assertTrue(at >= 0, "missing, or out of order: " + e + "\n" + r.out());
            from = at + e.length();
        }
        assertFalse(r.out().contains("memmap> # comment"), "comments are skipped");
        assertEquals(0, commands.openSpaces());
    }

    /** The rest of the address space's calls, through real Gogo: fork, mremap, mlock, madvise, brk, mincore, smaps, forced I/O, pins. */
    @Test
    void aScriptForksRemapsLocksAdvisesMovesTheBreakAndPins() throws Exception {
        Shell.Ran r = script("space", "mmap --private 1 8K", "write 1 0x7ffff7ffd000 hello", "fork 1",
                "write 2 0x7ffff7ffd000 HELLO", "read --text 1 0x7ffff7ffd000 5", "read --text 2 0x7ffff7ffd000 5",
                "mremap --may-move 1 0x7ffff7ffd000 8K 16K", "mlock 1 0x7ffff7ffd000 4K", "munlock 1 0x7ffff7ffd000 4K",
                "madvise 1 0x7ffff7ffd000 4K dontneed", "mincore 2 0x7ffff7ffd000 8K",
                "mprotect 2 0x7ffff7ffd000 8K -", "read --force --text 2 0x7ffff7ffd000 5", "write --force 2 0x7ffff7ffd000 ptrace",
                "brk --setup 1 0x555555554000", "brk 1 0x555555556010", "maps 1", "write 1 0x555555556008 heap", "read --text 1 0x555555556008 4",
                "pin --write 1 0x555555554000 8K", "pins", "munmap 1 0x555555554000 12K", "pins", "unpin 1", "smaps 1");
        assertEquals(0, r.status(), r.out());
        String[] expected = {
            "memmap> fork 1", "space 2",
            "memmap> read --text 1 0x7ffff7ffd000 5", "hello",
            "memmap> read --text 2 0x7ffff7ffd000 5", "HELLO",
            "memmap> mincore 2 0x7ffff7ffd000 8K", "11",
            "memmap> read --force --text 2 0x7ffff7ffd000 5", "HELLO",
            "memmap> write --force 2 0x7ffff7ffd000 ptrace", "wrote 6",
            "memmap> brk 1 0x555555556010", "heap 0x555555554000-0x555555556010",
            "555555554000-555555557000 rw-p 00000000 00:00 0", "[heap]",
            "memmap> read --text 1 0x555555556008 4", "heap",
            "memmap> pin --write 1 0x555555554000 8K", "view 1 [0x555555554000, 0x555555556000) in 1 pieces",
            "live", "stale",
            "memmap> unpin 1", "unpinned 1",
            "Rss:"};
        int from = 0;
        for (String e : expected) {
            int at = r.out().indexOf(e, from);
            assertTrue(at >= 0, "missing, or out of order: " + e + "\n" + r.out());
            from = at + e.length();
        }
    }

    @Test
    void theFirstFailingCommandStopsTheScriptWithStatusOneAndTheLine() throws Exception {
        Shell.Ran r = script("space", "mmap 1 4K", "mprotect 1 0x1000 4096 r", "space");
        assertEquals(1, r.status());
        assertTrue(r.out().contains("error: "), r.out());
        assertTrue(r.out().contains("script.gosh:3: "), r.out());
        assertTrue(r.out().contains("ENOMEM"), "the errno is named: " + r.out());
        assertEquals(1, commands.openSpaces(), "nothing after the failing line ran");
    }

    @Test
    void badArgumentsNameTheArgumentAndTheValue() throws Exception {
        assertEquals("space = 7 is not an open address space (open: [])",
                assertThrows(IllegalArgumentException.class, () -> commands.maps("7")).getMessage());
        commands.space();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> commands.mmap(false, "rw", MemmapCommands.ABSENT, MemmapCommands.ABSENT, false, "0", "1", "twelve"));
        assertEquals("length = twelve is not a number (decimal, 0x hex, or with K, M, G)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> commands.mmap(false, "rwq", MemmapCommands.ABSENT, MemmapCommands.ABSENT, false, "0", "1", "4K"));
        assertTrue(e.getMessage().startsWith("perms = rwq"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> commands.write(true, false, "1", "0x1000", "abc"));
        assertEquals("data = abc is not an even number of hex digits", e.getMessage());
        assertEquals(String.format("%5s %14s %14s%n%5d %14d %14d%n", "SPACE", "MAPPED", "RESIDENT", 1, 0, 0), commands.spaces(),
                "a refused command mapped nothing");
        e = assertThrows(IllegalArgumentException.class, () -> commands.read(false, false, "1", "0", "2M"));
        assertEquals("length = 2M is more than 1 MiB", e.getMessage());
    }

    @Test
    void numbersAndPermissions() {
        assertEquals(4096, Args.number("n", "4K"));
        assertEquals(0x7ffff7ffe000L, Args.number("n", "0x7ffff7ffe000"));
        assertEquals(-1L, Args.number("n", "0xffffffffffffffff"));
        assertEquals(3L << 30, Args.number("n", "3G"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.number("n", "17179869184G")).getMessage()
                .contains("overflows"));
        assertEquals(AccessType.READ_WRITE, Args.perms("p", "rw"));
        assertEquals(AccessType.NO_ACCESS, Args.perms("p", "-"));
        assertEquals(AccessType.ANY_ACCESS, Args.perms("p", "xwr"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Args.perms("p", "rr")).getMessage().contains("repeats"));
        assertEquals(1, Args.space("1", Set.of(1, 2)));
    }
}
