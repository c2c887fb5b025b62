package memmap.mm.internal;

import java.util.Objects;

import memmap.api.AccessType;
import memmap.api.MLockMode;
import memmap.api.Mappable;
import memmap.api.MappingIdentity;
import memmap.api.NameMut;

/**
 * A virtual memory area: one mapped address range's properties (gVisor's {@code mm.vma},
 * spec §4.1). Immutable; the vma set replaces values on split and merge.
 *
 * <p>Invariants: {@code maxPerms} is effective; {@code growsDown} implies no Mappable; a vma
 * holds one reference on {@code id} (if any).
 *
 * @param mappable what is mapped; null for anonymous memory
 * @param off the Mappable offset of the vma's first byte (0 for anonymous)
 * @param realPerms permissions as the application set them
 * @param maxPerms permissions that may ever apply
 * @param isPrivate MAP_PRIVATE
 * @param growsDown MAP_GROWSDOWN
 * @param isStack MAP_STACK
 * @param dontfork MADV_DONTFORK
 * @param mlockMode memory locking
 * @param id the mapping identity (one reference held), or null
 * @param name the name shown in maps, or empty to use the identity's
 * @param nameMut what PR_SET_VMA_ANON_NAME may do
 * @param lastFault the last faulting address (allocation-direction hint), 0 if none
 */
record Vma(Mappable mappable, long off, AccessType realPerms, AccessType maxPerms, boolean isPrivate, boolean growsDown,
        boolean isStack, boolean dontfork, MLockMode mlockMode, MappingIdentity id, String name, NameMut nameMut,
        long lastFault) {

    /** {@code realPerms.effective()}. */
    AccessType effectivePerms() {
        return realPerms.effective();
    }

    /** Linux's VM_SHARED: the Mappable's data can be modified through this vma. */
    boolean canWriteMappable() {
        return !isPrivate && maxPerms.write();
    }

    /** Counts towards dataAS: private, really writable, not growsDown. */
    boolean isPrivateData() {
        return realPerms.write() && isPrivate && !growsDown;
    }

    /** This vma starting {@code delta} bytes further (the right half of a split). */
    Vma shifted(long delta) {
        return mappable == null ? this : new Vma(mappable, off + delta, realPerms, maxPerms, isPrivate, growsDown, isStack,
                dontfork, mlockMode, id, name, nameMut, lastFault);
    }

    /** This vma with other real permissions. */
    Vma withRealPerms(AccessType p) {
        return new Vma(mappable, off, p, maxPerms, isPrivate, growsDown, isStack, dontfork, mlockMode, id, name, nameMut, lastFault);
    }

    /** This vma mapping {@code m} (same offset) with identity {@code i}: a migrated backing. */
    Vma withBacking(Mappable m, MappingIdentity i) {
        return new Vma(m, off, realPerms, maxPerms, isPrivate, growsDown, isStack, dontfork, mlockMode, i, name, nameMut, lastFault);
    }

    /** This vma with MADV_DONTFORK set or cleared. */
    Vma withDontfork(boolean d) {
        return new Vma(mappable, off, realPerms, maxPerms, isPrivate, growsDown, isStack, d, mlockMode, id, name, nameMut, lastFault);
    }

    /** This vma with another name. */
    Vma withName(String n) {
        return new Vma(mappable, off, realPerms, maxPerms, isPrivate, growsDown, isStack, dontfork, mlockMode, id, n, nameMut, lastFault);
    }

    /** This vma with another last-fault hint. */
    Vma withLastFault(long a) {
        return new Vma(mappable, off, realPerms, maxPerms, isPrivate, growsDown, isStack, dontfork, mlockMode, id, name, nameMut, a);
    }

    /** This vma at Mappable offset {@code o} (a moved or copied mapping). */
    Vma withOffset(long o) {
        return new Vma(mappable, o, realPerms, maxPerms, isPrivate, growsDown, isStack, dontfork, mlockMode, id, name, nameMut, lastFault);
    }

    /** This vma with another mlock mode. */
    Vma withMLockMode(MLockMode m) {
        return new Vma(mappable, off, realPerms, maxPerms, isPrivate, growsDown, isStack, dontfork, m, id, name, nameMut, lastFault);
    }

    /**
     * Whether {@code next}, which starts where this one ({@code len1} bytes) ends, may merge
     * with it (spec §4.1): same Mappable, contiguous offsets, every property equal, the same
     * identity object.
     */
    boolean canMergeWith(long len1, Vma next) {
        if (mappable != next.mappable) {
            return false;
        }
        if (mappable != null && off + len1 != next.off) {
            return false;
        }
        return realPerms.equals(next.realPerms) && maxPerms.equals(next.maxPerms) && isPrivate == next.isPrivate
                && growsDown == next.growsDown && isStack == next.isStack && mlockMode == next.mlockMode
                && dontfork == next.dontfork && id == next.id && Objects.equals(name, next.name) && nameMut == next.nameMut;
    }
}
