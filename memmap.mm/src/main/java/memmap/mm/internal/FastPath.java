package memmap.mm.internal;

import java.lang.foreign.MemorySegment;

import memmap.api.AccessType;
import memmap.api.IoResult;

/**
 * The fast path of small copies (memmap's analogue of gVisor's {@code address_space.go}: what
 * the host MMU would do for a mapped page): one remembered pma and its internal mapping,
 * used without {@code mappingMu}.
 *
 * <p>Invariant: while {@link #version} equals the pma layer's version, {@code [start, end)}
 * lies inside one pma whose internal mapping is the single safe Block {@link #segment}, and
 * {@link #perms} are that pma's effective permissions. Soundness: the pma layer bumps its
 * version under {@code activeMu} on every change to any pma (insertion, removal, split,
 * re-protection, copy-on-write state); a pma lies inside one vma and its effective
 * permissions never exceed the vma's, and every change to a vma's permissions or existence
 * changes its pmas first. So a copy allowed here is one the full path would allow.
 *
 * <p>Locking: every method requires the owner's {@code activeMu}.
 */
final class FastPath {
    private long start;
    private long end;
    private MemorySegment segment;
    private AccessType perms = AccessType.NO_ACCESS;
    private long version = -1;

    /** Remembers a pma's single-Block internal mapping at the current {@code pmaVersion}. */
    void remember(long start, long end, MemorySegment segment, AccessType perms, long pmaVersion) {
        this.start = start;
        this.end = end;
        this.segment = segment;
        this.perms = perms;
        this.version = pmaVersion;
    }

    /**
     * Copies between {@code mem} and {@code [addr, addr + mem.byteSize())} if the remembered
     * pma covers it with the permission needed at {@code pmaVersion}.
     *
     * @return the result, or null to take the full path
     */
    IoResult copy(long addr, MemorySegment mem, boolean write, long pmaVersion) {
        long n = mem.byteSize();
        if (version != pmaVersion || Long.compareUnsigned(addr, start) < 0 || Long.compareUnsigned(addr + n, end) > 0
                || Long.compareUnsigned(addr + n, addr) < 0 || !(write ? perms.write() : perms.read())) {
            return null;
        }
        if (write) {
            MemorySegment.copy(mem, 0, segment, addr - start, n);
        } else {
            MemorySegment.copy(segment, addr - start, mem, 0, n);
        }
        return IoResult.ok(n);
    }

    /** The remembered range if valid at {@code pmaVersion} (for invariant checks), else null. */
    long[] validRange(long pmaVersion) {
        return version == pmaVersion ? new long[] {start, end} : null;
    }

    /** The remembered permissions. */
    AccessType perms() {
        return perms;
    }
}
