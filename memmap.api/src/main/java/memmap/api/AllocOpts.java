package memmap.api;

import java.util.Objects;

/**
 * How {@link MemoryFile#allocate} places and commits memory (gVisor's {@code pgalloc.AllocOpts}).
 *
 * @param mode when the memory is committed
 * @param direction where in the file it is taken from
 * @param huge whether huge pages are wanted (the length must then be huge-page aligned);
 *     honoured where the host allows, else the allocation is just huge-page aligned
 * @param memCgId the memory cgroup charged (unsigned 32-bit)
 */
public record AllocOpts(AllocationMode mode, Direction direction, boolean huge, int memCgId) {
    /** Uncommitted, bottom-up, small pages, cgroup 0. */
    public static final AllocOpts DEFAULT = new AllocOpts(AllocationMode.UNCOMMITTED, Direction.BOTTOM_UP, false, 0);

    public AllocOpts {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(direction, "direction");
    }

    /** This with another mode. */
    public AllocOpts withMode(AllocationMode m) {
        return new AllocOpts(m, direction, huge, memCgId);
    }

    /** This with another direction. */
    public AllocOpts withDirection(Direction d) {
        return new AllocOpts(mode, d, huge, memCgId);
    }

    /** This charging another cgroup. */
    public AllocOpts withMemCgId(int id) {
        return new AllocOpts(mode, direction, huge, id);
    }

    /** This with huge pages wanted or not. */
    public AllocOpts withHuge(boolean h) {
        return new AllocOpts(mode, direction, h, memCgId);
    }

    /** Where an allocation is taken from. */
    public enum Direction {
        /** The lowest suitable offset of the first large-enough free range ("up"). */
        BOTTOM_UP,
        /** The highest suitable offset of the last large-enough free range ("down"). */
        TOP_DOWN
    }
}
