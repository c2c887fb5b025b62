package memmap.health.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.ResultLog;
import org.junit.jupiter.api.Test;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AllocOpts;
import memmap.api.Context;
import memmap.api.FileRange;
import memmap.api.provider.BackingKind;
import memmap.api.provider.ProviderUsage;
import memmap.api.provider.SysVSharedMemory;
import memmap.shm.internal.ShmProvider;

/**
 * The checks' verdicts on real memory files and a real System V registry, at each side of the
 * thresholds.
 */
class BackingHealthTest {
    private static final long PAGE = 4096;

    private static Result.Status status(FormattingResultLog log) {
        return new Result(log).getStatus();
    }

    private static String text(FormattingResultLog log) {
        StringBuilder sb = new StringBuilder();
        for (ResultLog.Entry e : log) {
            sb.append(e.getStatus()).append(' ').append(e.getMessage()).append('\n');
        }
        return sb.toString();
    }

    @Test
    void noProviderServingIsCritical() {
        FormattingResultLog log = BackingHealth.report(BackingKind.HOST_FILE, Optional.empty(), List.of(), List.of(), false, 90);
        assertEquals(Result.Status.CRITICAL, status(log));
        assertTrue(text(log).contains("no provider serves hostfile: new mappings of it fail with ENODEV"), text(log));
    }

    @Test
    void noAddressSpacesIsCritical() {
        FormattingResultLog log = BackingHealth.report(BackingKind.HOST_FILE, null, List.of(), List.of(), false, 90);
        assertEquals(Result.Status.CRITICAL, status(log));
        assertTrue(text(log).contains("AddressSpaces service is not registered"), text(log));
    }

    @Test
    void aServedHostFileKindIsOkAndListsItsProviders() {
        var p = new BackingHealth.Provider("memmap.hostfile/3", "memmap.hostfile", "1.0.0", 5, new ProviderUsage(2, 8192, 4096));
        FormattingResultLog log = BackingHealth.report(BackingKind.HOST_FILE, Optional.of("memmap.hostfile/3"), List.of(p), List.of(), false, 90);
        assertEquals(Result.Status.OK, status(log), text(log));
        assertTrue(text(log).contains("hostfile is served by memmap.hostfile/3"), text(log));
        assertTrue(text(log).contains("provider memmap.hostfile/3 (memmap.hostfile 1.0.0, ranking 5): 2 backings, 8192 bytes allocated, 4096 bytes committed"),
                text(log));
    }

    @Test
    void anonymousWithoutAMemoryFileIsCritical() {
        FormattingResultLog log = BackingHealth.report(BackingKind.ANONYMOUS, Optional.of("memmap.anon/1"), List.of(), List.of(), true, 90);
        assertEquals(Result.Status.CRITICAL, status(log));
        assertTrue(text(log).contains("no memory file is registered"), text(log));
    }

    /** A memory file of 10 pages: OK below 90%, WARN from 9 pages, CRITICAL at 10 (where the next allocation fails). */
    @Test
    void theMemoryFileIsWarnedNearItsLimitAndCriticalAtIt() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("health", 2 << 20, 10 * PAGE, 0, false);
        try {
            assertEquals(10 * PAGE, mf.limit());
            List<FileRange> held = new ArrayList<>();
            Result.Status[] expected = {Result.Status.OK, Result.Status.OK, Result.Status.OK, Result.Status.OK, Result.Status.OK,
                    Result.Status.OK, Result.Status.OK, Result.Status.OK, Result.Status.OK, Result.Status.WARN, Result.Status.CRITICAL};
            for (int pages = 0; pages <= 10; pages++) {
                FormattingResultLog log = BackingHealth.report(BackingKind.ANONYMOUS, Optional.of("memmap.anon/1"), List.of(),
                        List.of(BackingHealth.Limited.of(mf)), true, 90);
                assertEquals(expected[pages], status(log), pages + " pages: " + text(log));
                if (pages == 9) {
                    assertTrue(text(log).contains("36864 of 40960 (90%): at least 90% of the limit"), text(log));
                }
                if (pages == 10) {
                    assertTrue(text(log).contains("40960 of 40960 (100%): at the limit, allocations fail with ENOMEM"), text(log));
                    break;
                }
                held.add(mf.allocate(PAGE, AllocOpts.DEFAULT));
            }
            for (FileRange fr : held) {
                mf.decRef(fr);
            }
            FormattingResultLog after = BackingHealth.report(BackingKind.ANONYMOUS, Optional.of("memmap.anon/1"), List.of(),
                    List.of(BackingHealth.Limited.of(mf)), true, 90);
            assertEquals(Result.Status.OK, status(after), text(after));
        } finally {
            mf.release();
        }
    }

    @Test
    void aMemoryFileWithoutALimitIsOk() {
        FormattingResultLog log = BackingHealth.report(BackingKind.ANONYMOUS, Optional.of("a"), List.of(),
                List.of(new BackingHealth.Limited("memory file x: allocated bytes", -2L, -1L)), true, 90);
        assertEquals(Result.Status.OK, status(log), text(log));
        assertTrue(text(log).contains("(no limit)"), text(log));
    }

    /** Usage and limits are unsigned: 2^63 + 1 of 2^64 - 2 is 50%, not a negative number. */
    @Test
    void limitsAreComparedUnsigned() {
        FormattingResultLog log = BackingHealth.report(BackingKind.ANONYMOUS, Optional.of("a"), List.of(),
                List.of(new BackingHealth.Limited("x", Long.MIN_VALUE + 1, -2L)), true, 90);
        assertEquals(Result.Status.OK, status(log), text(log));
        assertTrue(text(log).contains("9223372036854775809 of 18446744073709551614 (50%)"), text(log));
    }

    /** A registry allowing 2 segments: one is OK (50%), the second reaches SHMMNI. */
    @Test
    void systemVSegmentsAreCheckedAgainstShmmni() throws Exception {
        MemfdMemoryFile mf = new MemfdMemoryFile("health-shm", 2 << 20, 2 << 20, 0, false);
        ShmProvider shm = new ShmProvider(mf, Map.of("shmMni", 2L));
        try {
            shm.get(Context.background(), 0, PAGE, SysVSharedMemory.IPC_CREAT);
            FormattingResultLog one = BackingHealth.report(BackingKind.SHARED_MEMORY, Optional.of(shm.id()), List.of(),
                    BackingHealth.Limited.of("memmap.shm", shm), false, 90);
            assertEquals(Result.Status.OK, status(one), text(one));
            assertTrue(text(one).contains("System V registry of memmap.shm: segments (SHMMNI): 1 of 2 (50%)"), text(one));
            shm.get(Context.background(), 0, PAGE, SysVSharedMemory.IPC_CREAT);
            FormattingResultLog two = BackingHealth.report(BackingKind.SHARED_MEMORY, Optional.of(shm.id()), List.of(),
                    BackingHealth.Limited.of("memmap.shm", shm), false, 90);
            assertEquals(Result.Status.CRITICAL, status(two), text(two));
            assertTrue(text(two).contains("segments (SHMMNI): 2 of 2 (100%): at the limit"), text(two));
        } finally {
            for (SysVSharedMemory.ShmStat s : shm.list()) {
                shm.remove(Context.background(), s.id());
            }
            mf.release();
        }
    }
}
