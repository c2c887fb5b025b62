package memmap.api.provider;

import java.util.List;

import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;

/**
 * System V shared memory (gVisor's {@code kernel/shm}, spec §7): {@code shmget},
 * {@code shmat}'s attach step and {@code shmctl}, over segments whose memory comes from the
 * {@code MemoryFile} service. Registered by {@code memmap.shm}.
 *
 * <p>Every failure is a {@link MemmapException} carrying Linux's errno, checked in the order
 * the spec gives (EINVAL, ENOSPC, EACCES, EEXIST, ENOENT, ENOMEM, EIDRM, EPERM).
 *
 * <p>Thread safety: every method may be called concurrently. Lock order: registry, then segment.
 */
@org.osgi.annotation.versioning.ProviderType
public interface SysVSharedMemory {
    /** The key that always makes a new segment. */
    int IPC_PRIVATE = 0;
    /** shmget: create the segment if the key has none. */
    int IPC_CREAT = 01000;
    /** shmget: with IPC_CREAT, fail with EEXIST if the key has a segment. */
    int IPC_EXCL = 02000;
    /** shmat: attach read-only. */
    int SHM_RDONLY = 010000;
    /** shmat: replace whatever is mapped at the address (fixed). */
    int SHM_REMAP = 040000;
    /** shmat: attach executable. */
    int SHM_EXEC = 0100000;
    /** The mode bit IPC_STAT reports for a segment marked for destruction. */
    int SHM_DEST = 01000;

    /**
     * {@code shmget(key, size, flags)}: the id of the segment for {@code key}, made if asked.
     * The low 9 bits of {@code flags} are the mode of a new segment and the access requested
     * of an existing one.
     */
    int get(Context ctx, int key, long size, int flags) throws MemmapException;

    /**
     * {@code shmat}'s attach step: checks access and returns what to mmap (the segment as
     * Mappable and identity, shared, its size, the permissions the flags ask for). The returned
     * attachment holds a reference that keeps the segment alive until it is closed: map it,
     * then close it.
     *
     * @throws MemmapException EINVAL for an unknown id, EACCES without the access asked for
     */
    Attachment attach(Context ctx, int id, long addr, int flags) throws MemmapException;

    /**
     * What a segment's Mappable is, so an address space can find the fragments of an attachment
     * for shmdt (gVisor's DetachShm matches {@code *shm.Shm}).
     */
    interface Segment extends memmap.api.Mappable, memmap.api.MappingIdentity {
        /** The segment's page-rounded size. */
        long effectiveSize();

        /**
         * The segment's state as its registry last published it, for a handover: {@code SHM_DEST}
         * in the mode only if it was removed with IPC_RMID (not because its registry was
         * released); {@code nattach} counts its mappings.
         */
        ShmStat stat();
    }

    /**
     * Takes over a live segment of another registry (one being replaced): a segment of this
     * registry with the same id, key, size, owner, creator, mode and times, and a copy of its
     * contents, taken while the caller keeps writers out. The caller re-points the mappings
     * of {@code live} to the result (its attach count then follows) and drops the one reference
     * it is given. {@code live} is not changed. If {@code live} is already this registry's own
     * segment, returns it unchanged, with no reference.
     *
     * @throws MemmapException EEXIST if this registry already uses the id or the key; ENOMEM or
     *     ENOSPC past a limit; nothing is left allocated then
     */
    Segment adopt(Context ctx, Segment live) throws MemmapException;

    /**
     * {@link #adopt} without the contents (a hot swap's pre-copy): the segment is registered
     * with {@code live}'s id, key and state, its pages do not exist yet, and the caller copies
     * them ({@link memmap.api.OwnedPages#copy}) while writers keep running. If the caller gives
     * up before re-pointing any mapping it calls {@link #forget} on the result. The default is
     * {@link #adopt}.
     *
     * @throws MemmapException as {@link #adopt}
     */
    default Segment twin(Context ctx, Segment live) throws MemmapException {
        return adopt(ctx, live);
    }

    /**
     * Undoes a {@link #twin} or {@link #adopt} nobody maps: the segment leaves this registry
     * (id and key free again) and its pages are freed; the caller's reference is consumed.
     * No-op for a segment that is mapped or not this registry's.
     */
    default void forget(Context ctx, Segment adopted) {
        adopted.decRef(ctx);
    }

    /** A segment ready to be mapped; closing it drops the lookup reference. */
    interface Attachment extends AutoCloseable {
        /** What to mmap. */
        MMapOpts opts();

        @Override
        void close();
    }

    /** {@code IPC_STAT} (read permission needed). */
    /**
     * Registers a segment as {@code stat} describes it (id, key, size, mode, owners, creator,
     * times, pids; {@link #SHM_DEST} in the mode for one removed but still attached), of
     * {@code effectiveSize} bytes whose pages do not exist yet — a restore then writes them and
     * maps it. The attach count starts at 0 and follows the mappings made. Nothing else changes.
     *
     * <p>A removed segment lives only while mapped: the caller maps it, then drops the reference
     * this returns with ({@link #forget} if it ends up unmapped).
     *
     * @throws MemmapException EEXIST if the id, or the key of a segment not removed, is used here;
     *     ENOSPC past SHMALL; ENOSYS if this registry cannot restore
     */
    default Segment restore(Context ctx, ShmStat stat, long effectiveSize) throws MemmapException {
        throw memmap.api.Errno.ENOSYS.exception("this System V registry cannot restore segments");
    }

    ShmStat stat(Context ctx, int id) throws MemmapException;

    /** {@code IPC_SET}: new owner and mode (owner, creator or CAP_SYS_ADMIN only: else EPERM). */
    void set(Context ctx, int id, int uid, int gid, int mode) throws MemmapException;

    /**
     * {@code IPC_RMID}: the key is forgotten at once; the segment is destroyed when its last
     * attachment goes. Calling it again is a no-op.
     */
    void remove(Context ctx, int id) throws MemmapException;

    /** {@code SHM_LOCK}: accepted for an existing segment (memory here is not swapped). */
    void lock(Context ctx, int id) throws MemmapException;

    /** {@code SHM_UNLOCK}: accepted for an existing segment. */
    void unlock(Context ctx, int id) throws MemmapException;

    /** {@code IPC_INFO}: the limits. */
    IpcInfo ipcInfo();

    /** {@code SHM_INFO}: usage. */
    ShmInfo shmInfo();

    /** Every live segment, by id (what {@code ipcs -m} lists). */
    List<ShmStat> list();

    /**
     * The limits.
     *
     * @param shmMax largest segment (bytes)
     * @param shmMin smallest segment (bytes)
     * @param shmMni most segments
     * @param shmSeg most segments one process attaches
     * @param shmAll most pages in all segments
     */
    record IpcInfo(long shmMax, long shmMin, long shmMni, long shmSeg, long shmAll) {}

    /**
     * Usage.
     *
     * @param usedIds the last id handed out
     * @param shmTot pages in all segments
     * @param shmRss resident pages
     * @param shmSwp swapped pages (always 0)
     */
    record ShmInfo(long usedIds, long shmTot, long shmRss, long shmSwp) {}

    /**
     * What {@code IPC_STAT} reports.
     *
     * @param id the segment id
     * @param key its key (0 once removed)
     * @param uid owner user
     * @param gid owner group
     * @param cuid creator user
     * @param cgid creator group
     * @param mode permission bits, plus {@link #SHM_DEST} when marked for destruction
     * @param size the size asked for at creation
     * @param atime last attach, epoch seconds (0: never)
     * @param dtime last detach, epoch seconds (0: never)
     * @param ctime creation or last IPC_SET, epoch seconds
     * @param cpid creator's process id
     * @param lpid process id of the last attach or detach
     * @param nattach attachments now
     */
    record ShmStat(int id, int key, int uid, int gid, int cuid, int cgid, int mode, long size, long atime, long dtime,
            long ctime, int cpid, int lpid, long nattach) {}
}
