package memmap.mm.internal;

import memmap.api.AccessType;
import memmap.api.FileRange;
import memmap.api.MemmapFile;
import memmap.api.safemem.BlockSeq;

/**
 * A platform mapping area: a cached translation of an address range to file pages (gVisor's
 * {@code mm.pma}, spec §4.1). Every pma holds one reference on its file range for as long as
 * it exists.
 *
 * @param file the file that backs the range
 * @param off the file offset of the pma's first byte
 * @param translatePerms what Translate allowed (all for private pmas)
 * @param effectivePerms what accesses may use the pma now (write removed while {@code needCOW})
 * @param maxPerms the most accesses that may ever use it
 * @param needCOW writing must first copy the pages (a private mapping's file pages, or pages
 *     shared with a fork)
 * @param isPrivate the memory is this address space's own (from the memory file); survives
 *     invalidation unless InvalidatePrivate
 * @param internal the cached {@code mapInternal} of the range, or null
 */
record Pma(MemmapFile file, long off, AccessType translatePerms, AccessType effectivePerms, AccessType maxPerms,
        boolean needCOW, boolean isPrivate, BlockSeq internal) {

    FileRange fileRange(long length) {
        return new FileRange(off, off + length);
    }

    Pma withInternal(BlockSeq bs) {
        return new Pma(file, off, translatePerms, effectivePerms, maxPerms, needCOW, isPrivate, bs);
    }

    /** Whether {@code next} (starting where this one, {@code len1} bytes, ends) can merge with it. */
    boolean canMergeWith(long len1, Pma next) {
        return file == next.file && off + len1 == next.off && translatePerms.equals(next.translatePerms)
                && effectivePerms.equals(next.effectivePerms) && maxPerms.equals(next.maxPerms) && needCOW == next.needCOW
                && isPrivate == next.isPrivate;
    }
}
